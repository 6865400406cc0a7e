/*
 * tests/store_conformance/conformance.c - the checks every storage backend
 * must pass (see conformance.h): save and find, use counting, threshold and
 * sliding renewal, touch, expiry, sweep budget, LRU at the cap,
 * put-if-absent, replace, delete, stats, bad arguments and the
 * size-prefixed record rule. Time moves only through the fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "conformance.h"
#include "test_helpers.h"

#define T0_DEFAULT 1767225600000LL /* 2026-01-01T00:00:00Z */
/* Each test's start time: T0_DEFAULT, or the backend's start_ms. */
static int64_t conf_t0 = T0_DEFAULT;
#define T0 conf_t0
#define SEC 1000LL

struct fixture {
    const struct sticky_conf_backend *b;
    struct fake_clock clock;
    sticky_ctx *ctx;
    sticky_store *st;
    struct sticky_conf_params p;
};

static const struct sticky_conf_params default_params = {
    .ttl_seconds = 3600,
    .renew_threshold_seconds = 300,
    .renew_mode = STICKY_RENEW_THRESHOLD,
    .max_sessions = 10000,
};

static void reopen(struct fixture *f, const struct sticky_conf_params *p)
{
    sticky_store_free(f->st);
    f->st = NULL;
    f->p = *p;
    int64_t now = f->clock.now_ms;
    if (f->b->set_clock)
        f->clock.now_ms = f->b->made_ms;
    assert_int_equal(f->b->make(f->ctx, p, f->b->user, &f->st), STICKY_OK);
    f->clock.now_ms = now;
    assert_non_null(f->st);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->b = *state;
    f->clock.now_ms = T0;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &f->clock;
    assert_int_equal(sticky_ctx_new(&cfg, &f->ctx), STICKY_OK);
    reopen(f, &default_params);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sticky_store_free(f->st);
    sticky_ctx_free(f->ctx);
    free(f);
    return 0;
}

static int put(struct fixture *f, uint64_t key, const char *channel,
               const char *tenant, unsigned flags, sticky_mapping *existing)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", channel);
    snprintf(m.tenant_id, sizeof(m.tenant_id), "%s", tenant);
    return sticky_store_put(f->st, &m, flags, existing);
}

static void must_put(struct fixture *f, uint64_t key, const char *channel)
{
    assert_int_equal(put(f, key, channel, "tenant-1", 0, NULL), STICKY_OK);
}

static int get(struct fixture *f, uint64_t key, unsigned flags, sticky_mapping *out)
{
    sticky_mapping_init(out);
    return sticky_store_get(f->st, key, flags, out);
}

static sticky_store_stats stats(struct fixture *f)
{
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(f->st, &s), STICKY_OK);
    return s;
}

/* The entry count, unless the backend declared it cannot count entries. */
static void expect_entries(struct fixture *f, uint64_t got, uint64_t want)
{
    if (!f->b->no_entry_count)
        assert_int_equal(got, want);
}

static void advance(struct fixture *f, int64_t ms)
{
    f->clock.now_ms += ms;
}

