/*
 * tests/unit/test_memory_store.c - what is specific to the memory store beyond
 * the conformance suite: options and their defaults from the context, the
 * global cap across shards (exact LRU), sweep budget and opportunistic
 * sweeping, threshold-mode stragglers, interning refcounts, packed fields,
 * and allocator failure without leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "test_helpers.h"

#include "store/memory_store.h"

#define T0 1767225600000LL
#define SEC 1000LL

struct env {
    struct fake_clock clock;
    sticky_ctx *ctx;
    sticky_store *st;
};

static void env_open(struct env *e, const sticky_config *base,
                     const sticky_memory_store_options *o)
{
    memset(e, 0, sizeof(*e));
    e->clock.now_ms = T0;
    sticky_config cfg;
    if (base != NULL)
        cfg = *base;
    else
        sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &e->clock;
    assert_int_equal(sticky_ctx_new(&cfg, &e->ctx), STICKY_OK);
    assert_int_equal(sticky_memory_store_new(e->ctx, o, &e->st), STICKY_OK);
}

static void env_close(struct env *e)
{
    assert_int_equal(memory_store_check(e->st, NULL), STICKY_OK);
    sticky_store_free(e->st);
    sticky_ctx_free(e->ctx);
}

static int put_key(sticky_store *st, uint64_t key, const char *channel)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", channel);
    return sticky_store_put(st, &m, 0, NULL);
}

static int peek(sticky_store *st, uint64_t key, sticky_mapping *m)
{
    sticky_mapping_init(m);
    return sticky_store_get(st, key, STICKY_STORE_PEEK, m);
}

static sticky_store_stats stats(sticky_store *st)
{
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(st, &s), STICKY_OK);
    return s;
}

static sticky_memory_store_options opts(uint32_t shards)
{
    sticky_memory_store_options o;
    sticky_memory_store_options_init(&o);
    o.shard_count = shards;
    return o;
}

/* NULL options: TTL, threshold and cap come from the context config. */
static void test_defaults_from_context(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 100;
    cfg.renew_threshold_seconds = 10;
    cfg.max_sessions = 5;
    struct env e;
    env_open(&e, &cfg, NULL);
    sticky_mapping m;
    for (uint64_t k = 1; k <= 6; k++) {
        assert_int_equal(put_key(e.st, k, "c"), STICKY_OK);
        e.clock.now_ms += 1;
    }
    assert_int_equal(stats(e.st).entries, 5);
    assert_int_equal(peek(e.st, 1, &m), STICKY_ENOTFOUND); /* evicted */
    assert_int_equal(peek(e.st, 6, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, m.created_ms + 100 * SEC);
    e.clock.now_ms = m.created_ms + 89 * SEC; /* 11 s left: no renewal */
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(e.st, 6, 0, &m), STICKY_OK);
    assert_int_equal(stats(e.st).renewals, 0);
    e.clock.now_ms += 2 * SEC; /* 9 s left: renewed */
    assert_int_equal(sticky_store_get(e.st, 6, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, e.clock.now_ms + 100 * SEC);
    assert_string_equal(sticky_store_name(e.st), "memory");
    env_close(&e);
}

static void test_options_rejected(void **state)
{
    (void)state;
    struct fake_clock clock = {T0};
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &clock;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_store *st = (sticky_store *)&clock;
    sticky_memory_store_options o = opts(3);
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    assert_null(st);
    o = opts(2048);
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o = opts(1);
    o.ttl_seconds = 60;
    o.renew_threshold_seconds = 61;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o.renew_threshold_seconds = -5;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o = opts(1);
    o.renew_mode = 7;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o = opts(1);
    o.ttl_seconds = STICKY_MAX_TTL_SECONDS + 1;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o = opts(1);
    o.max_entries = STICKY_MAX_SESSIONS_LIMIT + 1;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_ECONFIG);
    o = opts(1);
    o.size = 0;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_EABI);
    assert_int_equal(sticky_memory_store_new(NULL, NULL, &st), STICKY_EINVAL);
    assert_int_equal(sticky_memory_store_new(ctx, NULL, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_memory_store_options_init_sized(NULL, sizeof(o)),
                     STICKY_EINVAL);
    assert_int_equal(sticky_memory_store_options_init_sized(&o, 1), STICKY_EABI);
    /* Shorter than the first-release options, or an implausible size. */
    o = opts(4);
    o.size = offsetof(sticky_memory_store_options, max_entries);
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_EABI);
    o.size = (size_t)1 << 20;
    assert_int_equal(sticky_memory_store_new(ctx, &o, &st), STICKY_EABI);
    assert_null(st);
    sticky_ctx_free(ctx);
}

