/*
 * tests/bench/bench_redis.c - the Redis store against a local redis-server
 * that the benchmark starts itself (127.0.0.1, free port, no persistence):
 * ns per operation and round trips per operation for a store hit, a miss,
 * a put-if-absent, and sticky_select() on a sticky hit and on a new
 * session. The baseline is a raw hiredis GET round trip measured in the
 * same process, so the ratio says what the backend adds on top of the
 * network. Without redis-server it prints one JSON line saying so.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <sticky/redis_store.h>
#include <sticky/sticky.h>

#include "bench_util.h"
#include "redis_server.h"

#define ROUND_MS 150.0

struct bench {
    sticky_ctx *ctx;
    sticky_store *st;
    redisContext *raw;
    uint64_t next_key;
    unsigned next_conv;
    long ops;
    int failed;
};

static void raw_get(void *arg)
{
    struct bench *b = arg;
    redisReply *r = redisCommand(b->raw, "GET bench:raw");
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        b->failed = 1;
    if (r)
        freeReplyObject(r);
    b->ops++;
}

static void store_hit(void *arg)
{
    struct bench *b = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    if (sticky_store_get(b->st, 1, 0, &m) != STICKY_OK)
        b->failed = 1;
    b->ops++;
}

static void store_miss(void *arg)
{
    struct bench *b = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    if (sticky_store_get(b->st, 2, 0, &m) != STICKY_ENOTFOUND)
        b->failed = 1;
    b->ops++;
}

static void store_put_if_absent(void *arg)
{
    struct bench *b = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 0x1000000 + b->next_key++;
    strcpy(m.channel_id, "channel-07");
    strcpy(m.tenant_id, "tenant-1");
    if (sticky_store_put(b->st, &m, STICKY_STORE_IF_ABSENT, NULL) != STICKY_OK)
        b->failed = 1;
    b->ops++;
}

static const char *const ids[] = {"channel-01", "channel-02", "channel-03", "channel-04"};

static int do_select(struct bench *b, unsigned conv, int want_reason)
{
    sticky_channel ch[4];
    for (int i = 0; i < 4; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
    }
    char body[200];
    int len = snprintf(body, sizeof(body),
                       "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"bench conversation %u\"}]}", conv);
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "tenant-1";
    req.tenant_len = 8;
    req.body = body;
    req.body_len = (size_t)len;
    sticky_decision d;
    sticky_decision_init(&d);
    if (sticky_select(b->ctx, &req, ch, 4, &d) != STICKY_OK || d.reason != want_reason ||
        d.store_degraded)
        return -1;
    sticky_release(b->ctx, &d);
    return 0;
}

static void select_hit(void *arg)
{
    struct bench *b = arg;
    if (do_select(b, 1, STICKY_REASON_HIT) != 0)
        b->failed = 1;
    b->ops++;
}

static void select_new(void *arg)
{
    struct bench *b = arg;
    if (do_select(b, 1000000 + b->next_conv++, STICKY_REASON_NEW) != 0)
        b->failed = 1;
    b->ops++;
}

static uint64_t round_trips(struct bench *b)
{
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    sticky_redis_store_get_stats(b->st, &s);
    return s.round_trips;
}

/* Run @fn, print its line with round trips per op. The machine may be
 * shared: the raw GET baseline is measured again right before each case,
 * and the ratio is against that adjacent baseline. */
static int measure(struct bench *b, const char *name, bench_fn fn, double raw_ns)
{
    (void)raw_ns;
    raw_ns = bench_run(raw_get, b, ROUND_MS);
    b->ops = 0;
    uint64_t rt0 = round_trips(b);
    double ns = bench_run(fn, b, ROUND_MS);
    double rt = (double)(round_trips(b) - rt0) / (double)b->ops;
    char extra[128];
    snprintf(extra, sizeof(extra), "\"round_trips_per_op\": %.3f, \"raw_get_ns\": %.1f", rt,
             raw_ns);
    bench_print(name, ns, "raw_hiredis_get", raw_ns, extra);
    return b->failed;
}

int main(void)
{
    if (!test_redis_available()) {
        printf("{\"bench\": \"redis\", \"skipped\": \"redis-server not found\"}\n");
        return 0;
    }
    struct test_redis srv;
    if (test_redis_start(&srv) != 0)
        return 1;
    struct bench b;
    memset(&b, 0, sizeof(b));
    if (sticky_ctx_new(NULL, &b.ctx) != STICKY_OK)
        return 1;
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.port = srv.port;
    o.pool_size = 1;
    if (sticky_redis_store_new(b.ctx, &o, &b.st) != STICKY_OK ||
        sticky_ctx_set_store(b.ctx, b.st) != STICKY_OK)
        return 1;
    b.raw = test_redis_admin(&srv);
    redisReply *r = redisCommand(b.raw, "SET bench:raw 1,1767225600000,0,3600000,1,8,tenant-1channel-07");
    freeReplyObject(r);

    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 1;
    strcpy(m.channel_id, "channel-07");
    strcpy(m.tenant_id, "tenant-1");
    sticky_store_put(b.st, &m, 0, NULL); /* connects; the hit key */
    do_select(&b, 1, STICKY_REASON_NEW);  /* the selector's hit conversation */

    double raw_ns = bench_run(raw_get, &b, ROUND_MS);
    bench_print("redis_raw_hiredis_get", raw_ns, "raw_hiredis_get", raw_ns,
                "\"round_trips_per_op\": 1.000");
    int failed = 0;
    failed |= measure(&b, "redis_store_get_hit", store_hit, raw_ns);
    failed |= measure(&b, "redis_store_get_miss", store_miss, raw_ns);
    failed |= measure(&b, "redis_store_put_if_absent_new", store_put_if_absent, raw_ns);
    failed |= measure(&b, "redis_select_hit", select_hit, raw_ns);
    failed |= measure(&b, "redis_select_new_session", select_new, raw_ns);
    /* The baseline again: how much the machine drifted during the run. */
    double raw_end = bench_run(raw_get, &b, ROUND_MS);
    bench_print("redis_raw_hiredis_get_again", raw_end, "raw_hiredis_get", raw_ns,
                "\"round_trips_per_op\": 1.000");

    r = redisCommand(b.raw, "MEMORY USAGE sticky:%016llx", 1ULL);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        printf("{\"bench\": \"redis_memory_usage_bytes_per_mapping\", \"ns_per_op\": null, "
               "\"ratio_vs\": null, \"ratio\": null, \"bytes\": %lld}\n", r->integer);
    if (r)
        freeReplyObject(r);
    redisFree(b.raw);
    sticky_store_free(b.st);
    sticky_ctx_free(b.ctx);
    test_redis_stop(&srv);
    if (failed)
        fprintf(stderr, "bench_redis: an operation returned an unexpected result\n");
    return failed;
}
