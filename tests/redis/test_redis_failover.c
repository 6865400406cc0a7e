/*
 * tests/redis/test_redis_failover.c - fail-open on a real server: the
 * server killed mid-run -> sticky_select() keeps deciding, flagged
 * store_degraded, each call well within a second (and the store fails fast
 * during backoff instead of reconnecting on every request); restarted on
 * the same port -> the backend recovers by itself after its backoff. A
 * stopped (SIGSTOP, i.e. hanging) server -> calls fail within the command
 * timeout, counted as timeouts; resumed -> recovery. A store created while
 * the server is down works once it is up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>

#include "redis_test_util.h"

struct test_redis g_redis;

static const char *const ids[] = {"chan-a", "chan-b", "chan-c"};

struct fx {
    sticky_ctx *ctx;
    sticky_store *st;
};

static struct fx open_fx(const char *prefix, uint32_t command_timeout_ms)
{
    struct fx f;
    assert_int_equal(sticky_ctx_new(NULL, &f.ctx), STICKY_OK);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.command_timeout_ms = command_timeout_ms;
    o.pool_size = 2;
    assert_int_equal(make_redis_store(f.ctx, prefix, &o, &f.st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(f.ctx, f.st), STICKY_OK);
    return f;
}

static void close_fx(struct fx *f)
{
    sticky_store_free(f->st); /* before the context, whose allocator it uses */
    sticky_ctx_free(f->ctx);
}

static sticky_redis_store_stats rstats(struct fx *f)
{
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    assert_int_equal(sticky_redis_store_get_stats(f->st, &s), STICKY_OK);
    return s;
}

/* Select and measure; returns the wall time in ms. */
static double timed_select(struct fx *f, unsigned conv, sticky_decision *d)
{
    int64_t t0 = now_ns();
    assert_int_equal(select_conversation(f->ctx, conv, ids, 3, d), STICKY_OK);
    return (double)(now_ns() - t0) / 1e6;
}

static void killed_then_restarted(void **state)
{
    (void)state;
    struct fx f = open_fx("kill:", 100);
    sticky_decision d;
    for (unsigned c = 0; c < 10; c++) {
        timed_select(&f, c, &d);
        assert_int_equal(d.store_degraded, 0);
    }

    test_redis_kill(&g_redis);

    /* Decisions keep coming, degraded, each fast; ~1.5 s of traffic. */
    double worst = 0;
    int degraded = 0, calls = 0;
    int64_t until = now_ns() + 1500 * 1000000LL;
    while (now_ns() < until) {
        double ms = timed_select(&f, (unsigned)calls % 10, &d);
        worst = ms > worst ? ms : worst;
        degraded += d.store_degraded;
        assert_true(d.channel_id[0] != '\0');
        calls++;
        sleep_ms(2);
    }
    printf("server down: %d calls, %d degraded, worst %.2f ms\n", calls, degraded, worst);
    assert_int_equal(degraded, calls);
    assert_true(worst < 1000.0);
    sticky_redis_store_stats s = rstats(&f);
    printf("connect_failures %llu fast_fails %llu io_errors %llu backoff_ms %llu\n",
           (unsigned long long)s.connect_failures, (unsigned long long)s.fast_fails,
           (unsigned long long)s.io_errors, (unsigned long long)s.backoff_ms);
    /* Backoff: 50, 100, 200, 400, 800 ms ... -> a handful of connect
     * attempts in 1.5 s, not one per call. */
    assert_true(s.connect_failures >= 2);
    assert_true(s.connect_failures <= 8);
    assert_true(s.fast_fails >= (uint64_t)calls / 2);
    assert_true(s.backoff_ms >= 200);
    assert_int_equal(s.connections_open, 0);

    /* Same port again: recovery without any call from the test other than
     * traffic. The backoff is at most 2 s. */
    assert_int_equal(test_redis_restart(&g_redis), 0);
    int64_t t_up = now_ns();
    int recovered = 0;
    while (now_ns() - t_up < 5000 * 1000000LL) {
        timed_select(&f, 42, &d);
        if (!d.store_degraded) {
            recovered = 1;
            break;
        }
        sleep_ms(20);
    }
    printf("recovered after %.0f ms\n", (double)(now_ns() - t_up) / 1e6);
    assert_true(recovered);
    s = rstats(&f);
    assert_true(s.reconnects >= 1);
    assert_int_equal(s.backoff_ms, 0);
    /* The restarted server is empty: conversation 42 was just bound anew
     * and now hits. */
    timed_select(&f, 42, &d);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(d.store_degraded, 0);
    close_fx(&f);
}

/* A hanging server (SIGSTOP: the kernel still accepts connections, nothing
 * answers): each call gives up at the command timeout; later calls fail
 * fast during the backoff. SIGCONT -> recovery. */
static void hanging_server(void **state)
{
    (void)state;
    struct fx f = open_fx("hang:", 100);
    sticky_decision d;
    timed_select(&f, 1, &d);
    timed_select(&f, 2, &d);
    assert_int_equal(d.store_degraded, 0);

    kill(g_redis.pid, SIGSTOP);
    double worst = 0;
    int degraded = 0, calls = 0;
    int64_t until = now_ns() + 1000 * 1000000LL;
    while (now_ns() < until) {
        double ms = timed_select(&f, (unsigned)calls % 5, &d);
        worst = ms > worst ? ms : worst;
        degraded += d.store_degraded;
        calls++;
        sleep_ms(2);
    }
    kill(g_redis.pid, SIGCONT);
    printf("server hanging: %d calls, %d degraded, worst %.2f ms\n", calls, degraded, worst);
    assert_int_equal(degraded, calls);
    /* command timeout 100 ms; a call that reconnects may also spend the
     * 200 ms connect timeout: generous bound for a loaded machine. */
    assert_true(worst < 1000.0);
    sticky_redis_store_stats s = rstats(&f);
    assert_true(s.timeouts >= 1);
    assert_true(s.fast_fails >= 1);

    int recovered = 0;
    int64_t t0 = now_ns();
    while (now_ns() - t0 < 5000 * 1000000LL) {
        timed_select(&f, 3, &d);
        if (!d.store_degraded) {
            recovered = 1;
            break;
        }
        sleep_ms(20);
    }
    assert_true(recovered);
    close_fx(&f);
}

/* Created while nothing listens; works when a server appears. */
static void created_while_down(void **state)
{
    (void)state;
    test_redis_kill(&g_redis);
    struct fx f = open_fx("late:", 100);
    sticky_decision d;
    timed_select(&f, 1, &d);
    assert_int_equal(d.store_degraded, 1);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(f.st, 1, 0, &m), STICKY_ESTORE);
    assert_int_equal(test_redis_restart(&g_redis), 0);
    int ok = 0;
    int64_t t0 = now_ns();
    while (!ok && now_ns() - t0 < 5000 * 1000000LL) {
        ok = sticky_store_get(f.st, 1, 0, &m) == STICKY_ENOTFOUND;
        sleep_ms(20);
    }
    assert_true(ok);
    close_fx(&f);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_then_restarted),
        cmocka_unit_test(hanging_server),
        cmocka_unit_test(created_while_down),
    };
    int failed = cmocka_run_group_tests_name("redis failover", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
