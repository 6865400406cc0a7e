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
    o.max_sessions = STICKY_MAX_SESSIONS_LIMIT + 1;
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
    o.size = offsetof(sticky_memory_store_options, max_sessions);
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
    o.max_sessions = 10;
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
        o.max_sessions = 50;
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


/* ---- Clock jumps and extreme clocks (issue 11, items 4 and 5) ---- */

#define YEAR (365LL * 24 * 3600 * SEC)
#define DAY (24LL * 3600 * SEC)

/* A store on a context whose clock reads @start at creation; log lines go
 * to @log (NULL: none). */
static void env_open_at(struct env *e, const sticky_memory_store_options *o,
                        int64_t start, struct log_recorder *log)
{
    memset(e, 0, sizeof(*e));
    e->clock.now_ms = start;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &e->clock;
    if (log != NULL) {
        memset(log, 0, sizeof(*log));
        cfg.log_fn = log_recorder_cb;
        cfg.log_user = log;
        cfg.log_level = STICKY_LOG_DEBUG;
    }
    assert_int_equal(sticky_ctx_new(&cfg, &e->ctx), STICKY_OK);
    assert_int_equal(sticky_memory_store_new(e->ctx, o, &e->st), STICKY_OK);
}

static int get_key(sticky_store *st, uint64_t key, sticky_mapping *m)
{
    sticky_mapping_init(m);
    return sticky_store_get(st, key, 0, m);
}

/* A mapping put at now is live for exactly the TTL (ms precision), with
 * exact times; peeks at the edges, so nothing is renewed. */
static void expect_exact_life(struct env *e, uint64_t key, int64_t ttl_ms)
{
    sticky_mapping m;
    int64_t t = e->clock.now_ms;
    assert_int_equal(put_key(e->st, key, "exact"), STICKY_OK);
    assert_int_equal(peek(e->st, key, &m), STICKY_OK);
    assert_int_equal(m.created_ms, t);
    assert_int_equal(m.last_access_ms, t);
    assert_int_equal(m.expires_ms, t + ttl_ms);
    e->clock.now_ms = t + ttl_ms - 1;
    assert_int_equal(peek(e->st, key, &m), STICKY_OK);
    e->clock.now_ms = t + ttl_ms;
    assert_int_equal(peek(e->st, key, &m), STICKY_ENOTFOUND);
    e->clock.now_ms = t;
}

/* The clock reads 0 when the store is made (a host whose clock is not set
 * yet), then real time: mappings made at real time hit, expire exactly;
 * the jump is logged once at WARN. */
static void test_clock_zero_then_real_time(void **state)
{
    (void)state;
    struct log_recorder log;
    struct env e;
    sticky_memory_store_options o = opts(4);
    env_open_at(&e, &o, 0, &log);
    sticky_mapping m;
    assert_int_equal(put_key(e.st, 1, "at-zero"), STICKY_OK);
    assert_int_equal(get_key(e.st, 1, &m), STICKY_OK);
    e.clock.now_ms = T0; /* 56 years later */
    assert_int_equal(get_key(e.st, 1, &m), STICKY_ENOTFOUND); /* long expired */
    for (uint64_t k = 10; k < 30; k++) /* every shard */
        assert_int_equal(put_key(e.st, k, "real"), STICKY_OK);
    for (uint64_t k = 10; k < 30; k++) {
        assert_int_equal(get_key(e.st, k, &m), STICKY_OK);
        assert_int_equal(m.created_ms, T0);
        assert_int_equal(m.expires_ms, T0 + 3600 * SEC);
        assert_string_equal(m.channel_id, "real");
    }
    expect_exact_life(&e, 99, 3600 * SEC);
    assert_int_equal(log.count[STICKY_LOG_WARN], 1);
    assert_non_null(strstr(log.all, "clock jumped"));
    sticky_store_stats s = stats(e.st);
    assert_int_equal(s.expirations, 1); /* key 1 (key 99 is not reclaimed yet) */
    assert_int_equal(s.entries, 21);
    env_close(&e);
}

/* Forward by 30 years: mappings of before are expired (their expiry has
 * passed; nothing is shifted), mappings of after live exactly their TTL. */
