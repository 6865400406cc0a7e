/*
 * tests/redis/test_redis_store.c - the Redis backend's own promises on a
 * real server: TTL set and renewed in Redis itself (PTTL) by the renewal
 * rule, Redis reclaiming expired keys, round trips per operation (SLOWLOG
 * per client name and INFO commandstats deltas), the key layout and record
 * encoding, undecodable records, NOSCRIPT recovery, AUTH with an ACL user,
 * SELECT db, options validation and the connection counters, the host's
 * allocator and log callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "redis_test_util.h"
#include "test_helpers.h"

#define T0 1767225600000LL
#define SEC 1000LL

struct test_redis g_redis;

/* Size-prefixed structs end without tail padding (docs/ABI.md, rule 1). */
_Static_assert(sizeof(sticky_redis_store_options) ==
                   offsetof(sticky_redis_store_options, tcp_keepalive) + sizeof(int32_t),
               "sticky_redis_store_options has tail padding");
_Static_assert(sizeof(sticky_redis_store_stats) ==
                   offsetof(sticky_redis_store_stats, health_ignored) + sizeof(uint64_t),
               "sticky_redis_store_stats has tail padding");

struct fx {
    struct fake_clock clock;
    sticky_ctx *ctx;
    sticky_store *st;
    redisContext *admin;
    char prefix[64];
};

static int setup_opts(void **state, sticky_redis_store_options *o)
{
    static unsigned serial;
    struct fx *f = calloc(1, sizeof(*f));
    f->clock.now_ms = T0;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &f->clock;
    assert_int_equal(sticky_ctx_new(&cfg, &f->ctx), STICKY_OK);
    snprintf(f->prefix, sizeof(f->prefix), "t%u:", ++serial);
    assert_int_equal(make_redis_store(f->ctx, f->prefix, o, &f->st), STICKY_OK);
    f->admin = test_redis_admin(&g_redis);
    assert_non_null(f->admin);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_opts(state, NULL);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sticky_store_free(f->st);
    sticky_ctx_free(f->ctx);
    redisFree(f->admin);
    free(f);
    return 0;
}

static void put_on(sticky_store *st, uint64_t key, const char *channel)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", channel);
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
}

static void put(struct fx *f, uint64_t key, const char *channel)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    snprintf(m.channel_id, sizeof(m.channel_id), "%s", channel);
    snprintf(m.tenant_id, sizeof(m.tenant_id), "tenant-1");
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_OK);
}

static int get(struct fx *f, uint64_t key, sticky_mapping *m)
{
    sticky_mapping_init(m);
    return sticky_store_get(f->st, key, 0, m);
}

static long long pttl(struct fx *f, uint64_t key)
{
    return test_redis_int(f->admin, "PTTL %s%016llx", f->prefix, (unsigned long long)key);
}

static sticky_redis_store_stats rstats(struct fx *f)
{
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    assert_int_equal(sticky_redis_store_get_stats(f->st, &s), STICKY_OK);
    return s;
}

/* The key is prefix + 16 hex digits; the value is the documented record. */
static void key_layout_and_record(void **state)
{
    struct fx *f = *state;
    put(f, 0xa3f5c8e9b2d1f4a7ULL, "chan-a");
    redisReply *r = redisCommand(f->admin, "GET %sa3f5c8e9b2d1f4a7", f->prefix);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1,1767225600000,0,3600000,1,8,tenant-1chan-a");
    freeReplyObject(r);
    f->clock.now_ms += 5 * SEC;
    sticky_mapping m;
    assert_int_equal(get(f, 0xa3f5c8e9b2d1f4a7ULL, &m), STICKY_OK);
    r = redisCommand(f->admin, "GET %sa3f5c8e9b2d1f4a7", f->prefix);
    assert_string_equal(r->str, "1,1767225600000,5000,3600000,2,8,tenant-1chan-a");
    freeReplyObject(r);
}

/* A put sets the TTL in Redis; a hit outside the renewal window keeps it
 * (KEEPTTL: the TTL is not written), a hit inside renews it to the full
 * TTL, and touch always renews. */
