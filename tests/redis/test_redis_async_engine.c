/*
 * tests/redis/test_redis_async_engine.c - the loop store's engine
 * (sticky_redis_store_new_loop) against a real redis-server, compiled once
 * per loop (tloop.h: the poll() loop of manual_loop.c, libuv, libevent)
 * and called through its version-3 methods directly (rasync_test_self): 10,000 pipelined puts and lookups complete
 * exactly once and agree with the pooled (sync) path; a lookup hit is one
 * EVALSHA whatever the chain depth; put-if-absent races between two
 * connections have one winner; the server SIGKILLed, SIGSTOPped and
 * restarted mid-run: every op completes (STICKY_ESTORE where it must)
 * within the command timeout, fast fails during backoff, recovery after;
 * health published async reaches another store's next lookup; NOSCRIPT
 * after SCRIPT FLUSH is answered by resending the body; the async methods
 * refuse threads other than the first caller's (the loop's); the pooled
 * methods from another thread meanwhile (TSan in the threads suite);
 * cancel (done never called, also from inside another done); destroy with
 * ops pending completes them all inside sticky_store_free, also when called
 * from a done callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "manual_loop.h"
#include "tloop.h"
#include "redis_async_internal.h"
#include "redis_test_util.h"

struct test_redis g_redis;

#define N_OPS 10000

/* One tracked operation. */
struct opr {
    int calls;
    int rc;
    uint32_t level;
    sticky_mapping m;
    void *op;
    int64_t t0, t1;
    void (*then)(struct opr *o); /* run from done */
};

static struct opr g_ops[N_OPS];

static void on_done(void *arg, int rc)
{
    struct opr *o = arg;
    o->calls++;
    o->rc = rc;
    o->t1 = now_ns();
    if (o->then)
        o->then(o);
}

static void reset_ops(void)
{
    memset(g_ops, 0, sizeof(g_ops));
    for (int i = 0; i < N_OPS; i++)
        sticky_mapping_init(&g_ops[i].m);
}

struct fx {
    sticky_ctx *ctx;
    struct tloop *loop;
    sticky_store *st;
    void *self;
    const sticky_store_vtable *vt;
};

static void open_store(struct fx *f, const char *prefix, uint32_t cmd_timeout_ms)
{
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.host = "127.0.0.1";
    o.port = g_redis.port;
    o.key_prefix = prefix;
    o.command_timeout_ms = cmd_timeout_ms;
    o.pool_size = 1;
    assert_int_equal(tloop_store_new(f->loop, f->ctx, &o, &f->st), STICKY_OK);
    f->self = rasync_test_self(f->st, &f->vt);
    assert_non_null(f->self);
    assert_int_equal(f->vt->version, 3);
}

static struct fx open_fx(const char *prefix, uint32_t cmd_timeout_ms)
{
    struct fx f;
    memset(&f, 0, sizeof(f));
    assert_int_equal(sticky_ctx_new(NULL, &f.ctx), STICKY_OK);
    f.loop = tloop_new();
    assert_non_null(f.loop);
    open_store(&f, prefix, cmd_timeout_ms);
    return f;
}

static void close_fx(struct fx *f)
{
    sticky_store_free(f->st);
    for (int i = 0; i < 5; i++)
        tloop_run_once(f->loop, 1);
    assert_int_equal(tloop_free(f->loop), 0); /* no connection or timer left */
    sticky_ctx_free(f->ctx);
}

static struct rasync *engine(struct fx *f)
{
    return ((struct rstore *)f->self)->as;
}

/* Run the loop until ops[0..n) have all completed, or @ms passed. */
static void run_until(struct fx *f, struct opr *ops, int n, int ms)
{
    int64_t until = now_ns() + (int64_t)ms * 1000000;
    int i = 0;
    while (now_ns() < until) {
        while (i < n && ops[i].calls > 0)
            i++;
        if (i == n)
            return;
        tloop_run_once(f->loop, 5);
    }
}

static int start_put(struct fx *f, struct opr *o, uint64_t key, const char *channel,
                     unsigned flags)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", channel);
    o->t0 = now_ns();
    return f->vt->put_async(f->self, &m, sticky_ctx_now_ms(f->ctx), flags, &o->m, on_done, o,
                            &o->op);
}

static int start_lookup(struct fx *f, struct opr *o, const uint64_t *keys, uint32_t n)
{
    o->t0 = now_ns();
    return f->vt->lookup_async(f->self, keys, n, sticky_ctx_now_ms(f->ctx), 0, &o->level,
                               &o->m, on_done, o, &o->op);
}

static sticky_redis_store_stats rstats(struct fx *f)
{
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    assert_int_equal(sticky_redis_store_get_stats(f->st, &s), STICKY_OK);
    return s;
}

static void chain_of(uint64_t base, uint64_t i, uint64_t keys[3])
{
    keys[0] = base + 3 * i;     /* K1: never bound */
    keys[1] = base + 3 * i + 1; /* bound */
    keys[2] = base + 3 * i + 2; /* deepest: never bound */
}

static const char *chan_of(uint64_t i)
{
    static const char *const c[] = {"chan-a", "chan-b", "chan-c"};
    return c[i % 3];
}

