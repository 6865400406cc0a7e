/*
 * tests/redis/tloop_event.c - tloop.h on a libevent event_base, the store
 * made by sticky_redis_store_new_libevent(). A turn is
 * event_base_loop(EVLOOP_ONCE) bounded by a wake-up timer (EVLOOP_NONBLOCK
 * for no wait); freeing counts the events still added.
 */
#include <stdlib.h>

#include <event2/event.h>

#include <sticky/redis_event.h>

#include "tloop.h"

const char tloop_name[] = "libevent";

struct tloop {
    struct event_base *base;
    struct event *wake;
};

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

struct tloop *tloop_new(void)
{
    struct tloop *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->base = event_base_new();
    l->wake = l->base ? evtimer_new(l->base, wake_cb, NULL) : NULL;
    if (l->wake == NULL) {
        if (l->base)
            event_base_free(l->base);
        free(l);
        return NULL;
    }
    return l;
}

void tloop_run_once(struct tloop *l, int max_wait_ms)
{
    if (max_wait_ms <= 0) {
        event_base_loop(l->base, EVLOOP_NONBLOCK);
        return;
    }
    struct timeval tv = {.tv_sec = max_wait_ms / 1000, .tv_usec = (max_wait_ms % 1000) * 1000};
    evtimer_add(l->wake, &tv);
    event_base_loop(l->base, EVLOOP_ONCE);
    evtimer_del(l->wake);
}

int tloop_store_new(struct tloop *l, sticky_ctx *ctx, const sticky_redis_store_options *o,
                    sticky_store **out)
{
    return sticky_redis_store_new_libevent(ctx, o, l->base, out);
}

int64_t tloop_max_dispatch_ns(const struct tloop *l)
{
    (void)l;
    return 0;
}

int tloop_free(struct tloop *l)
{
    event_free(l->wake);
    int n = event_base_get_num_events(l->base, EVENT_BASE_COUNT_ADDED);
    event_base_free(l->base);
    free(l);
    return n;
}
