/*
 * lib/shm/shm_lock.c - the segment's locks: robust, process-shared mutexes.
 * A process that dies holding one (SIGKILL included) leaves it to the
 * kernel, which hands the next locker EOWNERDEAD; that locker repairs what
 * the lock guards (a shard is rebuilt from its slots; the names tables are
 * insert-only and publish with a final flag, so they need nothing) and
 * marks the mutex consistent. Repair is bounded by the shard's size.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "shm/shm_internal.h"
#include "sticky/error.h"

/* How long a locker waits before it gives up with STICKY_ESTORE. */
#define LOCK_WAIT_SECONDS 2

int shm_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return STICKY_ESTORE;
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) {
        memset(m, 0, sizeof(*m));
        rc = pthread_mutex_init(m, &a);
    }
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? STICKY_OK : STICKY_ESTORE;
}

/* Take @m; on EOWNERDEAD run @repair(@s, @arg) first. */
static int lock_robust(struct sticky_shm *s, pthread_mutex_t *m, const char *what,
                       void (*repair)(struct sticky_shm *, uint32_t), uint32_t arg)
{
    int rc = pthread_mutex_trylock(m);
    if (rc == EBUSY) {
        /* Bounded: a holder that is stopped (SIGSTOP, a debugger) or a
         * damaged lock word makes this call fail, not hang the caller. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LOCK_WAIT_SECONDS;
        do
            rc = pthread_mutex_timedlock(m, &until);
        while (rc == EINTR);
    }
    if (rc == 0)
        return STICKY_OK;
    if (rc == EOWNERDEAD) {
        ctx_log(s->ctx, STICKY_LOG_WARN,
                "shm: a process died holding the %s lock%s; repairing", what,
                repair != NULL ? "" : " (nothing to repair)");
        if (repair != NULL)
            repair(s, arg);
        pthread_mutex_consistent(m);
        return STICKY_OK;
    }
    ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: %s lock: %s%s", what, strerror(rc),
            rc == ETIMEDOUT ? " (held for over 2 s by a live process: stopped, or "
                              "the lock word is damaged)" : "");
    return STICKY_ESTORE;
}

static void repair_shard(struct sticky_shm *s, uint32_t shard)
{
    shm_shard_repair(s, shard);
    atomic_fetch_add_explicit(&s->hdr->repairs, 1, memory_order_relaxed);
}

int shm_shard_lock(struct sticky_shm *s, uint32_t shard)
{
    return lock_robust(s, &s->shards[shard].lock, "shard", repair_shard, shard);
}

void shm_shard_unlock(struct sticky_shm *s, uint32_t shard)
{
    pthread_mutex_unlock(&s->shards[shard].lock);
}

int shm_names_lock(struct sticky_shm *s)
{
    return lock_robust(s, &s->hdr->names_lock, "names", NULL, 0);
}

void shm_names_unlock(struct sticky_shm *s)
{
    pthread_mutex_unlock(&s->hdr->names_lock);
}

/* A signature memory stripe whose writer died: forget its entries (a
 * session may lose its moved_from; nothing half-written is read). */
static void repair_moves(struct sticky_shm *s, uint32_t stripe)
{
    for (uint32_t b = stripe; b < SHM_MOVES_BUCKETS; b += SHM_MOVES_LOCKS)
        memset(s->moves + (size_t)b * SHM_MOVES_WAYS * SHM_MOVE_BYTES, 0,
               (size_t)SHM_MOVES_WAYS * SHM_MOVE_BYTES);
}

int shm_moves_lock(struct sticky_shm *s, uint32_t i)
{
    return lock_robust(s, &s->moves_locks[i % SHM_MOVES_LOCKS], "signature memory",
                       repair_moves, i % SHM_MOVES_LOCKS);
}

void shm_moves_unlock(struct sticky_shm *s, uint32_t i)
{
    pthread_mutex_unlock(&s->moves_locks[i % SHM_MOVES_LOCKS]);
}
