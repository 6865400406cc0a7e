/*
 * tests/redis/tloop_uv.c - tloop.h on a libuv loop, the store made by
 * sticky_redis_store_new_uv(). A turn is uv_run(UV_RUN_ONCE) bounded by a
 * wake-up timer (UV_RUN_NOWAIT for no wait); freeing closes the loop with
 * uv_loop_close, which fails while any handle is left.
 */
#include <stdlib.h>

#include <uv.h>

#include <sticky/redis_uv.h>

#include "tloop.h"

const char tloop_name[] = "libuv";

struct tloop {
    uv_loop_t loop;
    uv_timer_t wake;
};

struct tloop *tloop_new(void)
{
    struct tloop *l = calloc(1, sizeof(*l));
    if (l == NULL || uv_loop_init(&l->loop) != 0 || uv_timer_init(&l->loop, &l->wake) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

static void wake_cb(uv_timer_t *t)
{
    (void)t;
}

void tloop_run_once(struct tloop *l, int max_wait_ms)
{
    if (max_wait_ms <= 0) {
        uv_run(&l->loop, UV_RUN_NOWAIT);
        return;
    }
    uv_timer_start(&l->wake, wake_cb, (uint64_t)max_wait_ms, 0);
    uv_run(&l->loop, UV_RUN_ONCE);
    uv_timer_stop(&l->wake);
}

int tloop_store_new(struct tloop *l, sticky_ctx *ctx, const sticky_redis_store_options *o,
                    sticky_store **out)
{
    return sticky_redis_store_new_uv(ctx, o, &l->loop, out);
}

int64_t tloop_max_dispatch_ns(const struct tloop *l)
{
    (void)l;
    return 0;
}

static void count_cb(uv_handle_t *h, void *arg)
{
    (void)h;
    ++*(int *)arg;
}

int tloop_free(struct tloop *l)
{
    uv_close((uv_handle_t *)&l->wake, NULL);
    for (int i = 0; i < 3; i++)
        uv_run(&l->loop, UV_RUN_NOWAIT);
    int n = 0;
    uv_walk(&l->loop, count_cb, &n);
    int rc = uv_loop_close(&l->loop);
    if (rc == 0)
        free(l); /* else leaked on purpose: its handles still point into it */
    return rc == 0 ? 0 : (n > 0 ? n : 1);
}
