/*
 * tests/unit/test_memory_store_conformance.c - the memory store runs the
 * storage conformance suite, once with one shard and once with the default
 * sharding (so the global cap and LRU are checked across shards), then
 * with clocks that jump between the store's creation and its first use
 * (every check then runs after a re-base of the packed times) and with
 * clocks near both ends of the int64 range.
 */
#include <stdint.h>

#include "conformance.h"

#define T2026 1767225600000LL
#define YEARS30 (30LL * 365 * 24 * 3600 * 1000)
#define DAYS30 (30LL * 24 * 3600 * 1000)

static int make_memory(sticky_ctx *ctx, const struct sticky_conf_params *p,
                       void *user, sticky_store **out)
{
    sticky_memory_store_options o;
    sticky_memory_store_options_init(&o);
    o.shard_count = *(const uint32_t *)user;
    o.ttl_seconds = p->ttl_seconds;
    o.renew_threshold_seconds = (int32_t)p->renew_threshold_seconds;
    o.renew_mode = p->renew_mode;
    o.max_sessions = p->max_sessions;
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

    /* Clock jumps: the store is made at one time and used at another. */
    static const struct {
        const char *name;
        int64_t made, start;
    } clocks[] = {
        {"memory store, made at clock 0, used in 2026", 0, T2026},
        {"memory store, made in 2056, used in 2026 (30 years back)", T2026 + YEARS30,
         T2026},
        {"memory store, made in 2026, used in 2056 (30 years on)", T2026,
         T2026 + YEARS30},
        {"memory store, clock near INT64_MAX", INT64_MAX - DAYS30, INT64_MAX - DAYS30},
        {"memory store, made at clock 0, used near INT64_MAX", 0, INT64_MAX - DAYS30},
        {"memory store, clock near INT64_MIN", INT64_MIN + 1, INT64_MIN + 1},
        {"memory store, made near INT64_MAX, used near INT64_MIN", INT64_MAX,
         INT64_MIN},
    };
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        b.name = clocks[i].name;
        b.set_clock = 1;
        b.made_ms = clocks[i].made;
        b.start_ms = clocks[i].start;
        failed += sticky_conformance_run(&b);
    }
    return failed != 0;
}
