/*
 * tests/unit/test_select_scenario.c - a scripted incident timeline over many
 * sessions (issue 11): two tenants with overlapping channel lists and the
 * same conversation texts, upstream outages (529, 429, 5xx, 401, a channel
 * disabled by the host), attempts held open in batches against in-flight
 * caps, forged and copied decisions, a host passing one tenant's key chain
 * on the other's request, a channel list with a duplicate id - on a fake
 * clock started at ordinary and at extreme values (INT64_MIN, across 0,
 * near INT64_MAX).
 *
 * The test keeps its own model of every channel (cooling until, disabled,
 * attempts it holds open) and of every session (its channel), and checks
 * each decision against it:
 *   - no turn is lost while a healthy channel exists: a select refuses
 *     (STICKY_ENOCHANNEL) only when no offered channel is healthy (active,
 *     not cooling, under its cap), and every turn is eventually served;
 *   - a decision never names an unhealthy channel;
 *   - sessions are sticky: hits go to the session's channel, a failover
 *     leaves only an unhealthy channel, a spill only a full one;
 *   - the caps hold, the library's in-flight counts equal the test's;
 *   - the other tenant's chain never moves or rewrites a session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select_test_util.h"
#include "select/select_internal.h"

#define N_CH 4
#define SESSIONS 24     /* per tenant; each takes a turn every 4th round */
#define ROUNDS 70
#define STEP_MS 10000   /* one round */
#define BATCH_MAX 64
#define MODEL "claude-sonnet-4-5"

struct chan {
    const char *id;
    uint32_t cap;
    int64_t until;      /* the test's idea of its cooldown end */
    int open;           /* attempts the test holds on it */
    int disabled;
};

struct session {
    int tenant;
    int conv;
    int turn;           /* next turn to serve (1-based) */
    int tries;          /* attempts for that turn so far */
    char channel[STICKY_ID_SIZE]; /* "" until placed */
    uint64_t key;
};

struct world {
    struct harness h;
    int64_t start;
    struct chan ch[N_CH];
    int list[2][3];            /* channel indexes offered to each tenant */
    struct session s[2 * SESSIONS];
    long served, refused, failed_attempts, mismatches, moves;
};

static const char *const tenant_name[2] = {"tenant-one", "tenant-two"};

static int64_t sat_add(int64_t a, int64_t ms)
{
    return a > INT64_MAX - ms ? INT64_MAX : a + ms;
}

static int64_t now_of(struct world *w)
{
    return w->h.clk.now_ms;
}

static int chan_index(const char *id)
{
    return id[0] - 'A';
}

static int healthy(struct world *w, int c)
{
    return !w->ch[c].disabled && now_of(w) >= w->ch[c].until &&
           (w->ch[c].cap == 0 || (uint32_t)w->ch[c].open < w->ch[c].cap);
}

/* What the upstream answers at time offset @t (ms from the start). */
static int upstream(int c, int64_t t, int64_t *retry_after)
{
    *retry_after = STICKY_ABSENT;
    int64_t s = t / 1000;
    switch (c) {
    case 0: return s >= 60 && s < 180 ? 529 : 200;                   /* A overloaded */
    case 1:
        if (s >= 200 && s < 260) {                                    /* B rate limited */
            *retry_after = 30;
            return 429;
        }
        return 200;
    case 2: return s >= 400 && s < 420 ? 500 : 200;                  /* C errors */
    default: return s >= 100 && s < 130 ? 401 : 200;                  /* D key revoked */
    }
}

/* The cooldown the library applies for @status (the scenario's config). */
static int64_t cooldown_ms(const sticky_config *cfg, int status, int64_t retry_after)
{
    switch (status) {
    case 429: return retry_after * 1000;
    case 529: return (int64_t)cfg->cooldown_529_seconds * 1000;
    case 401: return (int64_t)cfg->cooldown_auth_seconds * 1000;
    default: return (int64_t)cfg->cooldown_5xx_seconds * 1000;
    }
}

static void build_list(struct world *w, int tenant, sticky_channel out[3], int dup)
{
    for (int i = 0; i < 3; i++) {
        sticky_channel_init(&out[i]);
        struct chan *c = &w->ch[w->list[tenant][i]];
        out[i].id = c->id;
        out[i].max_inflight = c->cap;
        out[i].state = c->disabled ? STICKY_CHANNEL_DISABLED : STICKY_CHANNEL_ACTIVE;
    }
    if (dup)
        out[2].id = out[0].id;
}

