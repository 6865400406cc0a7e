/*
 * tests/shm/test_shm_conformance.c - the shared-memory store runs the
 * storage conformance suite: each store on a fresh segment file (one shard
 * when the cap is small, so eviction is exact LRU; the automatic sharding
 * otherwise), then with clocks near both ends of the int64 range and with
 * clock jumps between creation and first use.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conformance.h"

#define T2026 1767225600000LL
#define YEARS30 (30LL * 365 * 24 * 3600 * 1000)
#define DAYS30 (30LL * 24 * 3600 * 1000)

static int make_shm(sticky_ctx *ctx, const struct sticky_conf_params *p, void *user,
                    sticky_store **out)
{
    (void)user;
    char path[] = "/tmp/sticky-conf-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return STICKY_ESTORE;
    close(fd);
    unlink(path); /* sticky_shm_open creates it */
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.ttl_seconds = p->ttl_seconds;
    o.renew_threshold_seconds = (int32_t)p->renew_threshold_seconds;
    o.renew_mode = p->renew_mode;
    o.max_sessions = p->max_sessions != 0 ? p->max_sessions : 100000;
    o.max_tenants = 64;
    o.max_channels = 256;
    sticky_shm *shm;
    int rc = sticky_shm_open(ctx, path, &o, &shm);
    unlink(path); /* the mapping stays valid */
    if (rc != STICKY_OK)
        return rc;
    rc = sticky_shm_store_new(shm, out);
    sticky_shm_close(shm); /* the store keeps the segment */
    return rc;
}

int main(void)
{
    struct sticky_conf_backend b = {
        .name = "shm store",
        .make = make_shm,
        .has_lru = 1,
        .sweep_reclaims = 1,
        .has_sliding = 1,
    };
    int failed = sticky_conformance_run(&b);
    static const struct {
        const char *name;
        int64_t made, start;
    } clocks[] = {
        {"shm store, made at clock 0, used in 2026", 0, T2026},
        {"shm store, made in 2056, used in 2026 (30 years back)", T2026 + YEARS30, T2026},
        {"shm store, clock near INT64_MAX", INT64_MAX - DAYS30, INT64_MAX - DAYS30},
        {"shm store, clock near INT64_MIN", INT64_MIN + 1, INT64_MIN + 1},
        {"shm store, made near INT64_MAX, used near INT64_MIN", INT64_MAX, INT64_MIN},
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
