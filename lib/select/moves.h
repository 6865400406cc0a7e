/*
 * lib/select/moves.h - signature memory: which sessions may carry another
 * channel's thinking signatures. A session that moved (failover, migrate)
 * keeps decision.moved_from on every decision on its new channel until a
 * success there is reported; a session that was served elsewhere for one
 * request (spill, side) gets moved_from on its next decision of that family
 * back on its bound channel, until a success there. The store's mapping
 * record has fixed fields, so this lives beside it, per context: a bounded
 * table keyed by session key (every key of the chain at the time), with the
 * session TTL as lifetime; when a bucket is full its oldest entry goes
 * (docs/selection.md, "Thinking signatures"). With a shared segment
 * (sticky_ctx_use_shm()) the table lives there instead, so a move made by
 * one worker is known to all: entries are position-independent, the
 * stripe locks robust (a stripe whose holder died is forgotten).
 */
#ifndef STICKY_MOVES_H
#define STICKY_MOVES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "util/context_internal.h"
#include "sticky/store.h"

#define MOVES_BUCKETS 512
#define MOVES_WAYS 8
#define MOVES_LOCKS 64 /* buckets are striped over these mutexes */

struct move_entry {
    uint64_t key;     /* session key; 0 = free slot */
    uint64_t group;   /* entries written by one event share it */
    int64_t expires_ms;
    uint32_t families; /* bit (1 << f) per enum sticky_model_family still
                        * pending: each family's requests carry moved_from
                        * until one of that family succeeds on @to */
    char from[STICKY_ID_SIZE]; /* reported as moved_from */
    char to[STICKY_ID_SIZE];   /* the channel it applies on */
};

struct sticky_shm;

struct move_table {
    const sticky_ctx *ctx;
    pthread_mutex_t locks[MOVES_LOCKS]; /* bucket b: locks[b % MOVES_LOCKS] */
    pthread_mutex_t alloc_lock;         /* guards allocating slots */
    _Atomic uint64_t own_live, own_group;
    /* Entries in use (0 = nothing to look up) and event ids: own_live /
     * own_group, or the segment's. */
    _Atomic uint64_t *live, *next_group;
    size_t buckets;             /* MOVES_BUCKETS, or the segment's */
    /* buckets * MOVES_WAYS, allocated on first use and published with a
     * release store (or the segment's region). */
    struct move_entry *_Atomic slots;
    struct sticky_shm *shm;     /* NULL: the table is this context's */
};

int moves_init(struct move_table *t, const sticky_ctx *ctx);
void moves_destroy(struct move_table *t);

/* Keep the table in @shm from now on (before any use). */
void moves_use_shm(struct move_table *t, struct sticky_shm *shm);

/* Remember that the session with @keys[0..n) may carry @from's signatures
 * on channel @to (for @family, ALL = any), until moves_success(). */
void moves_note(struct move_table *t, const uint64_t *keys, uint32_t n, const char *from,
                const char *to, int family, int64_t now, int64_t ttl_ms);

/* A decision on channel @to for the session with @keys: copies the pending
 * channel into @moved_from (STICKY_ID_SIZE) and returns 1, or 0. @deepest
 * is added to the entry's keys so its report finds it. */
int moves_lookup(struct move_table *t, const uint64_t *keys, uint32_t n, uint64_t deepest,
                 const char *to, int family, int64_t now, char *moved_from);

/* A success on @to for @key (family @family): that family is no longer
 * pending (a request without a model: none is); an entry with nothing
 * pending is forgotten with every key written with it. */
void moves_success(struct move_table *t, uint64_t key, const char *to, int family);

#endif /* STICKY_MOVES_H */