static int select_for(struct world *w, struct session *s, const sticky_key_chain *chain,
                      int tenant, int dup, sticky_decision *d)
{
    char body[4096];
    sticky_channel list[3];
    build_list(w, tenant, list, dup);
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = tenant_name[tenant];
    r.tenant_len = strlen(r.tenant);
    r.model = MODEL;
    r.model_len = strlen(MODEL);
    r.body = conv_body(s->conv, s->turn, body, sizeof(body));
    r.body_len = strlen(body);
    r.chain = chain;
    sticky_decision_init(d);
    return sticky_select(w->h.ctx, &r, list, 3, d);
}

/* Check one decision of session @s against the model; update the model. */
static void check_decision(struct world *w, struct session *s, int rc, const sticky_decision *d)
{
    int any_healthy = 0;
    for (int i = 0; i < 3; i++)
        any_healthy |= healthy(w, w->list[s->tenant][i]);
    if (rc == STICKY_ENOCHANNEL) {
        if (any_healthy)
            fail_msg("t=%llds: %s conv %d turn %d refused while a healthy channel exists",
                     (long long)((now_of(w) - w->start) / 1000), tenant_name[s->tenant],
                     s->conv, s->turn);
        assert_int_equal(d->reason, STICKY_REASON_NO_CHANNEL);
        w->refused++;
        return;
    }
    assert_int_equal(rc, STICKY_OK);
    int c = chan_index(d->channel_id);
    assert_true(c >= 0 && c < N_CH);
    if (!healthy(w, c))
        fail_msg("t=%llds: decision on unhealthy channel %s (reason %s)",
                 (long long)((now_of(w) - w->start) / 1000), d->channel_id,
                 sticky_reason_name(d->reason));
    switch (d->reason) {
    case STICKY_REASON_NEW:
        assert_string_equal(s->channel, "");
        strcpy(s->channel, d->channel_id);
        break;
    case STICKY_REASON_HIT:
    case STICKY_REASON_PROMOTED_HIT:
        assert_string_equal(d->channel_id, s->channel);
        break;
    case STICKY_REASON_FAILOVER:
        assert_string_equal(d->moved_from, s->channel);
        assert_false(healthy(w, chan_index(s->channel)));
        strcpy(s->channel, d->channel_id);
        w->moves++;
        break;
    case STICKY_REASON_SPILL: {
        struct chan *b = &w->ch[chan_index(s->channel)];
        assert_true(b->cap != 0 && (uint32_t)b->open == b->cap);
        assert_string_equal(d->moved_from, s->channel);
        break;
    }
    case STICKY_REASON_SIDE:
        /* 529 and 429 cool the model's family only: served elsewhere for
         * this request, the binding stays. */
        assert_false(healthy(w, chan_index(s->channel)));
        assert_string_equal(d->moved_from, s->channel);
        break;
    default:
        fail_msg("unexpected reason %s", sticky_reason_name(d->reason));
    }
    if (s->key == 0)
        s->key = d->key;
    w->ch[c].open++;
    assert_true(w->ch[c].cap == 0 || (uint32_t)w->ch[c].open <= w->ch[c].cap);
    struct channel_health *h = health_find(&w->h.ctx->sel->health, d->channel_id,
                                           fnv1a64(d->channel_id));
    assert_non_null(h);
    assert_int_equal(atomic_load(&h->in_flight), w->ch[c].open);
}

/* A host mistake: tenant two's request with tenant one's key chain for
 * session @victim. A miss for tenant two, nothing of tenant one moves. */
static void cross_tenant(struct world *w, struct session *victim)
{
    char body[4096];
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = tenant_name[0];
    r.tenant_len = strlen(r.tenant);
    r.body = conv_body(victim->conv, victim->turn > 1 ? victim->turn - 1 : 1, body,
                       sizeof(body));
    r.body_len = strlen(body);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    assert_int_equal(sticky_key_derive(w->h.ctx, &r, &chain), STICKY_OK);
    struct session other = *victim;
    other.tenant = 1;
    other.channel[0] = '\0';
    sticky_decision d;
    int rc = select_for(w, &other, &chain, 1, 0, &d);
    int any = 0;
    for (int i = 0; i < 3; i++)
        any |= healthy(w, w->list[1][i]);
    if (rc == STICKY_OK) {
        assert_int_equal(d.reason, STICKY_REASON_NEW);
        assert_string_equal(d.moved_from, "");
        assert_int_equal(sticky_release(w->h.ctx, &d), STICKY_OK);
    } else {
        assert_int_equal(rc, STICKY_ENOCHANNEL);
        assert_false(any);
    }
    w->mismatches++;
    /* Tenant one's binding still names its channel. */
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(w->h.store, chain.keys[chain.n_keys - 1],
                                      STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, victim->channel);
}