/* Mapping saved, found, with the seed's fields. */
static void conf_saved_and_found(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    assert_int_equal(get(f, 42, 0, &m), STICKY_ENOTFOUND);
    assert_int_equal(put(f, 42, "chan-a", "tenant-1", 0, NULL), STICKY_OK);
    assert_int_equal(get(f, 42, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.key, 42);
    assert_string_equal(m.channel_id, "chan-a");
    assert_string_equal(m.tenant_id, "tenant-1");
    assert_int_equal(m.request_count, 1);
    assert_int_equal(m.created_ms, T0);
    assert_int_equal(m.last_access_ms, T0);
    assert_int_equal(m.expires_ms, T0 + 3600 * SEC);
    assert_int_equal(m.size, sizeof(m)); /* the caller's size field stays */
    assert_int_equal(get(f, 43, STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
}

/* A get is a use: count + 1, last access = now; created stays. */
static void conf_use_updates_count_and_last_access(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 7, "chan-a");
    for (int i = 1; i <= 5; i++) {
        advance(f, 1500);
        assert_int_equal(get(f, 7, 0, &m), STICKY_OK);
        assert_int_equal(m.request_count, 1 + i);
        assert_int_equal(m.last_access_ms, T0 + 1500 * i);
        assert_int_equal(m.created_ms, T0);
    }
    assert_int_equal(get(f, 7, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.request_count, 6);
}

/* PEEK changes nothing, not even the counters. */
static void conf_peek_changes_nothing(void **state)
{
    struct fixture *f = *state;
    sticky_mapping a, b;
    must_put(f, 9, "chan-a");
    sticky_store_stats s0 = stats(f);
    advance(f, 3400 * SEC); /* inside the renewal window */
    assert_int_equal(get(f, 9, STICKY_STORE_PEEK, &a), STICKY_OK);
    assert_int_equal(get(f, 9, STICKY_STORE_PEEK, &b), STICKY_OK);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(a.request_count, 1);
    assert_int_equal(a.last_access_ms, T0);
    assert_int_equal(a.expires_ms, T0 + 3600 * SEC);
    assert_int_equal(get(f, 10, STICKY_STORE_PEEK, &a), STICKY_ENOTFOUND);
    sticky_store_stats s1 = stats(f);
    assert_int_equal(s1.hits, s0.hits);
    assert_int_equal(s1.misses, s0.misses);
    assert_int_equal(s1.renewals, s0.renewals);
}

/* Threshold renewal: more than the threshold left -> no change; exactly the
 * threshold left -> no change; less -> full TTL from now. */
static void conf_threshold_renewal(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 1, "chan-a");
    advance(f, 3000 * SEC); /* 600 s left */
    assert_int_equal(get(f, 1, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 3600 * SEC);
    advance(f, 300 * SEC); /* exactly 300 s left: not less than */
    assert_int_equal(get(f, 1, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 3600 * SEC);
    assert_int_equal(stats(f).renewals, 0);
    advance(f, 100 * SEC); /* 200 s left */
    assert_int_equal(get(f, 1, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 3400 * SEC + 3600 * SEC);
    assert_int_equal(m.request_count, 4);
    assert_int_equal(stats(f).renewals, 1);
    /* Alive past the original TTL. */
    advance(f, 1000 * SEC);
    assert_int_equal(get(f, 1, 0, &m), STICKY_OK);
    assert_int_equal(stats(f).renewals, 1);
}

/* Sliding renewal: every use renews to the full TTL. */
static void conf_sliding_renewal(void **state)
{
    struct fixture *f = *state;
    if (!f->b->has_sliding)
        skip();
    struct sticky_conf_params p = default_params;
    p.renew_mode = STICKY_RENEW_SLIDING;
    reopen(f, &p);
    sticky_mapping m;
    must_put(f, 1, "chan-a");
    for (int i = 1; i <= 4; i++) {
        advance(f, 3000 * SEC); /* beyond any single TTL in total */
        assert_int_equal(get(f, 1, 0, &m), STICKY_OK);
        assert_int_equal(m.expires_ms, f->clock.now_ms + 3600 * SEC);
    }
    assert_int_equal(stats(f).renewals, 4);
    advance(f, 3600 * SEC); /* no use for a whole TTL */
    assert_int_equal(get(f, 1, 0, &m), STICKY_ENOTFOUND);
}

/* Touch renews to the full TTL without counting a request. */
static void conf_touch(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 5, "chan-a");
    advance(f, 100 * SEC);
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_touch(f->st, 5, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 3700 * SEC);
    assert_int_equal(m.last_access_ms, T0 + 100 * SEC);
    assert_int_equal(m.request_count, 1);
    assert_int_equal(sticky_store_touch(f->st, 5, NULL), STICKY_OK);
    assert_int_equal(sticky_store_touch(f->st, 6, NULL), STICKY_ENOTFOUND);
    assert_int_equal(stats(f).renewals, 2);
}

/* Expired = invisible at once, for every method. */
static void conf_expiry_invisible(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 3, "chan-a");
    advance(f, 3600 * SEC - 1);
    assert_int_equal(get(f, 3, STICKY_STORE_PEEK, &m), STICKY_OK);
    advance(f, 1); /* now == expires_ms */
    assert_int_equal(get(f, 3, STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
    assert_int_equal(get(f, 3, 0, &m), STICKY_ENOTFOUND);
    assert_int_equal(sticky_store_touch(f->st, 3, NULL), STICKY_ENOTFOUND);
    assert_int_equal(sticky_store_delete(f->st, 3), STICKY_ENOTFOUND);
    must_put(f, 4, "chan-x");
    advance(f, 3600 * SEC);
    /* put-if-absent over an expired mapping stores the new one. */
    assert_int_equal(put(f, 4, "chan-b", "", STICKY_STORE_IF_ABSENT, NULL),
                     STICKY_OK);
    assert_int_equal(get(f, 4, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-b");
    assert_int_equal(m.created_ms, f->clock.now_ms);
    assert_int_equal(m.request_count, 1);
}

/* Sweep reclaims expired mappings within its budget and keeps live ones. */
static void conf_sweep_budget(void **state)
{
    struct fixture *f = *state;
    if (!f->b->sweep_reclaims)
        skip();
    for (uint64_t k = 0; k < 20; k++)
        must_put(f, 1000 + k, "chan-old");
    advance(f, 1800 * SEC);
    for (uint64_t k = 0; k < 5; k++)
        must_put(f, 2000 + k, "chan-new");
    advance(f, 1800 * SEC); /* the 20 expired, the 5 live */
    assert_int_equal(stats(f).entries, 25);
    size_t total = 0;
    for (int calls = 0; calls < 200 && total < 20; calls++) {
        size_t n = 99;
        assert_int_equal(sticky_store_sweep(f->st, 5, &n), STICKY_OK);
        assert_true(n <= 5);
        total += n;
    }
    assert_int_equal(total, 20);
    sticky_store_stats s = stats(f);
    assert_int_equal(s.entries, 5);
    assert_int_equal(s.expirations, 20);
    size_t n = 99;
    assert_int_equal(sticky_store_sweep(f->st, 100, &n), STICKY_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sticky_store_sweep(f->st, 0, &n), STICKY_OK);
    assert_int_equal(n, 0);
    sticky_mapping m;
    for (uint64_t k = 0; k < 5; k++)
        assert_int_equal(get(f, 2000 + k, STICKY_STORE_PEEK, &m), STICKY_OK);
}

/* At the cap, a new key evicts the least recently *used* mapping. */
static void conf_lru_at_cap(void **state)
{
    struct fixture *f = *state;
    if (!f->b->has_lru)
        skip();
    struct sticky_conf_params p = default_params;
    p.max_sessions = 3;
    reopen(f, &p);
    sticky_mapping m;
    must_put(f, 'a', "A");
    advance(f, 1);
    must_put(f, 'b', "B");
    advance(f, 1);
    must_put(f, 'c', "C");
    advance(f, 1);
    assert_int_equal(get(f, 'a', 0, &m), STICKY_OK); /* a hit protects a */
    advance(f, 1);
    must_put(f, 'd', "D");
    assert_int_equal(stats(f).entries, 3);
    assert_int_equal(get(f, 'b', STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
    assert_int_equal(get(f, 'a', STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(get(f, 'c', STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(get(f, 'd', STICKY_STORE_PEEK, &m), STICKY_OK);
    advance(f, 1);
    assert_int_equal(get(f, 'c', 0, &m), STICKY_OK); /* now a is oldest */
    advance(f, 1);
    must_put(f, 'e', "E");
    assert_int_equal(get(f, 'a', STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
    assert_int_equal(get(f, 'c', STICKY_STORE_PEEK, &m), STICKY_OK);
    /* Replacing an existing key at the cap evicts nothing. */
    must_put(f, 'd', "D2");
    sticky_store_stats s = stats(f);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.evictions, 2);
    for (uint64_t k = 1000; k < 1050; k++) {
        advance(f, 1);
        must_put(f, k, "X");
        assert_true(stats(f).entries <= 3);
    }
    assert_int_equal(stats(f).evictions, 52);
}

/* touch and a replacing put are uses too; a peek is not. */
static void conf_lru_what_counts_as_use(void **state)
{
    struct fixture *f = *state;
    if (!f->b->has_lru)
        skip();
    struct sticky_conf_params p = default_params;
    p.max_sessions = 3;
    reopen(f, &p);
    sticky_mapping m;
    must_put(f, 'a', "A");
    advance(f, 1);
    must_put(f, 'b', "B");
    advance(f, 1);
    must_put(f, 'c', "C");
    advance(f, 1);
    assert_int_equal(sticky_store_touch(f->st, 'a', NULL), STICKY_OK);
    advance(f, 1);
    must_put(f, 'd', "D"); /* evicts b: a was touched */
    assert_int_equal(get(f, 'b', STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
    advance(f, 1);
    must_put(f, 'c', "C2"); /* replacing c makes it the most recent */
    advance(f, 1);
    assert_int_equal(get(f, 'a', STICKY_STORE_PEEK, &m), STICKY_OK); /* no use */
    advance(f, 1);
    must_put(f, 'e', "E"); /* evicts a: order was a, d, c */
    assert_int_equal(get(f, 'a', STICKY_STORE_PEEK, &m), STICKY_ENOTFOUND);
    assert_int_equal(get(f, 'c', STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(get(f, 'd', STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(get(f, 'e', STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(stats(f).evictions, 2);
}

/* put-if-absent returns the live mapping and changes nothing. */
static void conf_put_if_absent(void **state)
{
    struct fixture *f = *state;
    sticky_mapping old, m;
    assert_int_equal(put(f, 11, "chan-a", "t", STICKY_STORE_IF_ABSENT, NULL),
                     STICKY_OK);
    advance(f, 10 * SEC);
    sticky_mapping_init(&old);
    assert_int_equal(put(f, 11, "chan-b", "u", STICKY_STORE_IF_ABSENT, &old),
                     STICKY_EEXIST);
    assert_string_equal(old.channel_id, "chan-a");
    assert_string_equal(old.tenant_id, "t");
    assert_int_equal(old.created_ms, T0);
    assert_int_equal(old.request_count, 1);
    assert_int_equal(put(f, 11, "chan-c", "u", STICKY_STORE_IF_ABSENT, NULL),
                     STICKY_EEXIST);
    assert_int_equal(get(f, 11, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-a");
    assert_int_equal(m.last_access_ms, T0);
    sticky_store_stats s = stats(f);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.updates, 0);
    expect_entries(f, s.entries, 1);
}

/* A plain put replaces: new channel, fresh record. */
static void conf_plain_put_replaces(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 12, "chan-a");
    advance(f, SEC);
    assert_int_equal(get(f, 12, 0, &m), STICKY_OK);
    advance(f, SEC);
    assert_int_equal(put(f, 12, "chan-b", "tenant-2", 0, NULL), STICKY_OK);
    assert_int_equal(get(f, 12, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-b");
    assert_string_equal(m.tenant_id, "tenant-2");
    assert_int_equal(m.request_count, 1);
    assert_int_equal(m.created_ms, T0 + 2 * SEC);
    assert_int_equal(m.expires_ms, T0 + 2 * SEC + 3600 * SEC);
    sticky_store_stats s = stats(f);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.updates, 1);
    expect_entries(f, s.entries, 1);
}

static void conf_delete(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    must_put(f, 13, "chan-a");
    must_put(f, 14, "chan-a");
    assert_int_equal(sticky_store_delete(f->st, 13), STICKY_OK);
    assert_int_equal(get(f, 13, 0, &m), STICKY_ENOTFOUND);
    assert_int_equal(sticky_store_delete(f->st, 13), STICKY_ENOTFOUND);
    assert_int_equal(get(f, 14, 0, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-a");
    sticky_store_stats s = stats(f);
    assert_int_equal(s.deletes, 1);
    expect_entries(f, s.entries, 1);
}

/* Every counter matches a known history. */
static void conf_stats_match(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m;
    for (uint64_t k = 0; k < 10; k++)
        must_put(f, k, "c");                       /* 10 inserts */
    must_put(f, 3, "d");                           /* 1 update */
    assert_int_equal(put(f, 4, "e", "", STICKY_STORE_IF_ABSENT, NULL),
                     STICKY_EEXIST);               /* nothing */
    for (uint64_t k = 0; k < 6; k++)
        assert_int_equal(get(f, k, 0, &m), STICKY_OK); /* 6 hits */
    for (uint64_t k = 50; k < 53; k++)
        assert_int_equal(get(f, k, 0, &m), STICKY_ENOTFOUND); /* 3 misses */
    assert_int_equal(sticky_store_delete(f->st, 9), STICKY_OK); /* 1 delete */
    assert_int_equal(sticky_store_touch(f->st, 8, NULL), STICKY_OK); /* 1 renewal */
    advance(f, 3500 * SEC);
    assert_int_equal(get(f, 8, 0, &m), STICKY_OK); /* hit, renewed (<300 s left) */
    advance(f, 200 * SEC);                 /* all but 8 expired */
    assert_int_equal(get(f, 0, 0, &m), STICKY_ENOTFOUND); /* miss */
    sticky_store_stats s = stats(f);
    assert_int_equal(s.inserts, 10);
    assert_int_equal(s.updates, 1);
    assert_int_equal(s.hits, 7);
    assert_int_equal(s.misses, 4);
    assert_int_equal(s.deletes, 1);
    assert_int_equal(s.renewals, 2);
    assert_int_equal(s.evictions, 0);
    if (f->b->sweep_reclaims) {
        size_t n = 0;
        assert_int_equal(sticky_store_sweep(f->st, 1000, &n), STICKY_OK);
        s = stats(f);
        assert_int_equal(s.entries, 1);
        assert_int_equal(s.expirations, 8);
        assert_int_equal(s.entries,
                         s.inserts - s.expirations - s.evictions - s.deletes);
    }
}

static void conf_bad_arguments(void **state)
{
    struct fixture *f = *state;
    sticky_mapping m, out;
    sticky_mapping_init(&m);
    sticky_mapping_init(&out);
    m.key = 1;
    strcpy(m.channel_id, "chan");
    assert_int_equal(sticky_store_put(NULL, &m, 0, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_put(f->st, NULL, 0, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_put(f->st, &m, STICKY_STORE_PEEK, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_put(f->st, &m, 0x100, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_get(NULL, 1, 0, &out), STICKY_EINVAL);
    assert_int_equal(sticky_store_get(f->st, 1, 0, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_get(f->st, 1, STICKY_STORE_IF_ABSENT, &out),
                     STICKY_EINVAL);
    assert_int_equal(sticky_store_touch(NULL, 1, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_delete(NULL, 1), STICKY_EINVAL);
    size_t n = 7;
    assert_int_equal(sticky_store_sweep(NULL, 1, &n), STICKY_EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(sticky_store_get_stats(f->st, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_store_get_stats(NULL, NULL), STICKY_EINVAL);

    m.channel_id[0] = '\0'; /* empty channel id */
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_EINVAL);
    memset(m.channel_id, 'x', sizeof(m.channel_id)); /* not terminated */
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_ELIMIT);
    strcpy(m.channel_id, "chan");
    memset(m.tenant_id, 't', sizeof(m.tenant_id));
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_ELIMIT);
    m.tenant_id[0] = '\0';
    m.size = 0; /* uninitialised record */
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_EABI);
    m.size = sizeof(m);
    out.size = 0;
    assert_int_equal(sticky_store_get(f->st, 1, 0, &out), STICKY_EABI);
    assert_int_equal(sticky_store_touch(f->st, 1, &out), STICKY_EABI);
    assert_int_equal(sticky_store_put(f->st, &m, STICKY_STORE_IF_ABSENT, &out),
                     STICKY_EABI);
    sticky_store_stats s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(sticky_store_get_stats(f->st, &s), STICKY_EABI);
    assert_int_equal(sticky_mapping_init_sized(&m, 2), STICKY_EABI);
    assert_int_equal(sticky_mapping_init_sized(NULL, sizeof(m)), STICKY_EINVAL);
    assert_int_equal(sticky_store_stats_init_sized(NULL, sizeof(s)), STICKY_EINVAL);
    /* Nothing was stored by the rejected calls. */
    expect_entries(f, stats(f).entries, 0);
    assert_string_not_equal(sticky_store_name(f->st), "");
}

/* Longest ids round-trip; keys 0 and UINT64_MAX are ordinary keys. */
static void conf_ids_and_keys(void **state)
{
    struct fixture *f = *state;
    char longest[STICKY_ID_SIZE];
    memset(longest, 'c', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    sticky_mapping m;
    assert_int_equal(put(f, 0, longest, longest, 0, NULL), STICKY_OK);
    assert_int_equal(put(f, UINT64_MAX, "max", "", 0, NULL), STICKY_OK);
    assert_int_equal(get(f, 0, 0, &m), STICKY_OK);
    assert_string_equal(m.channel_id, longest);
    assert_string_equal(m.tenant_id, longest);
    assert_int_equal(get(f, UINT64_MAX, 0, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "max");
    assert_string_equal(m.tenant_id, "");
}

/* Many keys sharing a few channels: each key keeps its own ids. */
static void conf_many_keys(void **state)
{
    struct fixture *f = *state;
    char ch[32], tn[32];
    sticky_mapping m;
    for (uint64_t k = 0; k < 3000; k++) {
        snprintf(ch, sizeof(ch), "ch-%u", (unsigned)(k % 13));
        snprintf(tn, sizeof(tn), "t-%u", (unsigned)(k % 3));
        assert_int_equal(put(f, k * 0x9E3779B97F4A7C15ULL, ch, tn, 0, NULL), STICKY_OK);
    }
    for (uint64_t k = 0; k < 3000; k += 7) /* delete some, keep the rest right */
        assert_int_equal(sticky_store_delete(f->st, k * 0x9E3779B97F4A7C15ULL), STICKY_OK);
    for (uint64_t k = 0; k < 3000; k++) {
        int rc = get(f, k * 0x9E3779B97F4A7C15ULL, STICKY_STORE_PEEK, &m);
        if (k % 7 == 0) {
            assert_int_equal(rc, STICKY_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, STICKY_OK);
        snprintf(ch, sizeof(ch), "ch-%u", (unsigned)(k % 13));
        snprintf(tn, sizeof(tn), "t-%u", (unsigned)(k % 3));
        assert_string_equal(m.channel_id, ch);
        assert_string_equal(m.tenant_id, tn);
    }
    expect_entries(f, stats(f).entries, 3000 - 429);
}

/* A newer caller's larger record: our fields are written, its unknown
 * tail and its size field stay as they were. A record shorter than the
 * first-release mapping is refused. */
static void conf_record_sizes(void **state)
{
    struct fixture *f = *state;
    must_put(f, 21, "chan-a");
    union {
        sticky_mapping m;
        unsigned char bytes[sizeof(sticky_mapping) + 24];
    } u;
    memset(&u, 0xAB, sizeof(u));
    assert_int_equal(sticky_mapping_init_sized(&u.m, sizeof(u)), STICKY_OK);
    memset(u.bytes + sizeof(sticky_mapping), 0xAB, sizeof(u) - sizeof(sticky_mapping));
    assert_int_equal(sticky_store_get(f->st, 21, 0, &u.m), STICKY_OK);
    assert_int_equal(u.m.size, sizeof(u));
    assert_int_equal(u.m.key, 21);
    assert_string_equal(u.m.channel_id, "chan-a");
    for (size_t i = sizeof(sticky_mapping); i < sizeof(u); i++)
        assert_int_equal(u.bytes[i], 0xAB);
    u.m.size = offsetof(sticky_mapping, request_count);
    assert_int_equal(sticky_store_get(f->st, 21, 0, &u.m), STICKY_EABI);
}

int sticky_conformance_run(const struct sticky_conf_backend *b)
{
    void *s = (void *)b;
    conf_t0 = b->set_clock ? b->start_ms : T0_DEFAULT;
#define CONF(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, s)
    const struct CMUnitTest tests[] = {
        CONF(conf_saved_and_found),
        CONF(conf_use_updates_count_and_last_access),
        CONF(conf_peek_changes_nothing),
        CONF(conf_threshold_renewal),
        CONF(conf_sliding_renewal),
        CONF(conf_touch),
        CONF(conf_expiry_invisible),
        CONF(conf_sweep_budget),
        CONF(conf_lru_at_cap),
        CONF(conf_lru_what_counts_as_use),
        CONF(conf_put_if_absent),
        CONF(conf_plain_put_replaces),
        CONF(conf_delete),
        CONF(conf_stats_match),
        CONF(conf_bad_arguments),
        CONF(conf_ids_and_keys),
        CONF(conf_many_keys),
        CONF(conf_record_sizes),
    };
#undef CONF
    return cmocka_run_group_tests_name(b->name, tests, NULL, NULL);
}
