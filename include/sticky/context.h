/*
 * sticky/context.h - the libsticky context: the one handle a host creates at
 * start-up from a sticky_config and passes to every routing call. It owns
 * the validated copy of the config, the allocator, log and clock callbacks,
 * and the SHA-256 implementation fetched from libcrypto once.
 */
#ifndef STICKY_CONTEXT_H
#define STICKY_CONTEXT_H

#include "common.h"
#include "config.h"

STICKY_BEGIN_DECLS

/**
 * sticky_ctx_new - validate @cfg, copy it and create a context.
 *
 * @cfg: configuration, or NULL for all defaults. Only cfg->size bytes are
 *       read; a larger struct is accepted only if the bytes this library
 *       does not know are all zero.
 * @out: receives the new context; set to NULL on error.
 * Returns: 0; STICKY_EINVAL if @out is NULL or the allocator is half set;
 *          STICKY_ECONFIG if a setting is out of range or inconsistent
 *          (e.g. renew threshold above TTL; the reason is logged);
 *          STICKY_EABI on a struct size the library cannot honour;
 *          STICKY_ENOMEM; STICKY_ECRYPTO if SHA-256 cannot be fetched.
 * Thread-safety: safe from any thread; the new context is not shared yet.
 * Since: 0.1.0
 */
STICKY_API int sticky_ctx_new(const sticky_config *cfg, sticky_ctx **out);

/**
 * sticky_ctx_free - destroy a context and everything it owns.
 *
 * @ctx: the context, or NULL (then nothing happens).
 * Thread-safety: no other thread may use @ctx during or after this call.
 * Since: 0.1.0
 */
STICKY_API void sticky_ctx_free(sticky_ctx *ctx);

/**
 * sticky_ctx_config - copy the context's effective configuration out.
 *
 * @ctx: the context.
 * @out: caller struct with out->size set (e.g. by sticky_config_init());
 *       only out->size bytes are written, so an older caller gets the
 *       fields it knows.
 * Returns: 0; STICKY_EINVAL if an argument is NULL; STICKY_EABI if
 *          out->size is smaller than the size field.
 * Thread-safety: safe from any thread (the config is immutable).
 * Since: 0.1.0
 */
STICKY_API int sticky_ctx_config(const sticky_ctx *ctx, sticky_config *out);

/**
 * sticky_ctx_now_ms - the context's clock, in ms since the Unix epoch.
 *
 * @ctx: the context.
 * Returns: the injected clock's value, or CLOCK_REALTIME by default;
 *          0 if @ctx is NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int64_t sticky_ctx_now_ms(const sticky_ctx *ctx);

/**
 * sticky_ctx_set_store - the store the selector keeps bindings in.
 *
 * Without a call, sticky_select() uses a memory store created with the
 * context's settings on first use. The context does not own @store: after
 * the last sticky_select(), free the store, then the context it was
 * created with. Configure before the first sticky_select().
 *
 * @ctx: the context. @store: the store, or NULL for the built-in default.
 * Returns: 0; STICKY_EINVAL if @ctx is NULL; STICKY_EBUSY if a selection
 *          has already run.
 * Thread-safety: not thread-safe; call during set-up.
 * Since: 0.1.0
 */
STICKY_API int sticky_ctx_set_store(sticky_ctx *ctx, sticky_store *store);

STICKY_END_DECLS

#endif /* STICKY_CONTEXT_H */
