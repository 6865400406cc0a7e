/*
 * tools/sticky-route/cmd_replay.c - `sticky-route replay --channels F
 * [options] [TRACE|-]`: replays a JSON-lines trace through a real context,
 * with the trace's "t" (ms) as the clock, and prints a summary. The trace
 * format is in docs/replay.md. Traces are untrusted input: lines and body
 * files are bounded, numbers range-checked (json_get_int), and every string
 * printed goes through json_print_string().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#ifdef HAVE_STICKY_REDIS
#include <sticky/redis_store.h>
#endif

#include "cli_util.h"
#include "commands.h"
#include "replay.h"

struct replay_opts {
    const char *channels, *trace, *decisions, *store;
    unsigned ttl, renew, max_sessions, messages;
    unsigned shm_channels, shm_processes;
    int renew_set;
    int include_system, policy, strict, human, skip_bad;
    unsigned max_attempts;
};

struct replay {
    struct replay_opts o;
    struct replay_channels ch;
    struct replay_stats stats;
    sticky_ctx *ctx;
    sticky_store *store;
    sticky_shm *shm; /* --store shm:PATH */
    int64_t now_ms;
    FILE *decisions;
    const char *trace_dir;
};

static int64_t replay_clock(void *user)
{
    return ((struct replay *)user)->now_ms;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sticky-route replay --channels channels.json [options] [TRACE|-]\n"
            "  --ttl S --renew-threshold S --max-sessions N --messages N --include-system\n"
            "  --policy lru|rendezvous|random   --strict   --max-attempts N (default 3)\n"
            "  --store memory|redis://host:port/db|shm:PATH   --decisions FILE   --human\n"
            "  --skip-bad   --shm-channels N --shm-processes N (sizes of a new shm segment)\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct replay_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_attempts = 3;
    o->policy = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, bad = 0;
        if (strcmp(a, "--channels") == 0 && v)
            o->channels = v;
        else if (strcmp(a, "--decisions") == 0 && v)
            o->decisions = v;
        else if (strcmp(a, "--store") == 0 && v)
            o->store = v;
        else if (strcmp(a, "--ttl") == 0 && v)
            bad = parse_uint(v, 1, STICKY_MAX_TTL_SECONDS, &o->ttl);
        else if (strcmp(a, "--renew-threshold") == 0 && v)
            bad = parse_uint(v, 0, STICKY_MAX_TTL_SECONDS, &o->renew), o->renew_set = 1;
        else if (strcmp(a, "--max-sessions") == 0 && v)
            bad = parse_uint(v, 1, STICKY_MAX_SESSIONS_LIMIT, &o->max_sessions);
        else if (strcmp(a, "--shm-channels") == 0 && v)
            bad = parse_uint(v, 1, STICKY_SHM_MAX_CHANNELS, &o->shm_channels);
        else if (strcmp(a, "--shm-processes") == 0 && v)
            bad = parse_uint(v, 1, STICKY_SHM_MAX_PROCESSES, &o->shm_processes);
        else if (strcmp(a, "--messages") == 0 && v)
            bad = parse_uint(v, 1, STICKY_MAX_MESSAGE_COUNT, &o->messages);
        else if (strcmp(a, "--max-attempts") == 0 && v)
            bad = parse_uint(v, 1, 16, &o->max_attempts);
        else if (strcmp(a, "--policy") == 0 && v) {
            o->policy = strcmp(v, "lru") == 0          ? STICKY_POLICY_LRU
                        : strcmp(v, "rendezvous") == 0 ? STICKY_POLICY_RENDEZVOUS
                        : strcmp(v, "random") == 0     ? STICKY_POLICY_RANDOM
                                                       : -2;
            bad = o->policy == -2;
        } else {
            takes = 0;
            if (strcmp(a, "--include-system") == 0)
                o->include_system = 1;
            else if (strcmp(a, "--strict") == 0)
                o->strict = 1;
            else if (strcmp(a, "--human") == 0)
                o->human = 1;
            else if (strcmp(a, "--skip-bad") == 0)
                o->skip_bad = 1;
            else if ((a[0] != '-' || strcmp(a, "-") == 0) && o->trace == NULL)
                o->trace = a;
            else {
                fprintf(stderr, "sticky-route: replay: unknown or incomplete option '%s'\n", a);
                return -1;
            }
        }
        if (bad) {
            fprintf(stderr, "sticky-route: replay: bad value for %s: '%s'\n", a, v);
            return -1;
        }
        i += takes;
    }
    if (o->channels == NULL) {
        fprintf(stderr, "sticky-route: replay: --channels is required\n");
        return -1;
    }
    if (o->store != NULL && strcmp(o->store, "memory") != 0 &&
        strncmp(o->store, "redis://", 8) != 0 &&
        (strncmp(o->store, "shm:", 4) != 0 || o->store[4] == '\0')) {
        fprintf(stderr, "sticky-route: replay: --store: memory, redis://host:port/db or "
                        "shm:PATH\n");
        return -1;
    }
    return 0;
}