static void run_round(struct world *w, int round)
{
    sticky_decision held[BATCH_MAX];
    struct session *who[BATCH_MAX];
    int n = 0;
    int64_t t = now_of(w) - w->start;

    /* The host disables D for tenant two's sessions from 300 s to 350 s. */
    w->ch[3].disabled = t >= 300000 && t < 350000;

    /* Sessions retrying a turn first, then those whose turn it is. */
    for (int k = 0; k < 4 * SESSIONS && n < BATCH_MAX; k++) {
        int i = k % (2 * SESSIONS);
        struct session *s = &w->s[i];
        if (k < 2 * SESSIONS ? s->tries == 0 : (s->tries != 0 || (round + i) % 4 != 0))
            continue;
        if (round % 11 == 5 && i == 3) {
            /* The host sends a list with a duplicate id: refused, no turn
             * spent; it sends the right list next. */
            sticky_decision bad;
            assert_int_equal(select_for(w, s, NULL, s->tenant, 1, &bad), STICKY_EINVAL);
            assert_non_null(strstr(w->h.log.last, "duplicates channels[0].id"));
        }
        sticky_decision d;
        int rc = select_for(w, s, NULL, s->tenant, 0, &d);
        check_decision(w, s, rc, &d);
        s->tries++;
        if (s->tries > 10)
            fail_msg("%s conv %d turn %d: not served in 10 attempts", tenant_name[s->tenant],
                     s->conv, s->turn);
        if (rc == STICKY_OK) {
            held[n] = d;
            who[n++] = s;
        }
    }

    /* Forged and copied decisions, now and then. */
    sticky_outcome ok;
    sticky_outcome_init(&ok);
    ok.status = 200;
    if (n > 0 && round % 4 == 0) {
        sticky_decision copy = held[0];
        sticky_decision forged = held[0];
        snprintf(forged.channel_id, sizeof(forged.channel_id), "forged-%d", round);
        assert_int_equal(sticky_report(w->h.ctx, &forged, &ok), STICKY_EINVAL);
        forged.attempt ^= 0x5a5a0000;
        assert_int_equal(sticky_report(w->h.ctx, &forged, &ok), STICKY_ENOTFOUND);
        held[0] = copy; /* the copy is what gets reported below */
    }

    /* The upstream answers; the host reports. */
    for (int k = 0; k < n; k++) {
        struct session *s = who[k];
        int c = chan_index(held[k].channel_id);
        int64_t ra;
        int status = upstream(c, t, &ra);
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = status;
        o.retry_after_seconds = ra;
        sticky_decision copy = held[k];
        assert_int_equal(sticky_report(w->h.ctx, &held[k], &o), STICKY_OK);
        w->ch[c].open--;
        if (k % 5 == 0) /* a copy reported again: no second outcome */
            assert_int_equal(sticky_report(w->h.ctx, &copy, &o), STICKY_ENOTFOUND);
        if (status == 200) {
            w->served++;
            s->turn++;
            s->tries = 0;
        } else {
            w->failed_attempts++;
            int64_t until = sat_add(now_of(w), cooldown_ms(&w->h.cfg, status, ra));
            if (until > w->ch[c].until)
                w->ch[c].until = until;
        }
    }
    for (int c = 0; c < N_CH; c++)
        assert_int_equal(w->ch[c].open, 0);

    if (round % 7 == 3 && w->s[0].channel[0] != '\0')
        cross_tenant(w, &w->s[round % SESSIONS]);
    w->h.clk.now_ms += STEP_MS;
}

/* What a run did, to compare runs started at different clocks. */
struct summary {
    long served, refused, failed_attempts, moves, mismatches;
    uint64_t spills, hits, requests;
};

