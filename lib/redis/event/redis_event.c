/*
 * lib/redis/event/redis_event.c - libsticky-redis-event: the
 * sticky_redis_loop of a libevent event_base (connections through hiredis'
 * own libevent adapter, timers are evtimer events, released at once) and
 * sticky_redis_store_new_libevent(). Only this library links libevent.
 */
#include <stddef.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>

#include "sticky/redis_event.h"

struct evtimer_rec {
    struct event *ev;
    void (*fire)(void *);
    void *arg;
};

static int ev_attach(void *base, void *ac)
{
    return redisLibeventAttach(ac, base) == REDIS_OK ? 0 : -1;
}

static void on_timer(evutil_socket_t fd, short what, void *p)
{
    (void)fd;
    (void)what;
    struct evtimer_rec *x = p;
    x->fire(x->arg);
}

static int evt_init(void *base, void *timer, void (*fire)(void *), void *arg)
{
    struct evtimer_rec *x = timer;
    x->fire = fire;
    x->arg = arg;
    x->ev = evtimer_new((struct event_base *)base, on_timer, x);
    return x->ev != NULL ? 0 : -1;
}

static void evt_start(void *timer, uint64_t after_ms)
{
    struct evtimer_rec *x = timer;
    struct timeval tv = {.tv_sec = (time_t)(after_ms / 1000),
                         .tv_usec = (suseconds_t)(after_ms % 1000) * 1000};
    evtimer_add(x->ev, &tv);
}

static void evt_stop(void *timer)
{
    evtimer_del(((struct evtimer_rec *)timer)->ev);
}

static void evt_close(void *timer, void (*closed)(void *), void *arg)
{
    struct evtimer_rec *x = timer;
    event_free(x->ev);
    x->ev = NULL;
    closed(arg);
}

static const sticky_redis_loop event_loop_vt = {
    .version = 1,
    .name = "libevent",
    .attach = ev_attach,
    .timer_size = sizeof(struct evtimer_rec),
    .timer_init = evt_init,
    .timer_start = evt_start,
    .timer_stop = evt_stop,
    .timer_close = evt_close,
};

STICKY_API int sticky_redis_store_new_libevent(sticky_ctx *ctx,
                                               const sticky_redis_store_options *opts,
                                               struct event_base *base, sticky_store **out)
{
    return sticky_redis_store_new_loop(ctx, opts, &event_loop_vt, base, out);
}