/* redis://host[:port][/db] -> options. Returns 0 or -1. */
static int open_redis(struct replay *r, const char *url)
{
#ifdef HAVE_STICKY_REDIS
    static char host[256];
    unsigned port = 6379, db = 0;
    const char *p = url + 8;
    size_t n = strcspn(p, ":/");
    if (n == 0 || n >= sizeof(host)) {
        fprintf(stderr, "sticky-route: replay: bad redis URL %s\n", url);
        return -1;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    p += n;
    char *end = NULL;
    if (*p == ':') {
        port = (unsigned)strtoul(p + 1, &end, 10);
        p = end;
    }
    if (*p == '/') {
        db = (unsigned)strtoul(p + 1, &end, 10);
        p = end;
    }
    if (*p != '\0' || port == 0 || port > 65535) {
        fprintf(stderr, "sticky-route: replay: bad redis URL %s\n", url);
        return -1;
    }
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.host = host;
    o.port = (int32_t)port;
    o.db = (int32_t)db;
    int rc = sticky_redis_store_new(r->ctx, &o, &r->store);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: replay: redis store: %s\n", sticky_strerror(rc));
        return -1;
    }
    return 0;
#else
    (void)r;
    fprintf(stderr, "sticky-route: replay: %s: built without libsticky-redis\n", url);
    return -1;
#endif
}

/* shm:PATH -> a shared segment (created if absent) for the sessions, the
 * channel health and the in-flight counts (sticky_ctx_use_shm). Sizes
 * given on the command line must match an existing file's (0 = the
 * file's). Returns 0 or -1. */
static int open_shm(struct replay *r, const char *path)
{
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.max_sessions = r->o.max_sessions;
    o.max_channels = r->o.shm_channels;
    o.max_processes = r->o.shm_processes;
    int rc = sticky_shm_open(r->ctx, path, &o, &r->shm);
    if (rc == STICKY_OK)
        rc = sticky_shm_store_new(r->shm, &r->store);
    if (rc == STICKY_OK)
        rc = sticky_ctx_set_store(r->ctx, r->store);
    if (rc == STICKY_OK)
        rc = sticky_ctx_use_shm(r->ctx, r->shm);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: replay: shm segment %s: %s\n", path, sticky_strerror(rc));
        return -1;
    }
    return 0;
}

static int setup(struct replay *r)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_to_stderr;
    cfg.log_level = STICKY_LOG_ERROR;
    const char *bad = NULL;
    if (sticky_config_from_env(&cfg, &bad) != STICKY_OK) {
        fprintf(stderr, "sticky-route: replay: bad environment variable %s\n", bad);
        return -1;
    }
    cfg.clock_fn = replay_clock;
    cfg.clock_user = r;
    if (r->o.ttl)
        cfg.ttl_seconds = r->o.ttl;
    if (r->o.renew_set)
        cfg.renew_threshold_seconds = r->o.renew;
    if (cfg.renew_threshold_seconds > cfg.ttl_seconds)
        cfg.renew_threshold_seconds = cfg.ttl_seconds;
    if (r->o.max_sessions)
        cfg.max_sessions = r->o.max_sessions;
    if (r->o.messages)
        cfg.message_count = r->o.messages;
    if (r->o.include_system)
        cfg.include_system_prompt = 1;
    if (r->o.policy >= 0)
        cfg.select_policy = r->o.policy;
    int rc = sticky_ctx_new(&cfg, &r->ctx);
    if (rc == STICKY_OK && r->o.store != NULL && strncmp(r->o.store, "shm:", 4) == 0)
        return open_shm(r, r->o.store + 4); /* sets the store itself */
    if (rc == STICKY_OK && r->o.store != NULL && strncmp(r->o.store, "redis://", 8) == 0) {
        if (open_redis(r, r->o.store) != 0)
            return -1;
    } else if (rc == STICKY_OK) {
        rc = sticky_memory_store_new(r->ctx, NULL, &r->store);
    }
    if (rc == STICKY_OK)
        rc = sticky_ctx_set_store(r->ctx, r->store);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: replay: %s\n", sticky_strerror(rc));
        return -1;
    }
    return 0;
}