/* 10,000 puts then 10,000 three-key lookups, all outstanding at once on
 * one connection: each completes exactly once, finds its level-1 binding,
 * and the pooled path reads the same; then the same lookups through the
 * pooled path for the ops/s comparison. */
static void pipelined_agree_with_sync(void **state)
{
    (void)state;
    struct fx f = open_fx("pipe:", 2000);
    reset_ops();
    const uint64_t base = 0x100000;
    for (uint64_t i = 0; i < N_OPS; i++) {
        uint64_t k[3];
        chain_of(base, i, k);
        assert_int_equal(start_put(&f, &g_ops[i], k[1], chan_of(i), STICKY_STORE_IF_ABSENT),
                         STICKY_EINPROGRESS);
        assert_int_equal(g_ops[i].calls, 0); /* never from inside the method */
    }
    run_until(&f, g_ops, N_OPS, 20000);
    for (int i = 0; i < N_OPS; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_OK);
    }
    assert_int_equal(engine(&f)->pending, 0);

    reset_ops();
    int64_t t0 = now_ns();
    for (uint64_t i = 0; i < N_OPS; i++) {
        uint64_t k[3];
        chain_of(base, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
    }
    run_until(&f, g_ops, N_OPS, 20000);
    double async_s = (double)(now_ns() - t0) / 1e9;
    for (uint64_t i = 0; i < N_OPS; i++) {
        struct opr *o = &g_ops[i];
        uint64_t k[3];
        chain_of(base, i, k);
        assert_int_equal(o->calls, 1);
        assert_int_equal(o->rc, STICKY_OK);
        assert_int_equal(o->level, 1);
        assert_true(o->m.key == k[1]);
        assert_string_equal(o->m.channel_id, chan_of(i));
        assert_int_equal(o->m.request_count, 2);
    }
    /* The pooled path sees what the lookups did (count 2), key by key. */
    t0 = now_ns();
    for (uint64_t i = 0; i < N_OPS; i++) {
        uint64_t k[3];
        chain_of(base, i, k);
        sticky_mapping m;
        sticky_mapping_init(&m);
        int rc = STICKY_ENOTFOUND;
        for (int lvl = 2; lvl >= 0 && rc == STICKY_ENOTFOUND; lvl--)
            rc = sticky_store_get(f.st, k[lvl], STICKY_STORE_PEEK, &m);
        assert_int_equal(rc, STICKY_OK);
        assert_string_equal(m.channel_id, chan_of(i));
        assert_int_equal(m.request_count, 2);
    }
    double sync_s = (double)(now_ns() - t0) / 1e9;
    printf("{\"bench\":\"redis_chain3_lookup\",\"loop\":\"%s\",\"ops\":%d,\"async_pipelined_ops_s\":%.0f,"
           "\"sync_ops_s\":%.0f,\"ratio\":%.1f,\"max_dispatch_ms\":%.3f}\n",
           tloop_name, N_OPS, N_OPS / async_s, N_OPS / sync_s, sync_s / async_s,
           (double)tloop_max_dispatch_ns(f.loop) / 1e6);

    /* The same 10,000 lookups started 500 per loop turn (a host spreading
     * its load): the longest single dispatch is the library's (and
     * hiredis') work per loop callback. Reported, not asserted (a timed
     * assertion on a shared 2-vCPU machine is flaky). */
    if (strcmp(tloop_name, "manual") == 0) {
        reset_ops();
        mloop_reset_max((struct mloop *)f.loop);
        for (uint64_t i = 0; i < N_OPS; i++) {
            uint64_t k[3];
            chain_of(base, i, k);
            assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
            if (i % 500 == 499)
                tloop_run_once(f.loop, 0);
        }
        run_until(&f, g_ops, N_OPS, 20000);
        for (int i = 0; i < N_OPS; i++)
            assert_int_equal(g_ops[i].calls, 1);
        printf("{\"bench\":\"redis_async_dispatch\",\"loop\":\"manual\",\"per_turn\":500,"
               "\"max_dispatch_ms\":%.3f,\"max_dispatch_cpu_ms\":%.3f}\n",
               (double)tloop_max_dispatch_ns(f.loop) / 1e6,
               (double)mloop_max_dispatch_cpu_ns((struct mloop *)f.loop) / 1e6);
    }

    /* Chains with nothing bound: a miss. */
    reset_ops();
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t k[3];
        chain_of(base + 10 * N_OPS, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
    }
    run_until(&f, g_ops, 100, 5000);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_ENOTFOUND);
    }
    close_fx(&f);
}

/* The walk: deepest live binding wins, the use is applied to it only, an
 * expired-free shallower binding keeps its count; an empty chain is an
 * immediate miss (no I/O, done never called). */
