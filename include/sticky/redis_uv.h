/*
 * sticky/redis_uv.h - the async Redis store on a libuv loop
 * (libsticky-redis-uv; pkg-config sticky-redis-uv). Does not include uv.h.
 */
#ifndef STICKY_REDIS_UV_H
#define STICKY_REDIS_UV_H

#include "redis_async.h"

STICKY_BEGIN_DECLS

struct uv_loop_s;

/**
 * sticky_redis_store_new_uv - sticky_redis_store_new_loop() on a libuv loop
 * (hiredis' libuv adapter). After sticky_store_free() run the loop once
 * more before uv_loop_close() (handles close asynchronously), and free the
 * context only after that run (the store's last memory goes through it).
 *
 * @ctx, @opts, @out: as sticky_redis_store_new_loop(). @loop: the loop.
 * Returns: as sticky_redis_store_new_loop().
 * Thread-safety: as sticky_redis_store_new_loop().
 * Since: 0.4.0
 */
STICKY_API int sticky_redis_store_new_uv(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                         struct uv_loop_s *loop, sticky_store **out);

STICKY_END_DECLS

#endif /* STICKY_REDIS_UV_H */
