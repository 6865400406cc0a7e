/*
 * sticky/store.h - session storage: the mapping record (session key ->
 * channel), the versioned vtable every storage backend implements, and the
 * opaque sticky_store handle through which the library and hosts use any
 * backend. The built-in memory store is created with
 * sticky_memory_store_new() (sticky/memory_store.h).
 *
 * Usage:
 *     sticky_store *st;
 *     sticky_memory_store_new(ctx, NULL, &st);      // defaults from ctx
 *     sticky_mapping m;
 *     sticky_mapping_init(&m);
 *     m.key = key;
 *     strcpy(m.channel_id, "acct-1");
 *     sticky_store_put(st, &m, STICKY_STORE_IF_ABSENT, NULL);
 *     sticky_store_get(st, key, 0, &m);             // a use: count, renewal
 *     sticky_store_free(st);
 *
 * docs/storage.md is the full contract and the guide to writing a backend.
 */
#ifndef STICKY_STORE_H
#define STICKY_STORE_H

#include "common.h"
#include "context.h"

STICKY_BEGIN_DECLS

/* Size of the id buffers in sticky_mapping, terminating NUL included:
 * channel and tenant ids are at most 127 bytes. */
#define STICKY_ID_SIZE 128

/*
 * One mapping: session key -> channel. Caller-provided and size-prefixed
 * (start with sticky_mapping_init()); the library never keeps a pointer to
 * it. Times are milliseconds since the Unix epoch, taken from the context
 * clock (sticky_ctx_now_ms()). A mapping is live while now < expires_ms.
 */
typedef struct sticky_mapping {
    size_t size; /* set by sticky_mapping_init() */

    uint64_t key;                    /* the session key */
    char channel_id[STICKY_ID_SIZE];  /* NUL-terminated, 1..127 bytes */
    char tenant_id[STICKY_ID_SIZE];   /* NUL-terminated, 0..127 bytes. What
                                      * the selector writes is a digest of
                                      * the request's tenant (32 lowercase
                                      * hex chars: HMAC-SHA256 with the
                                      * context's key_secret when set, else
                                      * SHA-256), "" for no tenant; never
                                      * the tenant string itself. A lookup
                                      * is a hit only for the same digest;
                                      * a backend stores it as given. */
    uint64_t request_count;          /* uses, including the creating put */
    int64_t created_ms;              /* when the mapping was stored */
    int64_t last_access_ms;          /* last use (get, touch, put) */
    int64_t expires_ms;              /* invisible from this time on */
} sticky_mapping;

/**
 * sticky_mapping_init_sized - zero @m and set m->size.
 *
 * Prefer the sticky_mapping_init() wrapper, which passes sizeof(*m).
 *
 * @m: the record to initialise.
 * @size: the caller's sizeof(sticky_mapping).
 * Returns: 0; STICKY_EINVAL if @m is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread (touches only @m).
 * Since: 0.1.0
 */
STICKY_API int sticky_mapping_init_sized(sticky_mapping *m, size_t size);

/* Zero @m and set its size; see sticky_mapping_init_sized(). Since: 0.1.0 */
static inline int sticky_mapping_init(sticky_mapping *m)
{
    return sticky_mapping_init_sized(m, sizeof(*m));
}

/*
 * Store counters, size-prefixed (start with sticky_store_stats_init()).
 * At rest, entries == inserts - expirations - evictions - deletes.
 */
typedef struct sticky_store_stats {
    size_t size; /* set by sticky_store_stats_init() */

    uint64_t entries;     /* mappings held now, expired-but-unswept included */
    uint64_t hits;        /* gets (not peeks) that found a live mapping */
    uint64_t misses;      /* gets (not peeks) that found none */
    uint64_t inserts;     /* puts that created a mapping where none was live */
    uint64_t updates;     /* plain puts that replaced a live mapping */
    uint64_t renewals;    /* expiry extended (renewal rule or touch) */
    uint64_t expirations; /* expired mappings reclaimed (lazily or by sweep) */
    uint64_t evictions;   /* live mappings removed to stay under the cap */
    uint64_t deletes;     /* mappings removed by delete */
} sticky_store_stats;

