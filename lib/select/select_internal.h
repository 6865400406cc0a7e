/*
 * lib/select/select_internal.h - the selector's state inside a context (channel
 * health, the store in use, counters) and the pieces select.c, policy.c,
 * report.c and select_stats.c share.
 */
#ifndef STICKY_SELECT_INTERNAL_H
#define STICKY_SELECT_INTERNAL_H

#include <stdatomic.h>

#include "select/attempt.h"
#include "select/health.h"
#include "select/moves.h"
#include "sticky/select.h"

/* Counters are split into shards and a thread adds to the shard its stack
 * address picks: threads routing at once do not fight over one cache line.
 * Reads sum the shards. The padding keeps two shards' counters at least a
 * cache line apart without needing aligned allocation. */
#define STAT_SHARDS 16
struct selector_stats {
    char pad_front[64];
    _Atomic uint64_t requests, strict_rejections, store_errors, reports, tenant_mismatches;
    _Atomic uint64_t by_reason[STICKY_REASON_SIDE + 1]; /* enum sticky_reason */
    char pad_back[64];
};

static inline struct selector_stats *stat_shard(struct selector_stats *shards)
{
    int probe;
    uintptr_t a = (uintptr_t)&probe >> 16;
    a ^= a >> 7;
    return &shards[a & (STAT_SHARDS - 1)];
}

#define STAT_INC(ctx, field)                                                     \
    atomic_fetch_add_explicit(&stat_shard((ctx)->sel->stats)->field, 1,        \
                              memory_order_relaxed)

struct sticky_selector {
    struct health_registry health;
    struct attempt_ledger attempts; /* open attempts (attempt.h) */
    struct move_table moves;   /* signature memory (moves.h) */
    sticky_store *store;       /* the store in use */
    /* The default memory store, created on first use and then read
     * without the lock (published with a release store). */
    _Atomic(sticky_store *) owned_store;
    pthread_mutex_t store_lock; /* guards creating the default store */
    _Atomic int started;
    _Atomic uint64_t rng;      /* splitmix64 state for the random policy */
    /* Selections waiting for the store (select_async.c), on the one loop
     * thread that runs them; cancelled by selector_destroy(). */
    struct sticky_select_op *async_pending;
    /* Health publishes sticky_report_async() did not wait for, on the same
     * thread (health_sync.c); cancelled by selector_destroy(). */
    struct health_pub *pubs;
    /* One freed selection block kept for the next (select_async.c), so a
     * store that answers at once costs no allocation in steady state. */
    _Atomic(struct sticky_select_op *) async_spare;
    struct selector_stats stats[STAT_SHARDS];
};

/* A channel of the current request, with what select needs about it. */
struct cand {
    const sticky_channel *ch;  /* the caller's element (full-size copy) */
    struct channel_health *h;  /* NULL until looked up, or untracked */
    uint64_t hash;             /* fnv1a64(ch->id), once looked up */
    size_t index;              /* in the host's list */
    int hashed;                /* hash is set */
    int looked_up;             /* h is final (NULL = untracked) */
    int full;                  /* lost an in-flight reservation: saturated
                                * for the rest of this request */
};

/* What the policies read about a candidate, also for an untracked channel
 * (no health entry: counted as most recently used, nothing in flight). */
static inline int64_t cand_last_used(const struct cand *c)
{
    return c->h != NULL ? atomic_load_explicit(&c->h->last_used_ms, memory_order_relaxed)
                        : INT64_MAX;
}

static inline uint32_t cand_in_flight(const struct health_registry *r, const struct cand *c)
{
    return c->h != NULL ? health_in_flight(r, c->h) : 0;
}

int selector_create(sticky_ctx *ctx);
void selector_destroy(sticky_ctx *ctx);

/* select_async.c: cancel every selection still waiting (sticky_ctx_free()
 * with selections pending: logged as an error; no callback runs). */
void select_async_cancel_all(sticky_ctx *ctx);
/* select_async.c: free the spare selection block (selector_destroy()). */
void select_async_free_spare(sticky_ctx *ctx);

/*
 * Pick one of @cands[0..n) by the context's policy (or rendezvous when
 * @force_rendezvous). @key / @keyed: the session key. Returns the position
 * in @cands. @n must be > 0.
 */
size_t policy_pick(sticky_ctx *ctx, const struct cand *cands, size_t n,
                   uint64_t key, int keyed, int force_rendezvous);

/* Keep only the candidates a bounded-load factor allows (new placements);
 * returns the new count (never 0 when @n > 0). */
size_t policy_bounded_load(const sticky_ctx *ctx, struct cand *cands, size_t n);

/* splitmix64 finaliser, used for rendezvous scores and the random policy. */
uint64_t mix64(uint64_t x);

#endif /* STICKY_SELECT_INTERNAL_H */