static void test_clock_forward_30_years(void **state)
{
    (void)state;
    struct log_recorder log;
    struct env e;
    sticky_memory_store_options o = opts(2);
    env_open_at(&e, &o, T0, &log);
    sticky_mapping m;
    for (uint64_t k = 1; k <= 8; k++)
        assert_int_equal(put_key(e.st, k, "before"), STICKY_OK);
    e.clock.now_ms = T0 + 30 * YEAR;
    assert_int_equal(peek(e.st, 1, &m), STICKY_ENOTFOUND);
    for (uint64_t k = 1; k <= 8; k++) {
        assert_int_equal(get_key(e.st, k, &m), STICKY_ENOTFOUND);
        assert_int_equal(put_key(e.st, k, "after"), STICKY_OK);
        assert_int_equal(get_key(e.st, k, &m), STICKY_OK);
        assert_string_equal(m.channel_id, "after");
        assert_int_equal(m.expires_ms, T0 + 30 * YEAR + 3600 * SEC);
    }
    expect_exact_life(&e, 100, 3600 * SEC);
    sticky_store_stats s = stats(e.st);
    assert_int_equal(s.inserts, 17);
    assert_int_equal(s.expirations, 8);
    assert_int_equal(s.entries, 9);
    assert_int_equal(s.hits, 8);
    assert_int_equal(log.count[STICKY_LOG_WARN], 1);
    env_close(&e);
}

/* Back by 30 years: a 60 s mapping made before the jump does not live on
 * (for 30 years, or ever again), one made after it lives exactly 60 s. */
