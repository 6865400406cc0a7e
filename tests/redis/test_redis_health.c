/*
 * tests/redis/test_redis_health.c - channel health shared across gateway
 * nodes through Redis (store vtable version 2; docs/redis.md, "Shared
 * channel health"). Two or three contexts ("nodes"), each with its own
 * Redis store handle on one real server and one fake clock between them:
 *   - a 429 with a reset time seen by node A: node B's very next sticky
 *     hit (one round trip, counted in SLOWLOG per client name and by the
 *     store's round_trips) brings the news; B's session bound to the
 *     channel fails over once;
 *   - a revocation (401) likewise, also to a node started afterwards;
 *   - a host's clear likewise; a clear of an earlier moment than a
 *     cooldown does not undo it;
 *   - junk in the health hash (bad records, a bad version, a key of the
 *     wrong type) never breaks a decision and is logged;
 *   - a scripted incident timeline over many sessions on two nodes (429
 *     with reset headers on one account, 529 noise, a revoked key, side
 *     requests on another model): no turn is lost while a healthy channel
 *     exists, and after an event neither node sends a turn to the
 *     rate-limited or revoked channel again (each is seen exactly once).
 * The version-1 side (a backend without health methods) is covered by
 * tests/unit/test_store_health.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "redis_test_util.h"

struct test_redis g_redis;

#define T0 1750000000000LL
#define SONNET "claude-sonnet-4-5"
#define HAIKU "claude-haiku-4-5"

static _Atomic int64_t g_now = T0; /* the nodes' one clock (threads read it) */

static int64_t clock_read(void *user)
{
    (void)user;
    return g_now;
}

struct logbuf {
    int warns;
    char all[16384];
};

static void log_cb(int level, const char *msg, void *user)
{
    struct logbuf *b = user;
    if (level == STICKY_LOG_WARN)
        b->warns++;
    size_t used = strlen(b->all);
    if (used + strlen(msg) + 2 < sizeof(b->all)) {
        strcat(b->all, msg);
        strcat(b->all, "\n");
    }
}

/* A gateway node: its own context and Redis store, named in CLIENT LIST. */
struct node {
    sticky_ctx *ctx;
    sticky_store *st;
    char name[32];
    struct logbuf log;
};

static void node_open(struct node *n, const char *prefix, const char *name)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = clock_read;
    cfg.log_fn = log_cb;
    cfg.log_user = &n->log;
    cfg.log_level = STICKY_LOG_WARN;
    assert_int_equal(sticky_ctx_new(&cfg, &n->ctx), STICKY_OK);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.command_timeout_ms = 2000; /* no spurious degradation on a busy box */
    o.pool_size = 1;
    o.client_name = n->name;
    assert_int_equal(make_redis_store(n->ctx, prefix, &o, &n->st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(n->ctx, n->st), STICKY_OK);
}

static void node_close(struct node *n)
{
    sticky_store_free(n->st);
    sticky_ctx_free(n->ctx);
}

static sticky_redis_store_stats rstats(struct node *n)
{
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    assert_int_equal(sticky_redis_store_get_stats(n->st, &s), STICKY_OK);
    return s;
}

static sticky_channel_health health(struct node *n, const char *id)
{
    sticky_channel_health v;
    sticky_channel_health_init(&v);
    int rc = sticky_ctx_get_channel_health(n->ctx, id, &v);
    if (rc == STICKY_ENOTFOUND)
        v.state = STICKY_HEALTH_OK;
    else
        assert_int_equal(rc, STICKY_OK);
    return v;
}

/* Turn @turn of conversation @conv (2*turn-1 messages) with @model. The
 * attempt stays open: report or release it. */
static int turn(struct node *n, int conv, int t, const char *model, const char *const *ids,
                size_t n_ids, sticky_decision *d)
{
    char body[4096];
    size_t o = (size_t)snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":[", model);
    for (int m = 0; m < 2 * t - 1; m++)
        o += (size_t)snprintf(body + o, sizeof(body) - o,
                              "%s{\"role\":\"%s\",\"content\":\"conv %d msg %d\"}", m ? "," : "",
                              m % 2 ? "assistant" : "user", conv, m);
    snprintf(body + o, sizeof(body) - o, "]}");
    sticky_channel ch[8];
    for (size_t i = 0; i < n_ids; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
    }
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = "tenant-1";
    r.tenant_len = strlen(r.tenant);
    r.model = model;
    r.model_len = strlen(model);
    r.body = body;
    r.body_len = strlen(body);
    sticky_decision_init(d);
    return sticky_select(n->ctx, &r, ch, n_ids, d);
}

