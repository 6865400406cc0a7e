/*
 * lib/select/health.h - per-channel health, shared by every request on a
 * context: cooldowns (per model family and for all models), in-flight
 * counts, last use (for the LRU policy), consecutive failures, counters.
 * Channels are found by id in a registry whose read path takes no lock: an
 * open-addressing table of entry pointers. A new id is written into a free
 * slot of the current table (readers see the slot empty or the finished
 * entry); only when the table passes half full is it copied once into one
 * twice as large. Memory is O(distinct ids) and bounded: at most
 * HEALTH_MAX_IDS entries (STICKY_MAX_CHANNEL_IDS); ids beyond the bound get
 * no entry and are routed untracked (docs/selection.md, "Channel ids").
 * Entries live until the context is freed, so a pointer to one never dangles.
 */
#ifndef STICKY_HEALTH_H
#define STICKY_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/context_internal.h"
#include "util/health_record.h"
#include "sticky/select.h"
#include "sticky/store.h"

struct sticky_shm; /* shm/shm_internal.h */

/* The bound on tracked channel ids per context. */
#define HEALTH_MAX_IDS STICKY_MAX_CHANNEL_IDS

struct health_table {
    size_t cap;                 /* power of two */
    struct health_table *older; /* the table this one replaced */
    _Atomic(struct channel_health *) slots[];
};

struct health_registry {
    const sticky_ctx *ctx;
    _Atomic(struct health_table *) table;
    _Atomic size_t count;       /* entries; written under grow_lock */
    size_t max_ids;             /* HEALTH_MAX_IDS, smaller in tests */
    _Atomic int full_logged;    /* the "registry full" warning, once */
    pthread_mutex_t grow_lock;  /* serialises inserts */
    /* With a shared segment (sticky_ctx_use_shm()): records live there and
     * the table above only caches pointers to them; in-flight counts are
     * the segment's. NULL: records are this registry's own. */
    struct sticky_shm *shm;
};

/* @max_ids: the bound (0 = HEALTH_MAX_IDS). */
int health_init(struct health_registry *r, const sticky_ctx *ctx, size_t max_ids);
void health_destroy(struct health_registry *r);

/* The entry for @id (NUL-terminated, 1..127 bytes; @hash = fnv1a64(id)),
 * created on first use. NULL when the registry is full (the id is then
 * untracked) or on allocation failure. Lock-free when it exists. */
struct channel_health *health_get(struct health_registry *r, const char *id, uint64_t hash);

/* The entry for @id if one exists; never creates one. */
struct channel_health *health_find(struct health_registry *r, const char *id, uint64_t hash);

/* Entries so far. */
size_t health_count(struct health_registry *r);

/* Call @fn for every channel, in no particular order. */
void health_each(struct health_registry *r,
                 void (*fn)(struct channel_health *h, void *arg), void *arg);

/* The enum sticky_model_family of a model name ("claude-opus-4-1" ->
 * OPUS); NULL or empty -> STICKY_MODEL_FAMILY_ALL. */
int model_family_of(const char *model, size_t len);

/* Cooling down for @family at @now (its own cooldown or the all-models
 * one)? 1 with *@end = the time it ends, else 0. Any int64 clock works:
 * "no cooldown" is stored as HEALTH_NO_COOLDOWN, not as 0. */
int health_cooling(const struct channel_health *h, int family, int64_t now_ms,
                   int64_t *end);

/* The slot-rank health_cooling_ex() reports: how bad a cooling channel is
 * for least_bad (docs/selection.md, "least_bad"). */
enum cool_rank {
    COOL_NOISE = 0,      /* 5xx, 529, timeouts, breaker, 429 without a time */
    COOL_RATE_LIMIT = 1, /* inside a rate-limit window the upstream announced */
    COOL_AUTH = 2        /* revoked credentials: never chosen by least_bad */
};

/* health_cooling() that also says whether an all-models (account-wide)
 * cooldown is in force (*@account_wide) and the worst enum cool_rank among
 * the slots in force (*@rank). */
int health_cooling_ex(const struct channel_health *h, int family, int64_t now_ms,
                      int64_t *end, int *account_wide, int *rank);

/* In-flight attempts on @h (all processes with a segment). */
uint32_t health_in_flight(const struct health_registry *r, const struct channel_health *h);

/* Is @h at its cap @cap (> 0)? With a segment, a full channel first has
 * the counts of dead processes reclaimed (rate-limited). */
int health_full(struct health_registry *r, struct channel_health *h, uint32_t cap);

/* Take an in-flight slot on @h under @cap (0 = none), atomically: no
 * number of threads (or processes, with a segment) pushes it past the
 * cap. 1 taken, 0 full. */
int health_reserve(struct health_registry *r, struct channel_health *h, uint32_t cap);

/* Give back a slot taken by health_reserve() (never below 0). */
void health_release(struct health_registry *r, struct channel_health *h);

/* @h as the public struct, judged at @now (select_stats.c). */
void health_view(const struct health_registry *r, struct channel_health *h, int64_t now,
                 sticky_channel_health *v);

#endif /* STICKY_HEALTH_H */
