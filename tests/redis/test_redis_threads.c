/*
 * tests/redis/test_redis_threads.c - the connection pool under concurrency
 * (suites `redis` and `threads`, so CI also runs it under ThreadSanitizer):
 * 8 threads share one Redis store with a pool of 3 connections and do
 * mixed operations on 64 overlapping keys. Every call succeeds (no store
 * error with a generous timeout), every record read belongs to its key,
 * and the counters add up to the calls made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "redis_test_util.h"

struct test_redis g_redis;

#define THREADS 8
#define OPS 1500
#define KEYS 64

struct shared {
    sticky_store *st;
    atomic_long gets, puts, errors, foreign;
};

static void *worker(void *arg)
{
    struct shared *sh = arg;
    static atomic_uint seed_source;
    uint64_t x = 0x9E3779B97F4A7C15ULL * (atomic_fetch_add(&seed_source, 1) + 1);
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t key = x % KEYS;
        sticky_mapping m;
        sticky_mapping_init(&m);
        int rc;
        switch ((x >> 32) % 5) {
        case 0:
        case 1:
            rc = sticky_store_get(sh->st, key, 0, &m);
            atomic_fetch_add(&sh->gets, 1);
            if (rc == STICKY_OK) {
                char want[32];
                snprintf(want, sizeof(want), "k%llu-", (unsigned long long)key);
                if (strncmp(m.channel_id, want, strlen(want)) != 0 || m.key != key)
                    atomic_fetch_add(&sh->foreign, 1);
            } else if (rc != STICKY_ENOTFOUND) {
                atomic_fetch_add(&sh->errors, 1);
            }
            break;
        case 2:
        case 3:
            m.key = key;
            snprintf(m.channel_id, sizeof(m.channel_id), "k%llu-%llu",
                     (unsigned long long)key, (unsigned long long)(x & 0xff));
            rc = sticky_store_put(sh->st, &m, (x & 1) ? STICKY_STORE_IF_ABSENT : 0, NULL);
            if (rc == STICKY_OK)
                atomic_fetch_add(&sh->puts, 1);
            else if (rc != STICKY_EEXIST)
                atomic_fetch_add(&sh->errors, 1);
            break;
        default:
            rc = (x & 2) ? sticky_store_delete(sh->st, key) : sticky_store_touch(sh->st, key, NULL);
            if (rc != STICKY_OK && rc != STICKY_ENOTFOUND)
                atomic_fetch_add(&sh->errors, 1);
            break;
        }
    }
    return NULL;
}

static void pool_under_threads(void **state)
{
    (void)state;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.pool_size = 3;
    o.command_timeout_ms = 5000; /* TSan and a busy machine are slow */
    static struct shared sh;
    assert_int_equal(make_redis_store(ctx, "threads:", &o, &sh.st), STICKY_OK);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, &sh);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&sh.errors), 0);
    assert_int_equal(atomic_load(&sh.foreign), 0);
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(sh.st, &s), STICKY_OK);
    assert_int_equal(s.hits + s.misses, (uint64_t)atomic_load(&sh.gets));
    assert_int_equal(s.inserts + s.updates, (uint64_t)atomic_load(&sh.puts));
    sticky_redis_store_stats r;
    sticky_redis_store_stats_init(&r);
    assert_int_equal(sticky_redis_store_get_stats(sh.st, &r), STICKY_OK);
    printf("round trips %llu, connects %llu, pool waits %llu\n",
           (unsigned long long)r.round_trips, (unsigned long long)r.connects,
           (unsigned long long)r.pool_waits);
    assert_true(r.connects <= 3);
    assert_int_equal(r.connections_open, r.connects);
    assert_int_equal(r.round_trips, THREADS * OPS + r.connects);
    assert_int_equal(r.pool_timeouts + r.timeouts + r.io_errors, 0);
    sticky_store_free(sh.st);
    sticky_ctx_free(ctx);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_under_threads),
    };
    int failed = cmocka_run_group_tests_name("redis threads", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
