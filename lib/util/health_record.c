/*
 * lib/util/health_record.c - a channel health record's initial state and
 * its pid lock (see health_record.h): a holder found dead is replaced at
 * once, any holder after HOLD_LIMIT_MS of waiting.
 */
#include "util/health_record.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SPINS_BEFORE_CHECK 4096u
#define HOLD_LIMIT_MS 200

uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void health_record_init(struct channel_health *h, const char *id, uint64_t hash,
                        uint32_t shm_index)
{
    memset(h, 0, sizeof(*h));
    size_t n = strnlen(id, STICKY_ID_SIZE - 1);
    memcpy(h->id, id, n);
    h->hash = hash;
    h->shm_index = shm_index;
    atomic_init(&h->lock, 0);
    atomic_init(&h->last_used_ms, HEALTH_NEVER_USED);
    atomic_init(&h->in_flight, 0);
    for (int f = 0; f < FAMILY_COUNT; f++) {
        atomic_init(&h->cooldown_until_ms[f], HEALTH_NO_COOLDOWN);
        atomic_init(&h->cause[f], STICKY_CAUSE_NONE);
    }
}

void health_record_recover(struct channel_health *h)
{
    atomic_store_explicit(&h->lock, 0, memory_order_relaxed);
    for (int f = 0; f < FAMILY_COUNT; f++) {
        int c = atomic_load_explicit(&h->cause[f], memory_order_relaxed);
        if (c < STICKY_CAUSE_NONE || c > STICKY_CAUSE_BREAKER)
            atomic_store_explicit(&h->cause[f], STICKY_CAUSE_NONE, memory_order_relaxed);
    }
}

void health_record_clear(struct channel_health *h)
{
    health_lock(h);
    for (int f = 0; f < FAMILY_COUNT; f++) {
        atomic_store_explicit(&h->cooldown_until_ms[f], HEALTH_NO_COOLDOWN,
                              memory_order_relaxed);
        atomic_store_explicit(&h->cause[f], STICKY_CAUSE_NONE, memory_order_relaxed);
    }
    health_unlock(h);
    atomic_store_explicit(&h->consecutive_failures, 0, memory_order_relaxed);
}

static int pid_dead(uint32_t pid)
{
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

uint64_t health_use_order(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void health_lock(struct channel_health *h)
{
    uint32_t me = (uint32_t)getpid();
    int64_t since = 0;
    for (unsigned spins = 0;; spins++) {
        uint32_t cur = 0;
        if (atomic_compare_exchange_weak_explicit(&h->lock, &cur, me, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        if (cur == 0 || spins < SPINS_BEFORE_CHECK)
            continue;
        spins = 0;
        /* The section it guards is a few stores, so a holder that keeps it
         * this long is dead (SIGKILL), stopped, or not a holder at all (a
         * reused pid, a damaged word): every value there is whole, so the
         * lock is taken over - at once when the pid is gone, after
         * HOLD_LIMIT_MS otherwise. */
        int64_t now = monotonic_ms();
        if (since == 0)
            since = now;
        int dead = cur != me && pid_dead(cur);
        if ((dead || now - since >= HOLD_LIMIT_MS) &&
            atomic_compare_exchange_strong_explicit(&h->lock, &cur, me, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        sched_yield();
    }
}

void health_unlock(struct channel_health *h)
{
    atomic_store_explicit(&h->lock, 0, memory_order_release);
}