static void lookup_walk_semantics(void **state)
{
    (void)state;
    struct fx f = open_fx("walk:", 2000);
    reset_ops();
    uint64_t k[4] = {0xa1, 0xa2, 0xa3, 0xa4};
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = k[0];
    strcpy(m.channel_id, "shallow");
    assert_int_equal(sticky_store_put(f.st, &m, 0, NULL), STICKY_OK);
    m.key = k[2];
    strcpy(m.channel_id, "deep");
    assert_int_equal(sticky_store_put(f.st, &m, 0, NULL), STICKY_OK);
    assert_int_equal(start_lookup(&f, &g_ops[0], k, 4), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000);
    assert_int_equal(g_ops[0].calls, 1);
    assert_int_equal(g_ops[0].rc, STICKY_OK);
    assert_int_equal(g_ops[0].level, 2);
    assert_string_equal(g_ops[0].m.channel_id, "deep");
    assert_int_equal(g_ops[0].m.request_count, 2);
    assert_int_equal(sticky_store_get(f.st, k[0], STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.request_count, 1); /* not used */

    /* An undecodable record on the walk ends it with an error, as the
     * selector's get loop does. */
    redisContext *adm = test_redis_admin(&g_redis);
    assert_non_null(adm);
    redisReply *r = redisCommand(adm, "SET walk:00000000000000a4 garbage");
    freeReplyObject(r);
    assert_int_equal(start_lookup(&f, &g_ops[1], k, 4), STICKY_EINPROGRESS);
    run_until(&f, &g_ops[1], 1, 5000);
    assert_int_equal(g_ops[1].calls, 1);
    assert_int_equal(g_ops[1].rc, STICKY_ESTORE);
    redisFree(adm);

    void *op = NULL;
    assert_int_equal(f.vt->lookup_async(f.self, k, 0, 0, 0, &g_ops[2].level, &g_ops[2].m,
                                        on_done, &g_ops[2], &op),
                     STICKY_ENOTFOUND);
    assert_null(op);
    close_fx(&f);
}

/* A hit is one EVALSHA, whatever the depth of the chain and the level. */
static void one_round_trip_per_hit(void **state)
{
    (void)state;
    struct fx f = open_fx("rt:", 2000);
    reset_ops();
    uint64_t keys[100][8];
    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < 8; j++)
            keys[i][j] = 0x5000 + (uint64_t)i * 8 + (uint64_t)j;
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = keys[i][i % 8];
        strcpy(m.channel_id, "chan-a");
        assert_int_equal(sticky_store_put(f.st, &m, 0, NULL), STICKY_OK);
    }
    /* Ops started before the first handshake wait for the script hashes:
     * a fresh store never sends a script's body. */
    redisContext *adm = test_redis_admin(&g_redis);
    long long eval_fresh = test_redis_cmdstat(adm, "eval");
    for (int i = 200; i < 210; i++)
        assert_int_equal(start_lookup(&f, &g_ops[i], keys[0], 8), STICKY_EINPROGRESS);
    run_until(&f, &g_ops[200], 10, 5000);
    for (int i = 200; i < 210; i++)
        assert_int_equal(g_ops[i].rc, STICKY_OK);
    assert_int_equal(test_redis_cmdstat(adm, "eval") - eval_fresh, 0);
    long long sha0 = test_redis_cmdstat(adm, "evalsha");
    long long eval0 = test_redis_cmdstat(adm, "eval");
    sticky_redis_store_stats s0 = rstats(&f);
    for (int i = 0; i < 100; i++)
        assert_int_equal(start_lookup(&f, &g_ops[i], keys[i], 8), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 100, 5000);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(g_ops[i].rc, STICKY_OK);
        assert_int_equal(g_ops[i].level, (uint32_t)(i % 8));
    }
    long long sha1 = test_redis_cmdstat(adm, "evalsha");
    long long eval1 = test_redis_cmdstat(adm, "eval");
    sticky_redis_store_stats s1 = rstats(&f);
    printf("100 hits: evalsha +%lld, eval +%lld, round_trips +%llu\n", sha1 - sha0,
           eval1 - eval0, (unsigned long long)(s1.round_trips - s0.round_trips));
    assert_int_equal(sha1 - sha0, 100);
    assert_int_equal(eval1 - eval0, 0);
    assert_int_equal(s1.round_trips - s0.round_trips, 100);
    redisFree(adm);
    close_fx(&f);
}

/* Two stores (two connections) race put-if-absent on 1,000 keys: one
 * winner per key, the loser gets EEXIST with the winner's mapping. */
static void put_if_absent_race(void **state)
{
    (void)state;
    struct fx a = open_fx("race:", 2000);
    struct fx b = a;
    b.st = NULL;
    open_store(&b, "race:", 2000);
    reset_ops();
    /* Both connections up first, so neither wins by connecting earlier. */
    uint64_t warm[1] = {0x8fff};
    assert_int_equal(start_lookup(&a, &g_ops[0], warm, 1), STICKY_EINPROGRESS);
    assert_int_equal(start_lookup(&b, &g_ops[1], warm, 1), STICKY_EINPROGRESS);
    run_until(&a, g_ops, 2, 5000);
    assert_int_equal(g_ops[0].rc, STICKY_ENOTFOUND);
    assert_int_equal(g_ops[1].rc, STICKY_ENOTFOUND);
    reset_ops();
    /* Batches of 50 keys; which store writes first alternates per batch. */
    for (int batch = 0; batch < 20; batch++) {
        for (int turn = 0; turn < 2; turn++) {
            int use_a = (batch + turn) % 2 == 0;
            for (int i = batch * 50; i < batch * 50 + 50; i++)
                assert_int_equal(start_put(use_a ? &a : &b, &g_ops[2 * i + !use_a],
                                           0x9000 + (uint64_t)i, use_a ? "from-a" : "from-b",
                                           STICKY_STORE_IF_ABSENT),
                                 STICKY_EINPROGRESS);
            tloop_run_once(a.loop, 0); /* flush this store's batch */
        }
    }
    run_until(&a, g_ops, 2000, 10000);
    int a_won = 0;
    for (int i = 0; i < 1000; i++) {
        struct opr *x = &g_ops[2 * i], *y = &g_ops[2 * i + 1];
        assert_int_equal(x->calls, 1);
        assert_int_equal(y->calls, 1);
        assert_true((x->rc == STICKY_OK && y->rc == STICKY_EEXIST) ||
                    (x->rc == STICKY_EEXIST && y->rc == STICKY_OK));
        const char *winner = x->rc == STICKY_OK ? "from-a" : "from-b";
        a_won += x->rc == STICKY_OK;
        assert_string_equal((x->rc == STICKY_EEXIST ? x : y)->m.channel_id, winner);
        sticky_mapping m;
        sticky_mapping_init(&m);
        assert_int_equal(sticky_store_get(a.st, 0x9000 + (uint64_t)i, STICKY_STORE_PEEK, &m),
                         STICKY_OK);
        assert_string_equal(m.channel_id, winner);
    }
    printf("race: a won %d of 1000\n", a_won);
    sticky_store_free(b.st);
    close_fx(&a);
}

