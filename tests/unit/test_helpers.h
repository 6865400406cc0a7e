/*
 * tests/unit/test_helpers.h - small helpers shared by unit tests: a fake
 * clock, a log recorder and a counting allocator.
 */
#ifndef STICKY_TEST_HELPERS_H
#define STICKY_TEST_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

/* A clock the test moves by hand. */
struct fake_clock {
    int64_t now_ms;
};

static inline int64_t fake_clock_read(void *user)
{
    return ((struct fake_clock *)user)->now_ms;
}

/* Records the last log line and counts lines per level. */
struct log_recorder {
    int count[4];
    int last_level;
    char last[512];
    char all[4096];
};

static inline void log_recorder_cb(int level, const char *msg, void *user)
{
    struct log_recorder *r = user;
    if (level >= 0 && level < 4)
        r->count[level]++;
    r->last_level = level;
    strncpy(r->last, msg, sizeof(r->last) - 1);
    r->last[sizeof(r->last) - 1] = '\0';
    size_t used = strlen(r->all);
    if (used + strlen(msg) + 2 < sizeof(r->all)) {
        strcat(r->all, msg);
        strcat(r->all, "\n");
    }
}

/* Counts live allocations; fails once `fail_after` allocations were made
 * (negative: never fails). */
struct counting_alloc {
    long mallocs, frees, live;
    long fail_after;
};

static inline void *counting_malloc(size_t n, void *user)
{
    struct counting_alloc *a = user;
    if (a->fail_after >= 0 && a->mallocs >= a->fail_after)
        return NULL;
    a->mallocs++;
    a->live++;
    return malloc(n);
}

static inline void *counting_realloc(void *p, size_t n, void *user)
{
    struct counting_alloc *a = user;
    if (p == NULL)
        return counting_malloc(n, user);
    if (a->fail_after >= 0 && a->mallocs >= a->fail_after)
        return NULL;
    return realloc(p, n);
}

static inline void counting_free(void *p, void *user)
{
    struct counting_alloc *a = user;
    if (p == NULL)
        return;
    a->frees++;
    a->live--;
    free(p);
}

static inline void counting_alloc_install(sticky_config *cfg,
                                          struct counting_alloc *a)
{
    cfg->allocator.malloc_fn = counting_malloc;
    cfg->allocator.realloc_fn = counting_realloc;
    cfg->allocator.free_fn = counting_free;
    cfg->allocator.user = a;
}

#endif /* STICKY_TEST_HELPERS_H */
