/*
 * sticky/redis_async.h - the Redis store on a host's event loop
 * (libsticky-redis): its operations are pipelined on one hiredis
 * asynchronous connection driven by the host's loop, so sticky_select_start()
 * never blocks. A loop is described by a small versioned vtable; libuv and
 * libevent get ready-made constructors in sticky/redis_uv.h
 * (libsticky-redis-uv) and sticky/redis_event.h (libsticky-redis-event), and
 * any other loop (nginx, h2o, HAProxy) can be plugged with
 * sticky_redis_store_new_loop(). docs/async.md, docs/redis.md "Async store".
 */
#ifndef STICKY_REDIS_ASYNC_H
#define STICKY_REDIS_ASYNC_H

#include "redis_store.h"

STICKY_BEGIN_DECLS

/*
 * An event loop as the async Redis store needs it. Version first; fields are
 * only ever appended. Fill one as a static const.
 */
typedef struct sticky_redis_loop {
    int version;            /* 1 */
    const char *name;       /* for logs: "libuv", "libevent" */
    /* Attach hiredis' event hooks of a new connection to @loop. @hiredis_ac
     * is a redisAsyncContext * (a glue library calls hiredis' own adapter,
     * e.g. redisLibuvAttach). 0, or -1 on failure. */
    int (*attach)(void *loop, void *hiredis_ac);
    /* Bytes of one timer; the store allocates them (context allocator). */
    size_t timer_size;
    /* Initialise @timer on @loop; @fire(@arg) runs on the loop when it
     * expires. 0 / -1. */
    int (*timer_init)(void *loop, void *timer, void (*fire)(void *arg), void *arg);
    /* One-shot, @after_ms from now; starting a started timer re-arms it.
     * 0 ms: on a later loop iteration, after the loop has polled its I/O
     * (never again in the pass that started it: the store re-arms a 0 ms
     * timer from its callback to spread completions over loop turns). */
    void (*timer_start)(void *timer, uint64_t after_ms);
    void (*timer_stop)(void *timer);
    /* Stop and release the loop's resources; @closed(@arg) runs when
     * @timer's memory may be freed (at once, or from the loop later, e.g.
     * libuv's uv_close callback). */
    void (*timer_close)(void *timer, void (*closed)(void *arg), void *arg);
} sticky_redis_loop;

/**
 * sticky_redis_store_new_loop - a Redis store whose non-blocking
 * operations (store vtable version 3) run on @loop.
 *
 * The store also has the blocking methods of sticky_redis_store_new() (for
 * sticky_select() on a worker thread, stats, admin calls). Its async
 * methods, and with them sticky_select_start() and sticky_report_async()
 * on a context using it, may only be called on the thread that runs @loop;
 * completions run there. The host name is resolved once, here (a lookup
 * on the loop would block it): use an address or a name that does not
 * change. Ignore SIGPIPE in the process (hiredis writes with write()).
 *
 * @ctx: the context; must outlive the store, including the loop turns
 *       after sticky_store_free() in which the loop releases the store's
 *       handles (the last of its memory is freed through the context).
 * @opts: as sticky_redis_store_new(); NULL for the defaults.
 * @loop_vt: the loop's vtable (version >= 1, every function set); the
 *           address is kept, pass a static const.
 * @loop: the host's loop (uv_loop_t *, struct event_base *, ...); must
 *        outlive the store.
 * @out: receives the store; NULL on error.
 * Returns: 0; STICKY_EINVAL on a NULL argument or incomplete @loop_vt;
 *          STICKY_EABI on a bad size or version; STICKY_ECONFIG on a bad
 *          option or a host name that does not resolve; STICKY_ENOMEM.
 * Thread-safety: safe from any thread; see above for the store's use.
 * Since: 0.4.0
 */
STICKY_API int sticky_redis_store_new_loop(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                           const sticky_redis_loop *loop_vt, void *loop,
                                           sticky_store **out);

STICKY_END_DECLS

#endif /* STICKY_REDIS_ASYNC_H */
