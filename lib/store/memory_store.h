/*
 * lib/store/memory_store.h - internals of the memory store (sticky/memory_store.h):
 * the compact entry, the per-shard state (uthash table in LRU order, intern
 * table of channel/tenant ids, slab free list, counters) and the functions
 * the memory_store*.c files share. docs/storage.md explains the layout.
 */
#ifndef STICKY_MEMSTORE_H
#define STICKY_MEMSTORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "util/context_internal.h"
#include "sticky/memory_store.h"

/* uthash: never abort on OOM, allocate through the context. Every call site
 * of a HASH_* macro has a `struct mem_shard *sh` in scope. */
#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) mem_malloc(sh->ctx, (sz))
#define uthash_free(ptr, sz) mem_free(sh->ctx, (ptr))
#include <uthash.h>

/* An interned (channel id, tenant id) pair, shared by the shard's entries
 * that map to it and found by them through the shard's pair table (a 24-bit
 * index keeps entries small). text = channel '\0' tenant '\0'; the hash key
 * is the channel, the separator and the tenant. */
struct mem_pair {
    UT_hash_handle hh;
    uint32_t refs;
    uint32_t idx; /* position in mem_shard.pair_tab */
    uint16_t channel_len;
    uint16_t tenant_len;
    char text[];
};

/*
 * One mapping: 88 bytes, 56 of them uthash's handle. The three times are
 * stored as 40-bit millisecond offsets from the shard's base time (exact
 * within +-2^39 ms = +-17.4 years of it), each in the high bits of a word
 * whose low 24 bits hold something small:
 *   w_expires: expires (40) | request count (24, saturating at MEM_LOW_MAX)
 *   w_access:  last access (40) | pair table index (24)
 *   w_created: created (40) | unused (24)
 * The base follows the clock: when "now" leaves the shard's window the
 * shard is re-based on now (mem_rebase()), so any int64 clock works.
 */
struct mem_entry {
    UT_hash_handle hh; /* app order = LRU order: head is least recently used */
    uint64_t key;
    uint64_t w_expires;
    uint64_t w_access;
    uint64_t w_created;
};

#define MEM_LOW_BITS 24
#define MEM_LOW_MAX ((1u << MEM_LOW_BITS) - 1u)
#define MEM_COUNT_MAX MEM_LOW_MAX
#define MEM_MAX_PAIRS MEM_LOW_MAX /* distinct id pairs per shard */
#define MEM_TIME_BIAS ((int64_t)1 << 39) /* half the packable window */
/* A shard is re-based once now is more than MEM_TIME_BIAS - MEM_TIME_MARGIN
 * from its base, so now + TTL + the future tolerance always fits (both are
 * at most a year: STICKY_MAX_TTL_SECONDS; 2^36 ms is 2.2 years). */
#define MEM_TIME_MARGIN ((int64_t)1 << 36)
/* Bases are kept where base +- MEM_TIME_BIAS cannot overflow. */
#define MEM_BASE_MIN (INT64_MIN + MEM_TIME_BIAS)
#define MEM_BASE_MAX (INT64_MAX - MEM_TIME_BIAS + 1)
/* How far ahead of now a live mapping's expiry may lie beyond its TTL
 * before it counts as set by a clock that has since gone back (at least
 * this, at least the TTL); see mem_expired(). */
#define MEM_FUTURE_SLACK_MS 60000

/* A block of entries taken from the allocator at once. */
struct mem_slab {
    struct mem_slab *next;
    size_t n;
    struct mem_entry entries[];
};

struct mem_counters {
    uint64_t hits, misses, inserts, updates, renewals, expirations, evictions,
        deletes;
};