static void ttl_in_redis_threshold(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    put(f, 1, "chan-a");
    long long t = pttl(f, 1);
    assert_true(t > 3600 * SEC - 2000 && t <= 3600 * SEC);

    /* Mark the key with a recognisable TTL; a non-renewing hit keeps it. */
    assert_int_equal(test_redis_int(f->admin, "PEXPIRE %s%016llx 1000000", f->prefix, 1ULL), 1);
    f->clock.now_ms += 3000 * SEC; /* 600 s left: above the 300 s threshold */
    assert_int_equal(get(f, 1, &m), STICKY_OK);
    t = pttl(f, 1);
    assert_true(t > 990000 && t <= 1000000);
    assert_int_equal(m.expires_ms, T0 + 3600 * SEC);

    f->clock.now_ms += 400 * SEC; /* 200 s left: renew */
    assert_int_equal(get(f, 1, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 3400 * SEC + 3600 * SEC);
    t = pttl(f, 1);
    assert_true(t > 3600 * SEC - 2000 && t <= 3600 * SEC);

    assert_int_equal(test_redis_int(f->admin, "PEXPIRE %s%016llx 1000000", f->prefix, 1ULL), 1);
    assert_int_equal(sticky_store_touch(f->st, 1, &m), STICKY_OK);
    t = pttl(f, 1);
    assert_true(t > 3600 * SEC - 2000 && t <= 3600 * SEC);

    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(f->st, &s), STICKY_OK);
    assert_int_equal(s.renewals, 2);
    assert_int_equal(s.hits, 2);
}

static int setup_sliding(void **state)
{
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.renew_mode = STICKY_RENEW_SLIDING;
    o.ttl_seconds = 600;
    return setup_opts(state, &o);
}

/* Without TTL options the store takes the context's settings. */
static void defaults_from_context(void **state)
{
    struct fx *f = *state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 120;
    cfg.renew_threshold_seconds = 30;
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &f->clock;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_store *st;
    assert_int_equal(make_redis_store(ctx, "ctxdef:", NULL, &st), STICKY_OK);
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 5;
    strcpy(m.channel_id, "chan-a");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    long long t = test_redis_int(f->admin, "PTTL ctxdef:%016llx", 5ULL);
    assert_true(t > 118000 && t <= 120000);
    f->clock.now_ms += 85 * SEC; /* 35 s left: not below the 30 s threshold */
    assert_int_equal(sticky_store_get(st, 5, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 120 * SEC);
    f->clock.now_ms += 10 * SEC; /* 25 s left: renew to 120 s */
    assert_int_equal(sticky_store_get(st, 5, 0, &m), STICKY_OK);
    assert_int_equal(m.expires_ms, T0 + 95 * SEC + 120 * SEC);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

/* Sliding: every hit writes the full TTL into Redis. */
static void ttl_in_redis_sliding(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    put(f, 2, "chan-a");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_redis_int(f->admin, "PEXPIRE %s%016llx 5000", f->prefix, 2ULL), 1);
        f->clock.now_ms += SEC;
        assert_int_equal(get(f, 2, &m), STICKY_OK);
        long long t = pttl(f, 2);
        assert_true(t > 600 * SEC - 2000 && t <= 600 * SEC);
    }
}

static int setup_short_ttl(void **state)
{
    /* Real clock: the context and Redis agree on time. */
    struct fx *f = calloc(1, sizeof(*f));
    assert_int_equal(sticky_ctx_new(NULL, &f->ctx), STICKY_OK);
    snprintf(f->prefix, sizeof(f->prefix), "short:");
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.ttl_seconds = 1;
    o.renew_threshold_seconds = 0;
    assert_int_equal(make_redis_store(f->ctx, f->prefix, &o, &f->st), STICKY_OK);
    f->admin = test_redis_admin(&g_redis);
    *state = f;
    return 0;
}

/* Redis itself removes an expired mapping: nobody sweeps. */
static void redis_reclaims_expired(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    put(f, 3, "chan-a");
    long long t = pttl(f, 3);
    assert_true(t > 0 && t <= 1000);
    assert_int_equal(get(f, 3, &m), STICKY_OK);
    sleep_ms(1200);
    assert_int_equal(test_redis_int(f->admin, "EXISTS %s%016llx", f->prefix, 3ULL), 0);
    assert_int_equal(get(f, 3, &m), STICKY_ENOTFOUND);
}