/* SIGKILL while 10,000 lookups are in flight: every op completes exactly
 * once (ESTORE after the kill), later calls fail fast during backoff, and
 * the store reconnects by itself after a restart on the same port. */
static void killed_mid_run_then_restarted(void **state)
{
    (void)state;
    struct fx f = open_fx("kill:", 2000);
    reset_ops();
    uint64_t warm[1] = {2};
    assert_int_equal(start_lookup(&f, &g_ops[0], warm, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000); /* connected, the kill hits a live connection */
    assert_int_equal(g_ops[0].rc, STICKY_ENOTFOUND);
    reset_ops();
    for (uint64_t i = 0; i < N_OPS; i++) {
        uint64_t k[3];
        chain_of(0x200000, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
    }
    int done = 0;
    int64_t until = now_ns() + 10000 * 1000000LL;
    while (done < N_OPS / 2 && now_ns() < until) {
        tloop_run_once(f.loop, 5);
        done = 0;
        for (int i = 0; i < N_OPS; i++)
            done += g_ops[i].calls;
    }
    test_redis_kill(&g_redis);
    int64_t t_kill = now_ns();
    run_until(&f, g_ops, N_OPS, 5000);
    int ok = 0, failed = 0;
    assert_true(done < N_OPS); /* the kill came mid-run */
    for (int i = 0; i < N_OPS; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        if (g_ops[i].rc == STICKY_ENOTFOUND)
            ok++;
        else {
            assert_int_equal(g_ops[i].rc, STICKY_ESTORE);
            failed++;
        }
    }
    printf("kill at %d completions: %d answered, %d ESTORE, all within %.1f ms of the kill\n",
           done, ok, failed, (double)(now_ns() - t_kill) / 1e6);
    assert_int_equal(engine(&f)->pending, 0);

    /* Backoff: calls fail at once, without I/O, until the probe. */
    uint64_t k0[1] = {1};
    struct opr o;
    memset(&o, 0, sizeof(o));
    int rc = start_lookup(&f, &o, k0, 1);
    if (rc == STICKY_EINPROGRESS) { /* the gate let a probe through: it fails */
        run_until(&f, &o, 1, 3000);
        assert_int_equal(o.rc, STICKY_ESTORE);
        memset(&o, 0, sizeof(o));
        rc = start_lookup(&f, &o, k0, 1);
    }
    assert_int_equal(rc, STICKY_ESTORE);
    assert_int_equal(o.calls, 0);
    assert_true(rstats(&f).fast_fails >= 1);

    assert_int_equal(test_redis_restart(&g_redis), 0);
    int64_t t_up = now_ns();
    int recovered = 0;
    while (!recovered && now_ns() - t_up < 5000 * 1000000LL) {
        memset(&o, 0, sizeof(o));
        if (start_lookup(&f, &o, k0, 1) == STICKY_EINPROGRESS) {
            run_until(&f, &o, 1, 3000);
            recovered = o.rc == STICKY_ENOTFOUND;
        }
        for (int i = 0; i < 4; i++)
            tloop_run_once(f.loop, 5);
    }
    printf("recovered %.0f ms after the restart; reconnects %llu\n",
           (double)(now_ns() - t_up) / 1e6, (unsigned long long)rstats(&f).reconnects);
    assert_true(recovered);
    assert_true(rstats(&f).reconnects >= 1);
    close_fx(&f);
}

/* SIGSTOP: no replies; the timer fails every op (ESTORE) within the
 * command timeout + a margin; SIGCONT: recovery after the backoff. */
static void stopped_server_times_out(void **state)
{
    (void)state;
    const int timeout_ms = 100, n = 2000;
    struct fx f = open_fx("stop:", timeout_ms);
    reset_ops();
    uint64_t k0[1] = {7};
    assert_int_equal(start_lookup(&f, &g_ops[n], k0, 1), STICKY_EINPROGRESS); /* connect */
    run_until(&f, &g_ops[n], 1, 3000);
    assert_int_equal(g_ops[n].rc, STICKY_ENOTFOUND);

    kill(g_redis.pid, SIGSTOP);
    for (uint64_t i = 0; i < (uint64_t)n; i++) {
        uint64_t k[3];
        chain_of(0x300000, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
        if (i % 500 == 499)
            tloop_run_once(f.loop, 0);
    }
    run_until(&f, g_ops, n, 3000);
    int64_t worst = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_ESTORE);
        int64_t lat = g_ops[i].t1 - g_ops[i].t0;
        worst = lat > worst ? lat : worst;
    }
    printf("stopped: %d ops ESTORE, worst %.1f ms (timeout %d ms)\n", n, (double)worst / 1e6,
           timeout_ms);
    assert_true(worst <= (int64_t)(timeout_ms + 50) * 1000000);
    assert_true(rstats(&f).timeouts >= 1);

    kill(g_redis.pid, SIGCONT);
    int64_t t_up = now_ns();
    int recovered = 0;
    struct opr o;
    while (!recovered && now_ns() - t_up < 5000 * 1000000LL) {
        memset(&o, 0, sizeof(o));
        if (start_lookup(&f, &o, k0, 1) == STICKY_EINPROGRESS) {
            run_until(&f, &o, 1, 3000);
            recovered = o.rc == STICKY_ENOTFOUND;
        }
        for (int i = 0; i < 4; i++)
            tloop_run_once(f.loop, 5);
    }
    assert_true(recovered);
    close_fx(&f);
}

static struct fx *g_fx;

static void cancel_next(struct opr *o)
{
    struct opr *next = o + 1;
    g_fx->vt->cancel(g_fx->self, next->op);
}

/* Cancelled ops never call back (cancelled right after start, or from
 * inside another op's done); the rest complete; nothing stays pending. */
static void cancel_never_calls_back(void **state)
{
    (void)state;
    struct fx f = open_fx("cancel:", 2000);
    g_fx = &f;
    reset_ops();
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t k[3];
        chain_of(0x400000, i, k);
        if (i % 4 == 0)
            g_ops[i].then = cancel_next;
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
        if (i % 4 == 2)
            f.vt->cancel(f.self, g_ops[i].op);
    }
    int64_t until = now_ns() + 5000 * 1000000LL;
    while (engine(&f)->pending > 0 && now_ns() < until)
        tloop_run_once(f.loop, 5);
    assert_int_equal(engine(&f)->pending, 0);
    for (int i = 0; i < 1000; i++) {
        int cancelled = i % 4 == 1 || i % 4 == 2;
        assert_int_equal(g_ops[i].calls, cancelled ? 0 : 1);
        if (!cancelled)
            assert_int_equal(g_ops[i].rc, STICKY_ENOTFOUND);
    }
    assert_int_equal(engine(&f)->cancelled, 500);
    close_fx(&f);
}

