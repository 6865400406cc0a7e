/*
 * sticky/context.h - the libsticky context: the one handle a host creates at
 * start-up from a sticky_config and passes to every routing call. It owns
 * the validated copy of the config, the allocator, log and clock callbacks,
 * and the SHA-256 implementation fetched from libcrypto once.
 *
 * Code that lives beside libsticky - a storage backend, a binding - uses
 * the host's allocator and log through the context too:
 * sticky_ctx_mem_alloc() / _calloc() / _realloc() / _free() and
 * sticky_ctx_log() / sticky_ctx_vlog() (the same path as libsticky's own).
 */
#ifndef STICKY_CONTEXT_H
#define STICKY_CONTEXT_H

#include <stdarg.h>

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
 *       only out->size bytes are written (the size field never).
 * Returns: 0; STICKY_EINVAL if an argument is NULL; STICKY_EABI if
 *          out->size is outside the accepted sizes (docs/ABI.md).
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

/**
 * sticky_ctx_mem_alloc - allocate memory through the context's allocator.
 *
 * For storage backends and other code beside libsticky that should use the
 * host's allocator (sticky_config.allocator; libc malloc when none was
 * set) exactly as libsticky itself does. Free with sticky_ctx_mem_free()
 * on the same context.
 *
 * @ctx: the context.
 * @size: bytes to allocate; 0 is passed to the allocator as is.
 * Returns: uninitialised memory, or NULL if @ctx is NULL or the allocator
 *          fails.
 * Thread-safety: safe from any thread (the host's allocator must be, as
 *          for every libsticky call).
 * Since: 0.2.0
 */
STICKY_API void *sticky_ctx_mem_alloc(const sticky_ctx *ctx, size_t size);

/**
 * sticky_ctx_mem_calloc - allocate zeroed memory for @n objects of @size
 * bytes through the context's allocator.
 *
 * @ctx: the context.
 * @n: number of objects.
 * @size: bytes per object.
 * Returns: zero-filled memory; NULL if @ctx is NULL, @n * @size overflows
 *          size_t or the allocator fails.
 * Thread-safety: safe from any thread.
 * Since: 0.2.0
 */
STICKY_API void *sticky_ctx_mem_calloc(const sticky_ctx *ctx, size_t n, size_t size);

/**
 * sticky_ctx_mem_realloc - resize memory from sticky_ctx_mem_alloc() (or
 * _calloc / _realloc) of the same context.
 *
 * @ctx: the context.
 * @ptr: the memory, or NULL (then this is sticky_ctx_mem_alloc()).
 * @size: the new size; to free, use sticky_ctx_mem_free() rather than 0.
 * Returns: the resized memory (contents kept up to the smaller size), or
 *          NULL if @ctx is NULL or the allocator fails; then @ptr is
 *          unchanged and still the caller's to free.
 * Thread-safety: safe from any thread.
 * Since: 0.2.0
 */
STICKY_API void *sticky_ctx_mem_realloc(const sticky_ctx *ctx, void *ptr, size_t size);

/**
 * sticky_ctx_mem_free - free memory from sticky_ctx_mem_alloc(),
 * _calloc() or _realloc() of the same context.
 *
 * Not to be confused with sticky_ctx_free(), which destroys the context.
 *
 * @ctx: the context the memory came from; NULL does nothing.
 * @ptr: the memory, or NULL (then nothing happens).
 * Thread-safety: safe from any thread.
 * Since: 0.2.0
 */
STICKY_API void sticky_ctx_mem_free(const sticky_ctx *ctx, void *ptr);

/**
 * sticky_ctx_log - log one line through the context's log callback.
 *
 * The same path as libsticky's own lines: nothing happens when no log_fn
 * is configured or @level is above the configured log_level; otherwise
 * the line is formatted with vsnprintf, truncated to 511 bytes and passed
 * to log_fn with @level and log_user. Write no trailing newline. Prefix
 * lines with your component's name (e.g. "redis store: ...").
 *
 * @ctx: the context; NULL does nothing.
 * @level: an enum sticky_log_level value; a value outside
 *         STICKY_LOG_ERROR..STICKY_LOG_DEBUG logs nothing.
 * @fmt: printf-style format; NULL does nothing.
 * @...: the arguments @fmt names.
 * Thread-safety: safe from any thread (log_fn must be, see sticky_log_fn).
 * Since: 0.2.0
 */
STICKY_API void sticky_ctx_log(const sticky_ctx *ctx, int level, const char *fmt, ...)
    STICKY_PRINTF(3, 4);

