/* tools/sticky-route/replay_stats.c - per-session bookkeeping and the
 * replay summary (one JSON object, or a table with --human). Strings in the
 * JSON go through json_print_string() (channel ids come from the user). */
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cli_util.h"
#include "replay.h"

/* A session: tenant + first key; its main model (the model of its first
 * request); the channel of its previous main-model request (-1 = failed)
 * and of its last successful one; its moves; side requests since its last
 * successful main-model request; the channels it has used (for
 * per-channel session counts) and those its main-model requests used. */
struct session {
    char *id, *model;
    int last_channel, last_main;
    uint64_t moves, pending_side;
    uint8_t used[REPLAY_MAX_CHANNELS / 8];
    uint8_t main_used[REPLAY_MAX_CHANNELS / 8];
    UT_hash_handle hh;
};

#define BIT_SET(b, i) ((b)[(i) / 8] & (1u << ((i) % 8)))
#define SET_BIT(b, i) ((b)[(i) / 8] |= (uint8_t)(1u << ((i) % 8)))

void replay_stats_init(struct replay_stats *s)
{
    memset(s, 0, sizeof(*s));
}

void replay_stats_free(struct replay_stats *s)
{
    struct session *e, *tmp;
    HASH_ITER(hh, s->sessions_by_id, e, tmp) {
        HASH_DEL(s->sessions_by_id, e);
        free(e->id);
        free(e->model);
        free(e);
    }
    free(s->lat_ns);
}

void replay_stats_latency(struct replay_stats *s, uint64_t ns)
{
    if (s->n_lat == s->cap_lat) {
        s->cap_lat = s->cap_lat ? s->cap_lat * 2 : 1024;
        s->lat_ns = realloc(s->lat_ns, s->cap_lat * sizeof(uint64_t));
    }
    s->lat_ns[s->n_lat++] = ns;
}

int replay_stats_lookup(struct replay_stats *s, const char *sid, const char *model,
                        int *last_main)
{
    struct session *e = NULL;
    *last_main = -1;
    if (sid[0] != '\0')
        HASH_FIND_STR(s->sessions_by_id, sid, e);
    if (e == NULL)
        return 0;
    *last_main = e->last_main;
    return strcmp(e->model, model) != 0;
}

void replay_stats_request(struct replay_stats *s, const char *sid, const char *model,
                          int channel)
{
    if (channel >= 0)
        s->ch_requests[channel]++;
    if (sid[0] == '\0') {
        s->unkeyed++;
        return;
    }
    struct session *e = NULL;
    HASH_FIND_STR(s->sessions_by_id, sid, e);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        e->id = strdup(sid);
        e->model = strdup(model);
        e->last_channel = -2; /* no request yet */
        e->last_main = -1;
        HASH_ADD_KEYPTR(hh, s->sessions_by_id, e->id, strlen(e->id), e);
        s->sessions++;
    } else if (strcmp(e->model, model) != 0) {
        /* A side request: not a follow-up of the conversation. */
        s->side_requests++;
        if (channel >= 0 && channel == e->last_main)
            s->side_requests_on_session_channel++;
        e->pending_side++;
    } else {
        s->followups++;
        if (channel >= 0 && channel == e->last_channel)
            s->followups_same++;
    }
    if (channel >= 0 && !BIT_SET(e->used, channel)) {
        SET_BIT(e->used, channel);
        s->ch_sessions[channel]++;
    }
    if (strcmp(e->model, model) != 0)
        return;
    e->last_channel = channel;
    if (channel < 0)
        return;
    if (e->last_main >= 0 && channel != e->last_main) {
        s->moves++;
        if (++e->moves == 1)
            s->sessions_moved_once++;
        else if (e->moves == 2)
            s->sessions_moved_once--, s->sessions_moved_more++;
        if (BIT_SET(e->main_used, channel))
            s->moves_back++;
        s->side_requests_then_moved += e->pending_side;
    }
    e->pending_side = 0;
    e->last_main = channel;
    SET_BIT(e->main_used, channel);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t percentile(struct replay_stats *s, double p)
{
    if (s->n_lat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(s->n_lat - 1) + 0.5);
    return s->lat_ns[i];
}

static const int reasons[] = {STICKY_REASON_HIT, STICKY_REASON_PROMOTED_HIT,
                              STICKY_REASON_EXPLICIT_HIT, STICKY_REASON_NEW,
                              STICKY_REASON_FAILOVER, STICKY_REASON_SPILL,
                              STICKY_REASON_MIGRATED, STICKY_REASON_NO_CHANNEL};

