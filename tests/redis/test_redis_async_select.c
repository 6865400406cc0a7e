/*
 * tests/redis/test_redis_async_select.c - sticky_select_start(),
 * sticky_select_cancel() and sticky_report_async() end to end on the async
 * Redis store, as an event-loop gateway uses them, against a real
 * redis-server; compiled once per loop (tloop.h: the poll() loop of
 * manual_loop.c, libuv, libevent):
 *   - 10,000 concurrent selections (new sessions, then their second turns):
 *     each completes exactly once, sessions are placed, then hit, and the
 *     bindings are in Redis (a blocking store on another context reads
 *     them); the CPU time of every loop turn and of every start call is
 *     measured: at most 1 ms in optimised builds without sanitizers, on
 *     the poll() and libuv loops;
 *   - Redis frozen (SIGSTOP), then killed (SIGKILL) mid-run and restarted:
 *     every selection completes once within the command timeout, degraded
 *     (decided without the store) where it must, starts during backoff are
 *     final at once, selections go through Redis again after recovery, and
 *     sessions bound before the freeze are still found after it;
 *   - cancellation when clients go away at random points of 1,000
 *     selections on a capped channel: no callback, no decision written, no
 *     in-flight slot kept (the cap then admits exactly its size);
 *   - an incident timeline over 120 sessions x 8 turns served alternately
 *     by two nodes (contexts with their own loop stores on one Redis): a
 *     429 with a reset header and a revoked key reported with
 *     sticky_report_async() on one node are honoured by both, 529 noise,
 *     side requests on another model, a failed move and a Redis freeze for
 *     a whole turn: no turn is lost, a session moves only away from a
 *     channel with an incident (or while the store is down).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include "async_select_util.h"

struct test_redis g_redis;
struct lag g_lag;
void (*g_after_done)(struct sel *s);
int g_bad_callbacks;

#define N_SEL 10000
static struct sel g_sel[N_SEL];
static struct sel g_side[N_SEL];

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
/* A time budget means something in an optimised build only (the README's
 * build is debugoptimized; CI's clang build is -O0 and reports). */
#if defined(__OPTIMIZE__) && !SANITIZED
#define TIMED 1
#else
#define TIMED 0
#endif


static void reset_run(void)
{
    memset(&g_lag, 0, sizeof(g_lag));
    g_after_done = NULL;
    g_bad_callbacks = 0;
}

/* Start probe selections until one goes through Redis (not degraded):
 * the store has recovered. Returns 1 on success within @ms. */
static int wait_store_up(struct node *n, int ms)
{
    int64_t until = now_ns() + (int64_t)ms * 1000000;
    static int probe = 900000;
    while (now_ns() < until) {
        struct sel s;
        int rc = sel_start(n, &s, probe++, 1, NULL);
        if (rc == STICKY_EINPROGRESS)
            drive(n->loop, &s, 1, 3000);
        if (sel_done(&s) && s.rc == STICKY_OK) {
            sticky_release(n->ctx, &s.d);
            if (!s.d.store_degraded)
                return 1;
        }
        for (int i = 0; i < 4; i++)
            loop_turn(n->loop, 5);
    }
    return 0;
}

/* Every selection of s[0..n) completed exactly once; returns how many
 * were decided without the store. */
static int check_all_once(struct sel *s, int n)
{
    int degraded = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].cancelled) {
            assert_int_equal(s[i].calls, 0);
            continue;
        }
        if (s[i].started_rc == STICKY_EINPROGRESS)
            assert_int_equal(s[i].calls, 1);
        else
            assert_int_equal(s[i].calls, 0);
        if (s[i].rc != STICKY_OK)
            fail_msg("selection %d (conv %d turn %d): %s", i, s[i].conv, s[i].turn,
                     sticky_err_name(s[i].rc));
        assert_true(s[i].d.channel_index >= 0);
        degraded += s[i].d.store_degraded != 0;
    }
    assert_int_equal(g_bad_callbacks, 0);
    return degraded;
}

