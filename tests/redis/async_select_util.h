/*
 * tests/redis/async_select_util.h - the host side of the end-to-end tests
 * of sticky_select_start() on the async Redis store (test_redis_async_select.c):
 * a node (context on a fake clock + loop store on a tloop), a tracked
 * selection started with bodies and channel records the test clobbers right
 * after the call (so the library must have copied what it keeps), the
 * completion callback that counts calls (exactly once) and the loop driver
 * that measures the CPU time of every loop turn (the library's work on the
 * loop: hiredis reads and writes, replies, continuations, completions).
 */
#ifndef STICKY_TEST_ASYNC_SELECT_UTIL_H
#define STICKY_TEST_ASYNC_SELECT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sticky/async.h>
#include <sticky/sticky.h>

#include "redis_test_util.h"
#include "select_test_util.h"
#include "tloop.h"

#define AS_T0 T0 /* fake clock start, ms (select_test_util.h) */
#define AS_MAX_CH 4

/* One context with its own loop store (a gateway worker, or a node). */
struct node {
    struct fake_clock clk;
    sticky_ctx *ctx;
    sticky_store *st;
    struct tloop *loop; /* not owned */
    sticky_channel ch[AS_MAX_CH];
    size_t n_ch;
};

/* One tracked selection. */
struct sel {
    sticky_decision d;
    sticky_select_op *op;
    struct node *n;
    int started_rc;   /* what sticky_select_start() returned */
    int calls;        /* callback calls: 1 for EINPROGRESS, else 0 */
    int rc;           /* the final code, either way */
    int cancelled;
    int conv, turn;
    int64_t t0, t1;   /* start / completion, monotonic ns */
};

/* Longest CPU time of one loop turn, and of one sticky_select_start(). */
struct lag {
    int64_t max_turn_cpu_ns;
    int64_t max_start_cpu_ns;
    long turns;
    long turns_over_half_ms;
    long turns_over_1ms;
    long starts_over_1ms;
};
extern struct lag g_lag;

/* Extra work run from the callback (after the counters), or NULL. */
extern void (*g_after_done)(struct sel *s);
/* Fails the run when a callback comes twice or for a cancelled selection. */
extern int g_bad_callbacks;


static inline int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void node_start(struct node *n, struct tloop *l, const char *prefix,
                              uint32_t cmd_timeout_ms)
{
    static const char *ids[AS_MAX_CH] = {"A", "B", "C", "D"};
    memset(n, 0, sizeof(*n));
    n->clk.now_ms = AS_T0;
    n->loop = l;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &n->clk;
    if (sticky_ctx_new(&cfg, &n->ctx) != STICKY_OK)
        abort();
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.host = "127.0.0.1";
    o.port = g_redis.port;
    o.key_prefix = prefix;
    o.command_timeout_ms = cmd_timeout_ms;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    if (tloop_store_new(l, n->ctx, &o, &n->st) != STICKY_OK ||
        sticky_ctx_set_store(n->ctx, n->st) != STICKY_OK)
        abort();
    n->n_ch = AS_MAX_CH;
    for (size_t i = 0; i < AS_MAX_CH; i++) {
        sticky_channel_init(&n->ch[i]);
        n->ch[i].id = ids[i];
    }
}

static inline void node_stop(struct node *n)
{
    sticky_store_free(n->st);
    for (int i = 0; i < 5; i++)
        tloop_run_once(n->loop, 1);
    sticky_ctx_free(n->ctx);
}

/* Turn @turn (1-based) of conversation @conv (select_test_util.h's
 * conv_body: 2*turn-1 messages) in its own malloc'd buffer. */
static inline char *body_of(int conv, int turn, size_t *len)
{
    size_t cap = 128 + (size_t)turn * 96;
    char *b = malloc(cap);
    if (b == NULL)
        abort();
    conv_body(conv, turn, b, cap);
    *len = strlen(b);
    return b;
}

