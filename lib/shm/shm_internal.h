/*
 * lib/shm/shm_internal.h - the process-local handle of an attached segment
 * (struct sticky_shm) and the functions the rest of the library uses on
 * it: robust locking with repair, the shard geometry, channel and tenant
 * interning, and the in-flight counters with their per-process leases.
 */
#ifndef STICKY_SHM_INTERNAL_H
#define STICKY_SHM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "shm/shm_layout.h"
#include "util/health_record.h"
#include "util/context_internal.h"
#include "sticky/shm.h"

struct sticky_shm {
    sticky_ctx *ctx;
    sticky_shm_options opts; /* full-size copy, sizes resolved */
    _Atomic int refs;             /* the opener's, stores', contexts' */
    int fd;
    unsigned char *base;
    size_t bytes;
    struct shm_header geo;        /* the header as validated at attach: the
                                   * only source of sizes and offsets */
    struct shm_header *hdr;       /* the file's header: its mutable part */
    struct shm_shard *shards;
    struct shm_slot *slots;       /* shard s: slots + s * slots_per_shard */
    uint32_t *buckets;            /* shard s: buckets + s * buckets_per_shard */
    struct shm_channel *channels;
    uint32_t *channel_index;      /* channel position + 1, 0 empty */
    struct shm_tenant *tenants;
    uint32_t *tenant_index;       /* tenant position + 1, 0 empty */
    struct shm_proc *procs;
    _Atomic uint16_t *held;       /* [max_processes][max_channels] */
    pthread_mutex_t *moves_locks; /* SHM_MOVES_LOCKS */
    unsigned char *moves;         /* the signature memory region */
    uint32_t shard_mask;
    /* This process's row in the process table (taken on first use; a
     * fork gets its own). */
    pthread_mutex_t row_lock;
    _Atomic int row;              /* -1 none */
    _Atomic uint64_t row_gen;     /* fork generation the row belongs to */
    _Atomic int64_t last_reclaim_ms;
    _Atomic int tenants_full_logged, channels_full_logged, procs_full_logged;
};

/* Take / drop a reference; the last drop detaches (shm_segment.c). */
void shm_ref(struct sticky_shm *s);
void shm_unref(struct sticky_shm *s);

/* ---- locking (shm_lock.c) ------------------------------------------------ */

/* Initialise a robust, process-shared mutex in the segment. 0 / ESTORE. */
int shm_mutex_init(pthread_mutex_t *m);

/* Lock @s->shards[@shard]; a lock whose owner died is repaired (the
 * shard rebuilt from its slots) before it is marked consistent. 0, or
 * STICKY_ESTORE when the mutex cannot be taken (logged). */
int shm_shard_lock(struct sticky_shm *s, uint32_t shard);
void shm_shard_unlock(struct sticky_shm *s, uint32_t shard);

/* Lock / unlock stripe @i of the signature memory region; a stripe whose
 * holder died has its entries zeroed (forgotten) first. */
int shm_moves_lock(struct sticky_shm *s, uint32_t i);
void shm_moves_unlock(struct sticky_shm *s, uint32_t i);

/* Lock / unlock the names table lock (channel and tenant inserts). */
int shm_names_lock(struct sticky_shm *s);
void shm_names_unlock(struct sticky_shm *s);

/* ---- shards (shm_shard.c); callers hold the shard's lock ---------------- */

static inline struct shm_slot *shard_slots(struct sticky_shm *s, uint32_t shard)
{
    return s->slots + (size_t)shard * s->geo.slots_per_shard;
}

static inline uint32_t *shard_buckets(struct sticky_shm *s, uint32_t shard)
{
    return s->buckets + (size_t)shard * s->geo.buckets_per_shard;
}

/* The "being written" crash marker around changes to a slot: set before
 * the first store to it, cleared after the last. A process killed
 * (SIGKILL) stops at an instruction boundary and the stores it executed
 * still reach memory, so only the compiler's order matters: atomic stores
 * (never dropped as dead) and compiler fences (never moved across the
 * slot's stores). A repair drops the marked slot. */
static inline void shard_mark(struct shm_shard *sh, uint32_t slot)
{
    __atomic_store_n(&sh->writing, slot + 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void shard_unmark(struct shm_shard *sh)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&sh->writing, 0, __ATOMIC_RELAXED);
}

/* Slots of @shard handed out so far: its `fresh` mark, never trusted
 * beyond the shard's size (the file may be damaged while others use it). */