/* One round: 10,000 new conversations (ids from @base) at once, started
 * 250 per loop turn as requests arrive, then their second turns; every
 * selection checked. The channel each landed on goes to @where. */
static void burst_round(struct node *n, int base, char (*where)[2], double *new_s,
                        double *hit_s)
{
    struct tloop *l = n->loop;
    sticky_ctx_stats c0, c1;
    sticky_ctx_stats_init(&c0);
    sticky_ctx_stats_init(&c1);
    assert_int_equal(sticky_ctx_get_stats(n->ctx, &c0), STICKY_OK);
    int64_t t0 = now_ns();
    for (int i = 0; i < N_SEL; i++) {
        assert_int_equal(sel_start(n, &g_sel[i], base + i, 1, NULL), STICKY_EINPROGRESS);
        if (i % 250 == 249)
            loop_turn(l, 0);
    }
    assert_int_equal(drive(l, g_sel, N_SEL, 30000), 0);
    *new_s = (double)(now_ns() - t0) / 1e9;
    assert_int_equal(check_all_once(g_sel, N_SEL), 0);
    int per_ch[AS_MAX_CH] = {0};
    for (int i = 0; i < N_SEL; i++) {
        assert_int_equal(g_sel[i].d.reason, STICKY_REASON_NEW);
        per_ch[g_sel[i].d.channel_index]++;
        where[i][0] = g_sel[i].d.channel_id[0];
        where[i][1] = '\0';
        assert_int_equal(sel_report(&g_sel[i], 200), STICKY_OK);
    }
    printf("placed: A %d, B %d, C %d, D %d\n", per_ch[0], per_ch[1], per_ch[2], per_ch[3]);
    for (int c = 0; c < AS_MAX_CH; c++)
        assert_true(per_ch[c] > N_SEL / 8); /* placed across the channels */

    t0 = now_ns();
    for (int i = 0; i < N_SEL; i++) {
        assert_int_equal(sel_start(n, &g_sel[i], base + i, 2, NULL), STICKY_EINPROGRESS);
        if (i % 250 == 249)
            loop_turn(l, 0);
    }
    assert_int_equal(drive(l, g_sel, N_SEL, 30000), 0);
    *hit_s = (double)(now_ns() - t0) / 1e9;
    assert_int_equal(check_all_once(g_sel, N_SEL), 0);
    for (int i = 0; i < N_SEL; i++) {
        int r = g_sel[i].d.reason;
        assert_true(r == STICKY_REASON_HIT || r == STICKY_REASON_PROMOTED_HIT);
        assert_string_equal(g_sel[i].d.channel_id, where[i]);
        assert_int_equal(sel_report(&g_sel[i], 200), STICKY_OK);
    }
    assert_int_equal(sticky_ctx_get_stats(n->ctx, &c1), STICKY_OK);
    assert_int_equal(c1.requests - c0.requests, 2 * N_SEL);
    assert_int_equal(c1.new_sessions - c0.new_sessions, N_SEL);
    assert_int_equal(c1.hits + c1.promoted_hits - c0.hits - c0.promoted_hits, N_SEL);
    assert_int_equal(c1.store_errors, 0);
}

/* This machine's own noise in thread CPU time: the longest of 2,000
 * chunks of pure computation that take ~0.2 ms each. On the 2-vCPU VM
 * the tests run on it reaches 0.9-1.2 ms now and then (the hypervisor's
 * time is charged to whatever thread ran), without any library code. */
static double cpu_noise_ms(void)
{
    volatile uint64_t x = 1;
    int64_t worst = 0;
    for (int r = 0; r < 2000; r++) {
        int64_t t = cpu_ns();
        for (int i = 0; i < 150000; i++)
            x = x * 6364136223846793005u + 1;
        int64_t d = cpu_ns() - t;
        if (d > worst)
            worst = d;
    }
    return (double)worst / 1e6;
}

/* 10,000 concurrent selections, twice (new sessions, then hits), with the
 * library's hold of the loop measured: the CPU time of every loop turn and
 * of every start. The machine's own noise (cpu_noise_ms) puts a turn over
 * 1 ms now and then with no library work in it, so a round passes with at
 * most 2 turns and 2 starts over 1 ms, and a round that does not is run
 * again, up to 3. Without the completion budget every round has dozens of
 * turns of 2-5 ms and fails all three. */