/* A turn that must succeed; its attempt is released. */
static sticky_decision ok_turn(struct node *n, int conv, int t, const char *const *ids,
                               size_t n_ids)
{
    sticky_decision d;
    int rc = turn(n, conv, t, SONNET, ids, n_ids, &d);
    if (rc != STICKY_OK)
        fail_msg("%s: conv %d turn %d: %s", n->name, conv, t, sticky_strerror(rc));
    assert_int_equal(d.store_degraded, 0);
    sticky_release(n->ctx, &d);
    return d;
}

/* Report @status; with @reset_header, the upstream's unified reset (epoch
 * seconds), for the whole account when @account_wide (the unified limiter
 * said "rejected"), else for the request's model family. */
static void report_ex(struct node *n, sticky_decision *d, int status, const char *reset_header,
                      int account_wide)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    sticky_header h[2] = {
        {"anthropic-ratelimit-unified-reset", 33, reset_header,
         reset_header ? strlen(reset_header) : 0},
        {"anthropic-ratelimit-unified-status", 34, "rejected", 8}};
    if (reset_header != NULL) {
        o.headers = h;
        o.n_headers = account_wide ? 2 : 1;
    }
    assert_int_equal(sticky_report(n->ctx, d, &o), STICKY_OK);
}

static void report(struct node *n, sticky_decision *d, int status, const char *reset_header)
{
    report_ex(n, d, status, reset_header, 0);
}