/* sticky_store_free with 1,000 ops pending completes each once, inside the
 * call; the loop is then left without handles (close_fx checks). */
static void destroy_completes_pending(void **state)
{
    (void)state;
    struct fx f = open_fx("destroy:", 2000);
    reset_ops();
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t k[3];
        chain_of(0x500000, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
    }
    tloop_run_once(f.loop, 0); /* some may be answered, most not */
    sticky_store_free(f.st);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_true(g_ops[i].rc == STICKY_ESTORE || g_ops[i].rc == STICKY_ENOTFOUND);
    }
    for (int i = 0; i < 5; i++)
        tloop_run_once(f.loop, 1);
    assert_int_equal(tloop_free(f.loop), 0);
    sticky_ctx_free(f.ctx);
}

static int g_done_inside_free;

static void free_store_from_done(struct opr *o)
{
    sticky_store_free(g_fx->st);
    g_fx->st = NULL;
    /* Every other op completed inside the call. */
    g_done_inside_free = 0;
    for (int i = 1; i < 500; i++)
        g_done_inside_free += o[i].calls;
}

/* Destroy from inside a completion: the rest complete inside it, and
 * hiredis' later callbacks find the state still alive (deferred free). */
static void destroy_from_done(void **state)
{
    (void)state;
    struct fx f = open_fx("destroy2:", 2000);
    g_fx = &f;
    reset_ops();
    for (uint64_t i = 0; i < 500; i++) {
        uint64_t k[3];
        chain_of(0x600000, i, k);
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 3), STICKY_EINPROGRESS);
    }
    g_ops[0].then = free_store_from_done;
    run_until(&f, g_ops, 500, 5000);
    assert_null(f.st);
    assert_int_equal(g_done_inside_free, 499);
    for (int i = 0; i < 500; i++)
        assert_int_equal(g_ops[i].calls, 1);
    for (int i = 0; i < 5; i++)
        tloop_run_once(f.loop, 1);
    assert_int_equal(tloop_free(f.loop), 0);
    sticky_ctx_free(f.ctx);
}

/* health_publish_async on store A; store B's next lookup carries the news,
 * queued for health_poll before its done runs. */
static int g_polled_in_done;

static void poll_in_done(struct opr *o)
{
    (void)o;
    sticky_health_event ev;
    sticky_health_event_init(&ev);
    g_polled_in_done = g_fx->vt->health_poll(g_fx->self, &ev) == STICKY_OK &&
                       strcmp(ev.channel_id, "chan-hot") == 0 &&
                       ev.cause == STICKY_CAUSE_RATE_LIMIT;
}

