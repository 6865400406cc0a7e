/*
 * tests/unit/test_memory_store_conformance.c - the memory store runs the
 * storage conformance suite, once with one shard and once with the default
 * sharding (so the global cap and LRU are checked across shards).
 */
#include "conformance.h"

static int make_memory(sticky_ctx *ctx, const struct sticky_conf_params *p,
                       void *user, sticky_store **out)
{
    sticky_memory_store_options o;
    sticky_memory_store_options_init(&o);
    o.shard_count = *(const uint32_t *)user;
    o.ttl_seconds = p->ttl_seconds;
    o.renew_threshold_seconds = (int32_t)p->renew_threshold_seconds;
    o.renew_mode = p->renew_mode;
    o.max_entries = p->max_entries;
    return sticky_memory_store_new(ctx, &o, out);
}

int main(void)
{
    static const uint32_t one = 1, sixteen = 16;
    struct sticky_conf_backend b = {
        .name = "memory store, 1 shard",
        .make = make_memory,
        .user = (void *)&one,
        .has_lru = 1,
        .sweep_reclaims = 1,
        .has_sliding = 1,
    };
    int failed = sticky_conformance_run(&b);
    b.name = "memory store, 16 shards";
    b.user = (void *)&sixteen;
    failed += sticky_conformance_run(&b);
    return failed != 0;
}
