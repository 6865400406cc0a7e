/*
 * tests/redis/test_redis_threads.c - the connection pool under concurrency
 * (suites `redis` and `threads`, so CI also runs it under ThreadSanitizer):
 * 8 threads share one Redis store with a pool of 3 connections and do
 * mixed operations on 64 overlapping keys. Every call succeeds (no store
 * error with a generous timeout), every record read belongs to its key,
 * and the counters add up to the calls made. sticky_redis_store_get_stats()
 * from several threads at once answers for its own store only.
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

/*
 * sticky_redis_store_get_stats() from several threads at once, while other
 * threads use the store and call sticky_store_get_stats() on it and on a
 * memory store: every Redis call answers with the Redis counters of its
 * own store (round trips never go backwards per reader), a memory store is
 * never taken for a Redis store, and the final counters add up.
 */
#define READERS 4
#define READS 400

struct stats_shared {
    sticky_store *redis_a, *redis_b, *mem;
    uint64_t b_trips; /* b's round trips, fixed before the threads start */
    atomic_long bad, done;
};

static void *stats_reader(void *arg)
{
    struct stats_shared *sh = arg;
    uint64_t last_a = 0;
    for (int i = 0; i < READS; i++) {
        sticky_redis_store_stats r;
        sticky_redis_store_stats_init(&r);
        if (sticky_redis_store_get_stats(sh->redis_a, &r) != STICKY_OK ||
            r.round_trips < last_a)
            atomic_fetch_add(&sh->bad, 1);
        last_a = r.round_trips;
        sticky_redis_store_stats_init(&r);
        if (sticky_redis_store_get_stats(sh->redis_b, &r) != STICKY_OK ||
            r.round_trips != sh->b_trips)
            atomic_fetch_add(&sh->bad, 1); /* b is idle: a's counters never leak in */
        sticky_redis_store_stats_init(&r);
        if (sticky_redis_store_get_stats(sh->mem, &r) != STICKY_EINVAL)
            atomic_fetch_add(&sh->bad, 1);
        sticky_store_stats s;
        sticky_store_stats_init(&s);
        if (sticky_store_get_stats(sh->redis_a, &s) != STICKY_OK ||
            sticky_store_get_stats(sh->mem, &s) != STICKY_OK)
            atomic_fetch_add(&sh->bad, 1);
    }
    atomic_fetch_add(&sh->done, 1);
    return NULL;
}

static void *stats_writer(void *arg)
{
    struct stats_shared *sh = arg;
    for (int i = 0; i < OPS / 5; i++) {
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = (uint64_t)i % KEYS;
        snprintf(m.channel_id, sizeof(m.channel_id), "k%d-", i % KEYS);
        if (sticky_store_put(sh->redis_a, &m, 0, NULL) != STICKY_OK ||
            sticky_store_get(sh->redis_a, m.key, 0, &m) != STICKY_OK ||
            sticky_store_put(sh->mem, &m, 0, NULL) != STICKY_OK)
            atomic_fetch_add(&sh->bad, 1);
    }
    return NULL;
}

static void stats_from_threads(void **state)
{
    (void)state;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.pool_size = 2;
    o.command_timeout_ms = 5000;
    static struct stats_shared sh;
    assert_int_equal(make_redis_store(ctx, "stats-a:", &o, &sh.redis_a), STICKY_OK);
    assert_int_equal(make_redis_store(ctx, "stats-b:", &o, &sh.redis_b), STICKY_OK);
    assert_int_equal(sticky_memory_store_new(ctx, NULL, &sh.mem), STICKY_OK);
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 1;
    strcpy(m.channel_id, "b");
    assert_int_equal(sticky_store_put(sh.redis_b, &m, 0, NULL), STICKY_OK);
    sticky_redis_store_stats rb;
    sticky_redis_store_stats_init(&rb);
    assert_int_equal(sticky_redis_store_get_stats(sh.redis_b, &rb), STICKY_OK);
    sh.b_trips = rb.round_trips; /* the handshake and the put */
    assert_int_equal(sh.b_trips, 1 + rb.connects);

    pthread_t r[READERS], w[2];
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, stats_reader, &sh);
    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, stats_writer, &sh);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    assert_int_equal(atomic_load(&sh.bad), 0);
    assert_int_equal(atomic_load(&sh.done), READERS);

    sticky_redis_store_stats ra;
    sticky_redis_store_stats_init(&ra);
    assert_int_equal(sticky_redis_store_get_stats(sh.redis_a, &ra), STICKY_OK);
    assert_int_equal(ra.round_trips, 2 * 2 * (OPS / 5) + ra.connects);
    assert_int_equal(ra.connections_open, ra.connects);
    sticky_redis_store_stats_init(&rb);
    assert_int_equal(sticky_redis_store_get_stats(sh.redis_b, &rb), STICKY_OK);
    assert_int_equal(rb.round_trips, sh.b_trips); /* untouched by a's traffic */
    sticky_store_free(sh.mem);
    sticky_store_free(sh.redis_b);
    sticky_store_free(sh.redis_a);
    sticky_ctx_free(ctx);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_under_threads),
        cmocka_unit_test(stats_from_threads),
    };
    int failed = cmocka_run_group_tests_name("redis threads", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
