/*
 * lib/util/health_record.h - one channel's health record: its layout, its
 * initial state and its writer lock. The select layer keeps records in its
 * registry (select/health.c); a shared segment (lib/shm/) keeps them in
 * the mapped file so every process sees the same cooldowns, so the record
 * holds only position-independent data (no pointers) and lock-free atomics.
 * The lock is a word holding the locker's pid: a waiter that finds the
 * holder dead (SIGKILL inside the few stores it guards) takes it over, and
 * any waiter does after 200 ms (a reused pid, a stopped holder, a damaged
 * word): the values it guards are each whole.
 */
#ifndef STICKY_HEALTH_RECORD_H
#define STICKY_HEALTH_RECORD_H

#include <stdatomic.h>
#include <stdint.h>

#include "sticky/context.h"
#include "sticky/select.h"
#include "sticky/store.h"

/* Cooldown scopes: one slot per enum sticky_model_family value; the slot
 * STICKY_MODEL_FAMILY_ALL covers every model. */
#define FAMILY_COUNT (STICKY_MODEL_FAMILY_OTHER + 1)

/* "Never used" for last_used_ms: older than any clock reading. */
#define HEALTH_NEVER_USED INT64_MIN
/* cooldown_until_ms when there is none: no clock reading is before it. */
#define HEALTH_NO_COOLDOWN INT64_MIN
/* shm_index of a record that is not in a shared segment. */
#define HEALTH_NOT_SHARED UINT32_MAX

/* The lock word comes first (a segment resets it on recovery); the id
 * keeps two channels' counters apart, the padding behind too. id, hash and
 * shm_index never change once the record is published. */
struct channel_health {
    _Atomic uint32_t lock;                /* 0 free, else the holder's pid;
                                           * serialises writers of a
                                           * (cooldown_until_ms, cause) pair
                                           * (report, clear); select reads
                                           * without it */
    uint32_t shm_index;                   /* position in the segment's
                                           * channel table, or
                                           * HEALTH_NOT_SHARED */
    char id[STICKY_ID_SIZE];
    uint64_t hash;                        /* fnv1a64(id) */
    _Atomic int64_t last_used_ms;         /* HEALTH_NEVER_USED until used */
    _Atomic uint32_t in_flight;           /* not shared: open attempts (a
                                           * segment counts per process) */
    _Atomic int64_t cooldown_until_ms[FAMILY_COUNT]; /* HEALTH_NO_COOLDOWN */
    _Atomic int cause[FAMILY_COUNT];      /* enum sticky_health_cause of the
                                           * slot's cooldown */
    _Atomic uint32_t consecutive_failures;
    _Atomic uint64_t selections;
    _Atomic uint64_t failures;
    _Atomic uint64_t last_use_order;      /* CLOCK_MONOTONIC ns of the last
                                           * use: orders uses within one
                                           * millisecond of the context
                                           * clock (LRU ties), across the
                                           * processes of a segment too.
                                           * Since 0.4.0, in what was
                                           * padding: 0 in a 0.3.0 segment */
    char pad_back[56];
};

/* A reading of CLOCK_MONOTONIC in ns, for last_use_order. */
uint64_t health_use_order(void);

/* Initialise @h in place for channel @id (NUL-terminated, copied up to
 * STICKY_ID_SIZE - 1 bytes), @hash = fnv1a64(id), at @shm_index. */
void health_record_init(struct channel_health *h, const char *id, uint64_t hash,
                        uint32_t shm_index);

/* After a restart with nobody attached: drop a stale lock holder. */
void health_record_recover(struct channel_health *h);

/* End every cooldown and auth state of @h and its breaker count (a clear
 * by the host, or one shared by another node). */
void health_record_clear(struct channel_health *h);

/* Writers of a slot's (cooldown, cause) pair hold the record's lock. */
void health_lock(struct channel_health *h);
void health_unlock(struct channel_health *h);

/* FNV-1a 64 of a NUL-terminated string (ids, rendezvous hashing). */
uint64_t fnv1a64(const char *s);

#endif /* STICKY_HEALTH_RECORD_H */
