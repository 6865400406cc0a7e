/*
 * sticky/redis_event.h - the async Redis store on a libevent event_base
 * (libsticky-redis-event; pkg-config sticky-redis-event). Does not include
 * libevent's headers.
 */
#ifndef STICKY_REDIS_EVENT_H
#define STICKY_REDIS_EVENT_H

#include "redis_async.h"

STICKY_BEGIN_DECLS

struct event_base;

/**
 * sticky_redis_store_new_libevent - sticky_redis_store_new_loop() on a
 * libevent event_base (hiredis' libevent adapter).
 *
 * @ctx, @opts, @out: as sticky_redis_store_new_loop(). @base: the base.
 * Returns: as sticky_redis_store_new_loop().
 * Thread-safety: as sticky_redis_store_new_loop().
 * Since: 0.4.0
 */
STICKY_API int sticky_redis_store_new_libevent(sticky_ctx *ctx,
                                               const sticky_redis_store_options *opts,
                                               struct event_base *base, sticky_store **out);

STICKY_END_DECLS

#endif /* STICKY_REDIS_EVENT_H */