/**
 * sticky_store_stats_init_sized - zero @s and set s->size.
 *
 * @s: the struct to initialise.
 * @size: the caller's sizeof(sticky_store_stats).
 * Returns: 0; STICKY_EINVAL if @s is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_stats_init_sized(sticky_store_stats *s, size_t size);

/* Zero @s and set its size; see sticky_store_stats_init_sized(). Since: 0.1.0 */
static inline int sticky_store_stats_init(sticky_store_stats *s)
{
    return sticky_store_stats_init_sized(s, sizeof(*s));
}

/* sticky_health_event.until_ms of a clear (cause STICKY_CAUSE_NONE). */
#define STICKY_HEALTH_CLEARED INT64_MIN

/*
 * One change of a channel's health, shared between gateway nodes by a
 * store that implements the version-2 health methods (docs/storage.md,
 * "Shared channel health"). Size-prefixed (start with
 * sticky_health_event_init()).
 *
 * Two kinds:
 * - a cooldown: slot @family of channel @channel_id cools until @until_ms
 *   because of @cause (STICKY_CAUSE_RATE_LIMIT: a 429 with an announced
 *   reset; STICKY_CAUSE_AUTH: refused credentials, @until_ms INT64_MAX =
 *   until cleared). Merged like a local report: the later end wins.
 * - a clear (cause STICKY_CAUSE_NONE, until_ms STICKY_HEALTH_CLEARED,
 *   family STICKY_MODEL_FAMILY_ALL): every cooldown of the channel ends,
 *   in every slot, as by sticky_ctx_clear_channel_health(). A clear wins
 *   over cooldowns observed before it (@at_ms), a cooldown observed after
 *   it wins over the clear.
 * Times are milliseconds since the Unix epoch from the context clock of
 * the node that observed the event.
 */
typedef struct sticky_health_event {
    size_t size;                     /* set by sticky_health_event_init() */
    char channel_id[STICKY_ID_SIZE]; /* 1..127 bytes + NUL */
    int family;                      /* enum sticky_model_family: the slot
                                      * (STICKY_MODEL_FAMILY_ALL: every
                                      * model of the account) */
    int cause;                       /* enum sticky_health_cause; NONE for
                                      * a clear */
    int64_t until_ms;                /* end of the cooldown (INT64_MAX:
                                      * until cleared); STICKY_HEALTH_CLEARED
                                      * for a clear */
    int64_t at_ms;                   /* when the node observed it */
} sticky_health_event;

/**
 * sticky_health_event_init_sized - zero @ev and set ev->size.
 *
 * Prefer the sticky_health_event_init() wrapper, which passes sizeof(*ev).
 *
 * @ev: the event to initialise.
 * @size: the caller's sizeof(sticky_health_event).
 * Returns: 0; STICKY_EINVAL if @ev is NULL; STICKY_EABI if @size is outside
 *          the accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread (touches only @ev).
 * Since: 0.3.0
 */
STICKY_API int sticky_health_event_init_sized(sticky_health_event *ev, size_t size);

/* Zero @ev and set its size; see sticky_health_event_init_sized().
 * Since: 0.3.0 */
static inline int sticky_health_event_init(sticky_health_event *ev)
{
    return sticky_health_event_init_sized(ev, sizeof(*ev));
}

/* Renewal rules (what a use does to expires_ms). */
enum sticky_renew_mode {
    /* When less than the threshold remains, renew to the full TTL;
     * otherwise leave the expiry alone (the default). */
    STICKY_RENEW_THRESHOLD = 0,
    /* Every use renews to the full TTL. */
    STICKY_RENEW_SLIDING = 1
};

/* A backend option renew_threshold_seconds with this value takes the
 * context's renew_threshold_seconds. */
#define STICKY_RENEW_THRESHOLD_FROM_CTX (-1)

