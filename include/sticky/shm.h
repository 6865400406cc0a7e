/*
 * sticky/shm.h - the shared-memory segment: one file, mapped by any number
 * of processes on one host, that holds the session mappings (a store with
 * the memory store's semantics), the channel health (cooldowns, auth
 * state, breaker) and the in-flight counts behind max_inflight. Workers of
 * one gateway (nginx / OpenResty workers, Node cluster, gunicorn, a
 * prefork C server) then agree on every session's channel, learn every
 * incident at once and share one in-flight cap. On a persistent path the
 * sessions and health survive a restart of every process.
 *
 * Usage (each worker, before or after fork):
 *     sticky_shm *shm;
 *     sticky_shm_options o;
 *     sticky_shm_options_init(&o);
 *     o.max_sessions = 1000000;               // used when the file is created
 *     sticky_shm_open(ctx, "/dev/shm/gw.sticky", &o, &shm);
 *     sticky_ctx_use_shm(ctx, shm);           // sessions + health + in-flight
 *     ... sticky_select() / sticky_report() ...
 *     sticky_shm_close(shm);                  // the context keeps it
 *     ...
 *     sticky_ctx_free(ctx);                   // detaches
 *
 * Locks are process-shared robust mutexes: a process killed while holding
 * one never wedges the others; the next locker repairs what it guarded
 * (docs/shm.md, "Crashes"). The layout, limits and guarantees are in
 * docs/shm.md.
 */
#ifndef STICKY_SHM_H
#define STICKY_SHM_H

#include "common.h"
#include "context.h"
#include "store.h"

STICKY_BEGIN_DECLS

/* An attached segment (opaque). */
typedef struct sticky_shm sticky_shm;

/* Defaults and bounds of sticky_shm_options (docs/shm.md, "Sizing"). */
#define STICKY_SHM_MAX_SESSIONS 100000000u /* 1e8 mappings */
#define STICKY_SHM_MAX_SHARDS 1024u
#define STICKY_SHM_DEFAULT_MAX_CHANNELS 1024u
#define STICKY_SHM_MAX_CHANNELS 32768u
#define STICKY_SHM_DEFAULT_MAX_TENANTS 1024u
#define STICKY_SHM_MAX_TENANTS 1048576u
#define STICKY_SHM_DEFAULT_MAX_PROCESSES 256u
#define STICKY_SHM_MAX_PROCESSES 4096u

/* sticky_shm_options.flags. */
enum sticky_shm_flag {
    /* Create the file when it does not exist (the default). Without it a
     * missing file is STICKY_ENOTFOUND. */
    STICKY_SHM_CREATE = 1u << 0,
    /* A file that is not a segment of this layout version, is corrupt, or
     * was created with other sizes is replaced by a fresh segment (logged
     * at WARN) instead of failing with STICKY_ECORRUPT / STICKY_ECONFIG.
     * Only when no other process has the segment open. */
    STICKY_SHM_RESET_INCOMPATIBLE = 1u << 1
};

/*
 * Caller-filled, size-prefixed: start with sticky_shm_options_init().
 * The sizes (max_sessions, shard_count, max_channels, max_tenants,
 * max_processes) are fixed when the file is created and stored in it; a
 * process attaching to an existing file leaves them 0 (take the file's) or
 * gives the same values. The session settings (TTL, renewal, sweep) are
 * per process, like a memory store's: give every worker the same ones.
 */
typedef struct sticky_shm_options {
    size_t size; /* set by sticky_shm_options_init() */

    unsigned flags;           /* enum sticky_shm_flag; default CREATE */
    uint32_t file_mode;       /* permission bits of a created file; 0 = 0600 */
    uint32_t max_sessions;    /* mappings, 1..STICKY_SHM_MAX_SESSIONS;
                               * 0 = the file's, else ctx max_sessions */
    uint32_t shard_count;     /* power of two, 1..1024; 0 = the file's, else
                               * automatic (about one per 4096 mappings,
                               * at most 256) */
    uint32_t max_channels;    /* distinct channel ids, 1..32768; 0 = the
                               * file's, else 1024 */
    uint32_t max_tenants;     /* distinct tenant ids that are neither empty,
                               * nor at most 16 bytes, nor a selector digest
                               * (those take no table entry); 1..1048576;
                               * 0 = the file's, else 1024 */
    uint32_t max_processes;   /* processes attached at once, 1..4096; 0 =
                               * the file's, else 256 */
    uint32_t ttl_seconds;     /* 1..1 year; 0 = ctx ttl_seconds */
    int renew_mode;           /* enum sticky_renew_mode; default THRESHOLD */
    /* 0..ttl; default STICKY_RENEW_THRESHOLD_FROM_CTX */
    int32_t renew_threshold_seconds;
    /* Expired mappings examined in the written shard on each put of a new
     * key; 0 = off; default 8. */
    uint32_t sweep_on_write;
} sticky_shm_options;

