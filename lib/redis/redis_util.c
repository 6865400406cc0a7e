/*
 * lib/redis/redis_util.c - small helpers of the Redis store: a string copy
 * from the context's allocator, and the monotonic clock used for timeouts
 * and backoff (never for expiry, which follows the context clock).
 * Allocation and logging themselves go through libsticky's public
 * sticky_ctx_mem_*() and sticky_ctx_log().
 */
#include <string.h>
#include <time.h>

#include "redis_internal.h"

char *rstrdup(struct rstore *rs, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sticky_ctx_mem_alloc(rs->ctx, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

int64_t rmono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