static void health_publish_async_reaches_other_store(void **state)
{
    (void)state;
    struct fx a = open_fx("hl:", 2000);
    struct fx b = a;
    b.st = NULL;
    open_store(&b, "hl:", 2000);
    g_fx = &b;
    reset_ops();
    uint64_t k[1] = {0x77};
    /* B has seen the (empty) health state once. */
    assert_int_equal(start_lookup(&b, &g_ops[0], k, 1), STICKY_EINPROGRESS);
    run_until(&b, g_ops, 1, 5000);
    sticky_health_event ev;
    sticky_health_event_init(&ev);
    strcpy(ev.channel_id, "chan-hot");
    ev.family = STICKY_MODEL_FAMILY_ALL;
    ev.cause = STICKY_CAUSE_RATE_LIMIT;
    ev.at_ms = sticky_ctx_now_ms(a.ctx);
    ev.until_ms = ev.at_ms + 60000;
    assert_int_equal(a.vt->health_publish_async(a.self, &ev, ev.at_ms, on_done, &g_ops[1],
                                                &g_ops[1].op),
                     STICKY_EINPROGRESS);
    run_until(&a, &g_ops[1], 1, 5000);
    assert_int_equal(g_ops[1].calls, 1);
    assert_int_equal(g_ops[1].rc, STICKY_OK);
    assert_int_equal(rstats(&a).health_published, 1);
    g_ops[2].then = poll_in_done;
    assert_int_equal(start_lookup(&b, &g_ops[2], k, 1), STICKY_EINPROGRESS);
    run_until(&b, &g_ops[2], 1, 5000);
    assert_int_equal(g_ops[2].rc, STICKY_ENOTFOUND);
    assert_true(g_polled_in_done);
    sticky_store_free(b.st);
    close_fx(&a);
}

/* SCRIPT FLUSH mid-run: each op answered NOSCRIPT is resent with the
 * script's body (same record, same deadline) and completes normally. */
static void noscript_resends_body(void **state)
{
    (void)state;
    struct fx f = open_fx("nos:", 2000);
    reset_ops();
    uint64_t k[1] = {0x99};
    assert_int_equal(start_lookup(&f, &g_ops[0], k, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000);
    redisContext *adm = test_redis_admin(&g_redis);
    freeReplyObject(redisCommand(adm, "SCRIPT FLUSH"));
    redisFree(adm);
    reset_ops();
    for (int i = 0; i < 100; i++)
        assert_int_equal(start_put(&f, &g_ops[i], 0x9900 + (uint64_t)i, "chan-a", 0),
                         STICKY_EINPROGRESS);
    run_until(&f, g_ops, 100, 5000);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_OK);
    }
    sticky_redis_store_stats s = rstats(&f);
    printf("after SCRIPT FLUSH: noscript_reloads %llu\n", (unsigned long long)s.noscript_reloads);
    assert_true(s.noscript_reloads >= 1);
    assert_int_equal(engine(&f)->pending, 0);
    close_fx(&f);
}

/* The pipeline window: 1,000 puts started at once put at most
 * RASYNC_WINDOW commands on the wire, the rest go as replies return, all
 * complete; one cancelled while still queued is never sent (one round trip
 * fewer). */
static void window_bounds_the_wire(void **state)
{
    (void)state;
    struct fx f = open_fx("win:", 2000);
    reset_ops();
    uint64_t k[1] = {0x55};
    assert_int_equal(start_lookup(&f, &g_ops[0], k, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000); /* connected */
    reset_ops();
    sticky_redis_store_stats s0 = rstats(&f);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(start_put(&f, &g_ops[i], 0x5500 + (uint64_t)i, "chan-w", 0),
                         STICKY_EINPROGRESS);
    assert_true(engine(&f)->sent <= RASYNC_WINDOW);
    assert_true(engine(&f)->next_unsent != NULL);
    f.vt->cancel(f.self, g_ops[900].op); /* still queued */
    g_ops[900].calls = -100;
    unsigned most = 0;
    int64_t until = now_ns() + 10000 * 1000000LL;
    int done = 0;
    while (!done && now_ns() < until) {
        tloop_run_once(f.loop, 5);
        if (engine(&f)->sent > most)
            most = engine(&f)->sent;
        done = 1;
        for (int i = 0; i < 1000; i++)
            if (i != 900 && g_ops[i].calls == 0)
                done = 0;
    }
    for (int i = 0; i < 1000; i++) {
        if (i == 900) {
            assert_int_equal(g_ops[i].calls, -100); /* never called back */
            continue;
        }
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_OK);
    }
    for (int i = 0; i < 20 && engine(&f)->pending > 0; i++)
        tloop_run_once(f.loop, 1);
    sticky_redis_store_stats s1 = rstats(&f);
    printf("window: at most %u on the wire, %llu round trips for 1,000 puts (one cancelled)\n",
           most, (unsigned long long)(s1.round_trips - s0.round_trips));
    assert_true(most <= RASYNC_WINDOW);
    assert_int_equal(s1.round_trips - s0.round_trips, 999);
    assert_int_equal(engine(&f)->pending, 0);
    close_fx(&f);
}

