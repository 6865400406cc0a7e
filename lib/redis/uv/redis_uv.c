/*
 * lib/redis/uv/redis_uv.c - libsticky-redis-uv: the sticky_redis_loop of a
 * libuv loop (connections on a uv_poll_t each, timers are uv_timer_t plus a
 * uv_idle_t for 0 ms, closed with uv_close) and sticky_redis_store_new_uv(). The
 * engine itself is libsticky-redis's; this library only links libuv, so
 * libsticky-redis never does.
 */
#include <stddef.h>
#include <stdlib.h>

#include <uv.h>
#include <hiredis/async.h>

#include "sticky/redis_uv.h"

/* A timer is a uv_timer_t, plus a uv_idle_t for 0 ms: libuv before 1.45
 * runs a 0 ms timer started from a timer callback again in the same pass,
 * so a completion slice that re-arms itself would never let the loop poll.
 * An idle handle runs once per loop iteration and keeps the poll from
 * blocking: one slice, then I/O, then the next slice. */
struct uvtimer {
    uv_timer_t t;
    uv_idle_t idle;
    void (*fire)(void *);
    void *arg;
    void (*closed)(void *);
    void *closed_arg;
    int open_handles;
};

/*
 * A connection's events: a uv_poll_t on the socket. Written here rather
 * than taken from hiredis' libuv adapter, which returns on a poll error
 * without telling hiredis: a reset connection (the server killed) then
 * sat unnoticed until the command timeout. Here an error is handed to
 * hiredis as an event on what the connection waits for, so its read or
 * write finds the error and fails the pending commands at once.
 */
struct uvconn {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis let go (cleanup) */
    int events;            /* UV_READABLE | UV_WRITABLE wanted */
};

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct uvconn *c = h->data;
    if (status < 0) {
        events = c->events; /* libuv stopped the handle: let hiredis see why */
    }
    if (c->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(c->ac);
    if (c->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(c->ac);
    if (status < 0 && c->ac != NULL && c->events != 0)
        uv_poll_start(&c->poll, c->events, on_poll); /* nothing failed after all */
}

/* hiredis asks for write interest on every command and read interest
 * after every write: only a change reaches libuv (a uv_poll_start is an
 * epoll_ctl, two with the stop it implies). */
static void set_events(struct uvconn *c, int events)
{
    if (events == c->events)
        return;
    c->events = events;
    if (events != 0)
        uv_poll_start(&c->poll, events, on_poll);
    else
        uv_poll_stop(&c->poll);
}

static void add_read(void *d)
{
    struct uvconn *c = d;
    set_events(c, c->events | UV_READABLE);
}

static void del_read(void *d)
{
    struct uvconn *c = d;
    set_events(c, c->events & ~UV_READABLE);
}

static void add_write(void *d)
{
    struct uvconn *c = d;
    set_events(c, c->events | UV_WRITABLE);
}

static void del_write(void *d)
{
    struct uvconn *c = d;
    set_events(c, c->events & ~UV_WRITABLE);
}

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void cleanup(void *d)
{
    struct uvconn *c = d;
    c->ac = NULL; /* the context may be gone by the time the poll fires */
    uv_close((uv_handle_t *)&c->poll, conn_closed);
}

static int uv_attach(void *loop, void *hiredis_ac)
{
    redisAsyncContext *ac = hiredis_ac;
    if (ac->ev.data != NULL)
        return -1;
    struct uvconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    if (uv_poll_init(loop, &c->poll, ac->c.fd) != 0) {
        free(c);
        return -1;
    }
    c->ac = ac;
    c->poll.data = c;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = c;
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct uvtimer *x = t->data;
    x->fire(x->arg);
}

static void on_idle(uv_idle_t *i)
{
    struct uvtimer *x = i->data;
    uv_idle_stop(&x->idle);
    x->fire(x->arg);
}

static int uvt_init(void *loop, void *timer, void (*fire)(void *), void *arg)
{
    struct uvtimer *x = timer;
    x->fire = fire;
    x->arg = arg;
    if (uv_timer_init(loop, &x->t) != 0)
        return -1;
    if (uv_idle_init(loop, &x->idle) != 0) {
        uv_close((uv_handle_t *)&x->t, NULL);
        return -1;
    }
    x->t.data = x;
    x->idle.data = x;
    x->open_handles = 2;
    return 0;
}

static void uvt_start(void *timer, uint64_t after_ms)
{
    struct uvtimer *x = timer;
    if (after_ms == 0) {
        uv_timer_stop(&x->t);
        uv_idle_start(&x->idle, on_idle);
    } else {
        uv_idle_stop(&x->idle);
        uv_timer_start(&x->t, on_timer, after_ms, 0);
    }
}

static void uvt_stop(void *timer)
{
    struct uvtimer *x = timer;
    uv_timer_stop(&x->t);
    uv_idle_stop(&x->idle);
}

static void on_closed(uv_handle_t *h)
{
    struct uvtimer *x = h->data;
    if (--x->open_handles == 0)
        x->closed(x->closed_arg); /* the engine may free x now */
}

static void uvt_close(void *timer, void (*closed)(void *), void *arg)
{
    struct uvtimer *x = timer;
    x->closed = closed;
    x->closed_arg = arg;
    uv_close((uv_handle_t *)&x->t, on_closed);
    uv_close((uv_handle_t *)&x->idle, on_closed);
}

static const sticky_redis_loop uv_loop_vt = {
    .version = 1,
    .name = "libuv",
    .attach = uv_attach,
    .timer_size = sizeof(struct uvtimer),
    .timer_init = uvt_init,
    .timer_start = uvt_start,
    .timer_stop = uvt_stop,
    .timer_close = uvt_close,
};

STICKY_API int sticky_redis_store_new_uv(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                         struct uv_loop_s *loop, sticky_store **out)
{
    return sticky_redis_store_new_loop(ctx, opts, &uv_loop_vt, loop, out);
}