/* The cap is global across 16 shards and eviction follows global LRU:
 * after any number of inserts, exactly the newest `cap` keys remain. */
static void test_global_cap_is_exact_lru(void **state)
{
    (void)state;
    sticky_memory_store_options o = opts(16);
    o.max_entries = 10;
    struct env e;
    env_open(&e, NULL, &o);
    sticky_mapping m;
    sticky_mapping_init(&m);
    for (uint64_t k = 0; k < 1000; k++) {
        e.clock.now_ms += 1;
        assert_int_equal(put_key(e.st, k, "c"), STICKY_OK);
        assert_true(stats(e.st).entries <= 10);
        if (k == 500) /* a hit protects an old key */
            assert_int_equal(sticky_store_get(e.st, 495, 0, &m), STICKY_OK);
        if (k == 505) { /* 491..494 and 496 went; 495 stayed */
            assert_int_equal(peek(e.st, 495, &m), STICKY_OK);
            assert_int_equal(peek(e.st, 496, &m), STICKY_ENOTFOUND);
            assert_int_equal(peek(e.st, 497, &m), STICKY_OK);
        }
    }
    for (uint64_t k = 0; k < 990; k++)
        assert_int_equal(peek(e.st, k, &m), STICKY_ENOTFOUND);
    for (uint64_t k = 990; k < 1000; k++)
        assert_int_equal(peek(e.st, k, &m), STICKY_OK);
    sticky_store_stats s = stats(e.st);
    assert_int_equal(s.entries, 10);
    assert_int_equal(s.evictions, 990);
    env_close(&e);
}

/* One shard: a budget of 3 reclaims exactly 3 expired entries. */
static void test_sweep_exact_budget(void **state)
{
    (void)state;
    sticky_memory_store_options o = opts(1);
    o.sweep_on_write = 0;
    struct env e;
    env_open(&e, NULL, &o);
    for (uint64_t k = 0; k < 10; k++)
        assert_int_equal(put_key(e.st, k, "c"), STICKY_OK);
    e.clock.now_ms += 3600 * SEC;
    size_t n = 0;
    assert_int_equal(sticky_store_sweep(e.st, 3, &n), STICKY_OK);
    assert_int_equal(n, 3);
    assert_int_equal(stats(e.st).entries, 7);
    assert_int_equal(sticky_store_sweep(e.st, 1000, &n), STICKY_OK);
    assert_int_equal(n, 7);
    assert_int_equal(stats(e.st).expirations, 10);
    env_close(&e);
}

/* Writes reclaim expired entries of their shard without a host sweep. */
static void test_opportunistic_sweep(void **state)
{
    (void)state;
    for (int on = 0; on <= 1; on++) {
        sticky_memory_store_options o = opts(1);
        o.sweep_on_write = on ? 8 : 0;
        struct env e;
        env_open(&e, NULL, &o);
        for (uint64_t k = 0; k < 5; k++)
            assert_int_equal(put_key(e.st, k, "c"), STICKY_OK);
        e.clock.now_ms += 3600 * SEC;
        assert_int_equal(put_key(e.st, 99, "c"), STICKY_OK);
        sticky_store_stats s = stats(e.st);
        assert_int_equal(s.entries, on ? 1 : 6);
        assert_int_equal(s.expirations, on ? 5 : 0);
        env_close(&e);
    }
}

/* Threshold mode: a use without renewal moves an entry to the LRU tail
 * while its expiry stays early; the sweep still finds it. */
static void test_threshold_straggler_swept(void **state)
{
    (void)state;
    sticky_memory_store_options o = opts(1);
    o.sweep_on_write = 0;
    struct env e;
    env_open(&e, NULL, &o);
    sticky_mapping m;
    assert_int_equal(put_key(e.st, 1, "a"), STICKY_OK); /* expires T0+3600 */
    e.clock.now_ms += 100 * SEC;
    assert_int_equal(put_key(e.st, 2, "b"), STICKY_OK); /* expires T0+3700 */
    e.clock.now_ms += 100 * SEC;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(e.st, 1, 0, &m), STICKY_OK); /* no renewal */
    assert_int_equal(m.expires_ms, T0 + 3600 * SEC);
    e.clock.now_ms = T0 + 3650 * SEC; /* 1 expired, 2 live and at the LRU head */
    size_t n = 0, total = 0;
    for (int calls = 0; calls < 64 && total == 0; calls++) {
        assert_int_equal(sticky_store_sweep(e.st, 4, &n), STICKY_OK);
        total += n;
    }
    assert_int_equal(total, 1); /* 32 buckets: found within 32 / 3 calls */
    assert_int_equal(peek(e.st, 2, &m), STICKY_OK);
    assert_int_equal(stats(e.st).entries, 1);
    env_close(&e);
}