struct mem_shard {
    pthread_mutex_t lock;
    const sticky_ctx *ctx;
    struct mem_store *store;
    struct mem_entry *head;  /* uthash head; NULL when empty */
    struct mem_pair *pairs;  /* intern table */
    struct mem_pair **pair_tab; /* index -> pair; NULL = free */
    uint32_t *free_idx;      /* stack of free indexes below pair_used */
    uint32_t pair_cap, pair_used, n_free;
    struct mem_entry *free_list; /* linked through hh.next */
    struct mem_slab *slabs;  /* newest first */
    size_t slab_used;        /* entries of the newest slab handed out */
    size_t next_slab_n;
    size_t count;            /* entries in `head` */
    uint32_t cursor_bucket;  /* straggler sweep position (threshold mode) */
    uint32_t cursor_pos;
    struct mem_counters c;
    /* Packed times are offsets from base_ms; now outside [win_lo, win_hi]
     * re-bases the shard (mem_rebase()). Under `lock`. */
    int64_t base_ms;
    int64_t win_lo, win_hi;
    /* last_access_ms of the LRU head (at most INT64_MAX - 1), INT64_MAX
     * when empty: lets an insert at the cap find the globally least
     * recently used entry without locking every shard. Written under
     * `lock`, read without it. */
    _Atomic int64_t head_hint;
} __attribute__((aligned(64)));

struct mem_store {
    const sticky_ctx *ctx;
    uint32_t shard_mask;
    uint32_t shard_bits;
    uint32_t max_sessions;
    int64_t ttl_ms;
    int64_t threshold_ms;
    int renew_mode;
    uint32_t sweep_on_write;
    int64_t future_ms; /* ttl_ms + max(ttl_ms, MEM_FUTURE_SLACK_MS) */
    _Atomic int jump_logged;      /* a re-base was logged (WARN once) */
    _Atomic int back_logged;      /* a mapping from the future was logged */
    _Atomic size_t count;        /* entries (+ reservations being inserted) */
    _Atomic uint32_t sweep_start; /* shard the next host sweep starts at */
    struct mem_shard *shards;    /* shard_mask + 1, cache-line aligned */
    void *shards_raw;            /* allocation holding `shards` */
};

/* Key -> 64 well-mixed bits: high bits pick the shard, low 32 the bucket. */
static inline uint64_t mem_mix(uint64_t k)
{
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return k;
}

static inline struct mem_shard *mem_shard_of(struct mem_store *st, uint64_t h)
{
    return &st->shards[st->shard_bits == 0 ? 0 : (uint32_t)(h >> (64 - st->shard_bits))];
}

/* Saturating a + b for b >= 0: times never wrap around. */
static inline int64_t mem_sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Packed times: 40-bit offsets from a base in MEM_BASE_MIN..MEM_BASE_MAX,
 * so base - MEM_TIME_BIAS .. base + MEM_TIME_BIAS - 1 never overflows. */
static inline int64_t mem_time_decode(int64_t base, uint64_t w)
{
    return base + ((int64_t)(w >> MEM_LOW_BITS) - MEM_TIME_BIAS);
}

/* Store @t relative to @base, clamped to the window (only times of the
 * past, created and last access of a long-lived mapping, ever are). */
static inline void mem_time_encode(int64_t base, uint64_t *w, int64_t t)
{
    int64_t off;
    if (t < base - MEM_TIME_BIAS)
        off = -MEM_TIME_BIAS;
    else if (t > base + (MEM_TIME_BIAS - 1))
        off = MEM_TIME_BIAS - 1;
    else
        off = t - base;
    *w = ((uint64_t)(off + MEM_TIME_BIAS) << MEM_LOW_BITS) | (*w & MEM_LOW_MAX);
}

static inline int64_t mem_time_get(const struct mem_shard *sh, uint64_t w)
{
    return mem_time_decode(sh->base_ms, w);
}

static inline void mem_time_set(const struct mem_shard *sh, uint64_t *w, int64_t t)
{
    mem_time_encode(sh->base_ms, w, t);
}

static inline uint32_t mem_low_get(uint64_t w)
{
    return (uint32_t)(w & MEM_LOW_MAX);
}

static inline void mem_low_set(uint64_t *w, uint32_t v)
{
    *w = (*w & ~(uint64_t)MEM_LOW_MAX) | (v > MEM_LOW_MAX ? MEM_LOW_MAX : v);
}

