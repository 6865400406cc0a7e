/*
 * tests/redis/test_redis_conformance.c - the storage conformance suite
 * (tests/store_conformance) against the Redis backend on a real server.
 * Each store gets its own key prefix, so tests do not see each other's
 * keys and `entries` (counted with SCAN, count_entries = 1) is exact.
 * The suite's fake clock works unchanged: liveness follows the context
 * clock through the record's expires_ms; Redis's own TTL only reclaims.
 * No LRU cap (Redis evicts by maxmemory-policy) and nothing to sweep.
 */
#include <stdlib.h>
#include <unistd.h>

#include "conformance.h"
#include "redis_test_util.h"

struct test_redis g_redis;

static int make_redis(sticky_ctx *ctx, const struct sticky_conf_params *p, void *user,
                      sticky_store **out)
{
    (void)user;
    static unsigned serial;
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "conf:%d:%u:", (int)getpid(), ++serial);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.ttl_seconds = p->ttl_seconds;
    o.renew_threshold_seconds = (int32_t)p->renew_threshold_seconds;
    o.renew_mode = p->renew_mode;
    o.count_entries = 1;
    o.pool_size = 1;
    return make_redis_store(ctx, prefix, &o, out);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct sticky_conf_backend b = {
        .name = "redis store",
        .make = make_redis,
        .has_lru = 0,
        .sweep_reclaims = 0,
        .has_sliding = 1,
    };
    int failed = sticky_conformance_run(&b);
    test_redis_stop(&g_redis);
    return failed != 0;
}