/* Flags for sticky_store_get() / sticky_store_put() and the vtable. */
enum sticky_store_flag {
    /* put: store only when no live mapping exists; otherwise return
     * STICKY_EEXIST and copy the existing mapping out, unchanged. */
    STICKY_STORE_IF_ABSENT = 1u << 0,
    /* get: read only. No count, no last access, no renewal, no LRU
     * update, no hit/miss counted. */
    STICKY_STORE_PEEK = 1u << 1
};

/* Capability flags a backend declares in sticky_store_vtable.flags. */
enum sticky_store_cap {
    /* Methods may be called from many threads at once. Without this flag
     * the core serialises every call with a mutex. */
    STICKY_STORE_CAP_THREAD_SAFE = 1u << 0,
    /* (any version, since 0.4.0) The synchronous methods do no network I/O
     * and never wait long (the memory and shared-memory stores):
     * sticky_select_start() may call them on an event loop's thread. */
    STICKY_STORE_CAP_NONBLOCKING = 1u << 1
};

/* Completion of an asynchronous store operation (vtable version 3): @rc is
 * what the synchronous method would have returned; the operation's outputs
 * are written before the call. Since: 0.4.0 */
typedef void (*sticky_store_done_fn)(void *arg, int rc);

/* The newest vtable version this header describes; it grows when a
 * release appends methods. Not for a backend's .version: a backend writes
 * the version it implements as a number (.version = 1), so that compiling
 * it against a newer header does not claim methods it lacks.
 * Version 1 (0.1.0): get, put, touch, del, sweep, stats, destroy.
 * Version 2 (0.3.0): health_publish, health_poll (optional).
 * Version 3 (0.4.0): lookup_async, put_async, health_publish_async, cancel
 * (optional: non-blocking operations for event-loop hosts). */
#define STICKY_STORE_VTABLE_VERSION 3

/*
 * A storage backend. Fill one as a static const and pass its address with
 * your backend's state (@self) to sticky_store_new(). The core copies the
 * methods, and keeps the address only as the vtable's identity: a backend
 * gets its state back from a sticky_store handle with
 * sticky_store_self(store, &its_vtable).
 *
 * Versioning (like sqlite3_vfs.iVersion): `version` comes first; methods are
 * only ever appended, each with the version that introduced it. The core
 * calls a method only when the backend's version says it exists; a backend
 * newer than the core is accepted and its extra methods are not called.
 *
 * Every method takes @self first and returns 0 or a negative sticky_err.
 * @now_ms is the context clock at the time of the call: a backend decides
 * expiry with it and never reads a clock of its own. Records cross the
 * boundary only by copy into caller-provided memory: the core never frees
 * what a backend allocated, nor the other way round. Records handed to a
 * backend are full-size, zero-filled beyond what the core sets, with
 * rec->size set; a backend writes no byte past rec->size. The full
 * contract of each method is in docs/storage.md.
 */