static int setup_pool1(void **state)
{
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.pool_size = 1;
    return setup_opts(state, &o);
}

static int setup_named(void **state)
{
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.client_name = "rt-test";
    o.pool_size = 2;
    return setup_opts(state, &o);
}

/* Round trips as the server sees them: every top-level command of the
 * store's connections is in the SLOWLOG under its client name (with
 * slowlog-log-slower-than 0); commands inside scripts are not attributed
 * to the client. Cross-checked with INFO commandstats and the backend's
 * own round_trips counter. */
static void round_trips_per_operation(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    put(f, 100, "warm-up"); /* connect both pooled connections: the */
    put(f, 100, "warm-up"); /* handshakes are not what is measured */
    redisReply *r = redisCommand(f->admin, "CONFIG SET slowlog-max-len 100000");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(f->admin, "CONFIG SET slowlog-log-slower-than 0");
    freeReplyObject(r);
    r = redisCommand(f->admin, "SLOWLOG RESET");
    freeReplyObject(r);

    /* 50 hits: one command each. */
    long long evalsha0 = test_redis_cmdstat(f->admin, "evalsha");
    uint64_t rt0 = rstats(f).round_trips;
    for (int i = 0; i < 50; i++)
        assert_int_equal(get(f, 100, &m), STICKY_OK);
    assert_int_equal(test_redis_client_commands(f->admin, "rt-test"), 50);
    assert_int_equal(test_redis_cmdstat(f->admin, "evalsha") - evalsha0, 50);
    assert_int_equal(rstats(f).round_trips - rt0, 50);

    /* A miss, a put-if-absent, a touch, a delete: one each. */
    r = redisCommand(f->admin, "SLOWLOG RESET");
    freeReplyObject(r);
    assert_int_equal(get(f, 101, &m), STICKY_ENOTFOUND);
    sticky_mapping_init(&m);
    m.key = 101;
    strcpy(m.channel_id, "chan-b");
    assert_int_equal(sticky_store_put(f->st, &m, STICKY_STORE_IF_ABSENT, NULL), STICKY_OK);
    assert_int_equal(sticky_store_put(f->st, &m, STICKY_STORE_IF_ABSENT, NULL), STICKY_EEXIST);
    assert_int_equal(sticky_store_touch(f->st, 101, NULL), STICKY_OK);
    assert_int_equal(sticky_store_delete(f->st, 101), STICKY_OK);
    assert_int_equal(test_redis_client_commands(f->admin, "rt-test"), 5);

    /* Through the selector, on a store that is the context's: a new
     * session is a miss + put-if-absent (2), a sticky hit is 1. */
    static const char *const ids[] = {"chan-a", "chan-b"};
    assert_int_equal(sticky_ctx_set_store(f->ctx, f->st), STICKY_OK);
    sticky_decision d;
    r = redisCommand(f->admin, "SLOWLOG RESET");
    freeReplyObject(r);
    evalsha0 = test_redis_cmdstat(f->admin, "evalsha");
    assert_int_equal(select_conversation(f->ctx, 7, ids, 2, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_int_equal(d.store_degraded, 0);
    assert_int_equal(test_redis_client_commands(f->admin, "rt-test"), 2);
    assert_int_equal(test_redis_cmdstat(f->admin, "evalsha") - evalsha0, 2);
    r = redisCommand(f->admin, "SLOWLOG RESET");
    freeReplyObject(r);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(select_conversation(f->ctx, 7, ids, 2, &d), STICKY_OK);
        assert_int_equal(d.reason, STICKY_REASON_HIT);
    }
    assert_int_equal(test_redis_client_commands(f->admin, "rt-test"), 10);
    r = redisCommand(f->admin, "CONFIG SET slowlog-log-slower-than 10000");
    freeReplyObject(r);
}

/* Bytes that are not a record are a store error, never half a mapping. */
static void undecodable_record(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "garbage", "1,", "1,1767225600000,0,3600000,1,3,abc", /* no channel */
        "2,1767225600000,0,3600000,1,0,x",   /* unknown version */
        "1,1767225600000,0,3600000,1,200,x", /* tenant longer than the rest */
        "1,1767225600000,0,3600000,1,0,"     /* channel of 128 bytes */
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "1,1767225600000,-5,3600000,1,0,x",
    };
    sticky_mapping m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisReply *r = redisCommand(f->admin, "SET %s%016llx %s PX 100000", f->prefix,
                                     (unsigned long long)(500 + i), bad[i]);
        freeReplyObject(r);
        sticky_mapping_init(&m);
        strcpy(m.channel_id, "untouched");
        int rc = sticky_store_get(f->st, 500 + i, 0, &m);
        assert_int_equal(rc, STICKY_ESTORE);
        assert_string_equal(m.channel_id, "untouched");
    }
    /* If-absent does not overwrite what it cannot read; a plain put does. */
    sticky_mapping_init(&m);
    m.key = 500;
    strcpy(m.channel_id, "chan-a");
    assert_int_equal(sticky_store_put(f->st, &m, STICKY_STORE_IF_ABSENT, NULL), STICKY_ESTORE);
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_OK);
    assert_int_equal(get(f, 500, &m), STICKY_OK);
    assert_true(rstats(f).protocol_errors >= sizeof(bad) / sizeof(bad[0]));
}