/**
 * sticky_ctx_vlog - sticky_ctx_log() with a va_list, for a backend's own
 * printf-style log function.
 *
 * @ctx: the context; NULL does nothing.
 * @level: an enum sticky_log_level value; others log nothing.
 * @fmt: printf-style format; NULL does nothing.
 * @ap: the arguments @fmt names; consumed as by vsnprintf (va_end is the
 *      caller's).
 * Thread-safety: safe from any thread.
 * Since: 0.2.0
 */
STICKY_API void sticky_ctx_vlog(const sticky_ctx *ctx, int level, const char *fmt,
                                va_list ap) STICKY_PRINTF(3, 0);

/* The context's routing counters (sticky_select() / sticky_report()).
 * Size-prefixed: start with sticky_ctx_stats_init().
 * A request is counted once its key is derived, so always
 * requests == hits + promoted_hits + new_sessions + failovers + spills
 *             + migrations + strict_rejections + no_channel.
 * (tenant_mismatches counts requests that are also in new_sessions or
 * no_channel.) */
typedef struct sticky_ctx_stats {
    size_t size;
    uint64_t requests;        /* sticky_select() calls that got as far as a key */
    uint64_t hits;            /* HIT + EXPLICIT_HIT */
    uint64_t promoted_hits;
    uint64_t new_sessions;
    uint64_t failovers;
    uint64_t spills;          /* SPILL + SIDE (since 0.2.0) */
    uint64_t migrations;
    uint64_t strict_rejections;
    uint64_t no_channel;
    uint64_t store_errors;
    uint64_t reports;
    uint64_t channels;        /* channel ids with health (at most
                               * STICKY_MAX_CHANNEL_IDS) */
    uint64_t tenant_mismatches; /* lookups that found another tenant's
                                 * binding (since 0.2.0) */
} sticky_ctx_stats;

/**
 * sticky_ctx_stats_init_sized - zero a stats struct and set its size.
 *
 * Prefer the sticky_ctx_stats_init() wrapper, which passes sizeof(*s).
 *
 * @s: the struct. @size: the caller's sizeof(sticky_ctx_stats).
 * Returns: 0; STICKY_EINVAL if @s is NULL; STICKY_EABI if @size is outside
 *          the accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only @s.
 * Since: 0.2.0 (0.1.0: sticky_stats_init_sized in sticky/select.h)
 */
STICKY_API int sticky_ctx_stats_init_sized(sticky_ctx_stats *s, size_t size);
static inline int sticky_ctx_stats_init(sticky_ctx_stats *s)
{
    return sticky_ctx_stats_init_sized(s, sizeof(*s));
}

/**
 * sticky_ctx_get_stats - read the context's routing counters.
 *
 * @ctx: the context.
 * @out: caller struct with out->size set (sticky_ctx_stats_init()); only
 *       out->size bytes are written.
 * Returns: 0; STICKY_EINVAL if an argument is NULL; STICKY_EABI if
 *          out->size is outside the accepted sizes.
 * Thread-safety: safe from any thread; counters are individually exact,
 *          not one atomic snapshot.
 * Since: 0.2.0 (0.1.0: sticky_stats_get in sticky/select.h)
 */
STICKY_API int sticky_ctx_get_stats(const sticky_ctx *ctx, sticky_ctx_stats *out);

/**
 * sticky_ctx_format_prometheus - the counters, per-channel selections,
 * in-flight counts and current cooldowns, in the Prometheus text format.
 *
 * @ctx: the context. @buf: output (may be NULL when @cap is 0).
 * @cap: its capacity. @needed: receives the length without the NUL.
 * Returns: 0 (output NUL-terminated); STICKY_ELIMIT if @cap is too small
 *          (then *@needed says how much is needed); STICKY_EINVAL.
 * Thread-safety: safe from any thread.
 * Since: 0.2.0 (0.1.0: sticky_stats_format_prometheus in sticky/select.h)
 */
STICKY_API int sticky_ctx_format_prometheus(const sticky_ctx *ctx, char *buf, size_t cap,
                                            size_t *needed);

/* ---- channel health (since 0.2.0) ----------------------------------------- */

/* A channel's health as sticky_ctx_get_channel_health() sees it. */
enum sticky_health_state {
    STICKY_HEALTH_OK = 0,           /* no cooldown in force */
    STICKY_HEALTH_COOLING = 1,      /* a transient cooldown (5xx, 529, timeout,
                                     * breaker, 429 without a time): ends by
                                     * itself at until_ms, or at the next
                                     * success in its scope */
    STICKY_HEALTH_RATE_LIMITED = 2, /* inside a rate-limit window the upstream
                                     * announced (429 with a reset time or
                                     * Retry-After): ends at until_ms */
    STICKY_HEALTH_AUTH = 3          /* 401 / 403: the credentials were refused.
                                     * Until the host clears it (until_ms
                                     * INT64_MAX) unless cooldown_auth_seconds
                                     * is set */
};