static void admin_cmd(redisContext *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(a, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void slowlog_on(redisContext *a)
{
    admin_cmd(a, "CONFIG SET slowlog-max-len 100000");
    admin_cmd(a, "CONFIG SET slowlog-log-slower-than 0");
    admin_cmd(a, "SLOWLOG RESET");
}

static const char *const two[] = {"acct-1", "acct-2"};

/* Conversation numbers from @from on until one binds to @want on @n. */
static int conv_bound_to(struct node *n, int from, const char *want)
{
    for (int c = from; c < from + 200; c++) {
        g_now += 1; /* least recently used: no ties */
        sticky_decision d = ok_turn(n, c, 1, two, 2);
        if (strcmp(d.channel_id, want) == 0)
            return c;
    }
    fail_msg("no conversation bound to %s", want);
    return -1;
}

/* A 429 with a reset seen by A reaches B on B's next sticky hit, in that
 * hit's one round trip; B's session on the channel fails over once. */
static void rate_limit_reaches_other_node(void **state)
{
    (void)state;
    g_now = T0;
    struct node a, b;
    node_open(&a, "h1:", "node-a");
    node_open(&b, "h1:", "node-b");
    redisContext *adm = test_redis_admin(&g_redis);
    assert_non_null(adm);

    /* Conversation cx on acct-1, cy on acct-2; both known to B (turn 2
     * promotes to the deepest key, turn 3 on is a plain hit). */
    int cx = conv_bound_to(&a, 1, "acct-1");
    int cy = conv_bound_to(&a, cx + 1, "acct-2");
    assert_int_equal(ok_turn(&b, cx, 2, two, 2).reason, STICKY_REASON_PROMOTED_HIT);
    assert_int_equal(ok_turn(&b, cy, 2, two, 2).reason, STICKY_REASON_PROMOTED_HIT);

    /* Before: a sticky hit on B is one command. */
    slowlog_on(adm);
    uint64_t rt0 = rstats(&b).round_trips;
    assert_int_equal(ok_turn(&b, cy, 3, two, 2).reason, STICKY_REASON_HIT);
    assert_int_equal(test_redis_client_commands(adm, "node-b"), 1);
    assert_int_equal(rstats(&b).round_trips - rt0, 1);

    /* A: 429 on acct-1 with the unified reset 120 s ahead, the whole
     * account rejected. */
    sticky_decision d;
    assert_int_equal(turn(&a, cx, 3, SONNET, two, 2, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "acct-1");
    char reset[32];
    int64_t reset_s = g_now / 1000 + 120;
    snprintf(reset, sizeof(reset), "%lld", (long long)reset_s);
    report_ex(&a, &d, 429, reset, 1);
    assert_int_equal(rstats(&a).health_published, 1);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_OK); /* not yet */

    /* After: B's next hit (on the other channel) is still one command and
     * brings the 429 along. */
    admin_cmd(adm, "SLOWLOG RESET");
    rt0 = rstats(&b).round_trips;
    g_now += 1000;
    assert_int_equal(ok_turn(&b, cy, 4, two, 2).reason, STICKY_REASON_HIT);
    assert_int_equal(test_redis_client_commands(adm, "node-b"), 1);
    assert_int_equal(rstats(&b).round_trips - rt0, 1);
    sticky_channel_health v = health(&b, "acct-1");
    assert_int_equal(v.state, STICKY_HEALTH_RATE_LIMITED);
    assert_int_equal(v.family, STICKY_MODEL_FAMILY_ALL);
    assert_int_equal(v.until_ms, reset_s * 1000);
    assert_int_equal(rstats(&b).health_received, 1);

    /* B's session on acct-1 moves once, then sticks. */
    sticky_decision e = ok_turn(&b, cx, 4, two, 2);
    assert_string_equal(e.channel_id, "acct-2");
    assert_int_equal(e.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(e.moved_from, "acct-1");
    assert_int_equal(ok_turn(&b, cx, 5, two, 2).reason, STICKY_REASON_HIT);
    /* A (which saw it) follows B's rebinding. */
    assert_string_equal(ok_turn(&a, cx, 6, two, 2).channel_id, "acct-2");

    /* Nothing more to learn: a hit's reply carries no health part. */
    uint64_t got = rstats(&b).health_received;
    ok_turn(&b, cy, 5, two, 2);
    assert_int_equal(rstats(&b).health_received, got);

    /* After the reset the channel is usable again everywhere. */
    g_now = reset_s * 1000 + 1;
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_OK);
    redisFree(adm);
    node_close(&a);
    node_close(&b);
}

/* A revocation on B reaches A, and a node started afterwards; the host's
 * clear on A reaches B and that node. */
static void revocation_and_clear_reach_other_nodes(void **state)
{
    (void)state;
    g_now = T0;
    struct node a, b, c;
    node_open(&a, "h2:", "node-a");
    node_open(&b, "h2:", "node-b");
    int cx = conv_bound_to(&b, 1, "acct-1");
    ok_turn(&a, cx, 2, two, 2);

    sticky_decision d;
    assert_int_equal(turn(&b, cx, 3, SONNET, two, 2, &d), STICKY_OK);
    report(&b, &d, 401, NULL);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_AUTH);

    sticky_decision e = ok_turn(&a, cx, 3, two, 2);
    assert_string_equal(e.channel_id, "acct-2");
    assert_int_equal(e.reason, STICKY_REASON_FAILOVER);
    sticky_channel_health v = health(&a, "acct-1");
    assert_int_equal(v.state, STICKY_HEALTH_AUTH);
    assert_true(v.until_ms == INT64_MAX);

    /* A node started later learns the current state at its first get. */
    node_open(&c, "h2:", "node-c");
    ok_turn(&c, 999, 1, two, 2);
    assert_int_equal(health(&c, "acct-1").state, STICKY_HEALTH_AUTH);

    /* The host replaced the key and clears on A: B and C follow. */
    assert_int_equal(sticky_ctx_clear_channel_health(a.ctx, "acct-1"), STICKY_OK);
    ok_turn(&b, 998, 1, two, 2);
    ok_turn(&c, 998, 2, two, 2);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_OK);
    assert_int_equal(health(&c, "acct-1").state, STICKY_HEALTH_OK);

    /* A clear of an earlier moment than a cooldown does not undo it: B
     * sees a 429 at t; A's clear stamped t - 1 s arrives after it. */
    g_now += 10000;
    int cz = conv_bound_to(&b, 2000, "acct-1");
    assert_int_equal(turn(&b, cz, 2, SONNET, two, 2, &d), STICKY_OK);
    char reset[32];
    snprintf(reset, sizeof(reset), "%lld", (long long)(g_now / 1000 + 300));
    report(&b, &d, 429, reset);
    g_now -= 1000;
    assert_int_equal(sticky_ctx_clear_channel_health(a.ctx, "acct-1"), STICKY_OK);
    g_now += 1000;
    ok_turn(&b, 998, 3, two, 2);
    ok_turn(&c, 998, 4, two, 2);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_RATE_LIMITED);
    assert_int_equal(health(&c, "acct-1").state, STICKY_HEALTH_RATE_LIMITED);
    ok_turn(&a, 998, 5, two, 2);
    assert_int_equal(health(&a, "acct-1").state, STICKY_HEALTH_RATE_LIMITED);

    node_close(&a);
    node_close(&b);
    node_close(&c);
}

/* Junk in the health hash: decisions go on, the junk is logged and
 * ignored, the publish script repairs what it can. */