static void test_clock_backward_30_years(void **state)
{
    (void)state;
    struct log_recorder log;
    struct env e;
    sticky_memory_store_options o = opts(1);
    o.ttl_seconds = 60;
    o.renew_threshold_seconds = 10;
    env_open_at(&e, &o, T0, &log);
    sticky_mapping m;
    assert_int_equal(put_key(e.st, 1, "before"), STICKY_OK);
    e.clock.now_ms = T0 - 30 * YEAR;
    assert_int_equal(peek(e.st, 1, &m), STICKY_ENOTFOUND);
    assert_int_equal(get_key(e.st, 1, &m), STICKY_ENOTFOUND);
    assert_int_equal(put_key(e.st, 2, "after"), STICKY_OK);
    e.clock.now_ms += 60 * SEC - 1;
    assert_int_equal(peek(e.st, 2, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 - 30 * YEAR + 60 * SEC);
    e.clock.now_ms += 1;
    assert_int_equal(peek(e.st, 2, &m), STICKY_ENOTFOUND);
    e.clock.now_ms += DAY;
    assert_int_equal(get_key(e.st, 2, &m), STICKY_ENOTFOUND);
    expect_exact_life(&e, 3, 60 * SEC);
    /* Back where the clock was: the old mapping is gone for good. */
    e.clock.now_ms = T0 + 30 * SEC;
    assert_int_equal(get_key(e.st, 1, &m), STICKY_ENOTFOUND);
    assert_int_equal(stats(e.st).entries, 0);
    assert_true(log.count[STICKY_LOG_WARN] >= 1);
    assert_true(log.count[STICKY_LOG_WARN] <= 2); /* jump, future mapping */
    env_close(&e);
}

/* Back by less than the packable window (a day): mappings from the future
 * (more than TTL + max(TTL, 60 s) left) are expired, logged once; a small
 * step back (threads reading the clock apart, an NTP step) changes
 * nothing. */
static void test_clock_backward_one_day(void **state)
{
    (void)state;
    struct log_recorder log;
    struct env e;
    sticky_memory_store_options o = opts(1);
    o.ttl_seconds = 60;
    o.renew_threshold_seconds = 10;
    env_open_at(&e, &o, T0, &log);
    sticky_mapping m;
    assert_int_equal(put_key(e.st, 1, "a"), STICKY_OK);
    assert_int_equal(put_key(e.st, 2, "b"), STICKY_OK);
    assert_int_equal(put_key(e.st, 3, "c"), STICKY_OK);
    e.clock.now_ms = T0 - 60 * SEC; /* expires - now = 120 s: tolerated */
    assert_int_equal(get_key(e.st, 1, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 60 * SEC); /* never moves back */
    assert_int_equal(m.last_access_ms, T0);
    e.clock.now_ms = T0 - 60 * SEC - 1; /* 1 ms more: from the future */
    assert_int_equal(peek(e.st, 1, &m), STICKY_ENOTFOUND);
    e.clock.now_ms = T0 - DAY;
    assert_int_equal(get_key(e.st, 2, &m), STICKY_ENOTFOUND);
    assert_int_equal(sticky_store_touch(e.st, 3, NULL), STICKY_ENOTFOUND);
    assert_int_equal(log.count[STICKY_LOG_WARN], 1);
    assert_non_null(strstr(log.all, "clock went back"));
    size_t n = 0;
    assert_int_equal(sticky_store_sweep(e.st, 10, &n), STICKY_OK);
    assert_int_equal(n, 1); /* key 1 */
    assert_int_equal(stats(e.st).entries, 0);
    expect_exact_life(&e, 4, 60 * SEC);
    e.clock.now_ms = T0 - DAY + DAY / 2;
    assert_int_equal(put_key(e.st, 5, "e"), STICKY_OK);
    assert_int_equal(peek(e.st, 5, &m), STICKY_OK);
    assert_int_equal(log.count[STICKY_LOG_WARN], 1); /* once */
    env_close(&e);
}

/* The clock crosses an edge of the shard's window (a steady clock after
 * 15 years, or a small step back just inside the lower edge): the re-base
 * keeps live mappings with their exact times. */
static void test_rebase_keeps_live_exact(void **state)
{
    (void)state;
    const int64_t reach = MEM_TIME_BIAS - MEM_TIME_MARGIN;
    const int64_t ttl = 3600 * SEC;
    for (int renew = STICKY_RENEW_THRESHOLD; renew <= STICKY_RENEW_SLIDING; renew++) {
        for (int up = 0; up <= 1; up++) {
            struct log_recorder log;
            struct env e;
            sticky_memory_store_options o = opts(1);
            o.renew_mode = renew;
            env_open_at(&e, &o, T0, &log);
            /* t1 just inside the window, t2 just outside. */
            const int64_t t1 = up ? T0 + reach - 1000 : T0 - reach;
            const int64_t t2 = up ? t1 + 2000 : t1 - 1;
            e.clock.now_ms = t1;
            sticky_mapping m;
            assert_int_equal(put_key(e.st, 1, "kept"), STICKY_OK);
            assert_int_equal(put_key(e.st, 2, "kept-too"), STICKY_OK);
            assert_int_equal(log.count[STICKY_LOG_WARN], 0);
            e.clock.now_ms = t2;
            assert_int_equal(get_key(e.st, 1, &m), STICKY_OK); /* re-bases */
            assert_int_equal(log.count[STICKY_LOG_WARN], 1);
            assert_non_null(strstr(log.all, "2 kept"));
            assert_int_equal(m.created_ms, t1);
            assert_int_equal(m.last_access_ms, t2 > t1 ? t2 : t1);
            assert_int_equal(m.request_count, 2);
            int64_t exp1 = renew == STICKY_RENEW_SLIDING && t2 > t1 ? t2 + ttl : t1 + ttl;
            assert_int_equal(m.expires_ms, exp1);
            assert_int_equal(peek(e.st, 2, &m), STICKY_OK);
            assert_int_equal(m.created_ms, t1);
            assert_int_equal(m.last_access_ms, t1);
            assert_int_equal(m.expires_ms, t1 + ttl);
            assert_string_equal(m.channel_id, "kept-too");
            e.clock.now_ms = t1 + ttl - 1;
            assert_int_equal(peek(e.st, 2, &m), STICKY_OK);
            e.clock.now_ms = t1 + ttl;
            assert_int_equal(peek(e.st, 2, &m), STICKY_ENOTFOUND);
            e.clock.now_ms = exp1 - 1;
            assert_int_equal(peek(e.st, 1, &m), STICKY_OK);
            e.clock.now_ms = exp1;
            assert_int_equal(peek(e.st, 1, &m), STICKY_ENOTFOUND);
            assert_int_equal(stats(e.st).expirations, 0);
            env_close(&e);
        }
    }
}

/* A steady clock running 20 years past the store's creation (beyond the
 * old creation-relative window of 17.4 years) still expires exactly. */
static void test_long_running_store(void **state)
{
    (void)state;
    struct env e;
    sticky_memory_store_options o = opts(1);
    env_open_at(&e, &o, T0, NULL);
    sticky_mapping m;
    for (int y = 1; y <= 20; y++) {
        e.clock.now_ms = T0 + y * YEAR;
        expect_exact_life(&e, (uint64_t)y, 3600 * SEC);
        assert_int_equal(put_key(e.st, 1000 + (uint64_t)y, "live"), STICKY_OK);
        assert_int_equal(get_key(e.st, 1000 + (uint64_t)y, &m), STICKY_OK);
    }
    env_close(&e);
}

/* The clock values the issue names, each as the store's creation time and
 * as a jump from every other: no overflow (UBSan), consistent structures,
 * times saturate at INT64_MAX (a mapping put at INT64_MAX is expired at
 * once), exact elsewhere. */
static const int64_t extreme_clocks[] = {
    INT64_MAX, INT64_MAX - 1000, INT64_MIN, INT64_MIN + 1, 0, T0,
};
#define N_EXTREME (sizeof(extreme_clocks) / sizeof(extreme_clocks[0]))

static void exercise_at(struct env *e, uint64_t key)
{
    const int64_t now = e->clock.now_ms;
    const int64_t ttl = 3600 * SEC;
    const int64_t expires = now > INT64_MAX - ttl ? INT64_MAX : now + ttl;
    sticky_mapping m, old;
    assert_int_equal(put_key(e->st, key, "x"), STICKY_OK);
    int live = now < expires;
    assert_int_equal(peek(e->st, key, &m), live ? STICKY_OK : STICKY_ENOTFOUND);
    if (live) {
        assert_int_equal(m.created_ms, now);
        assert_int_equal(m.last_access_ms, now);
        assert_int_equal(m.expires_ms, expires);
        assert_int_equal(get_key(e->st, key, &m), STICKY_OK);
        assert_int_equal(m.request_count, 2);
        assert_int_equal(m.expires_ms, expires); /* threshold: none left to renew */
        assert_int_equal(sticky_store_touch(e->st, key, &m), STICKY_OK);
        assert_int_equal(m.expires_ms, expires);
        sticky_mapping_init(&old);
        sticky_mapping_init(&m);
        m.key = key;
        snprintf(m.channel_id, sizeof(m.channel_id), "y");
        assert_int_equal(sticky_store_put(e->st, &m, STICKY_STORE_IF_ABSENT, &old),
                         STICKY_EEXIST);
        assert_string_equal(old.channel_id, "x");
        assert_int_equal(sticky_store_delete(e->st, key), STICKY_OK);
        assert_int_equal(put_key(e->st, key, "z"), STICKY_OK);
    } else {
        assert_int_equal(get_key(e->st, key, &m), STICKY_ENOTFOUND);
        assert_int_equal(sticky_store_touch(e->st, key, NULL), STICKY_ENOTFOUND);
        assert_int_equal(sticky_store_delete(e->st, key), STICKY_ENOTFOUND);
    }
    size_t n;
    assert_int_equal(sticky_store_sweep(e->st, 100, &n), STICKY_OK);
    assert_int_equal(memory_store_check(e->st, NULL), STICKY_OK);
}

static void test_extreme_clocks(void **state)
{
    (void)state;
    for (size_t a = 0; a < N_EXTREME; a++) {
        for (size_t b = 0; b < N_EXTREME; b++) {
            for (int renew = STICKY_RENEW_THRESHOLD; renew <= STICKY_RENEW_SLIDING;
                 renew++) {
                struct env e;
                sticky_memory_store_options o = opts(2);
                o.renew_mode = renew;
                o.max_sessions = 4; /* evictions at both ends too */
                env_open_at(&e, &o, extreme_clocks[a], NULL);
                for (uint64_t k = 1; k <= 6; k++)
                    exercise_at(&e, k);
                e.clock.now_ms = extreme_clocks[b];
                for (uint64_t k = 3; k <= 9; k++)
                    exercise_at(&e, k);
                e.clock.now_ms = extreme_clocks[a];
                for (uint64_t k = 5; k <= 11; k++)
                    exercise_at(&e, k);
                sticky_store_stats s = stats(e.st);
                assert_true(s.entries <= 4);
                assert_int_equal(s.entries,
                                 s.inserts - s.expirations - s.evictions - s.deletes);
                env_close(&e);
            }
        }
    }
}

/* At the cap with opportunistic sweeping off, a clock at INT64_MAX must
 * not make an insert spin: the head hint stays below "empty". */
static void test_cap_at_int64_max(void **state)
{
    (void)state;
    struct env e;
    sticky_memory_store_options o = opts(2);
    o.max_sessions = 2;
    o.sweep_on_write = 0;
    env_open_at(&e, &o, INT64_MAX, NULL);
    for (uint64_t k = 1; k <= 10; k++)
        assert_int_equal(put_key(e.st, k, "c"), STICKY_OK);
    assert_int_equal(stats(e.st).entries, 2);
    env_close(&e);
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
        cmocka_unit_test(test_clock_zero_then_real_time),
        cmocka_unit_test(test_clock_forward_30_years),
        cmocka_unit_test(test_clock_backward_30_years),
        cmocka_unit_test(test_clock_backward_one_day),
        cmocka_unit_test(test_rebase_keeps_live_exact),
        cmocka_unit_test(test_long_running_store),
        cmocka_unit_test(test_extreme_clocks),
        cmocka_unit_test(test_cap_at_int64_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