/* What put a cooldown in place (the outcome class, docs/selection.md). */
enum sticky_health_cause {
    STICKY_CAUSE_NONE = 0,
    STICKY_CAUSE_RATE_LIMIT = 1,      /* 429 with a reset time / Retry-After */
    STICKY_CAUSE_RATE_LIMIT_GUESS = 2,/* 429 without one: cooldown_429_seconds */
    STICKY_CAUSE_OVERLOADED = 3,      /* 529 overloaded */
    STICKY_CAUSE_SERVER = 4,          /* 503 and other 5xx */
    STICKY_CAUSE_TIMEOUT = 5,         /* timeout or transport failure */
    STICKY_CAUSE_AUTH = 6,            /* 401 / 403 */
    STICKY_CAUSE_BREAKER = 7          /* the circuit breaker opened */
};

/*
 * One channel's health. Size-prefixed: start with
 * sticky_channel_health_init(). Describes the cooldown in force that ends
 * last (an auth state first), with the bit of every family cooling.
 */
typedef struct sticky_channel_health {
    size_t size;
    int state;                     /* enum sticky_health_state */
    int cause;                     /* enum sticky_health_cause; NONE when OK */
    int family;                    /* the cooldown's scope: enum
                                    * sticky_model_family (ALL = every model
                                    * of the account) */
    int64_t until_ms;              /* when it ends (clock of the context);
                                    * INT64_MAX = until cleared; 0 when OK */
    uint32_t in_flight;            /* open attempts on the channel */
    uint32_t consecutive_failures; /* failures since the last success */
    uint32_t cooling_families;     /* bit (1 << f) set for every enum
                                    * sticky_model_family slot f cooling now */
    uint32_t reserved;             /* 0 */
    uint64_t selections;           /* times chosen */
    uint64_t failures;             /* failed outcomes reported */
} sticky_channel_health;

/**
 * sticky_channel_health_init_sized - zero a channel health struct and set its size.
 *
 * Prefer the wrapper without _sized, which passes the caller's sizeof.
 *
 * @h: the struct. @size: the caller's sizeof(sticky_channel_health).
 * Returns: 0; STICKY_EINVAL if @h is NULL; STICKY_EABI if @size is outside
 *          the accepted sizes (docs/ABI.md).
 * Thread-safety: touches only @h.
 * Since: 0.2.0
 */
STICKY_API int sticky_channel_health_init_sized(sticky_channel_health *h, size_t size);
static inline int sticky_channel_health_init(sticky_channel_health *h)
{
    return sticky_channel_health_init_sized(h, sizeof(*h));
}

/**
 * sticky_ctx_get_channel_health - read one channel's health (for a
 * dashboard or an admin action; no Prometheus parsing needed).
 *
 * @ctx: the context. @channel_id: the channel's id (1..127 bytes).
 * @out: caller struct with out->size set; only out->size bytes are written.
 * Returns: 0; STICKY_ENOTFOUND if the context has no health for that id
 *          (never offered, or beyond STICKY_MAX_CHANNEL_IDS): such a
 *          channel is OK; STICKY_EINVAL on NULL or a bad id; STICKY_EABI
 *          on a bad out->size.
 * Thread-safety: safe from any thread; the cooldown pair is read
 *          consistently, counters individually.
 * Since: 0.2.0
 */
STICKY_API int sticky_ctx_get_channel_health(const sticky_ctx *ctx, const char *channel_id,
                                             sticky_channel_health *out);

/**
 * sticky_ctx_clear_channel_health - end every cooldown of a channel (auth
 * state, rate-limit windows, transient cooldowns, an open breaker) and
 * reset its consecutive failures: e.g. after the key was replaced. With
 * a store that shares channel health (vtable version 2, e.g. Redis) the
 * clear is published to the other nodes (one store round trip; since
 * 0.3.0).
 *
 * @ctx: the context. @channel_id: the channel's id.
 * Returns: 0; STICKY_ENOTFOUND if the context has no health for that id;
 *          STICKY_EINVAL on NULL or a bad id.
 * Thread-safety: safe from any thread, also while requests are routed.
 * Since: 0.2.0
 */
STICKY_API int sticky_ctx_clear_channel_health(sticky_ctx *ctx, const char *channel_id);

STICKY_END_DECLS

#endif /* STICKY_CONTEXT_H */