static void garbled_health_data_is_ignored(void **state)
{
    (void)state;
    g_now = T0;
    struct node a, b;
    node_open(&a, "h4:", "node-a");
    node_open(&b, "h4:", "node-b");
    redisContext *adm = test_redis_admin(&g_redis);
    int cx = conv_bound_to(&a, 1, "acct-1");
    ok_turn(&b, cx, 2, two, 2);

    /* Bad records under a good version. */
    admin_cmd(adm, "HSET h4:health v 7 0|acct-1 garbage zz 1,2,3 1| 5,1,1,1,00");
    admin_cmd(adm, "HSET h4:health 2|acct-1 6,99999999999999,3,1,zzzzzzzzzzzzzzzz");
    admin_cmd(adm, "HSET h4:health 3|acct-1 %s", "5,99999999999999,1,1,0123456789abcdeg");
    admin_cmd(adm, "HSET h4:health 0|acct-2 4,99999999999999999999999,1,1,0123456789abcdef");
    sticky_decision d = ok_turn(&b, cx, 3, two, 2);
    assert_string_equal(d.channel_id, "acct-1");
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_OK);
    assert_int_equal(health(&b, "acct-2").state, STICKY_HEALTH_OK);
    assert_true(rstats(&b).health_ignored >= 6);
    assert_non_null(strstr(b.log.all, "undecodable record"));
    assert_int_equal(rstats(&b).protocol_errors, 0);

    /* A bad version: reported once, then silent; decisions go on. */
    admin_cmd(adm, "HSET h4:health v notanumber");
    for (int i = 0; i < 3; i++)
        assert_int_equal(ok_turn(&b, cx, 4 + i, two, 2).reason, STICKY_REASON_HIT);
    assert_non_null(strstr(b.log.all, "is not a health hash"));
    const char *first = strstr(b.log.all, "is not a health hash");
    assert_null(strstr(first + 1, "is not a health hash"));

    /* A key of the wrong type: gets and puts still work (no WRONGTYPE
     * error reaches a decision); a publish fails with a log line and the
     * local state stands. */
    admin_cmd(adm, "DEL h4:health");
    admin_cmd(adm, "SET h4:health a-string");
    for (int i = 0; i < 3; i++) {
        d = ok_turn(&b, cx, 7 + i, two, 2);
        assert_int_equal(d.reason, STICKY_REASON_HIT);
    }
    ok_turn(&b, 5000, 1, two, 2); /* a new session: the put script too */
    assert_int_equal(turn(&a, cx, 10, SONNET, two, 2, &d), STICKY_OK);
    report(&a, &d, 401, NULL);
    assert_non_null(strstr(a.log.all, "sharing its health"));
    assert_int_equal(health(&a, "acct-1").state, STICKY_HEALTH_AUTH);
    assert_int_equal(health(&b, "acct-1").state, STICKY_HEALTH_OK);

    /* Repaired (the operator deletes the key): sharing resumes. */
    admin_cmd(adm, "DEL h4:health");
    int cy = conv_bound_to(&b, 6000, "acct-2");
    assert_int_equal(turn(&a, cy, 2, SONNET, two, 2, &d), STICKY_OK);
    report(&a, &d, 403, NULL);
    ok_turn(&b, cx, 11, two, 2);
    assert_int_equal(health(&b, "acct-2").state, STICKY_HEALTH_AUTH);

    /* The publish script prunes junk fields once the hash has grown. */
    for (int i = 0; i < 40; i++)
        admin_cmd(adm, "HSET h4:health junk%d x", i);
    g_now += 1000;
    assert_int_equal(sticky_ctx_clear_channel_health(a.ctx, "acct-1"), STICKY_OK);
    assert_int_equal(test_redis_int(adm, "HEXISTS h4:health junk7"), 0);
    assert_int_equal(test_redis_int(adm, "HLEN h4:health"), 3); /* v, x|acct-1, 0|acct-2 */

    redisFree(adm);
    node_close(&a);
    node_close(&b);
}

/* ---- the incident timeline ---------------------------------------------- */

#define N_ACCT 4
#define SESSIONS 32
#define ROUNDS 40
#define STEP_MS 5000
#define TRIES 6

static const char *const accts[N_ACCT] = {"acct-1", "acct-2", "acct-3", "acct-4"};