/**
 * sticky_shm_options_init_sized - fill @o with defaults and set o->size.
 *
 * Prefer the sticky_shm_options_init() wrapper, which passes sizeof(*o).
 *
 * @o: the struct to fill.
 * @size: the caller's sizeof(sticky_shm_options).
 * Returns: 0; STICKY_EINVAL if @o is NULL; STICKY_EABI if @size is outside
 *          the accepted sizes (docs/ABI.md).
 * Thread-safety: touches only @o.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_options_init_sized(sticky_shm_options *o, size_t size);

/* Defaults into @o; see sticky_shm_options_init_sized(). Since: 0.3.0 */
static inline int sticky_shm_options_init(sticky_shm_options *o)
{
    return sticky_shm_options_init_sized(o, sizeof(*o));
}

/**
 * sticky_shm_open - create or attach a shared segment backed by @path.
 *
 * The file is mapped shared; every process (and every fork of one) that
 * opens the same path shares its sessions, channel health and in-flight
 * counts. A path under /dev/shm lives until reboot; any other path keeps
 * the segment across reboots. The first process to open a segment that
 * nobody has open checks it (header magic, layout version, sizes,
 * checksum) and repairs what a crash may have left (stale locks, half
 * written mappings, in-flight counts of dead processes). Opening an
 * existing segment costs O(1) when others have it open, O(max_sessions)
 * otherwise.
 *
 * @ctx: the context whose allocator, log and session settings are used;
 *       must outlive the handle and every reference to it (stores made
 *       with sticky_shm_store_new(), contexts given it with
 *       sticky_ctx_use_shm(); see sticky_shm_close()).
 * @path: the file; NUL-terminated, 1..4095 bytes.
 * @opts: options, or NULL for all defaults.
 * @out: receives the handle; NULL on error.
 * Returns: 0; STICKY_EINVAL on a NULL argument or bad path;
 *          STICKY_ECONFIG if an option is out of range or differs from the
 *          existing file's sizes (the reason is logged);
 *          STICKY_ECORRUPT if the file is not a segment of this layout
 *          version or its header is damaged (logged; see
 *          STICKY_SHM_RESET_INCOMPATIBLE); STICKY_ENOTFOUND if the file
 *          does not exist and STICKY_SHM_CREATE is not set; STICKY_ESTORE
 *          if a system call fails (open, flock, ftruncate, mmap: logged
 *          with errno) or the filesystem has no room for the file (the
 *          whole file is reserved up front); STICKY_EABI on a bad
 *          opts->size; STICKY_ENOMEM.
 * Thread-safety: safe from any thread.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_open(sticky_ctx *ctx, const char *path,
                               const sticky_shm_options *opts, sticky_shm **out);

/**
 * sticky_shm_close - drop the opener's reference; the segment is detached
 * (unmapped, handle freed) when the last store made with
 * sticky_shm_store_new() and the last context using it
 * (sticky_ctx_use_shm()) are freed too, so the order does not matter.
 *
 * The file and its contents stay (remove it with unlink() when no process
 * needs it). On detach, in-flight counts this process still holds are
 * given back.
 *
 * @shm: the handle, or NULL (nothing happens).
 * Thread-safety: no other thread may use @shm during or after the call.
 * Since: 0.3.0
 */
STICKY_API void sticky_shm_close(sticky_shm *shm);

/**
 * sticky_shm_store_new - a session store on the segment.
 *
 * A sticky_store with the memory store's semantics (TTL, renewal rules,
 * sweep, counters) shared by every process that has the segment open. At
 * the cap a put of a new key evicts within the key's shard: the least
 * recently used of up to 32 mappings examined from the shard's eviction
 * hand (exact LRU while a shard holds at most 32 mappings; docs/shm.md).
 * A mapping's request_count saturates at 2^32 - 1. A lock held by a live
 * process for over 2 s makes a call fail with STICKY_ESTORE (docs/shm.md,
 * "Crashes"). Counters (hits,
 * misses, ...) are the segment's, shared by all processes. Any int64 clock
 * works; a mapping whose expiry lies more than TTL + max(TTL, 60 s) ahead
 * of now (the clock went back) is treated as expired.
 *
 * @shm: the segment; the store holds a reference to it.
 * @out: receives the store; NULL on error.
 * Returns: 0; STICKY_EINVAL on a NULL argument; STICKY_ENOMEM.
 * Thread-safety: safe from any thread; the store is safe to share.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_store_new(sticky_shm *shm, sticky_store **out);

/**
 * sticky_ctx_use_shm - make a context keep its channel health, in-flight
 * counts and (unless a store was set) its sessions in @shm.
 *
 * Cooldowns, auth state, breaker counts and in-flight counts of every
 * channel then live in the segment: an incident reported by one process
 * applies to all at once, and max_inflight holds across all processes.
 * In-flight counts of a process that died are reclaimed (docs/shm.md,
 * "In-flight"). Sessions go to a store on the segment that the context
 * owns, unless sticky_ctx_set_store() gave one (e.g. a Redis store shared
 * by several hosts: health then stays per host, in the segment). Call
 * during set-up, before the first sticky_select().
 *
 * @ctx: the context. @shm: the segment; the context holds a reference
 *       to it until sticky_ctx_free().
 * Returns: 0; STICKY_EINVAL on a NULL argument; STICKY_EBUSY if a
 *          selection has already run or a segment is already in use;
 *          STICKY_ENOMEM.
 * Thread-safety: not thread-safe; call during set-up.
 * Since: 0.3.0
 */