static inline uint32_t shard_fresh(struct sticky_shm *s, uint32_t shard)
{
    uint32_t f = s->shards[shard].fresh;
    return f <= s->geo.slots_per_shard ? f : s->geo.slots_per_shard;
}

/* The key's hash, shard and bucket. */
uint64_t shm_key_hash(uint64_t key);
static inline uint32_t shm_shard_of(const struct sticky_shm *s, uint64_t h)
{
    return (uint32_t)h & s->shard_mask;
}
static inline uint32_t shm_bucket_of(const struct sticky_shm *s, uint64_t h)
{
    return (uint32_t)(((h >> 32) * (uint64_t)s->geo.buckets_per_shard) >> 32);
}

/* Rebuild shard @shard from its slots: drop slots that are invalid or
 * were being written, rebuild chains, free list and count. Bounded by the
 * shard's slot count. */
void shm_shard_repair(struct sticky_shm *s, uint32_t shard);

/* Is slot @e (of @shard) a well-formed mapping that belongs there? */
int shm_slot_valid(struct sticky_shm *s, uint32_t shard, const struct shm_slot *e);

/* ---- channel and tenant tables (shm_names.c) ------------------------------ */

/* The health record of channel @id (@hash = fnv1a64(id)), created (and
 * initialised with health_record_init() under the names lock) when
 * @create and absent.
 * *@index receives its position. NULL when absent (and not created), the
 * table is full (logged once) or the lock failed. Lock-free when present. */
struct channel_health *shm_channel_get(struct sticky_shm *s, const char *id, uint64_t hash,
                                       int create, uint32_t *index);

/* Rebuild both name indexes from the tables, dropping malformed entries
 * (recovery, alone with the file). */
void shm_names_rebuild(struct sticky_shm *s);

/* Channel @index's id if published and well-formed, else NULL. */
const char *shm_channel_id(struct sticky_shm *s, uint32_t index);

/* Channel @index's health record if published, else NULL. */
struct channel_health *shm_channel_health(struct sticky_shm *s, uint32_t index);

/* Encode @tenant into @e (kind + 16 bytes), interning a long one.
 * 0, STICKY_ELIMIT (tenant table full), STICKY_ESTORE (lock). */
int shm_tenant_encode(struct sticky_shm *s, const char *tenant, struct shm_slot *e);

/* Decode @e's tenant into @out (STICKY_ID_SIZE bytes). 0, or
 * STICKY_ECORRUPT when the encoding is not valid. */
int shm_tenant_decode(struct sticky_shm *s, const struct shm_slot *e, char *out);

/* ---- processes and in-flight counts (shm_procs.c) ----------------------- */

/* In flight on channel @index over all processes. */
uint32_t shm_inflight_count(struct sticky_shm *s, uint32_t index);

/* Take one in-flight unit on channel @index under @cap (0 = no cap).
 * 1 taken, 0 at the cap (or no process slot). At the cap, the counts of
 * dead processes are reclaimed first (at most once per second per
 * process, by @now_ms). */
int shm_inflight_reserve(struct sticky_shm *s, uint32_t index, uint32_t cap, int64_t now_ms);

/* Give back one unit this process took on channel @index. */
void shm_inflight_release(struct sticky_shm *s, uint32_t index);

/* Give back the counts of every dead process. Returns how many processes
 * were reclaimed. */
uint32_t shm_reclaim_dead(struct sticky_shm *s);

/* shm_reclaim_dead(), at most once per second per handle by @now_ms (a
 * clock that went back counts as time passed). 1 when a process was
 * reclaimed. */
int shm_reclaim_maybe(struct sticky_shm *s, int64_t now_ms);

/* Release this process's row (sticky_shm_close()). */
void shm_proc_detach(struct sticky_shm *s);

/* Is @pid alive with start time @start (0 = unknown)? */
int shm_pid_alive(uint32_t pid, uint64_t start);

/* This process's start time from /proc/self/stat (0 if unknown). */
uint64_t shm_self_start_time(void);

/* ---- the store (shm_store.c) ---------------------------------------------- */

/* A store on @s with the handle's session settings, made on @ctx (its
 * clock, allocator and log; the context that routes through it). */
int shm_store_create(struct sticky_shm *s, sticky_ctx *ctx, sticky_store **out);

/* ---- test hooks (tests link the internal library) --------------------- */

/* Lock the shard of @key and return without unlocking (a test kills the
 * process afterwards). With @scribble, also mark the key's first slot as
 * being written and overwrite part of it, as a crash mid-write would. */
int shm_test_hold_shard(struct sticky_shm *s, uint64_t key, int scribble);

#endif /* STICKY_SHM_INTERNAL_H */
