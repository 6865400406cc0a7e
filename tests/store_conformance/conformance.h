/*
 * tests/store_conformance/conformance.h - the storage conformance suite:
 * one set of cmocka behaviour checks that any sticky_store backend runs
 * (the memory store, examples/custom-store, the Redis store). A backend
 * test describes its backend with a factory and a few capability flags and
 * calls sticky_conformance_run(). The suite uses only the public API and
 * drives time with a fake clock injected into the context; a backend must
 * take "now" from the vtable's now_ms argument.
 */
#ifndef STICKY_CONFORMANCE_H
#define STICKY_CONFORMANCE_H

#include <sticky/sticky.h>

/* Settings the suite asks a backend to honour for one test. */
struct sticky_conf_params {
    uint32_t ttl_seconds;
    uint32_t renew_threshold_seconds; /* threshold mode only */
    int renew_mode;                   /* enum sticky_renew_mode */
    uint32_t max_sessions;             /* size cap */
};

struct sticky_conf_backend {
    const char *name;
    /* Create a store on @ctx with @p. Return 0, or an error code to fail
     * the test. Called once per test (more when a test changes @p). */
    int (*make)(sticky_ctx *ctx, const struct sticky_conf_params *p,
                void *user, sticky_store **out);
    void *user;
    int has_lru;        /* at max_sessions, evicts the least recently used
                         * (0: no cap, e.g. Redis, which evicts by its
                         * maxmemory-policy) */
    int sweep_reclaims; /* sticky_store_sweep() reclaims expired mappings
                         * (0: the server expires keys itself, e.g. Redis;
                         * liveness must still follow the fake clock) */
    int has_sliding;    /* supports STICKY_RENEW_SLIDING */
    /* stats.entries is not an exact count (e.g. a shared server whose keys
     * expire by themselves); the entry-count checks outside the LRU and
     * sweep tests are skipped. Every other counter is still checked. */
    int no_entry_count;
    /* Clock overrides, for backends that claim any int64 clock works (the
     * memory store). With set_clock, each test starts with the clock at
     * start_ms instead of 2026-01-01, and every store is made while the
     * clock reads made_ms (then it is set to where it was), so a store's
     * first call can meet a clock jump. All times the suite uses stay
     * within 30 days after start_ms. */
    int set_clock;
    int64_t start_ms, made_ms;
};

/* Run every check against @b; returns the number of failed tests. */
int sticky_conformance_run(const struct sticky_conf_backend *b);

#endif /* STICKY_CONFORMANCE_H */