/* Ids are interned once per shard, shared, and freed with their last user. */
static void test_interning_refcounts(void **state)
{
    (void)state;
    sticky_memory_store_options o = opts(1);
    struct env e;
    env_open(&e, NULL, &o);
    char ch[16];
    size_t pairs = 99;
    for (uint64_t k = 0; k < 100; k++) {
        snprintf(ch, sizeof(ch), "ch-%u", (unsigned)(k % 3));
        assert_int_equal(put_key(e.st, k, ch), STICKY_OK);
    }
    assert_int_equal(memory_store_check(e.st, &pairs), STICKY_OK);
    assert_int_equal(pairs, 3);
    for (uint64_t k = 0; k < 100; k += 3)
        assert_int_equal(sticky_store_delete(e.st, k), STICKY_OK);
    assert_int_equal(memory_store_check(e.st, &pairs), STICKY_OK);
    assert_int_equal(pairs, 2);
    assert_int_equal(put_key(e.st, 1, "ch-new"), STICKY_OK);
    assert_int_equal(memory_store_check(e.st, &pairs), STICKY_OK);
    assert_int_equal(pairs, 3);
    for (uint64_t k = 0; k < 100; k++)
        sticky_store_delete(e.st, k);
    assert_int_equal(memory_store_check(e.st, &pairs), STICKY_OK);
    assert_int_equal(pairs, 0);
    assert_int_equal(stats(e.st).entries, 0);
    env_close(&e);
}

/* Packed times: exact within +-17 years of the base, clamped outside;
 * the low 24 bits of a word are independent of its time; at the ends of
 * the int64 range (base clamped) encoding and decoding do not overflow. */
static void test_packed_fields(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct mem_entry), 88);
    uint64_t w = 0;
    mem_low_set(&w, 77);
    const int64_t ten_years = 10LL * 365 * 24 * 3600 * SEC;
    const int64_t times[] = {T0, T0 + 1, T0 - 1, T0 + ten_years, T0 - ten_years};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        mem_time_encode(T0, &w, times[i]);
        assert_int_equal(mem_time_decode(T0, w), times[i]);
        assert_int_equal(mem_low_get(w), 77);
    }
    mem_time_encode(T0, &w, T0 + 3 * ten_years); /* beyond +17 years */
    assert_int_equal(mem_time_decode(T0, w), T0 + MEM_TIME_BIAS - 1);
    mem_time_encode(T0, &w, T0 - 3 * ten_years);
    assert_int_equal(mem_time_decode(T0, w), T0 - MEM_TIME_BIAS);
    mem_low_set(&w, MEM_LOW_MAX + 5u); /* saturates */
    assert_int_equal(mem_low_get(w), MEM_LOW_MAX);
    assert_int_equal(mem_time_decode(T0, w), T0 - MEM_TIME_BIAS); /* time untouched */

    /* The ends of the range: exact, and far times clamp without overflow. */
    const int64_t top[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000, MEM_BASE_MAX};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        mem_time_encode(MEM_BASE_MAX, &w, top[i]);
        assert_int_equal(mem_time_decode(MEM_BASE_MAX, w), top[i]);
    }
    const int64_t bottom[] = {INT64_MIN, INT64_MIN + 1, INT64_MIN + 1000, MEM_BASE_MIN};
    for (size_t i = 0; i < sizeof(bottom) / sizeof(bottom[0]); i++) {
        mem_time_encode(MEM_BASE_MIN, &w, bottom[i]);
        assert_int_equal(mem_time_decode(MEM_BASE_MIN, w), bottom[i]);
    }
    mem_time_encode(MEM_BASE_MAX, &w, INT64_MIN);
    assert_int_equal(mem_time_decode(MEM_BASE_MAX, w), MEM_BASE_MAX - MEM_TIME_BIAS);
    mem_time_encode(MEM_BASE_MIN, &w, INT64_MAX);
    assert_int_equal(mem_time_decode(MEM_BASE_MIN, w), MEM_BASE_MIN + MEM_TIME_BIAS - 1);
    assert_int_equal(mem_sat_add(INT64_MAX - 5, 10), INT64_MAX);
    assert_int_equal(mem_sat_add(INT64_MIN, 10), INT64_MIN + 10);
}