/* SCRIPT FLUSH (or a failover to a node that never loaded the scripts):
 * the next call gets NOSCRIPT, sends the script body, and succeeds. */
static void noscript_recovers(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    for (int i = 0; i < 4; i++) /* every pooled connection is up */
        put(f, 9, "chan-a");
    assert_int_equal(rstats(f).connects, 4);
    redisReply *r = redisCommand(f->admin, "SCRIPT FLUSH");
    freeReplyObject(r);
    assert_int_equal(get(f, 9, &m), STICKY_OK);
    assert_int_equal(m.request_count, 2);
    assert_int_equal(rstats(f).noscript_reloads, 1);
    /* EVAL cached the script again for every connection. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(get(f, 9, &m), STICKY_OK);
    assert_int_equal(m.request_count, 6);
    assert_int_equal(rstats(f).noscript_reloads, 1);
    assert_int_equal(rstats(f).connects, 4);
}

/* An ACL user with a password; a wrong password fails as a store error
 * and is counted as a connect failure. SELECT puts keys in the db asked. */
static void auth_and_db(void **state)
{
    struct fx *f = *state;
    redisReply *r = redisCommand(f->admin, "ACL SETUSER gw on >s3cret ~* +@all");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);

    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.username = "gw";
    o.password = "s3cret";
    o.db = 3;
    sticky_store *st;
    assert_int_equal(make_redis_store(f->ctx, "auth:", &o, &st), STICKY_OK);
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 77;
    strcpy(m.channel_id, "chan-a");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    sticky_store_free(st);
    r = redisCommand(f->admin, "SELECT 3");
    freeReplyObject(r);
    assert_int_equal(test_redis_int(f->admin, "EXISTS auth:%016llx", 77ULL), 1);
    r = redisCommand(f->admin, "SELECT 0");
    freeReplyObject(r);
    assert_int_equal(test_redis_int(f->admin, "EXISTS auth:%016llx", 77ULL), 0);

    o.password = "wrong";
    assert_int_equal(make_redis_store(f->ctx, "auth:", &o, &st), STICKY_OK);
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_ESTORE);
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    assert_int_equal(sticky_redis_store_get_stats(st, &s), STICKY_OK);
    assert_int_equal(s.connect_failures, 1);
    assert_int_equal(s.connects, 0);
    assert_true(s.backoff_ms >= STICKY_REDIS_STORE_DEFAULT_BACKOFF_MIN_MS);
    sticky_store_free(st);
    r = redisCommand(f->admin, "ACL DELUSER gw");
    freeReplyObject(r);
}

/* A server answering with errors (here OOM: maxmemory reached under
 * noeviction) -> STICKY_ESTORE at once, counted; the connection stays up
 * and works again when the server does. */