typedef struct sticky_store_vtable {
    int version;         /* the version the backend implements, as a number
                          * (1), not STICKY_STORE_VTABLE_VERSION */
    unsigned flags;      /* enum sticky_store_cap */
    const char *name;    /* short static name for logs, e.g. "memory" */

    /* version 1 */

    /* Find @key's live mapping and copy it into @out. Unless @flags has
     * STICKY_STORE_PEEK, this is a use: request_count + 1, last access =
     * now, renewal by the backend's rule, LRU position refreshed.
     * 0 / STICKY_ENOTFOUND (absent or expired) / other errors. */
    int (*get)(void *self, uint64_t key, int64_t now_ms, unsigned flags,
               sticky_mapping *out);

    /* Store @m->key -> (@m->channel_id, @m->tenant_id) with created = last
     * access = now, expires = now + TTL, request_count = 1 (the other
     * fields of @m are ignored). With STICKY_STORE_IF_ABSENT and a live
     * mapping present: change nothing, copy it into @existing (if not
     * NULL) and return STICKY_EEXIST. Otherwise replace any mapping.
     * 0 / STICKY_EEXIST / STICKY_ENOMEM / other errors. */
    int (*put)(void *self, const sticky_mapping *m, int64_t now_ms,
               unsigned flags, sticky_mapping *existing);

    /* Renew @key's live mapping to the full TTL (expires = now + TTL) and
     * set last access = now, without counting a request; copy the result
     * into @out if not NULL. 0 / STICKY_ENOTFOUND / other errors. */
    int (*touch)(void *self, uint64_t key, int64_t now_ms, sticky_mapping *out);

    /* Remove @key's mapping. 0 / STICKY_ENOTFOUND (absent or already
     * expired) / other errors. */
    int (*del)(void *self, uint64_t key, int64_t now_ms);

    /* Reclaim expired mappings, examining at most about @budget of them
     * (a backend that expires by itself may do nothing). Adds the number
     * reclaimed to *@reclaimed. 0 / errors. */
    int (*sweep)(void *self, int64_t now_ms, size_t budget, size_t *reclaimed);

    /* Fill the counters in @out (zeroed, out->size set by the core).
     * 0 / errors. */
    int (*stats)(void *self, sticky_store_stats *out);

    /* Release @self and everything it owns. Called once, by
     * sticky_store_free(). */
    void (*destroy)(void *self);

    /* version 2: shared channel health. Optional: both NULL = the backend
     * does not share health (then it behaves as a version-1 backend);
     * both or neither must be set. Since: 0.3.0 */

    /* Share @ev (a cooldown or a clear, validated by the core: terminated
     * non-empty id, family and cause in range) with the other nodes using
     * the same backend: one round trip at most. Called from
     * sticky_report() and sticky_ctx_clear_channel_health(), never on the
     * sticky-hit path, and never for an event this node received through
     * health_poll (no echo). The backend merges by the rules of
     * sticky_health_event. 0 / STICKY_ESTORE / other errors (the core
     * logs them; the local health is already updated). */
    int (*health_publish)(void *self, const sticky_health_event *ev, int64_t now_ms);

    /* Hand out the oldest health event published by another node that
     * the backend received and has not handed out yet, into @out (full
     * size, zeroed, out->size set). No I/O: a backend receives events
     * piggybacked on the replies of its get / put calls (or keeps a short
     * cache with a documented staleness bound). Called by the selector
     * after each get of a selection, until STICKY_ENOTFOUND, so a change
     * published by node A is applied by node B before its next decision
     * reads channel health. Events come in the order the backend merged
     * them; a node's own cooldowns may come back (merging them again
     * changes nothing), its own clears must not.
     * 0 / STICKY_ENOTFOUND (none waiting) / other errors. */
    int (*health_poll)(void *self, sticky_health_event *out);

    /* version 3 (0.4.0): non-blocking operations, optional. lookup_async,
     * put_async and cancel are all set or all NULL; health_publish_async
     * only with them and with health_publish.
     *
     * Completion contract: a method either completes now (returns anything
     * but STICKY_EINPROGRESS: outputs written, @done never called, *@op
     * untouched) or returns STICKY_EINPROGRESS with *@op set and calls
     * @done exactly once later, on the thread of the loop the backend runs
     * on, never from inside the method itself. Inputs (@keys, @m, @ev) are
     * copied before the method returns; outputs (@level, @out, @existing)
     * belong to the core until @done runs or cancel() returns. A backend
     * accepts new calls and cancel() of other operations from inside
     * @done. Health news carried by a reply is queued (health_poll) before
     * @done runs. docs/storage.md, "Version 3". */

    /* The first live mapping along keys[n_keys - 1] .. keys[0] (deepest
     * first), with get's use semantics applied to that one mapping only
     * (count + 1, last access, renewal); keys without a live mapping are
     * skipped. Result: 0 with *@level (the index of the key found) and
     * @out; STICKY_ENOTFOUND; an error ends the walk. The same sequence of
     * get calls the selector makes synchronously, in one operation.
     * @flags: 0. */
    int (*lookup_async)(void *self, const uint64_t *keys, uint32_t n_keys, int64_t now_ms,
                        unsigned flags, uint32_t *level, sticky_mapping *out,
                        sticky_store_done_fn done, void *arg, void **op);

    /* put() without waiting: same flags, results and @existing. */
    int (*put_async)(void *self, const sticky_mapping *m, int64_t now_ms, unsigned flags,
                     sticky_mapping *existing, sticky_store_done_fn done, void *arg,
                     void **op);

    /* health_publish() without waiting. */
    int (*health_publish_async)(void *self, const sticky_health_event *ev, int64_t now_ms,
                                sticky_store_done_fn done, void *arg, void **op);

    /* Stop delivery of @op (returned by this backend and not completed):
     * its @done is never called and its outputs never written after this
     * returns. What it already sent may still take effect. */
    void (*cancel)(void *self, void *op);
} sticky_store_vtable;