/* After a NOSCRIPT, load that never lets the pipeline drain: the resent
 * operations complete at once, and passing their old deadline later must
 * not drop a healthy connection (it once did: the resent deadline was
 * only forgotten when the FIFO emptied). */
static void noscript_then_steady_load(void **state)
{
    (void)state;
    struct fx f = open_fx("nosl:", 200);
    reset_ops();
    uint64_t k[1] = {0x77};
    assert_int_equal(start_lookup(&f, &g_ops[0], k, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000);
    redisContext *adm = test_redis_admin(&g_redis);
    freeReplyObject(redisCommand(adm, "SCRIPT FLUSH"));
    redisFree(adm);
    reset_ops();
    sticky_redis_store_stats s0 = rstats(&f);
    /* One op per loop turn, started before the turn that reads the previous
     * replies, for 3.5 command timeouts: the FIFO is never empty. Records
     * are reused once done. */
    long started = 0, bad = 0;
    int64_t t0 = now_ns(), until = t0 + 700 * 1000000LL;
    while (now_ns() < until) {
        struct opr *o = &g_ops[started % N_OPS];
        if (started >= N_OPS) {
            if (o->calls == 0) { /* still outstanding: let the loop run */
                tloop_run_once(f.loop, 1);
                continue;
            }
            bad += o->rc != STICKY_OK;
            memset(o, 0, sizeof(*o));
        }
        assert_int_equal(start_put(&f, o, 0x7700 + (uint64_t)(started % N_OPS), "chan-a", 0),
                         STICKY_EINPROGRESS);
        started++;
        tloop_run_once(f.loop, 1);
    }
    int n = started < N_OPS ? (int)started : N_OPS;
    run_until(&f, g_ops, n, 5000);
    sticky_redis_store_stats s1 = rstats(&f);
    for (int i = 0; i < n; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        bad += g_ops[i].rc != STICKY_OK;
    }
    printf("after SCRIPT FLUSH under load: %ld ops in %.0f ms, %ld failed, timeouts +%llu, "
           "reloads +%llu\n",
           started, (double)(now_ns() - t0) / 1e6, bad,
           (unsigned long long)(s1.timeouts - s0.timeouts),
           (unsigned long long)(s1.noscript_reloads - s0.noscript_reloads));
    assert_true(s1.noscript_reloads > s0.noscript_reloads);
    assert_int_equal(s1.timeouts - s0.timeouts, 0);
    assert_int_equal(bad, 0);
    close_fx(&f);
}

/* The async methods belong to the loop's thread: elsewhere, EINVAL and
 * nothing started. */
static void *off_thread_lookup(void *arg)
{
    struct fx *f = arg;
    uint64_t k[1] = {1};
    static int rc;
    rc = f->vt->lookup_async(f->self, k, 1, 0, 0, &g_ops[0].level, &g_ops[0].m, on_done,
                             &g_ops[0], &g_ops[0].op);
    return &rc;
}

static void *off_thread_cancel(void *arg)
{
    struct fx *f = arg;
    f->vt->cancel(f->self, g_ops[2].op);
    return NULL;
}

static void refused_off_the_loop_thread(void **state)
{
    (void)state;
    struct fx f = open_fx("thr:", 2000);
    reset_ops();
    /* The first async call binds the store to the loop's thread. */
    uint64_t k[1] = {1};
    assert_int_equal(start_lookup(&f, &g_ops[1], k, 1), STICKY_EINPROGRESS);
    run_until(&f, &g_ops[1], 1, 5000);
    pthread_t t;
    void *ret;
    assert_int_equal(pthread_create(&t, NULL, off_thread_lookup, &f), 0);
    pthread_join(t, &ret);
    assert_int_equal(*(int *)ret, STICKY_EINVAL);
    assert_int_equal(g_ops[0].calls, 0);
    assert_int_equal(engine(&f)->pending, 0);

    /* A cancel from another thread while the loop is not running (a host
     * that stopped its loop thread and frees a context elsewhere) is
     * honoured: the op's done never runs. */
    assert_int_equal(start_lookup(&f, &g_ops[2], k, 1), STICKY_EINPROGRESS);
    assert_int_equal(pthread_create(&t, NULL, off_thread_cancel, &f), 0);
    pthread_join(t, &ret);
    for (int i = 0; i < 50 && engine(&f)->pending > 0; i++)
        tloop_run_once(f.loop, 5);
    assert_int_equal(engine(&f)->pending, 0);
    assert_int_equal(g_ops[2].calls, 0);
    close_fx(&f);
}

/* The first connect fails while ops wait for the script hashes: each
 * completes once with STICKY_ESTORE, nothing stays registered. */
static void first_connect_fails(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof(f));
    assert_int_equal(sticky_ctx_new(NULL, &f.ctx), STICKY_OK);
    f.loop = tloop_new();
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.host = "127.0.0.1";
    o.port = 1; /* nothing listens there */
    assert_int_equal(tloop_store_new(f.loop, f.ctx, &o, &f.st), STICKY_OK);
    f.self = rasync_test_self(f.st, &f.vt);
    reset_ops();
    uint64_t k[1] = {3};
    int started = 0;
    for (int i = 0; i < 10; i++) {
        int rc = start_lookup(&f, &g_ops[i], k, 1);
        if (rc == STICKY_EINPROGRESS)
            started++;
        else
            assert_int_equal(rc, STICKY_ESTORE); /* refused at once: no callback */
    }
    int64_t until = now_ns() + 3000 * 1000000LL;
    while (engine(&f)->pending > 0 && now_ns() < until)
        tloop_run_once(f.loop, 5);
    assert_int_equal(engine(&f)->pending, 0);
    for (int i = 0; i < started; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_ESTORE);
    }
    assert_true(rstats(&f).connect_failures >= 1);
    printf("first connect refused: %d started, all ESTORE once\n", started);
    close_fx(&f);
}