static inline void on_decision(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    struct sel *s = user;
    if (s->calls != 0 || s->cancelled || d != &s->d || op != s->op)
        g_bad_callbacks++;
    s->calls++;
    s->rc = rc;
    s->t1 = now_ns();
    s->op = NULL;
    if (g_after_done)
        g_after_done(s);
}

/* Start turn @turn of @conv on @n (@model: NULL for the body's). The body
 * and the channel records are the caller's and are destroyed at once. */
static inline int sel_start(struct node *n, struct sel *s, int conv, int turn, const char *model)
{
    memset(s, 0, sizeof(*s));
    sticky_decision_init(&s->d);
    s->n = n;
    s->conv = conv;
    s->turn = turn;
    size_t len;
    char *body = body_of(conv, turn, &len);
    char ids[AS_MAX_CH][8];
    sticky_channel ch[AS_MAX_CH];
    for (size_t i = 0; i < n->n_ch; i++) {
        ch[i] = n->ch[i];
        snprintf(ids[i], sizeof(ids[i]), "%s", n->ch[i].id);
        ch[i].id = ids[i];
    }
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = "tenant-e2e";
    r.tenant_len = strlen(r.tenant);
    if (model != NULL) {
        r.model = model;
        r.model_len = strlen(model);
    }
    r.body = body;
    r.body_len = len;
    n->clk.now_ms += 1; /* a real clock moves: spreads the LRU policy's choices */
    s->t0 = now_ns();
    int64_t c0 = cpu_ns();
    int rc = sticky_select_start(n->ctx, &r, ch, n->n_ch, &s->d, 0, on_decision, s, &s->op);
    int64_t c = cpu_ns() - c0;
    if (c > g_lag.max_start_cpu_ns)
        g_lag.max_start_cpu_ns = c;
    if (c > 1000000)
        g_lag.starts_over_1ms++;
    memset(body, 'x', len);   /* read only during the call */
    memset(ids, 'y', sizeof(ids));
    free(body);
    s->started_rc = rc;
    if (rc != STICKY_EINPROGRESS) {
        s->rc = rc;
        s->t1 = now_ns();
        if (s->op != NULL)
            g_bad_callbacks++;
    }
    return rc;
}

static inline int sel_done(const struct sel *s)
{
    return s->started_rc != STICKY_EINPROGRESS || s->calls > 0 || s->cancelled;
}

/* One loop turn, its CPU time recorded. */
static inline void loop_turn(struct tloop *l, int max_wait_ms)
{
    int64_t c0 = cpu_ns();
    tloop_run_once(l, max_wait_ms);
    int64_t c = cpu_ns() - c0;
    if (c > g_lag.max_turn_cpu_ns)
        g_lag.max_turn_cpu_ns = c;
    if (c > 500000)
        g_lag.turns_over_half_ms++;
    if (c > 1000000)
        g_lag.turns_over_1ms++;

    g_lag.turns++;
}

/* Turn the loop until s[0..n) are all done or @ms passed; returns how many
 * are not done. */
static inline int drive(struct tloop *l, struct sel *s, int n, int ms)
{
    int64_t until = now_ns() + (int64_t)ms * 1000000;
    int i = 0;
    for (;;) {
        while (i < n && sel_done(&s[i]))
            i++;
        if (i == n || now_ns() >= until)
            return n - i;
        loop_turn(l, 5);
    }
}

/* Report @status for @s's attempt without waiting for the store. */
static inline int sel_report(struct sel *s, int status)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    return sticky_report_async(s->n->ctx, &s->d, &o, 0);
}

static inline sticky_redis_store_stats node_rstats(struct node *n)
{
    sticky_redis_store_stats st;
    sticky_redis_store_stats_init(&st);
    sticky_redis_store_get_stats(n->st, &st);
    return st;
}

#endif /* STICKY_TEST_ASYNC_SELECT_UTIL_H */