/**
 * sticky_store_new - wrap a backend in a sticky_store handle.
 *
 * @ctx: the context whose clock, allocator and log the store uses; must
 *       outlive the store.
 * @vtable: the backend's methods; copied. version must be >= 1 and every
 *          version-1 method non-NULL; from version 2, health_publish and
 *          health_poll are both set or both NULL. The address is remembered as the
 *          backend's identity for sticky_store_self(): pass a static const.
 * @self: the backend's state, passed to every method; owned by the store
 *        on success (destroyed through vtable->destroy by
 *        sticky_store_free()), still the caller's on error.
 * @out: receives the store; set to NULL on error.
 * Returns: 0; STICKY_EINVAL if @ctx, @vtable or @out is NULL, a method is
 *          missing or only one health method is set; STICKY_EABI if
 *          vtable->version < 1; STICKY_ENOMEM.
 * Thread-safety: safe from any thread. The new store is safe to share
 *          between threads: a backend without STICKY_STORE_CAP_THREAD_SAFE
 *          is serialised by a mutex in the handle.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_new(sticky_ctx *ctx, const sticky_store_vtable *vtable,
                                void *self, sticky_store **out);

/**
 * sticky_store_nonblocking - whether selections on a context using @store
 * can run on an event loop's thread: the store has the version-3 async
 * methods or declares STICKY_STORE_CAP_NONBLOCKING.
 *
 * @store: the store, or NULL.
 * Returns: 1 or 0; 0 for NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.4.0
 */
STICKY_API int sticky_store_nonblocking(const sticky_store *store);

/**
 * sticky_store_free - destroy the backend (vtable->destroy) and the handle.
 *
 * @store: the store, or NULL (then nothing happens).
 * Thread-safety: no other thread may use @store during or after this call.
 * Since: 0.1.0
 */
STICKY_API void sticky_store_free(sticky_store *store);

/**
 * sticky_store_name - the backend's name from its vtable.
 *
 * @store: the store.
 * Returns: vtable->name, "unnamed" if it was NULL, "" if @store is NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_store_name(const sticky_store *store);

/**
 * sticky_store_self - a backend's own state, back from its store handle.
 *
 * For a backend's own functions that take a sticky_store (e.g.
 * sticky_redis_store_get_stats()): returns the self pointer given to
 * sticky_store_new() if @store was created with exactly this @vtable
 * pointer, else NULL. The check is by address, not content: a backend
 * keeps its vtable as a static const and passes its address both times,
 * so a store of any other backend (even one with an identical vtable)
 * is never mistaken for its own.
 *
 * @store: the store, or NULL.
 * @vtable: the backend's vtable, as passed to sticky_store_new().
 * Returns: the backend's state; NULL if @store or @vtable is NULL or
 *          @store was created from another vtable (and if the backend's
 *          state itself is NULL).
 * Thread-safety: safe from any thread while @store exists.
 * Since: 0.2.0
 */
STICKY_API void *sticky_store_self(const sticky_store *store,
                                   const sticky_store_vtable *vtable);

