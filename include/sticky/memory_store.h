/*
 * sticky/memory_store.h - the built-in in-process session store: a sharded
 * hash table with TTL, renewal (threshold or sliding), a global LRU size
 * cap and incremental sweeping, behind the sticky_store interface.
 *
 * Usage:
 *     sticky_memory_store_options o;
 *     sticky_memory_store_options_init(&o);   // defaults: from the context
 *     o.renew_mode = STICKY_RENEW_SLIDING;
 *     sticky_store *st;
 *     int rc = sticky_memory_store_new(ctx, &o, &st);
 */
#ifndef STICKY_MEMORY_STORE_H
#define STICKY_MEMORY_STORE_H

#include "common.h"
#include "context.h"
#include "store.h"

STICKY_BEGIN_DECLS

#define STICKY_MEMORY_STORE_DEFAULT_SHARDS 16u
#define STICKY_MEMORY_STORE_MAX_SHARDS 1024u
#define STICKY_MEMORY_STORE_DEFAULT_SWEEP_ON_WRITE 8u

/*
 * Caller-filled, size-prefixed: start with sticky_memory_store_options_init().
 * Fields are only ever appended; fields past the caller's size take their
 * defaults.
 */
typedef struct sticky_memory_store_options {
    size_t size; /* set by sticky_memory_store_options_init() */

    uint32_t shard_count;  /* power of two, 1..1024; 0 = 16 */
    uint32_t max_sessions;  /* global cap, 1..1e9; 0 = ctx max_sessions */
    uint32_t ttl_seconds;  /* 1..1 year; 0 = ctx ttl_seconds */
    int renew_mode;        /* enum sticky_renew_mode; default THRESHOLD */
    /* 0..ttl; 0 = never renew by threshold; default
     * STICKY_RENEW_THRESHOLD_FROM_CTX = ctx renew_threshold_seconds */
    int32_t renew_threshold_seconds;
    /* Expired mappings examined in the written shard on each put of a new
     * key (opportunistic sweep); 0 = off; default 8. */
    uint32_t sweep_on_write;
} sticky_memory_store_options;

/**
 * sticky_memory_store_options_init_sized - fill @o with defaults, set o->size.
 *
 * @o: the struct to fill.
 * @size: the caller's sizeof(sticky_memory_store_options).
 * Returns: 0; STICKY_EINVAL if @o is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_memory_store_options_init_sized(sticky_memory_store_options *o,
                                                      size_t size);

/* Defaults into @o; see sticky_memory_store_options_init_sized(). Since: 0.1.0 */
static inline int sticky_memory_store_options_init(sticky_memory_store_options *o)
{
    return sticky_memory_store_options_init_sized(o, sizeof(*o));
}

/**
 * sticky_memory_store_new - create an in-process store.
 *
 * Thread-safe: one mutex per shard (a key's shard comes from its hash).
 * The cap is global: the store never holds more than max_sessions mappings;
 * a put of a new key at the cap evicts the least recently used mapping of
 * the whole store (expired ones count as expirations, not evictions).
 * Memory for mappings is taken from the context allocator in slabs and
 * reused; it is returned to the allocator by sticky_store_free().
 * Any int64 clock works, jumps included: times are exact within about 15
 * years of the clock (the store re-bases when it jumps further, logging
 * the first time at WARN), saturate at INT64_MAX, and a mapping whose
 * expiry lies more than TTL + max(TTL, 60 s) ahead of now (the clock went
 * back) is treated as expired; see docs/storage.md, "Clocks".
 *
 * @ctx: the context (allocator, clock, log, defaults); must outlive the store.
 * @opts: options, or NULL for all defaults.
 * @out: receives the store; set to NULL on error.
 * Returns: 0; STICKY_EINVAL if @ctx or @out is NULL; STICKY_ECONFIG if an
 *          option is out of range (the reason is logged); STICKY_EABI on a
 *          bad opts->size; STICKY_ENOMEM.
 * Thread-safety: safe from any thread.
 * Since: 0.2.0 (0.1.0: sticky_store_memory_new)
 */
STICKY_API int sticky_memory_store_new(sticky_ctx *ctx,
                                       const sticky_memory_store_options *opts,
                                       sticky_store **out);

STICKY_END_DECLS

#endif /* STICKY_MEMORY_STORE_H */