/* Every allocation failure point gives STICKY_ENOMEM, leaves the store
 * consistent and leaks nothing. */
static void test_enomem_without_leaks(void **state)
{
    (void)state;
    int saw_enomem = 0;
    for (long fail_at = 0;; fail_at++) {
        struct counting_alloc a = {0, 0, 0, -1};
        struct fake_clock clock = {T0};
        sticky_config cfg;
        sticky_config_init(&cfg);
        counting_alloc_install(&cfg, &a);
        cfg.clock_fn = fake_clock_read;
        cfg.clock_user = &clock;
        sticky_ctx *ctx;
        assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
        long base_live = a.live;
        a.fail_after = a.mallocs + fail_at;
        sticky_memory_store_options o = opts(2);
        sticky_store *st = NULL;
        int failed = 0;
        int rc = sticky_memory_store_new(ctx, &o, &st);
        if (rc != STICKY_OK) {
            assert_int_equal(rc, STICKY_ENOMEM);
            assert_null(st);
            failed = 1;
        } else {
            char ch[16];
            for (uint64_t k = 0; k < 300; k++) {
                snprintf(ch, sizeof(ch), "ch-%u", (unsigned)(k % 40));
                rc = put_key(st, k * 7919, ch);
                sticky_mapping m;
                if (rc != STICKY_OK) {
                    assert_int_equal(rc, STICKY_ENOMEM);
                    assert_int_equal(peek(st, k * 7919, &m), STICKY_ENOTFOUND);
                    failed = 1;
                } else {
                    assert_int_equal(peek(st, k * 7919, &m), STICKY_OK);
                    assert_string_equal(m.channel_id, ch);
                }
            }
            assert_int_equal(memory_store_check(st, NULL), STICKY_OK);
            sticky_store_free(st);
        }
        assert_int_equal(a.live, base_live);
        sticky_ctx_free(ctx);
        assert_int_equal(a.live, 0);
        saw_enomem |= failed;
        if (!failed)
            break; /* every allocation point has been made to fail */
    }
    assert_true(saw_enomem);
}

/* A random mix of operations keeps every structure consistent. */
static void test_random_ops_consistent(void **state)
{
    (void)state;
    for (uint32_t shards = 1; shards <= 4; shards *= 4) {
        sticky_memory_store_options o = opts(shards);
        o.max_entries = 50;
        o.ttl_seconds = 10;
        o.renew_threshold_seconds = 3;
        struct env e;
        env_open(&e, NULL, &o);
        uint64_t x = 88172645463325252ULL;
        char ch[16];
        sticky_mapping m;
        for (int i = 0; i < 20000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint64_t key = x % 120;
            e.clock.now_ms += (int64_t)(x >> 40) % 200;
            sticky_mapping_init(&m);
            switch ((x >> 20) % 6) {
            case 0:
            case 1:
                snprintf(ch, sizeof(ch), "ch-%u", (unsigned)(key % 5));
                assert_int_equal(put_key(e.st, key, ch), STICKY_OK);
                break;
            case 2:
                sticky_store_get(e.st, key, 0, &m);
                break;
            case 3:
                sticky_store_touch(e.st, key, NULL);
                break;
            case 4:
                sticky_store_delete(e.st, key);
                break;
            default:
                sticky_store_sweep(e.st, 5, NULL);
                break;
            }
            assert_true(stats(e.st).entries <= 50);
            if (i % 1000 == 0)
                assert_int_equal(memory_store_check(e.st, NULL), STICKY_OK);
        }
        sticky_store_stats s = stats(e.st);
        assert_int_equal(s.entries,
                         s.inserts - s.expirations - s.evictions - s.deletes);
        env_close(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_context),
        cmocka_unit_test(test_options_rejected),
        cmocka_unit_test(test_global_cap_is_exact_lru),
        cmocka_unit_test(test_sweep_exact_budget),
        cmocka_unit_test(test_opportunistic_sweep),
        cmocka_unit_test(test_threshold_straggler_swept),
        cmocka_unit_test(test_interning_refcounts),
        cmocka_unit_test(test_packed_fields),
        cmocka_unit_test(test_enomem_without_leaks),
        cmocka_unit_test(test_random_ops_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
