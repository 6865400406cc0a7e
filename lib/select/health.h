/*
 * lib/select/health.h - per-channel health, shared by every request on a context:
 * cooldowns (per model family and for all models), in-flight counts, last
 * use (for the LRU policy), consecutive failures, counters. Channels are
 * found by id in a registry whose read path takes no lock: it is an
 * immutable open-addressing table replaced (copy-on-write) when a new
 * channel id appears, which happens a handful of times in a process' life.
 */
#ifndef STICKY_HEALTH_H
#define STICKY_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "util/context_internal.h"
#include "sticky/select.h"
#include "sticky/store.h"

/* Cooldown scopes: one slot per enum sticky_model_family value; the slot
 * STICKY_MODEL_FAMILY_ALL covers every model. */
#define FAMILY_COUNT (STICKY_MODEL_FAMILY_OTHER + 1)

/* The id in front and padding behind keep two channels' counters at least
 * a cache line apart (entries are separate allocations). */
struct channel_health {
    char id[STICKY_ID_MAX];
    uint64_t hash;
    _Atomic int64_t last_used_ms;         /* 0 = never used */
    _Atomic uint32_t in_flight;
    _Atomic int64_t cooldown_until_ms[FAMILY_COUNT];
    _Atomic uint32_t consecutive_failures;
    _Atomic uint64_t selections;
    _Atomic uint64_t failures;
    char pad_back[64];
};

struct health_table {
    size_t cap;   /* power of two */
    size_t count;
    struct health_table *older; /* retired tables, freed with the registry */
    struct channel_health *slots[];
};

struct health_registry {
    const sticky_ctx *ctx;
    _Atomic(struct health_table *) table;
    pthread_mutex_t grow_lock;
};

int health_init(struct health_registry *r, const sticky_ctx *ctx);
void health_destroy(struct health_registry *r);

/* The entry for @id (NUL-terminated, 1..127 bytes), created on first use.
 * NULL only on allocation failure. Lock-free when it exists. */
struct channel_health *health_get(struct health_registry *r, const char *id);

/* Call @fn for every channel, in no particular order. */
void health_each(struct health_registry *r,
                 void (*fn)(struct channel_health *h, void *arg), void *arg);

/* The enum sticky_model_family of a model name ("claude-opus-4-1" ->
 * OPUS); NULL or empty -> STICKY_MODEL_FAMILY_ALL. */
int model_family_of(const char *model, size_t len);

/* Cooling down for @family at @now (its own cooldown or the all-models
 * one)? Returns the time it ends, or 0 if not cooling. */
int64_t health_cooldown_end(const struct channel_health *h, int family,
                            int64_t now_ms);

/* FNV-1a 64 of a NUL-terminated string (also used by rendezvous hashing). */
uint64_t fnv1a64(const char *s);

#endif /* STICKY_HEALTH_H */