void replay_stats_print(FILE *out, struct replay_stats *s, const struct replay_channels *c,
                        sticky_ctx *ctx, sticky_store *store, int human)
{
    qsort(s->lat_ns, s->n_lat, sizeof(uint64_t), cmp_u64);
    double ratio = s->followups ? (double)s->followups_same / (double)s->followups : 1.0;
    sticky_store_stats st;
    sticky_store_stats_init(&st);
    if (store == NULL || sticky_store_get_stats(store, &st) != STICKY_OK)
        sticky_store_stats_init(&st);
    sticky_ctx_stats sel;
    sticky_ctx_stats_init(&sel);
    sticky_ctx_get_stats(ctx, &sel);
    if (human) {
        fprintf(out, "requests            %llu (%llu attempts, %llu failed, %llu unkeyed)\n",
                (unsigned long long)s->requests, (unsigned long long)s->attempts,
                (unsigned long long)s->failed_requests, (unsigned long long)s->unkeyed);
        fprintf(out, "sessions            %llu\n", (unsigned long long)s->sessions);
        fprintf(out, "follow-up requests  %llu, on the session's previous channel: %llu\n",
                (unsigned long long)s->followups, (unsigned long long)s->followups_same);
        fprintf(out, "stickiness          %.4f\n", ratio);
        fprintf(out, "moves               %llu (sessions moved once: %llu, more than once: %llu; "
                     "back to an earlier channel: %llu)\n",
                (unsigned long long)s->moves, (unsigned long long)s->sessions_moved_once,
                (unsigned long long)s->sessions_moved_more, (unsigned long long)s->moves_back);
        fprintf(out, "side requests       %llu (on the session's channel: %llu, followed by a move "
                     "of their session: %llu)\n",
                (unsigned long long)s->side_requests,
                (unsigned long long)s->side_requests_on_session_channel,
                (unsigned long long)s->side_requests_then_moved);
        fprintf(out, "incidents met       %llu attempts answered 401/403, %llu moves failed once\n",
                (unsigned long long)s->auth_failures, (unsigned long long)s->failed_moves);
        fprintf(out, "decisions          ");
        for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
            if (s->reasons[reasons[i]])
                fprintf(out, " %s=%llu", sticky_reason_name(reasons[i]),
                        (unsigned long long)s->reasons[reasons[i]]);
        fprintf(out, "\n\n%-16s %10s %10s\n", "channel", "requests", "sessions");
        for (size_t i = 0; i < c->n; i++)
            fprintf(out, "%-16s %10llu %10llu\n", c->ids[i], (unsigned long long)s->ch_requests[i],
                    (unsigned long long)s->ch_sessions[i]);
        fprintf(out, "\nstore               %llu entries, %llu hits, %llu misses, %llu inserts, "
                     "%llu renewals, %llu expirations, %llu evictions\n",
                (unsigned long long)st.entries, (unsigned long long)st.hits,
                (unsigned long long)st.misses, (unsigned long long)st.inserts,
                (unsigned long long)st.renewals, (unsigned long long)st.expirations,
                (unsigned long long)st.evictions);
        fprintf(out, "decision latency    p50 %llu ns, p99 %llu ns\n",
                (unsigned long long)percentile(s, 0.50), (unsigned long long)percentile(s, 0.99));
        if (s->bad_lines)
            fprintf(out, "skipped bad lines   %llu\n", (unsigned long long)s->bad_lines);
        return;
    }
    fprintf(out, "{\"requests\":%llu,\"attempts\":%llu,\"failed_requests\":%llu,\"unkeyed\":%llu,"
                 "\"channel_events\":%llu,\"sessions\":%llu,\"followups\":%llu,"
                 "\"followups_same_channel\":%llu,\"stickiness\":%.6f,",
            (unsigned long long)s->requests, (unsigned long long)s->attempts,
            (unsigned long long)s->failed_requests, (unsigned long long)s->unkeyed,
            (unsigned long long)s->events, (unsigned long long)s->sessions,
            (unsigned long long)s->followups, (unsigned long long)s->followups_same, ratio);
    fprintf(out, "\"moves\":%llu,\"sessions_moved_once\":%llu,\"sessions_moved_more\":%llu,"
                 "\"moves_back\":%llu,\"side_requests\":%llu,"
                 "\"side_requests_on_session_channel\":%llu,\"side_requests_then_moved\":%llu,"
                 "\"auth_failures\":%llu,\"failed_moves\":%llu,\"reasons\":{",
            (unsigned long long)s->moves, (unsigned long long)s->sessions_moved_once,
            (unsigned long long)s->sessions_moved_more, (unsigned long long)s->moves_back,
            (unsigned long long)s->side_requests,
            (unsigned long long)s->side_requests_on_session_channel,
            (unsigned long long)s->side_requests_then_moved,
            (unsigned long long)s->auth_failures, (unsigned long long)s->failed_moves);
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        fputs(i ? "," : "", out);
        json_print_string(out, sticky_reason_name(reasons[i]));
        fprintf(out, ":%llu", (unsigned long long)s->reasons[reasons[i]]);
    }
    fprintf(out, "},\"channels\":{");
    for (size_t i = 0; i < c->n; i++) {
        fputs(i ? "," : "", out);
        json_print_string(out, c->ids[i]);
        fprintf(out, ":{\"requests\":%llu,\"sessions\":%llu}",
                (unsigned long long)s->ch_requests[i], (unsigned long long)s->ch_sessions[i]);
    }
    fprintf(out, "},\"store\":{\"entries\":%llu,\"hits\":%llu,\"misses\":%llu,\"inserts\":%llu,"
                 "\"renewals\":%llu,\"expirations\":%llu,\"evictions\":%llu},"
                 "\"store_errors\":%llu,\"latency_ns\":{\"p50\":%llu,\"p99\":%llu},"
                 "\"bad_lines\":%llu}\n",
            (unsigned long long)st.entries, (unsigned long long)st.hits,
            (unsigned long long)st.misses, (unsigned long long)st.inserts,
            (unsigned long long)st.renewals, (unsigned long long)st.expirations,
            (unsigned long long)st.evictions, (unsigned long long)sel.store_errors,
            (unsigned long long)percentile(s, 0.50), (unsigned long long)percentile(s, 0.99),
            (unsigned long long)s->bad_lines);
}