/*
 * Trace lines, read in blocks. A line may hold a body up to the library's
 * limit plus the other fields; a longer one (or /dev/zero as the trace) is
 * refused after REPLAY_MAX_LINE + 1 bytes instead of growing a buffer until
 * memory runs out.
 */
#define REPLAY_MAX_LINE (STICKY_MAX_BODY_BYTES + (1u << 20))

struct line_reader {
    FILE *in;
    char *buf;
    size_t cap, start, end; /* unread bytes: buf[start, end) */
    int eof;
};

static int line_reader_init(struct line_reader *lr, FILE *in)
{
    *lr = (struct line_reader){in, malloc(1u << 16), 1u << 16, 0, 0, 0};
    return lr->buf != NULL ? 0 : -1;
}

/* The next line (with its newline, if any) in *@line / *@len, valid until
 * the next call. Returns 1; 0 at the end; -1 on a read error; -2 for a line
 * longer than @max bytes. */
static int next_line(struct line_reader *lr, size_t max, char **line, size_t *len)
{
    size_t scanned = 0; /* bytes of this line known to hold no newline */
    for (;;) {
        char *from = lr->buf + lr->start;
        char *nl = lr->end > lr->start + scanned
                       ? memchr(from + scanned, '\n', lr->end - lr->start - scanned)
                       : NULL;
        if (nl != NULL || (lr->eof && lr->end > lr->start)) {
            *line = from;
            *len = nl != NULL ? (size_t)(nl - from) + 1 : lr->end - lr->start;
            lr->start += *len;
            return *len - (nl != NULL) > max ? -2 : 1;
        }
        if (lr->eof)
            return ferror(lr->in) ? -1 : 0;
        scanned = lr->end - lr->start;
        if (scanned > max)
            return -2;
        if (lr->start > 0) { /* keep the unread part at the front */
            memmove(lr->buf, from, scanned);
            lr->start = 0;
            lr->end = scanned;
        }
        if (lr->end == lr->cap) {
            size_t cap = lr->cap * 2;
            if (cap > max + 2)
                cap = max + 2; /* enough to see that a line is too long */
            char *bigger = realloc(lr->buf, cap);
            if (bigger == NULL)
                return -1;
            lr->buf = bigger;
            lr->cap = cap;
        }
        size_t got = fread(lr->buf + lr->end, 1, lr->cap - lr->end, lr->in);
        lr->end += got;
        if (got == 0)
            lr->eof = 1;
    }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A JSON string, or null for an empty one. */
static void print_str_or_null(FILE *out, const char *s)
{
    if (s[0] == '\0')
        fputs("null", out);
    else
        json_print_string(out, s);
}

/* One --decisions line per attempt: the decision, and what the replay
 * reported for it (status, the failure's headers; null when nothing was
 * reported: no channel). */
static void write_decision(struct replay *r, uint64_t line_no, const char *tenant,
                           const sticky_key_chain *chain, const sticky_decision *d, int attempt,
                           const sticky_outcome *o)
{
    FILE *out = r->decisions;
    if (out == NULL)
        return;
    const char *src = chain->source == STICKY_KEY_SOURCE_EXPLICIT  ? "explicit"
                      : chain->source == STICKY_KEY_SOURCE_CONTENT ? "content"
                                                                   : "none";
    fprintf(out, "{\"i\":%llu,\"t\":%lld,\"tenant\":", (unsigned long long)line_no,
            (long long)r->now_ms);
    json_print_string(out, tenant);
    fputs(",\"key\":", out);
    json_print_string(out, d->key_hex);
    fputs(",\"source\":", out);
    json_print_string(out, src);
    fputs(",\"channel\":", out);
    print_str_or_null(out, d->channel_id);
    fputs(",\"reason\":", out);
    json_print_string(out, sticky_reason_name(d->reason));
    fprintf(out, ",\"attempt\":%d,\"moved_from\":", attempt);
    print_str_or_null(out, d->moved_from);
    if (o == NULL) {
        fputs(",\"status\":null,\"headers\":null}\n", out);
        return;
    }
    fprintf(out, ",\"status\":%d,\"headers\":", o->kind == STICKY_OUTCOME_TIMEOUT ? 0 : o->status);
    if (o->n_headers == 0) {
        fputs("null}\n", out);
        return;
    }
    fputc('{', out);
    for (size_t i = 0; i < o->n_headers; i++) {
        fputs(i ? "," : "", out);
        json_print_string(out, o->headers[i].name);
        fputc(':', out);
        json_print_string(out, o->headers[i].value);
    }
    fputs("}}\n", out);
}

/* The failure the trace injects for @channel, if any. */
static const cJSON *failure_for(const cJSON *fail, const char *channel)
{
    if (!cJSON_IsObject(fail))
        return NULL;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(fail, channel);
    return cJSON_IsObject(f) ? f : NULL;
}

/* Reset and retry-after times (seconds): whole seconds whose milliseconds
 * a double still holds exactly. */
#define REPLAY_MAX_SECONDS (JSON_MAX_EXACT_INT / 1000)

/* The most response headers one failure entry may carry. */
#define REPLAY_MAX_FAIL_HEADERS 32

/* The outcome a failure entry injects; its "headers" (an object of
 * strings) go to @hdrs (REPLAY_MAX_FAIL_HEADERS entries) and o->headers.
 * The numbers ("reset", "retry_after") are set too: a library that reads
 * the headers lets them win. Returns 0, or -1 with the reason in @err (an
 * entry's numbers out of range, headers not an object of strings). */
static int failure_outcome(const cJSON *f, sticky_outcome *o, sticky_header *hdrs, char *err,
                           size_t cap)
{
    int64_t v;
    int got;
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(f, "headers");
    if (headers != NULL && !cJSON_IsNull(headers)) {
        const cJSON *h;
        size_t n = 0;
        if (!cJSON_IsObject(headers) || cJSON_GetArraySize(headers) > REPLAY_MAX_FAIL_HEADERS) {
            snprintf(err, cap, "\"headers\": not an object of at most %d strings",
                     REPLAY_MAX_FAIL_HEADERS);
            return -1;
        }
        cJSON_ArrayForEach(h, headers) {
            if (!cJSON_IsString(h) || h->string == NULL) {
                snprintf(err, cap, "\"headers\": %.60s is not a string",
                         h->string ? h->string : "?");
                return -1;
            }
            hdrs[n].name = h->string;
            hdrs[n].name_len = strlen(h->string);
            hdrs[n].value = h->valuestring;
            hdrs[n].value_len = strlen(h->valuestring);
            n++;
        }
        o->headers = n ? hdrs : NULL;
        o->n_headers = n;
    }
    o->status = 500;
    if ((got = json_get_int(f, "status", 0, 999, &v, err, cap)) < 0)
        return -1;
    if (got)
        o->status = (int)v;
    if (o->status == 0)
        o->kind = STICKY_OUTCOME_TIMEOUT;
    if ((got = json_get_int(f, "reset", 0, REPLAY_MAX_SECONDS, &v, err, cap)) < 0)
        return -1;
    if (got)
        o->reset_epoch_seconds = v;
    if ((got = json_get_int(f, "retry_after", 0, REPLAY_MAX_SECONDS, &v, err, cap)) < 0)
        return -1;
    if (got)
        o->retry_after_seconds = v;
    return 0;
}

/* Check every failure entry of a line (and its fail_on_move) before
 * anything is selected, so a bad number stops the line before it changes
 * any state. */
static int check_failures(const cJSON *fail, const cJSON *on_move, char *err, size_t cap)
{
    const cJSON *f;
    sticky_header hdrs[REPLAY_MAX_FAIL_HEADERS];
    char why[160];
    sticky_outcome o;
    if (on_move != NULL && !cJSON_IsNull(on_move)) {
        sticky_outcome_init(&o);
        if (!cJSON_IsObject(on_move)) {
            snprintf(err, cap, "fail_on_move: not an object");
            return -1;
        }
        if (failure_outcome(on_move, &o, hdrs, why, sizeof(why)) != 0) {
            snprintf(err, cap, "fail_on_move: %s", why);
            return -1;
        }
    }
    if (!cJSON_IsObject(fail))
        return 0;
    cJSON_ArrayForEach(f, fail) {
        sticky_outcome_init(&o);
        if (cJSON_IsObject(f) && failure_outcome(f, &o, hdrs, why, sizeof(why)) != 0) {
            snprintf(err, cap, "fail.%.60s: %s", f->string ? f->string : "?", why);
            return -1;
        }
    }
    return 0;
}

static int run_request(struct replay *r, uint64_t line_no, const cJSON *line, char *err,
                       size_t err_cap)
{
    const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(line, "tenant");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(line, "model");
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(line, "headers");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(line, "body");
    const cJSON *body_file = cJSON_GetObjectItemCaseSensitive(line, "body_file");
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(line, "fail");
    const cJSON *on_move = cJSON_GetObjectItemCaseSensitive(line, "fail_on_move");
    const char *ten = cJSON_IsString(tenant) ? tenant->valuestring : "";
    char *raw = NULL;
    size_t raw_len = 0;
    if (check_failures(fail, on_move, err, err_cap) != 0)
        return -1;
    if (!cJSON_IsObject(on_move))
        on_move = NULL;
    /* The request's model: the line's, else the body's top-level "model"
     * (for the session accounting: a side request is one on another model
     * than its session's first request). */
    const char *model_name = cJSON_IsString(model) ? model->valuestring : "";
    if (!cJSON_IsString(model) && cJSON_IsObject(body)) {
        const cJSON *bm = cJSON_GetObjectItemCaseSensitive(body, "model");
        if (cJSON_IsString(bm))
            model_name = bm->valuestring;
    }
    if (cJSON_IsObject(body)) {
        raw = cJSON_PrintUnformatted(body);
        raw_len = raw ? strlen(raw) : 0;
    } else if (cJSON_IsString(body_file)) {
        char path[4096];
        if (body_file->valuestring[0] == '/' || r->trace_dir == NULL)
            snprintf(path, sizeof(path), "%s", body_file->valuestring);
        else
            snprintf(path, sizeof(path), "%s/%s", r->trace_dir, body_file->valuestring);
        int got = read_file(path, STICKY_MAX_BODY_BYTES, &raw, &raw_len);
        if (got == -2) {
            snprintf(err, err_cap, "body_file %.200s: larger than the body limit (%u bytes)",
                     body_file->valuestring, STICKY_MAX_BODY_BYTES);
            return -1;
        }
        if (got != 0) {
            snprintf(err, err_cap, "cannot read body_file %.200s", body_file->valuestring);
            return -1;
        }
    } else {
        snprintf(err, err_cap, "a request needs \"body\" (object) or \"body_file\"");
        return -1;
    }
    sticky_header hdrs[32];
    size_t n_h = 0;
    const cJSON *h;
    if (cJSON_IsObject(headers)) {
        cJSON_ArrayForEach(h, headers) {
            if (n_h < 32 && cJSON_IsString(h) && h->string) {
                hdrs[n_h].name = h->string;
                hdrs[n_h].name_len = strlen(h->string);
                hdrs[n_h].value = h->valuestring;
                hdrs[n_h].value_len = strlen(h->valuestring);
                n_h++;
            }
        }
    }
    /* One request for both calls: the key is derived once (replay needs the
     * chain for its own session accounting), then handed to select. */
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = ten;
    req.tenant_len = strlen(ten);
    req.body = raw;
    req.body_len = raw_len;
    req.headers = hdrs;
    req.n_headers = n_h;
    if (cJSON_IsString(model)) {
        req.model = model->valuestring;
        req.model_len = strlen(model->valuestring);
    }
    req.flags = r->o.strict ? STICKY_SELECT_STRICT : 0;
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    int rc = sticky_key_derive(r->ctx, &req, &chain);
    free(raw);
    req.body = NULL; /* freed; select reads the chain */
    req.body_len = 0;
    if (rc != STICKY_OK) {
        snprintf(err, err_cap, "body: %s", sticky_strerror(rc));
        return -1;
    }
    req.chain = &chain;
    /* The session: its first key. Keys are already scoped to the tenant
     * (it is hashed in), so two tenants never share one, whatever the
     * length of their names. */
    char sid[STICKY_KEY_HEX_SIZE] = "";
    if (chain.n_keys > 0)
        sticky_key_to_hex(chain.keys[0], sid);
    r->stats.requests++;
    /* The session's channel before this request: an attempt elsewhere (or
     * one the library marks with moved_from) moves the session. */
    int last_main = -1;
    int side = replay_stats_lookup(&r->stats, sid, model_name, &last_main);
    int final = -1, move_failed = 0;
    /* A line's failure for a channel applies to the first attempt there:
     * upstream failures are transient, a retry on the same channel (the
     * library does that after a 529, which cools nothing) is answered. */
    int failed_at[16];
    unsigned n_failed_at = 0;
    for (unsigned attempt = 1; attempt <= r->o.max_attempts; attempt++) {
        sticky_decision d;
        sticky_decision_init(&d);
        uint64_t t0 = mono_ns();
        rc = sticky_select(r->ctx, &req, r->ch.ch, r->ch.n, &d);
        replay_stats_latency(&r->stats, mono_ns() - t0);
        r->stats.attempts++;
        r->stats.reasons[d.reason & 15]++;
        if (rc != STICKY_OK) {
            write_decision(r, line_no, ten, &chain, &d, (int)attempt, NULL);
            break;
        }
        const cJSON *f = failure_for(fail, d.channel_id);
        for (unsigned i = 0; i < n_failed_at && f != NULL; i++) {
            if (failed_at[i] == d.channel_index)
                f = NULL;
        }
        if (f != NULL && n_failed_at < sizeof(failed_at) / sizeof(failed_at[0]))
            failed_at[n_failed_at++] = d.channel_index;
        int moves = d.moved_from[0] != '\0' ||
                    (!side && last_main >= 0 && d.channel_index != last_main);
        if (f == NULL && on_move != NULL && moves && !move_failed) {
            f = on_move; /* the first attempt of a move fails, once per line */
            move_failed = 1;
            r->stats.failed_moves++;
        }
        sticky_header hdrs[REPLAY_MAX_FAIL_HEADERS];
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = 200;
        if (f != NULL)
            failure_outcome(f, &o, hdrs, err, err_cap); /* checked by check_failures() */
        if (o.kind == STICKY_OUTCOME_HTTP && (o.status == 401 || o.status == 403))
            r->stats.auth_failures++;
        write_decision(r, line_no, ten, &chain, &d, (int)attempt, &o);
        sticky_report(r->ctx, &d, &o);
        if (f == NULL) {
            final = d.channel_index;
            break;
        }
    }
    if (final < 0)
        r->stats.failed_requests++;
    replay_stats_request(&r->stats, sid, model_name, final);
    return 0;
}

static int run_event(struct replay *r, const cJSON *line, char *err, size_t cap)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(line, "channel");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(line, "state");
    int idx = cJSON_IsString(ch) ? replay_channel_index(&r->ch, ch->valuestring) : -1;
    if (idx < 0) {
        snprintf(err, cap, "unknown channel in event");
        return -1;
    }
    const char *s = cJSON_IsString(st) ? st->valuestring : "";
    int state = strcmp(s, "active") == 0     ? STICKY_CHANNEL_ACTIVE
                : strcmp(s, "disabled") == 0 ? STICKY_CHANNEL_DISABLED
                : strcmp(s, "draining") == 0 ? STICKY_CHANNEL_DRAINING
                                             : -1;
    if (state < 0) {
        snprintf(err, cap, "state must be active, disabled or draining");
        return -1;
    }
    r->ch.ch[idx].state = state;
    r->stats.events++;
    return 0;
}