static void ten_thousand_concurrent(void **state)
{
    (void)state;
    reset_run();
    struct tloop *l = tloop_new();
    assert_non_null(l);
    struct node n;
    node_start(&n, l, "e2e-many:", 3000);
    /* Warm up: the first selection connects, loads the scripts and runs
     * the process's first calls into hiredis and the loop (lazy symbol
     * binding, first page faults); the budget is for the steady state. */
    struct sel warm;
    assert_int_equal(sel_start(&n, &warm, 99999, 1, NULL), STICKY_EINPROGRESS);
    assert_int_equal(drive(l, &warm, 1, 5000), 0);
    assert_int_equal(warm.rc, STICKY_OK);
    sticky_release(n.ctx, &warm.d);

    /* A turn of the manual loop is one dispatch and a libuv turn
     * (UV_RUN_ONCE) one loop iteration; libevent's EVLOOP_ONCE may run
     * several iterations, so its figure is reported, not held to the
     * budget of one iteration. */
    int asserted = TIMED && strcmp(tloop_name, "libevent") != 0;
    static char where[N_SEL][2];
    int within = 0, last = 0;
    for (int round = 0; round < 3 && !within; round++) {
        last = round;
        memset(&g_lag, 0, sizeof(g_lag));
        double new_s, hit_s;
        burst_round(&n, round * N_SEL, where, &new_s, &hit_s);
        within = g_lag.turns_over_1ms <= 2 && g_lag.starts_over_1ms <= 2;
        printf("{\"bench\":\"async_select_loop_lag\",\"loop\":\"%s\",\"round\":%d,"
               "\"selections\":%d,\"new_per_s\":%.0f,\"hit_per_s\":%.0f,"
               "\"max_turn_cpu_ms\":%.3f,\"turns_over_0.5ms\":%ld,\"turns_over_1ms\":%ld,"
               "\"max_start_cpu_us\":%.1f,\"starts_over_1ms\":%ld,\"turns\":%ld,"
               "\"machine_noise_ms\":%.3f,\"asserted\":%s}\n",
               tloop_name, round + 1, 2 * N_SEL, N_SEL / new_s, N_SEL / hit_s,
               (double)g_lag.max_turn_cpu_ns / 1e6, g_lag.turns_over_half_ms,
               g_lag.turns_over_1ms, (double)g_lag.max_start_cpu_ns / 1e3,
               g_lag.starts_over_1ms, g_lag.turns, cpu_noise_ms(), asserted ? "true" : "false");
        if (!asserted)
            break;
    }
    if (asserted)
        assert_true(within);

    /* The bindings are in Redis: another context with the blocking store
     * on the same prefix finds them. */
    sticky_ctx *other;
    sticky_store *sync_st;
    struct fake_clock oclk = n.clk; /* the records' times are on the fake clock */
    sticky_config ocfg;
    sticky_config_init(&ocfg);
    ocfg.clock_fn = fake_clock_read;
    ocfg.clock_user = &oclk;
    assert_int_equal(sticky_ctx_new(&ocfg, &other), STICKY_OK);
    assert_int_equal(make_redis_store(other, "e2e-many:", NULL, &sync_st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(other, sync_st), STICKY_OK);
    for (int i = 0; i < N_SEL; i += 50) {
        size_t len;
        char *body = body_of(last * N_SEL + i, 3, &len);
        sticky_request r;
        sticky_request_init(&r);
        r.tenant = "tenant-e2e";
        r.tenant_len = strlen(r.tenant);
        r.body = body;
        r.body_len = len;
        sticky_decision d;
        sticky_decision_init(&d);
        assert_int_equal(sticky_select(other, &r, n.ch, n.n_ch, &d), STICKY_OK);
        free(body);
        if (d.store_degraded || strcmp(d.channel_id, where[i]) != 0)
            fail_msg("conversation %d turn 3 on a blocking store: %s (%s, degraded %d), "
                     "async had %s", last * N_SEL + i, d.channel_id,
                     sticky_reason_name(d.reason), d.store_degraded, where[i]);
        sticky_release(other, &d);
    }
    sticky_store_free(sync_st);
    sticky_ctx_free(other);
    node_stop(&n);
    assert_int_equal(tloop_free(l), 0);
}

/* Redis frozen, then killed mid-run, then restarted. */
#define FO_BOUND 500
#define FO_N 2000
#define FO_TIMEOUT_MS 200
static void frozen_killed_restarted(void **state)
{
    (void)state;
    reset_run();
    struct tloop *l = tloop_new();
    assert_non_null(l);
    struct node n;
    node_start(&n, l, "e2e-fail:", FO_TIMEOUT_MS);
    char where[FO_BOUND][2];

    /* FO_BOUND sessions bound through Redis. */
    for (int i = 0; i < FO_BOUND; i++)
        assert_int_equal(sel_start(&n, &g_sel[i], i, 1, NULL), STICKY_EINPROGRESS);
    assert_int_equal(drive(l, g_sel, FO_BOUND, 10000), 0);
    assert_int_equal(check_all_once(g_sel, FO_BOUND), 0);
    for (int i = 0; i < FO_BOUND; i++) {
        where[i][0] = g_sel[i].d.channel_id[0];
        where[i][1] = '\0';
        sel_report(&g_sel[i], 200);
    }

    /* Frozen: FO_N selections (second turns of the bound sessions and new
     * ones) all complete within the command timeout, decided without it. */
    kill(g_redis.pid, SIGSTOP);
    int64_t t_stop = now_ns();
    for (int i = 0; i < FO_N; i++) {
        int conv = i < FO_BOUND ? i : 10000 + i;
        int rc = sel_start(&n, &g_sel[i], conv, i < FO_BOUND ? 2 : 1, NULL);
        assert_true(rc == STICKY_EINPROGRESS || rc == STICKY_OK);
    }
    int left = drive(l, g_sel, FO_N, 5000);
    double stop_ms = (double)(now_ns() - t_stop) / 1e6;
    kill(g_redis.pid, SIGCONT);
    assert_int_equal(left, 0);
    int degraded = check_all_once(g_sel, FO_N);
    assert_int_equal(degraded, FO_N);
    int64_t worst = 0;
    for (int i = 0; i < FO_N; i++)
        if (g_sel[i].t1 - g_sel[i].t0 > worst)
            worst = g_sel[i].t1 - g_sel[i].t0;
    for (int i = 0; i < FO_N; i++)
        sel_report(&g_sel[i], 200);
    printf("frozen: %d selections degraded, all done %.1f ms after SIGSTOP, slowest %.1f ms "
           "(timeout %d ms)\n",
           degraded, stop_ms, (double)worst / 1e6, FO_TIMEOUT_MS);
    /* Within the timeout, plus scheduling slack on a shared machine. */
    assert_true(worst <= (int64_t)(FO_TIMEOUT_MS + 150) * 1000000);

    /* Thawed: back through Redis, and the bindings made before are found. */
    assert_true(wait_store_up(&n, 5000));
    for (int i = 0; i < FO_BOUND; i++)
        assert_int_equal(sel_start(&n, &g_sel[i], i, 3, NULL), STICKY_EINPROGRESS);
    assert_int_equal(drive(l, g_sel, FO_BOUND, 10000), 0);
    assert_int_equal(check_all_once(g_sel, FO_BOUND), 0);
    for (int i = 0; i < FO_BOUND; i++) {
        assert_string_equal(g_sel[i].d.channel_id, where[i]);
        sel_report(&g_sel[i], 200);
    }

    /* Killed mid-run: half the selections started and on the wire, the
     * server killed, the other half started after the kill (before the
     * engine has seen it: they are queued on a dead connection). Every one
     * completes once; the second half cannot reach Redis: degraded. */
    for (int i = 0; i < FO_N / 2; i++) {
        int conv = i < FO_BOUND ? i : 20000 + i;
        assert_int_equal(sel_start(&n, &g_sel[i], conv, i < FO_BOUND ? 4 : 1, NULL),
                         STICKY_EINPROGRESS);
    }
    loop_turn(l, 0); /* on the wire */
    test_redis_kill(&g_redis);
    int64_t t_kill = now_ns();
    for (int i = FO_N / 2; i < FO_N; i++) {
        int rc = sel_start(&n, &g_sel[i], 20000 + i, 1, NULL);
        assert_true(rc == STICKY_EINPROGRESS || rc == STICKY_OK);
    }
    assert_int_equal(drive(l, g_sel, FO_N, 5000), 0);
    double kill_ms = (double)(now_ns() - t_kill) / 1e6;
    degraded = check_all_once(g_sel, FO_N);
    for (int i = FO_N / 2; i < FO_N; i++)
        assert_int_equal(g_sel[i].d.store_degraded, 1);
    for (int i = 0; i < FO_N; i++)
        sel_report(&g_sel[i], 200);
    printf("killed: %d of %d degraded, all done %.1f ms after SIGKILL\n", degraded, FO_N,
           kill_ms);
    /* A reset connection is noticed at once on every loop (hiredis 0.14's
     * own libuv adapter dropped the poll error: the ops waited for their
     * timeout, ~190 ms here). Sanitized and -O0 builds only must finish
     * within the timeout (completing 2,000 selections under TSan takes
     * ~140 ms of CPU by itself). */
    assert_true(kill_ms <= (TIMED ? FO_TIMEOUT_MS / 2 : FO_TIMEOUT_MS + 300));

    /* While it is down: starts are final at once (backoff), degraded. */
    int immediate = 0;
    for (int i = 0; i < 200; i++) {
        int rc = sel_start(&n, &g_sel[i], 30000 + i, 1, NULL);
        immediate += rc == STICKY_OK;
    }
    assert_int_equal(drive(l, g_sel, 200, 5000), 0);
    assert_int_equal(check_all_once(g_sel, 200), 200);
    assert_true(immediate > 0);
    for (int i = 0; i < 200; i++)
        sticky_release(n.ctx, &g_sel[i].d);
    assert_true(node_rstats(&n).fast_fails > 0);

    /* Restarted (empty: no persistence): selections go through Redis. */
    assert_int_equal(test_redis_restart(&g_redis), 0);
    assert_true(wait_store_up(&n, 5000));
    for (int i = 0; i < FO_N; i++)
        assert_int_equal(sel_start(&n, &g_sel[i], 40000 + i, 1, NULL), STICKY_EINPROGRESS);
    assert_int_equal(drive(l, g_sel, FO_N, 10000), 0);
    assert_int_equal(check_all_once(g_sel, FO_N), 0);
    for (int i = 0; i < FO_N; i++)
        sel_report(&g_sel[i], 200);
    sticky_ctx_stats cs;
    sticky_ctx_stats_init(&cs);
    assert_int_equal(sticky_ctx_get_stats(n.ctx, &cs), STICKY_OK);
    assert_true(cs.store_errors > 0);
    printf("restart: %llu store errors counted over the run, reconnects %llu\n",
           (unsigned long long)cs.store_errors,
           (unsigned long long)node_rstats(&n).reconnects);
    node_stop(&n);
    assert_int_equal(tloop_free(l), 0);
}

/* Clients go away at random points. The only channel is capped at
 * CAP_N in-flight attempts; after every cancellation the cap admits exactly
 * CAP_N attempts, so no cancelled selection kept a slot. */
#define CN_N 1000
#define CAP_N 600
static struct node *g_cancel_node;
static unsigned g_rng = 12345;

static unsigned rnd(void)
{
    g_rng = g_rng * 1103515245u + 12345u;
    return g_rng >> 8;
}

/* From a callback: a client of another selection goes away. */
static void cancel_another(struct sel *s)
{
    if (s->rc != STICKY_OK || rnd() % 4 != 0)
        return;
    struct sel *o = &g_sel[rnd() % CN_N];
    if (o != s && !sel_done(o)) {
        assert_int_equal(sticky_select_cancel(g_cancel_node->ctx, o->op), STICKY_OK);
        o->cancelled = 1;
        o->op = NULL;
    }
}

static void cancellation(void **state)
{
    (void)state;
    reset_run();
    struct tloop *l = tloop_new();
    assert_non_null(l);
    struct node n;
    node_start(&n, l, "e2e-cancel:", 3000);
    n.n_ch = 1;
    n.ch[0].max_inflight = CAP_N;
    g_cancel_node = &n;
    g_after_done = cancel_another;

    for (int i = 0; i < CN_N; i++)
        assert_int_equal(sel_start(&n, &g_sel[i], i, 1, NULL), STICKY_EINPROGRESS);
    int cancelled = 0;
    for (int t = 0; t < 1000; t++) {
        /* A few clients of pending selections go away each turn. */
        for (int k = 0; k < 15; k++) {
            struct sel *s = &g_sel[rnd() % CN_N];
            if (!sel_done(s)) {
                assert_int_equal(sticky_select_cancel(n.ctx, s->op), STICKY_OK);
                s->cancelled = 1;
                s->op = NULL;
            }
        }
        int pending = 0;
        for (int i = 0; i < CN_N; i++)
            pending += !sel_done(&g_sel[i]);
        if (pending == 0)
            break;
        loop_turn(l, 2);
    }
    assert_int_equal(drive(l, g_sel, CN_N, 10000), 0);
    g_after_done = NULL;
    int held = 0;
    for (int i = 0; i < CN_N; i++) {
        struct sel *s = &g_sel[i];
        if (s->cancelled) {
            cancelled++;
            assert_int_equal(s->calls, 0);
            /* Never written: as sticky_decision_init() left it. */
            assert_int_equal(s->d.reason, STICKY_REASON_NONE);
            assert_int_equal(s->d.channel_index, -1);
            continue;
        }
        assert_int_equal(s->calls, 1);
        if (s->rc == STICKY_OK)
            held++;
        else
            assert_int_equal(s->rc, STICKY_ENOCHANNEL);
    }
    assert_int_equal(g_bad_callbacks, 0);
    printf("cancel: %d cancelled, %d completed holding an attempt\n", cancelled, held);
    assert_true(cancelled >= 100 && cancelled <= CN_N - 100);
    assert_true(held <= CAP_N);

    /* Fill the cap beside the attempts still held: exactly CAP_N - held
     * more fit. */
    int extra = CAP_N - held + 1;
    for (int i = 0; i < extra; i++)
        sel_start(&n, &g_side[i], 50000 + i, 1, NULL);
    assert_int_equal(drive(l, g_side, extra, 10000), 0);
    int admitted = 0;
    for (int i = 0; i < extra; i++) {
        if (g_side[i].rc == STICKY_OK)
            admitted++;
        else
            assert_int_equal(g_side[i].rc, STICKY_ENOCHANNEL);
    }
    assert_int_equal(admitted, CAP_N - held);
    for (int i = 0; i < extra; i++)
        if (g_side[i].rc == STICKY_OK)
            sel_report(&g_side[i], 200);
    for (int i = 0; i < CN_N; i++)
        if (!g_sel[i].cancelled && g_sel[i].rc == STICKY_OK)
            sel_report(&g_sel[i], 200);
    node_stop(&n);
    assert_int_equal(tloop_free(l), 0);
}

/* The incident timeline on two nodes. */
#define TL_SESSIONS 120
#define TL_TURNS 8
#define TL_FREEZE_TURN 6

static void report_outcome(struct sel *s, int status, const char *hname, const char *hval)
{
    sticky_header h = {hname, hname ? strlen(hname) : 0, hval, hval ? strlen(hval) : 0};
    sticky_outcome o;
    sticky_outcome_init(&o);
    if (status > 0) {
        o.status = status;
    } else {
        o.kind = STICKY_OUTCOME_TIMEOUT;
    }
    if (hname != NULL) {
        o.headers = &h;
        o.n_headers = 1;
    }
    assert_int_equal(sticky_report_async(s->n->ctx, &s->d, &o, 0), STICKY_OK);
}

/* Turn the loop until @n has published one more health record. */
static void wait_published(struct node *n, uint64_t before)
{
    int64_t until = now_ns() + 3000 * 1000000LL;
    while (node_rstats(n).health_published <= before && now_ns() < until)
        loop_turn(n->loop, 2);
    assert_true(node_rstats(n).health_published > before);
}

static void incident_timeline_two_nodes(void **state)
{
    (void)state;
    reset_run();
    struct tloop *l = tloop_new();
    assert_non_null(l);
    struct node nodes[2];
    node_start(&nodes[0], l, "e2e-tl:", 200);
    node_start(&nodes[1], l, "e2e-tl:", 200);
    char where[TL_SESSIONS][STICKY_ID_SIZE];
    int moves[TL_SESSIONS] = {0};
    int64_t a_until = INT64_MIN;
    int c_revoked = 0, failed_moves = 0, sides = 0, noise = 0, degraded_turns = 0;
    memset(where, 0, sizeof(where));

    for (int turn = 1; turn <= TL_TURNS; turn++) {
        /* What both nodes had been told before this turn's decisions (the
         * reports below come after all of them, as from concurrent requests). */
        int64_t a_out = a_until;
        int c_out = c_revoked;
        if (turn == TL_FREEZE_TURN)
            kill(g_redis.pid, SIGSTOP);
        for (int s = 0; s < TL_SESSIONS; s++) {
            int rc = sel_start(&nodes[(s + turn) % 2], &g_sel[s], 1000 + s, turn, NULL);
            if (rc != STICKY_EINPROGRESS && rc != STICKY_OK)
                fail_msg("turn %d session %d: start %s", turn, s, sticky_err_name(rc));
        }
        assert_int_equal(drive(l, g_sel, TL_SESSIONS, 5000), 0);
        int deg = check_all_once(g_sel, TL_SESSIONS); /* no turn lost: D never fails */
        if (turn == TL_FREEZE_TURN) {
            assert_int_equal(deg, TL_SESSIONS);
            degraded_turns++;
        } else {
            assert_int_equal(deg, 0);
        }
        for (int s = 0; s < TL_SESSIONS; s++) {
            struct sel *x = &g_sel[s];
            sticky_decision *d = &x->d;
            int64_t now = x->n->clk.now_ms;
            /* Never a channel one of the nodes was told is out. */
            if ((now < a_out && strcmp(d->channel_id, "A") == 0) ||
                (c_out && strcmp(d->channel_id, "C") == 0))
                fail_msg("turn %d session %d on node %d: %s (reason %s, degraded %d)", turn, s,
                         x->n == &nodes[1], d->channel_id, sticky_reason_name(d->reason),
                         d->store_degraded);
            if (d->store_degraded) {
                /* Decided without the store: nothing was written, the
                 * binding in Redis is unchanged (checked when it is back). */
            } else if (d->reason == STICKY_REASON_SIDE) {
                /* Served elsewhere for this request; the binding stays. */
                if (where[s][0] != '\0' && strcmp(where[s], "A") != 0)
                    fail_msg("turn %d session %d: side decision off %s (to %s)", turn, s,
                             where[s], d->channel_id);
            } else if (where[s][0] != '\0' && strcmp(where[s], d->channel_id) != 0) {
                /* Moved: only away from a channel that had an incident. */
                int left_a = strcmp(where[s], "A") == 0 && now < a_until;
                int left_c = strcmp(where[s], "C") == 0 && c_revoked;
                int left_failed = d->reason == STICKY_REASON_FAILOVER;
                if (!left_a && !left_c && !left_failed)
                    fail_msg("turn %d session %d split: %s -> %s (reason %s) without an incident",
                             turn, s, where[s], d->channel_id, sticky_reason_name(d->reason));
                moves[s]++;
                strcpy(where[s], d->channel_id);
            } else {
                strcpy(where[s], d->channel_id);
            }
            if (getenv("TL_TRACE") && s == atoi(getenv("TL_TRACE")))
                printf("trace turn %d node %d: %s %s deg %d moved_from %s\n", turn,
                       x->n == &nodes[1], d->channel_id, sticky_reason_name(d->reason),
                       d->store_degraded, d->moved_from);

            if (turn == 2 && strcmp(d->channel_id, "A") == 0 && a_until == INT64_MIN) {
                /* 429 with the reset header, on this node only: the other
                 * node learns it from Redis. */
                char reset[32];
                int64_t r = now / 1000 + 600;
                snprintf(reset, sizeof(reset), "%lld", (long long)r);
                uint64_t before = node_rstats(x->n).health_published;
                report_outcome(x, 429, "anthropic-ratelimit-unified-reset", reset);
                wait_published(x->n, before);
                a_until = r * 1000;
                continue;
            }
            if (turn == 3 && strcmp(d->channel_id, "B") == 0 && s % 5 == 0) {
                report_outcome(x, 529, NULL, NULL); /* noise */
                noise++;
                continue;
            }
            if (turn == 4 && strcmp(d->channel_id, "C") == 0 && !c_revoked) {
                uint64_t before = node_rstats(x->n).health_published;
                report_outcome(x, 401, NULL, NULL);
                wait_published(x->n, before);
                c_revoked = 1;
                continue;
            }
            if (turn >= 5 && turn != TL_FREEZE_TURN &&
                (d->reason == STICKY_REASON_FAILOVER || d->reason == STICKY_REASON_SIDE) &&
                failed_moves < 1) {
                /* A failed move: the new channel times out once. */
                report_outcome(x, 0, NULL, NULL);
                failed_moves++;
                continue;
            }
            report_outcome(x, 200, NULL, NULL);
        }
        if (turn == TL_FREEZE_TURN) {
            kill(g_redis.pid, SIGCONT);
            assert_true(wait_store_up(&nodes[0], 5000));
            assert_true(wait_store_up(&nodes[1], 5000));
        }
        if (turn % 3 == 0) {
            /* Side requests on another model, on the other node. */
            for (int s = 0; s < TL_SESSIONS; s++)
                sel_start(&nodes[(s + turn + 1) % 2], &g_side[s], 1000 + s, turn,
                          "claude-haiku-4-5");
            assert_int_equal(drive(l, g_side, TL_SESSIONS, 5000), 0);
            check_all_once(g_side, TL_SESSIONS);
            for (int s = 0; s < TL_SESSIONS; s++) {
                if (c_out)
                    assert_string_not_equal(g_side[s].d.channel_id, "C");
                /* (A's 429 cooled the sonnet family only: haiku may use it.) */
                sides += g_side[s].d.reason == STICKY_REASON_SIDE;
                report_outcome(&g_side[s], 200, NULL, NULL);
            }
        }
        for (int i = 0; i < 2; i++)
            nodes[i].clk.now_ms += 10000;
    }
    for (int s = 0; s < TL_SESSIONS; s++)
        assert_true(moves[s] <= 2);
    assert_true(a_until != INT64_MIN);
    assert_true(c_revoked);
    assert_int_equal(failed_moves, 1);
    /* Both nodes took part in the health exchange. */
    sticky_redis_store_stats s0 = node_rstats(&nodes[0]), s1 = node_rstats(&nodes[1]);
    assert_true(s0.health_received + s1.health_received >= 2);
    printf("timeline: %d side decisions, %d noise 529s, %d failed move, %d frozen turn, "
           "health published %llu / %llu, received %llu / %llu\n",
           sides, noise, failed_moves, degraded_turns,
           (unsigned long long)s0.health_published, (unsigned long long)s1.health_published,
           (unsigned long long)s0.health_received, (unsigned long long)s1.health_received);
    node_stop(&nodes[0]);
    node_stop(&nodes[1]);
    assert_int_equal(tloop_free(l), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write() */
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ten_thousand_concurrent),
        cmocka_unit_test(cancellation),
        cmocka_unit_test(incident_timeline_two_nodes),
        cmocka_unit_test(frozen_killed_restarted),
    };
    printf("loop: %s\n", tloop_name);
    int failed = cmocka_run_group_tests_name("async select on redis", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