/**
 * sticky_store_get - look up @key's live mapping.
 *
 * Unless @flags has STICKY_STORE_PEEK this records a use: request_count
 * + 1, last access = now, renewal per the backend's rule, LRU refreshed.
 *
 * @store: the store.
 * @key: the session key.
 * @flags: 0 or STICKY_STORE_PEEK.
 * @out: caller record with out->size set; receives the mapping (after the
 *       use) on success. Untouched on error.
 * Returns: 0; STICKY_ENOTFOUND if no live mapping; STICKY_EINVAL on a NULL
 *          argument or unknown flag; STICKY_EABI if out->size is outside the accepted sizes;
 *          STICKY_ESTORE or another code from the backend.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_get(sticky_store *store, uint64_t key, unsigned flags,
                                sticky_mapping *out);

/**
 * sticky_store_put - store @m->key -> @m->channel_id (and tenant).
 *
 * The new mapping has created = last access = now, expires = now + TTL and
 * request_count 1; @m's other fields are ignored. A plain put replaces any
 * existing mapping. With STICKY_STORE_IF_ABSENT it stores only when no
 * live mapping exists - so two concurrent first requests agree on one
 * channel - and otherwise leaves the existing mapping unchanged, copies it
 * into @existing and returns STICKY_EEXIST. At the size cap a put of a new
 * key evicts the least recently used mapping (memory store).
 *
 * @store: the store.
 * @m: caller record with m->size set: key, channel_id (1..127 bytes,
 *     NUL-terminated), tenant_id (0..127 bytes, NUL-terminated).
 * @flags: 0 or STICKY_STORE_IF_ABSENT.
 * @existing: optional; with STICKY_EEXIST receives the live mapping.
 * Returns: 0; STICKY_EEXIST (only with STICKY_STORE_IF_ABSENT);
 *          STICKY_EINVAL on a NULL argument, unknown flag or empty
 *          channel id; STICKY_ELIMIT if an id is not NUL-terminated within
 *          STICKY_ID_SIZE bytes; STICKY_EABI on a bad size field;
 *          STICKY_ENOMEM (nothing stored, nothing leaked); STICKY_ESTORE
 *          or another code from the backend.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_put(sticky_store *store, const sticky_mapping *m,
                                unsigned flags, sticky_mapping *existing);

/**
 * sticky_store_touch - renew @key's live mapping to the full TTL.
 *
 * Sets expires = now + TTL and last access = now; request_count is not
 * changed. Use it when a session is active without a new request (e.g. a
 * long streamed response ended).
 *
 * @store: the store.
 * @key: the session key.
 * @out: optional caller record (out->size set); receives the result.
 * Returns: 0; STICKY_ENOTFOUND; STICKY_EINVAL; STICKY_EABI; backend codes.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_touch(sticky_store *store, uint64_t key,
                                  sticky_mapping *out);

/**
 * sticky_store_delete - remove @key's mapping (e.g. its channel is gone).
 *
 * @store: the store.
 * @key: the session key.
 * Returns: 0; STICKY_ENOTFOUND if there was no live mapping;
 *          STICKY_EINVAL if @store is NULL; backend codes.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_delete(sticky_store *store, uint64_t key);

/**
 * sticky_store_sweep - reclaim expired mappings with bounded work.
 *
 * Call it from a host timer (e.g. every second with a budget of a few
 * hundred). Expired mappings are invisible anyway; sweeping only returns
 * their memory. The memory store also sweeps a little on every write.
 *
 * @store: the store.
 * @budget: how many mappings to examine at most (about; see the backend's
 *          documentation); 0 does nothing.
 * @reclaimed: optional; receives how many mappings were reclaimed.
 * Returns: 0; STICKY_EINVAL if @store is NULL; backend codes.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_sweep(sticky_store *store, size_t budget,
                                  size_t *reclaimed);

/**
 * sticky_store_get_stats - read the store's counters.
 *
 * @store: the store.
 * @out: caller struct with out->size set (sticky_store_stats_init());
 *       only out->size bytes are written.
 * Returns: 0; STICKY_EINVAL on a NULL argument; STICKY_EABI on a bad
 *          size; backend codes.
 * Thread-safety: safe from any thread; under concurrent writes the
 *          counters are each exact but not one atomic snapshot.
 * Since: 0.1.0
 */
STICKY_API int sticky_store_get_stats(sticky_store *store, sticky_store_stats *out);

STICKY_END_DECLS

#endif /* STICKY_STORE_H */