STICKY_API int sticky_ctx_use_shm(sticky_ctx *ctx, sticky_shm *shm);

/* A segment's sizes and occupancy (sticky_shm_get_stats()). */
typedef struct sticky_shm_stats {
    size_t size; /* set by sticky_shm_stats_init() */

    uint64_t file_bytes;      /* size of the mapped file */
    uint64_t max_sessions;    /* mapping capacity */
    uint64_t sessions;        /* mappings held now (expired-but-unswept
                               * included) */
    uint32_t shard_count;
    uint32_t max_channels;
    uint32_t channels;        /* channel ids known to the segment */
    uint32_t max_tenants;
    uint32_t tenants;         /* interned tenant ids */
    uint32_t max_processes;
    uint32_t processes;       /* process slots in use (live or not yet
                               * reclaimed) */
    uint32_t reserved;        /* 0 */
    uint64_t repairs;         /* shards rebuilt after a crash or damage */
    uint64_t reclaimed_processes; /* dead processes whose in-flight counts
                                   * were given back */
} sticky_shm_stats;

/**
 * sticky_shm_stats_init_sized - zero @s and set s->size.
 *
 * @s: the struct. @size: the caller's sizeof(sticky_shm_stats).
 * Returns: 0; STICKY_EINVAL if @s is NULL; STICKY_EABI on a bad @size.
 * Thread-safety: touches only @s.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_stats_init_sized(sticky_shm_stats *s, size_t size);

/* Zero @s and set its size; see sticky_shm_stats_init_sized(). Since: 0.3.0 */
static inline int sticky_shm_stats_init(sticky_shm_stats *s)
{
    return sticky_shm_stats_init_sized(s, sizeof(*s));
}

/**
 * sticky_shm_get_stats - read a segment's sizes and occupancy.
 *
 * @shm: the segment. @out: caller struct with out->size set.
 * Returns: 0; STICKY_EINVAL on a NULL argument; STICKY_EABI on a bad size.
 * Thread-safety: safe from any thread; not one atomic snapshot.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_get_stats(sticky_shm *shm, sticky_shm_stats *out);

/* Called once per mapping by sticky_shm_each_session(); return nonzero to
 * stop. @m is valid only during the call. */
typedef int (*sticky_shm_session_fn)(const sticky_mapping *m, void *arg);

/* Called once per channel by sticky_shm_each_channel(); return nonzero to
 * stop. @h is valid only during the call. */
typedef int (*sticky_shm_channel_fn)(const char *channel_id,
                                     const sticky_channel_health *h, void *arg);

/**
 * sticky_shm_each_session - call @fn for every live mapping (for operators:
 * `sticky-route inspect`). Peeks: nothing is renewed or counted. Shards
 * are visited one at a time, each in chunks of 1024 slots locked only
 * while they are copied, never while @fn runs (a mapping moved meanwhile
 * may be missed or seen twice).
 *
 * @shm: the segment. @now_ms: the time that decides liveness.
 * @fn: the callback. @arg: passed to @fn.
 * Returns: 0; STICKY_EINVAL on a NULL argument; STICKY_ENOMEM.
 * Thread-safety: safe from any thread.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_each_session(sticky_shm *shm, int64_t now_ms,
                                       sticky_shm_session_fn fn, void *arg);

/**
 * sticky_shm_each_channel - call @fn with the health of every channel the
 * segment knows, judged at @now_ms (state, cause, cooldown end, in-flight
 * count of live processes, counters).
 *
 * @shm: the segment. @now_ms: the time that decides cooldowns.
 * @fn: the callback. @arg: passed to @fn.
 * Returns: 0; STICKY_EINVAL on a NULL argument.
 * Thread-safety: safe from any thread.
 * Since: 0.3.0
 */
STICKY_API int sticky_shm_each_channel(sticky_shm *shm, int64_t now_ms,
                                       sticky_shm_channel_fn fn, void *arg);

STICKY_END_DECLS

#endif /* STICKY_SHM_H */
