/*
 * tests/redis/tloop_manual.c - tloop.h on the poll() loop of manual_loop.c,
 * the store made by sticky_redis_store_new_loop() with its vtable.
 */
#include <sticky/redis_async.h>

#include "manual_loop.h"
#include "tloop.h"

const char tloop_name[] = "manual";

struct tloop *tloop_new(void)
{
    return (struct tloop *)mloop_new();
}

void tloop_run_once(struct tloop *l, int max_wait_ms)
{
    mloop_run_once((struct mloop *)l, max_wait_ms);
}

int tloop_store_new(struct tloop *l, sticky_ctx *ctx, const sticky_redis_store_options *o,
                    sticky_store **out)
{
    return sticky_redis_store_new_loop(ctx, o, &mloop_vt, l, out);
}

int64_t tloop_max_dispatch_ns(const struct tloop *l)
{
    return mloop_max_dispatch_ns((const struct mloop *)l);
}

int tloop_free(struct tloop *l)
{
    return mloop_free((struct mloop *)l);
}