struct world {
    struct node n[2];
    int64_t start, rl_from, rl_until, revoked_from;
    int64_t rl_known, revoked_known; /* when first reported; 0: not yet */
    long requests, served, lost, rl_429s, revoked_401s, overloaded, side;
    long after_event_sends[2];       /* per node: sends to a known-bad channel */
    char bound[SESSIONS][STICKY_ID_SIZE];
    int moves[SESSIONS];
};

static int acct_of(const char *id)
{
    for (int i = 0; i < N_ACCT; i++)
        if (strcmp(id, accts[i]) == 0)
            return i;
    fail_msg("unknown channel %s", id);
    return -1;
}

/* The upstream: acct-1 rate-limits sonnet (the unified reset header) in
 * [rl_from, rl_until); acct-3 refuses every request from revoked_from on;
 * every 9th request anywhere else is a 529. */
static int upstream(struct world *w, int acct, int sonnet, char *reset, size_t cap)
{
    w->requests++;
    if (acct == 0 && sonnet && g_now >= w->rl_from && g_now < w->rl_until) {
        snprintf(reset, cap, "%lld", (long long)(w->rl_until / 1000));
        return 429;
    }
    if (acct == 2 && g_now >= w->revoked_from)
        return 401;
    if (w->requests % 9 == 0)
        return 529;
    return 200;
}

static void one_turn(struct world *w, int s, int t, int node)
{
    struct node *n = &w->n[node];
    int side = t % 4 == 0; /* a haiku side request (a title, a summary) */
    for (int tries = 0; tries < TRIES; tries++) {
        sticky_decision d;
        int rc = turn(n, 100 + s, t, side ? HAIKU : SONNET, accts, N_ACCT, &d);
        if (rc != STICKY_OK)
            fail_msg("%s: session %d turn %d refused (%s) with healthy channels", n->name, s,
                     t, sticky_strerror(rc));
        assert_int_equal(d.store_degraded, 0);
        int a = acct_of(d.channel_id);
        /* After an event was reported (by either node), no node sends
         * there again while it lasts. */
        if ((a == 0 && !side && w->rl_known != 0 && g_now < w->rl_until) ||
            (a == 2 && w->revoked_known != 0))
            w->after_event_sends[node]++;
        if (d.reason == STICKY_REASON_FAILOVER)
            w->moves[s]++;
        if (d.reason != STICKY_REASON_SIDE && d.reason != STICKY_REASON_SPILL)
            strcpy(w->bound[s], d.channel_id);
        w->side += side;
        char reset[32] = "";
        int status = upstream(w, a, !side, reset, sizeof(reset));
        report(n, &d, status, status == 429 ? reset : NULL);
        if (status == 429) {
            w->rl_429s++;
            if (w->rl_known == 0)
                w->rl_known = g_now;
        } else if (status == 401) {
            w->revoked_401s++;
            if (w->revoked_known == 0)
                w->revoked_known = g_now;
        } else if (status == 529) {
            w->overloaded++;
        } else {
            w->served++;
            return;
        }
    }
    w->lost++;
}

static void incident_timeline_two_nodes(void **state)
{
    (void)state;
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    g_now = T0;
    w->start = T0;
    w->rl_from = T0 + 5 * STEP_MS;
    w->rl_until = T0 + 25 * STEP_MS;
    w->revoked_from = T0 + 12 * STEP_MS;
    node_open(&w->n[0], "h6:", "node-a");
    node_open(&w->n[1], "h6:", "node-b");
    for (int round = 0; round < ROUNDS; round++) {
        for (int s = 0; s < SESSIONS; s++) {
            /* Turns alternate between the nodes, as a load balancer does. */
            one_turn(w, s, round + 1, (s + round) % 2);
            g_now += STEP_MS / SESSIONS;
        }
    }
    int on_bad = 0;
    for (int s = 0; s < SESSIONS; s++)
        on_bad += strcmp(w->bound[s], "acct-1") == 0 || strcmp(w->bound[s], "acct-3") == 0;
    print_message("timeline: %ld requests, %ld turns served (%ld side), %ld lost, 429s %ld, "
                  "401s %ld, 529s %ld, sends after an event: node-a %ld node-b %ld\n",
                  w->requests, w->served, w->side, w->lost, w->rl_429s, w->revoked_401s,
                  w->overloaded, w->after_event_sends[0], w->after_event_sends[1]);
    assert_int_equal(w->lost, 0);
    assert_int_equal(w->served, SESSIONS * ROUNDS);
    /* Each incident is learned once, by one node, for both. */
    assert_int_equal(w->rl_429s, 1);
    assert_int_equal(w->revoked_401s, 1);
    assert_int_equal(w->after_event_sends[0], 0);
    assert_int_equal(w->after_event_sends[1], 0);
    assert_true(w->overloaded > 0);
    /* Sticky: a session moves only off a channel hit by an incident, so
     * at most twice (acct-1 then acct-3 or back), and no session ends on
     * the revoked account. */
    for (int s = 0; s < SESSIONS; s++) {
        assert_true(w->moves[s] <= 2);
        assert_string_not_equal(w->bound[s], "acct-3");
    }
    (void)on_bad;
    node_close(&w->n[0]);
    node_close(&w->n[1]);
    free(w);
}