static inline int64_t mem_expires(const struct mem_shard *sh, const struct mem_entry *e)
{
    return mem_time_get(sh, e->w_expires);
}

static inline int64_t mem_last_access(const struct mem_shard *sh,
                                      const struct mem_entry *e)
{
    return mem_time_get(sh, e->w_access);
}

static inline int64_t mem_created(const struct mem_shard *sh, const struct mem_entry *e)
{
    return mem_time_get(sh, e->w_created);
}

static inline uint32_t mem_count(const struct mem_entry *e)
{
    return mem_low_get(e->w_expires);
}

/* Is @e dead at @now? Expired (now >= expires), or from the future: its
 * expiry lies further ahead than any use could have set it (now + TTL,
 * plus a tolerance for threads that read the clock a little apart), which
 * happens only when the clock went back. Logs the latter once per store. */
int mem_expired_slow(const struct mem_shard *sh, const struct mem_entry *e,
                     int64_t now);
static inline int mem_expired(const struct mem_shard *sh, const struct mem_entry *e,
                              int64_t now)
{
    int64_t exp = mem_expires(sh, e);
    if (now >= exp)
        return 1;
    if (exp > mem_sat_add(now, sh->store->future_ms))
        return mem_expired_slow(sh, e, now);
    return 0;
}

/* Set @sh's base to @base (clamped to MEM_BASE_MIN..MEM_BASE_MAX) and its
 * re-base window; no entries are touched (an empty or new shard). */
void mem_set_base(struct mem_shard *sh, int64_t base);
/* If @now lies outside @sh's window, re-base the shard on @now: mappings
 * dead at @now are reclaimed (counted as expirations), the others are
 * re-encoded exactly (a created or last-access time more than 17.4 years
 * back is clamped). O(entries of the shard), once per clock jump (or per
 * 16 years of a steady clock). Logs the first re-base of the store at WARN,
 * later ones at DEBUG. */
void mem_rebase_if_needed(struct mem_shard *sh, int64_t now);

/* memory_store_entry.c: entries, interning, LRU order (caller holds sh->lock). */
struct mem_entry *mem_find(struct mem_shard *sh, uint64_t key, unsigned hashv);
int mem_insert(struct mem_shard *sh, uint64_t key, unsigned hashv,
               const char *channel, const char *tenant, int64_t now);
int mem_set_ids(struct mem_shard *sh, struct mem_entry *e, const char *channel,
                const char *tenant);
void mem_remove(struct mem_shard *sh, struct mem_entry *e);
void mem_lru_touch(struct mem_shard *sh, struct mem_entry *e);
void mem_hint_update(struct mem_shard *sh);
const struct mem_pair *mem_pair_of(const struct mem_shard *sh,
                                   const struct mem_entry *e);
void mem_to_record(const struct mem_shard *sh, const struct mem_entry *e,
                   sticky_mapping *out);
void mem_shard_release(struct mem_shard *sh);

/* memory_store_sweep.c: reclaiming and evicting. */
/* Remove an expired or evicted entry, count it, return its cap slot. */
void mem_reclaim(struct mem_shard *sh, struct mem_entry *e, int expired);
/* Reclaim expired entries in one shard until *@examined reaches @budget:
 * from the LRU head, and with @stragglers (threshold mode) through the
 * bucket cursor too. Returns how many were reclaimed. */
size_t mem_sweep_shard(struct mem_shard *sh, int64_t now, size_t budget,
                       size_t *examined, int stragglers);
/* Take one cap slot; at the cap, evict the global LRU entry first. The
 * caller holds no shard lock. Returns 1 when a slot was taken. */
int mem_try_reserve(struct mem_store *st);
void mem_evict_one(struct mem_store *st, int64_t now);

/* For tests: check every shard's structure against its counters.
 * Returns 0 when consistent, else a negative code; call at rest. */
int memory_store_check(sticky_store *store, size_t *pairs_out);

#endif /* STICKY_MEMSTORE_H */