static void server_error_replies(void **state)
{
    struct fx *f = *state;
    sticky_mapping m;
    put(f, 31, "chan-a");
    redisReply *r = redisCommand(f->admin, "CONFIG SET maxmemory-policy noeviction");
    freeReplyObject(r);
    r = redisCommand(f->admin, "CONFIG SET maxmemory 1");
    freeReplyObject(r);
    int64_t t0 = now_ns();
    assert_int_equal(get(f, 31, &m), STICKY_ESTORE);
    sticky_mapping_init(&m);
    m.key = 32;
    strcpy(m.channel_id, "chan-b");
    assert_int_equal(sticky_store_put(f->st, &m, 0, NULL), STICKY_ESTORE);
    assert_true(now_ns() - t0 < 1000000000LL);
    r = redisCommand(f->admin, "CONFIG SET maxmemory 0");
    freeReplyObject(r);
    sticky_redis_store_stats s = rstats(f);
    assert_int_equal(s.server_errors, 2);
    assert_int_equal(s.connects, 1); /* no reconnect needed */
    assert_int_equal(get(f, 31, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-a");
    assert_int_equal(rstats(f).backoff_ms, 0);
}

static void options_and_stats_api(void **state)
{
    struct fx *f = *state;
    sticky_redis_store_options o;
    sticky_store *st = (sticky_store *)1;
    assert_int_equal(sticky_redis_store_options_init_sized(NULL, sizeof(o)), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_options_init_sized(&o, 2), STICKY_EABI);
    assert_int_equal(sticky_redis_store_options_init(&o), STICKY_OK);
    assert_int_equal(o.port, 6379);
    assert_int_equal(o.connect_timeout_ms, 200);
    assert_int_equal(o.command_timeout_ms, 100);
    assert_int_equal(o.pool_size, 4);
    assert_int_equal(o.renew_threshold_seconds, STICKY_RENEW_THRESHOLD_FROM_CTX);
    assert_int_equal(sticky_redis_store_new(NULL, &o, &st), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_new(f->ctx, &o, NULL), STICKY_EINVAL);

#define BAD(stmt)                                                             \
    do {                                                                      \
        sticky_redis_store_options_init(&o);                                        \
        stmt;                                                                 \
        st = (sticky_store *)1;                                               \
        assert_int_equal(sticky_redis_store_new(f->ctx, &o, &st), STICKY_ECONFIG); \
        assert_null(st);                                                      \
    } while (0)
    BAD(o.port = 0);
    BAD(o.port = 70000);
    BAD(o.pool_size = 0);
    BAD(o.pool_size = 257);
    BAD(o.command_timeout_ms = 0);
    BAD(o.connect_timeout_ms = 60001);
    BAD(o.renew_mode = 5);
    BAD(o.renew_threshold_seconds = 4000);
    BAD(o.backoff_max_ms = 10);
    BAD(o.key_prefix = "01234567890123456789012345678901234567890123456789012345678901234");
    BAD(o.client_name = "has space");
    BAD(o.host = "");
    BAD(o.db = -1);
#undef BAD
    /* A newer caller's larger struct with a non-zero unknown tail. */
    struct { sticky_redis_store_options o; uint64_t extra; } big;
    memset(&big, 0, sizeof(big));
    sticky_redis_store_options_init_sized(&big.o, sizeof(big));
    assert_int_equal(sticky_redis_store_new(f->ctx, &big.o, &st), STICKY_OK);
    sticky_store_free(st);
    big.extra = 1;
    assert_int_equal(sticky_redis_store_new(f->ctx, &big.o, &st), STICKY_EABI);
    /* Shorter than the first-release options, or an implausible size. */
    assert_int_equal(sticky_redis_store_options_init_sized(
                         &o, offsetof(sticky_redis_store_options, port)), STICKY_EABI);
    sticky_redis_store_options_init(&o);
    o.size = offsetof(sticky_redis_store_options, port);
    assert_int_equal(sticky_redis_store_new(f->ctx, &o, &st), STICKY_EABI);
    o.size = (size_t)1 << 20;
    assert_int_equal(sticky_redis_store_new(f->ctx, &o, &st), STICKY_EABI);

    /* Redis stats only for a Redis store; sizes respected. */
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    sticky_store *mem;
    assert_int_equal(sticky_memory_store_new(f->ctx, NULL, &mem), STICKY_OK);
    assert_int_equal(sticky_redis_store_get_stats(mem, &s), STICKY_EINVAL);
    sticky_store_free(mem);
    assert_int_equal(sticky_redis_store_get_stats(NULL, &s), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_get_stats(f->st, NULL), STICKY_EINVAL);
    s.size = 0;
    assert_int_equal(sticky_redis_store_get_stats(f->st, &s), STICKY_EABI);
    assert_string_equal(sticky_store_name(f->st), "redis");
    /* No I/O at creation: a store on a closed port is created fine. */
    sticky_redis_store_options_init(&o);
    o.port = 1;
    assert_int_equal(sticky_redis_store_new(f->ctx, &o, &st), STICKY_OK);
    sticky_store_free(st);
}

/* The backend allocates through the host's allocator and logs through the
 * host's log callback and level (libsticky's sticky_ctx_mem_*() and
 * sticky_ctx_log()): every allocation is returned by sticky_store_free(),
 * a failing allocator fails the constructor cleanly, lines carry the
 * "redis store: " prefix, and lines above the level are filtered. */
static void host_allocator_and_log(void **state)
{
    (void)state;
    struct counting_alloc a = {0, 0, 0, -1};
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    sticky_config cfg;
    sticky_config_init(&cfg);
    counting_alloc_install(&cfg, &a);
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &rec;
    cfg.log_level = STICKY_LOG_INFO;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    long live0 = a.live, mallocs0 = a.mallocs;

    sticky_store *st;
    assert_int_equal(make_redis_store(ctx, "alloc:", NULL, &st), STICKY_OK);
    /* state, pool, host and client name copies, the store handle */
    assert_true(a.mallocs - mallocs0 >= 5);
    assert_non_null(strstr(rec.last, "redis store: created: 127.0.0.1:"));
    assert_int_equal(rec.count[STICKY_LOG_INFO], 1);
    put_on(st, 7, "chan-a");
    sticky_store_free(st);
    assert_int_equal(a.live, live0);

    /* Every allocation failure point: a clean ENOMEM, nothing leaked. */
    for (long k = 0; k < 5; k++) {
        a.fail_after = a.mallocs + k;
        st = (sticky_store *)&a;
        assert_int_equal(make_redis_store(ctx, "alloc:", NULL, &st), STICKY_ENOMEM);
        assert_null(st);
        assert_int_equal(a.live, live0);
    }
    a.fail_after = -1;

    /* An invalid option is logged at ERROR with the prefix. */
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.pool_size = 0;
    assert_int_equal(make_redis_store(ctx, "alloc:", &o, &st), STICKY_ECONFIG);
    assert_int_equal(rec.count[STICKY_LOG_ERROR], 1);
    assert_non_null(strstr(rec.last, "redis store: invalid option: pool_size"));
    assert_int_equal(a.live, live0);
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);

    /* At WARN the creation line (INFO) is filtered out. */
    memset(&rec, 0, sizeof(rec));
    cfg.log_level = STICKY_LOG_WARN;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    assert_int_equal(make_redis_store(ctx, "alloc:", NULL, &st), STICKY_OK);
    assert_int_equal(rec.count[STICKY_LOG_INFO], 0);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_layout_and_record, setup, teardown),
        cmocka_unit_test_setup_teardown(ttl_in_redis_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(ttl_in_redis_sliding, setup_sliding, teardown),
        cmocka_unit_test_setup_teardown(defaults_from_context, setup, teardown),
        cmocka_unit_test_setup_teardown(redis_reclaims_expired, setup_short_ttl, teardown),
        cmocka_unit_test_setup_teardown(round_trips_per_operation, setup_named, teardown),
        cmocka_unit_test_setup_teardown(undecodable_record, setup, teardown),
        cmocka_unit_test_setup_teardown(noscript_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_and_db, setup, teardown),
        cmocka_unit_test_setup_teardown(server_error_replies, setup_pool1, teardown),
        cmocka_unit_test_setup_teardown(options_and_stats_api, setup, teardown),
        cmocka_unit_test(host_allocator_and_log),
    };
    int failed = cmocka_run_group_tests_name("redis store", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