static int run_line(struct replay *r, uint64_t line_no, const char *text, size_t len, char *err,
                    size_t cap)
{
    cJSON *line = cJSON_ParseWithLength(text, len);
    if (line == NULL || !cJSON_IsObject(line)) {
        cJSON_Delete(line);
        snprintf(err, cap, "not a JSON object");
        return -1;
    }
    int64_t tm = 0;
    int rc = -1, has_t = json_get_int(line, "t", 0, JSON_MAX_EXACT_INT, &tm, err, cap);
    if (has_t == 0) {
        snprintf(err, cap, "missing numeric \"t\" (ms)");
    } else if (has_t > 0) {
        if (tm > r->now_ms)
            r->now_ms = tm; /* out-of-order lines do not move time back */
        rc = cJSON_GetObjectItemCaseSensitive(line, "channel") ? run_event(r, line, err, cap)
                                                                : run_request(r, line_no, line, err, cap);
    }
    cJSON_Delete(line);
    return rc;
}

int cmd_replay(int argc, char **argv)
{
    struct replay r;
    memset(&r, 0, sizeof(r));
    if (parse_opts(argc, argv, &r.o) != 0) {
        usage();
        return EXIT_USAGE;
    }
    if (replay_channels_load(r.o.channels, &r.ch) != 0)
        return EXIT_USAGE;
    const char *trace = r.o.trace ? r.o.trace : "-";
    FILE *in = strcmp(trace, "-") == 0 ? stdin : fopen(trace, "r");
    if (in == NULL) {
        fprintf(stderr, "sticky-route: replay: cannot open %s\n", trace);
        replay_channels_free(&r.ch);
        return EXIT_BODY;
    }
    char dir[4096];
    if (in != stdin) {
        snprintf(dir, sizeof(dir), "%s", trace);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            r.trace_dir = dir;
        }
    }
    int exit_code = 0;
    if (r.o.decisions && (r.decisions = fopen(r.o.decisions, "w")) == NULL) {
        fprintf(stderr, "sticky-route: replay: cannot write %s\n", r.o.decisions);
        exit_code = EXIT_USAGE;
        goto out;
    }
    /* The context and store are made before the first line, at clock 0:
     * the store follows the jump to the trace's times (docs/storage.md). */
    if (setup(&r) != 0) {
        exit_code = EXIT_USAGE;
        goto out;
    }
    replay_stats_init(&r.stats);
    int progress = isatty(2);
    struct line_reader lines;
    if (line_reader_init(&lines, in) != 0) {
        fprintf(stderr, "sticky-route: replay: out of memory\n");
        exit_code = EXIT_USAGE;
        replay_stats_free(&r.stats);
        goto out;
    }
    char *buf;
    size_t n;
    int got;
    uint64_t line_no = 0;
    while ((got = next_line(&lines, REPLAY_MAX_LINE, &buf, &n)) != 0) {
        line_no++;
        if (got < 0) {
            /* Not skippable: what follows may be endless (/dev/zero). */
            if (got == -2)
                fprintf(stderr, "sticky-route: replay: %s: line %llu: longer than %u bytes "
                        "(the body limit + 1 MiB)\n", trace, (unsigned long long)line_no,
                        REPLAY_MAX_LINE);
            else
                fprintf(stderr, "sticky-route: replay: %s: line %llu: read failed\n", trace,
                        (unsigned long long)line_no);
            exit_code = EXIT_BODY;
            break;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        char err[256];
        int lrc = run_line(&r, line_no, buf, n, err, sizeof(err));
        if (lrc != 0) {
            fprintf(stderr, "sticky-route: replay: %s: line %llu: %s\n", trace,
                    (unsigned long long)line_no, err);
            if (!r.o.skip_bad) {
                exit_code = EXIT_BODY;
                break;
            }
            r.stats.bad_lines++;
        }
        if (progress && line_no % 1000 == 0)
            fprintf(stderr, "\rsticky-route: replay: %llu lines", (unsigned long long)line_no);
    }
    if (progress && line_no >= 1000)
        fprintf(stderr, "\n");
    free(lines.buf);
    if (exit_code == 0)
        replay_stats_print(stdout, &r.stats, &r.ch, r.ctx, r.store, r.o.human);
    replay_stats_free(&r.stats);
out:
    if (r.decisions)
        fclose(r.decisions);
    if (in != stdin)
        fclose(in);
    sticky_store_free(r.store);
    sticky_shm_close(r.shm); /* before the context: its allocator frees the handle */
    sticky_ctx_free(r.ctx);
    replay_channels_free(&r.ch);
    return exit_code;
}
