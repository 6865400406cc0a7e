/*
 * tests/redis/redis_test_util.h - helpers shared by the redis suite: one
 * real server per test program (started in main, stopped at exit), a
 * Redis store on it with a unique key prefix, and selector requests.
 */
#ifndef STICKY_REDIS_TEST_UTIL_H
#define STICKY_REDIS_TEST_UTIL_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sticky/redis_store.h>
#include <sticky/sticky.h>

#include "redis_server.h"

extern struct test_redis g_redis;

/* A Redis store on g_redis with @prefix; o.* adjusted by the caller first
 * when @o is not NULL. Returns the sticky error code. */
static inline int make_redis_store(sticky_ctx *ctx, const char *prefix,
                                   sticky_redis_store_options *o, sticky_store **out)
{
    sticky_redis_store_options local;
    if (o == NULL) {
        sticky_redis_store_options_init(&local);
        o = &local;
    }
    o->host = "127.0.0.1";
    o->port = g_redis.port;
    o->key_prefix = prefix;
    return sticky_redis_store_new(ctx, o, out);
}

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* An Anthropic Messages body whose one user message is "conversation N". */
static inline int conversation_body(char *buf, size_t cap, unsigned n)
{
    return snprintf(buf, cap,
                    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"conversation %u\"}]}",
                    n);
}

/* Select for conversation @n among @ids (in that order). */
static inline int select_conversation(sticky_ctx *ctx, unsigned n, const char *const *ids,
                                      size_t n_ids, sticky_decision *d)
{
    sticky_channel ch[8];
    for (size_t i = 0; i < n_ids && i < 8; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
    }
    char body[256];
    int len = conversation_body(body, sizeof(body), n);
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "tenant-1";
    req.tenant_len = strlen(req.tenant);
    req.model = "claude-sonnet-4-5";
    req.model_len = strlen(req.model);
    req.body = body;
    req.body_len = (size_t)len;
    sticky_decision_init(d);
    int rc = sticky_select(ctx, &req, ch, n_ids, d);
    if (rc == STICKY_OK)
        sticky_release(ctx, d);
    return rc;
}

#endif /* STICKY_REDIS_TEST_UTIL_H */