/* A frozen server accepts the TCP connect (the kernel does) but never
 * answers the handshake: the connect deadline (connect_timeout_ms +
 * command_timeout_ms) ends it and every waiting op completes ESTORE. */
static void handshake_never_answered(void **state)
{
    (void)state;
    struct fx f;
    memset(&f, 0, sizeof(f));
    assert_int_equal(sticky_ctx_new(NULL, &f.ctx), STICKY_OK);
    f.loop = tloop_new();
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.host = "127.0.0.1";
    o.port = g_redis.port;
    o.key_prefix = "hs:";
    o.connect_timeout_ms = 100;
    o.command_timeout_ms = 100;
    assert_int_equal(tloop_store_new(f.loop, f.ctx, &o, &f.st), STICKY_OK);
    f.self = rasync_test_self(f.st, &f.vt);
    reset_ops();
    kill(g_redis.pid, SIGSTOP);
    uint64_t k[1] = {4};
    for (int i = 0; i < 100; i++)
        assert_int_equal(start_lookup(&f, &g_ops[i], k, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 100, 3000);
    kill(g_redis.pid, SIGCONT);
    int64_t worst = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_ESTORE);
        int64_t lat = g_ops[i].t1 - g_ops[i].t0;
        worst = lat > worst ? lat : worst;
    }
    printf("handshake never answered: worst %.1f ms (connect 100 + command 100)\n",
           (double)worst / 1e6);
    assert_true(worst <= 250 * 1000000LL);
    assert_true(rstats(&f).connect_failures >= 1);
    assert_int_equal(engine(&f)->pending, 0);
    close_fx(&f);
}

/* The pooled (blocking) methods from another thread while the loop runs
 * async ops on the same store: they share the gate, the counters and the
 * health state (the threads suite runs this under ThreadSanitizer). */
static void *sync_worker(void *arg)
{
    struct fx *f = arg;
    static int bad;
    bad = 0;
    for (int i = 0; i < 500; i++) {
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = 0xb000 + (uint64_t)i;
        strcpy(m.channel_id, "chan-sync");
        bad += sticky_store_put(f->st, &m, 0, NULL) != STICKY_OK;
        bad += sticky_store_get(f->st, m.key, 0, &m) != STICKY_OK;
        sticky_redis_store_stats s;
        sticky_redis_store_stats_init(&s);
        bad += sticky_redis_store_get_stats(f->st, &s) != STICKY_OK;
    }
    return &bad;
}

static void sync_calls_from_another_thread(void **state)
{
    (void)state;
    struct fx f = open_fx("mix:", 2000);
    reset_ops();
    uint64_t warm[1] = {5};
    assert_int_equal(start_lookup(&f, &g_ops[0], warm, 1), STICKY_EINPROGRESS);
    run_until(&f, g_ops, 1, 5000);
    reset_ops();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sync_worker, &f), 0);
    for (uint64_t round = 0; round < 4; round++) {
        for (uint64_t i = 0; i < 1000; i++) {
            uint64_t k[3];
            chain_of(0xc00000, i, k);
            assert_int_equal(start_lookup(&f, &g_ops[round * 1000 + i], k, 3),
                             STICKY_EINPROGRESS);
        }
        run_until(&f, &g_ops[round * 1000], 1000, 10000);
    }
    void *ret;
    pthread_join(t, &ret);
    assert_int_equal(*(int *)ret, 0);
    for (int i = 0; i < 4000; i++) {
        assert_int_equal(g_ops[i].calls, 1);
        assert_int_equal(g_ops[i].rc, STICKY_ENOTFOUND);
    }
    close_fx(&f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write() */
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipelined_agree_with_sync),
        cmocka_unit_test(lookup_walk_semantics),
        cmocka_unit_test(one_round_trip_per_hit),
        cmocka_unit_test(put_if_absent_race),
        cmocka_unit_test(health_publish_async_reaches_other_store),
        cmocka_unit_test(noscript_resends_body),
        cmocka_unit_test(noscript_then_steady_load),
        cmocka_unit_test(window_bounds_the_wire),
        cmocka_unit_test(refused_off_the_loop_thread),
        cmocka_unit_test(first_connect_fails),
        cmocka_unit_test(handshake_never_answered),
        cmocka_unit_test(sync_calls_from_another_thread),
        cmocka_unit_test(cancel_never_calls_back),
        cmocka_unit_test(destroy_completes_pending),
        cmocka_unit_test(destroy_from_done),
        cmocka_unit_test(stopped_server_times_out),
        cmocka_unit_test(killed_mid_run_then_restarted),
    };
    printf("loop: %s\n", tloop_name);
    int failed = cmocka_run_group_tests_name("redis async engine", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
