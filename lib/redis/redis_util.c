/*
 * lib/redis/redis_util.c - small helpers of the Redis store: a string copy
 * from the context's allocator, and the monotonic clock used for timeouts
 * and backoff (never for expiry, which follows the context clock).
 * The argument list of one script call (struct rcmd). Allocation and
 * logging themselves go through libsticky's public
 * sticky_ctx_mem_*() and sticky_ctx_log().
 */
#include <stdio.h>
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

void rcmd_init(struct rcmd *c, enum rscript id)
{
    c->id = id;
    c->nkeys = c->n = 0;
    c->used = 0;
}

int rcmd_add(struct rcmd *c, const char *s, size_t len)
{
    if (c->n >= (int)RCMD_MAX || len > RCMD_BUF - c->used)
        return -1;
    memcpy(c->buf + c->used, s, len);
    c->v[c->n] = c->buf + c->used;
    c->l[c->n] = len;
    c->used += len;
    c->n++;
    return 0;
}

int rcmd_addf(struct rcmd *c, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);
    return rcmd_add(c, tmp, (size_t)n);
}