static struct summary run_scenario(int64_t start, int plain)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    h_config(&w->h);
    w->h.clk.now_ms = start;
    w->h.cfg.log_level = STICKY_LOG_DEBUG;
    w->h.cfg.cooldown_529_seconds = 90;
    w->h.cfg.cooldown_auth_seconds = 200;
    w->h.cfg.cooldown_5xx_seconds = 60;
    w->h.cfg.breaker_failures = 0; /* the model here knows no breaker */
    w->start = start;
    if (plain)
        h_start_plain(&w->h, 0, 4096);
    else
        h_start(&w->h, 0);
    static const char *ids[N_CH] = {"A", "B", "C", "D"};
    for (int c = 0; c < N_CH; c++) {
        w->ch[c].id = ids[c];
        w->ch[c].cap = c == 3 ? 4 : 8;
        w->ch[c].until = INT64_MIN;
    }
    int lists[2][3] = {{0, 1, 2}, {1, 2, 3}};
    memcpy(w->list, lists, sizeof(lists));
    for (int i = 0; i < 2 * SESSIONS; i++) {
        w->s[i].tenant = i / SESSIONS;
        w->s[i].conv = i % SESSIONS; /* the same texts for both tenants */
        w->s[i].turn = 1;
    }
    for (int round = 0; round < ROUNDS; round++) {
        w->h.log.all[0] = '\0';
        run_round(w, round);
    }
    /* Every session was served its turns; the two tenants' identical
     * conversations never shared a key. */
    for (int i = 0; i < SESSIONS; i++) {
        assert_true(w->s[i].turn > 5 && w->s[SESSIONS + i].turn > 5);
        assert_true(w->s[i].key != w->s[SESSIONS + i].key);
    }
    sticky_ctx_stats st;
    sticky_ctx_stats_init(&st);
    assert_int_equal(sticky_ctx_get_stats(w->h.ctx, &st), STICKY_OK);
    assert_int_equal(st.channels, N_CH); /* forged ids created nothing */
    assert_int_equal(st.tenant_mismatches, (uint64_t)w->mismatches);
    assert_int_equal(st.hits + st.promoted_hits + st.new_sessions + st.failovers + st.spills +
                         st.migrations + st.strict_rejections + st.no_channel,
                     st.requests);
    assert_int_equal(st.failovers, (uint64_t)w->moves);
    assert_true(w->moves > 0 && st.spills > 0 && w->failed_attempts > 0);
    print_message("start %lld%s: served %ld turns, %ld refused (no healthy channel), %ld failed "
                  "attempts, %ld moves, %llu spills, %ld tenant misses\n",
                  (long long)start, plain ? " (plain store)" : "", w->served, w->refused,
                  w->failed_attempts, w->moves, (unsigned long long)st.spills, w->mismatches);
    struct summary sum = {w->served, w->refused, w->failed_attempts, w->moves, w->mismatches,
                          st.spills, st.hits, st.requests};
    h_stop(&w->h);
    free(w);
    return sum;
}

static void same_summary(const struct summary *a, const struct summary *b)
{
    assert_int_equal(a->served, b->served);
    assert_int_equal(a->refused, b->refused);
    assert_int_equal(a->failed_attempts, b->failed_attempts);
    assert_int_equal(a->moves, b->moves);
    assert_int_equal(a->mismatches, b->mismatches);
    assert_int_equal(a->spills, b->spills);
    assert_int_equal(a->hits, b->hits);
    assert_int_equal(a->requests, b->requests);
}

static void test_scenario_memory_store(void **state)
{
    (void)state;
    run_scenario(T0, 0);
}

/* The same timeline from extreme clocks: every decision passes the same
 * checks, and the runs do exactly the same (only differences of times
 * matter, never their absolute values). */
static void test_scenario_extreme_clocks(void **state)
{
    (void)state;
    struct summary ref = run_scenario(T0, 1);
    static const int64_t starts[] = {
        INT64_MIN,                                  /* the very first instant */
        -(int64_t)ROUNDS * STEP_MS / 2,             /* crosses 0 */
        INT64_MAX - (int64_t)ROUNDS * STEP_MS,      /* ends at INT64_MAX - one step */
    };
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        struct summary s = run_scenario(starts[i], 1);
        same_summary(&ref, &s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_memory_store),
        cmocka_unit_test(test_scenario_extreme_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