/* ---- threads ----------------------------------------------------------------- */

#define N_THREADS 4
#define N_REVOKED 20

struct hitter {
    struct node *n;
    int conv;
    int errors;
};

static void *hit_loop(void *arg)
{
    struct hitter *t = arg;
    for (int i = 0; i < 150; i++) {
        sticky_decision d;
        if (turn(t->n, t->conv, 3, SONNET, two, 2, &d) != STICKY_OK || d.store_degraded)
            t->errors++;
        else
            sticky_release(t->n->ctx, &d);
    }
    return NULL;
}

/* Node B's threads take health news from their replies at the same time
 * (one queue, one version) while node A publishes: every record arrives,
 * none twice out of order (a clear never lands after the cooldown that
 * followed it). Run under ThreadSanitizer by the threads suite. */
static void threads_take_news_concurrently(void **state)
{
    (void)state;
    g_now = T0;
    struct node a, b;
    node_open(&a, "h7:", "node-a");
    node_open(&b, "h7:", "node-b");
    sticky_redis_store_options o;
    /* B: 4 pooled connections, one per thread. */
    node_close(&b);
    memset(&b, 0, sizeof(b));
    snprintf(b.name, sizeof(b.name), "node-b");
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = clock_read;
    assert_int_equal(sticky_ctx_new(&cfg, &b.ctx), STICKY_OK);
    sticky_redis_store_options_init(&o);
    o.command_timeout_ms = 2000;
    o.pool_size = N_THREADS;
    assert_int_equal(make_redis_store(b.ctx, "h7:", &o, &b.st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(b.ctx, b.st), STICKY_OK);

    struct hitter t[N_THREADS];
    pthread_t tid[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        t[i] = (struct hitter){&b, 1 + i, 0};
        ok_turn(&b, 1 + i, 1, two, 2);
        ok_turn(&b, 1 + i, 2, two, 2);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, hit_loop, &t[i]), 0);
    /* A revokes N_REVOKED channels B has never seen, clears every other
     * one, and revokes those again. */
    char ids[N_REVOKED][16];
    const char *list[1];
    for (int i = 0; i < N_REVOKED; i++) {
        snprintf(ids[i], sizeof(ids[i]), "t-%02d", i);
        list[0] = ids[i];
        sticky_decision d;
        assert_int_equal(turn(&a, 500 + i, 1, SONNET, list, 1, &d), STICKY_OK);
        report(&a, &d, 401, NULL);
    }
    g_now += 1; /* a clear in the same millisecond wins: keep them apart */
    for (int i = 0; i < N_REVOKED; i += 2)
        assert_int_equal(sticky_ctx_clear_channel_health(a.ctx, ids[i]), STICKY_OK);
    g_now += 1;
    for (int i = 0; i < N_REVOKED; i += 4) {
        list[0] = ids[i];
        sticky_decision d;
        assert_int_equal(turn(&a, 600 + i, 1, SONNET, list, 1, &d), STICKY_OK);
        report(&a, &d, 403, NULL);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(t[i].errors, 0);
    }
    ok_turn(&b, 1, 4, two, 2); /* whatever came after the threads stopped */
    for (int i = 0; i < N_REVOKED; i++) {
        int want = i % 4 == 0 || i % 2 == 1 ? STICKY_HEALTH_AUTH : STICKY_HEALTH_OK;
        if (health(&b, ids[i]).state != want)
            fail_msg("%s on node-b: state %d, want %d", ids[i], health(&b, ids[i]).state, want);
    }
    node_close(&a);
    node_close(&b);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_limit_reaches_other_node),
        cmocka_unit_test(revocation_and_clear_reach_other_nodes),
        cmocka_unit_test(garbled_health_data_is_ignored),
        cmocka_unit_test(incident_timeline_two_nodes),
        cmocka_unit_test(threads_take_news_concurrently),
    };
    int failed = cmocka_run_group_tests_name("redis health", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
