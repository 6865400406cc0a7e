/*
 * lib/redis/redis_util.c - small helpers of the Redis store: allocation
 * through the context allocator, logging through the context log callback,
 * and the monotonic clock used for timeouts and backoff (never for expiry,
 * which follows the context clock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_internal.h"

void *ralloc(struct rstore *rs, size_t n)
{
    if (rs->alloc.malloc_fn != NULL)
        return rs->alloc.malloc_fn(n, rs->alloc.user);
    return malloc(n);
}

void rfree(struct rstore *rs, void *p)
{
    if (p == NULL)
        return;
    if (rs->alloc.free_fn != NULL)
        rs->alloc.free_fn(p, rs->alloc.user);
    else
        free(p);
}

char *rstrdup(struct rstore *rs, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ralloc(rs, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void rlog(struct rstore *rs, int level, const char *fmt, ...)
{
    if (rs->log_fn == NULL || level > rs->log_level)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line), "redis store: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    rs->log_fn(level, line, rs->log_user);
}

int64_t rmono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
