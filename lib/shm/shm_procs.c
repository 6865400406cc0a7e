/*
 * lib/shm/shm_procs.c - in-flight counts shared by processes, with leases.
 * Each attached process takes a row of the process table (owner pid and
 * start time) on first use; its in-flight units on channel c are
 * held[row][c], written only by that process. A channel's count is the
 * sum over rows, so nothing a process holds is ever separate from the
 * record of who holds it: when a process dies, its row still says how much
 * it held and a reclaimer simply zeroes the row. A reservation under a cap
 * adds first and then sums (sequentially consistent): two processes racing
 * for the last unit can both see the other and both back off (retried a
 * few times), but never both win. A fork gets its own row.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm/shm_internal.h"
#include "sticky/error.h"

#define RESERVE_TRIES 4
#define RECLAIM_INTERVAL_MS 1000

/* Bumped in every child after fork(): a handle's row belongs to the
 * generation that took it. */
static _Atomic uint64_t fork_generation = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t start_time_of(const char *stat_path)
{
    FILE *f = fopen(stat_path, "re");
    if (f == NULL)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22 (starttime) counts from after the ")" that ends field 2. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    unsigned long long v = 0;
    int field = 2;
    for (p++; *p != '\0' && field < 22; p++) {
        if (*p == ' ')
            field++;
        if (field == 22) {
            if (sscanf(p + 1, "%llu", &v) != 1)
                return 0;
            break;
        }
    }
    return (uint64_t)v;
}

uint64_t shm_self_start_time(void)
{
    return start_time_of("/proc/self/stat");
}

int shm_pid_alive(uint32_t pid, uint64_t start)
{
    if (pid == 0)
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (start == 0)
        return 1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%u/stat", pid);
    uint64_t now = start_time_of(path);
    return now == 0 || now == start; /* 0: unreadable, trust kill() */
}

static _Atomic uint16_t *held_row(struct sticky_shm *s, uint32_t row)
{
    return s->held + (size_t)row * s->geo.sizes.max_channels;
}

/* Zero @row's counts and free it; the caller owns it (pid or reclaim flag). */
static void row_clear(struct sticky_shm *s, uint32_t row)
{
    _Atomic uint16_t *h = held_row(s, row);
    for (uint32_t c = 0; c < s->geo.sizes.max_channels; c++)
        atomic_store_explicit(&h[c], 0, memory_order_seq_cst);
    atomic_store_explicit(&s->procs[row].start_time, 0, memory_order_relaxed);
    atomic_store_explicit(&s->procs[row].owner, 0, memory_order_release);
}

uint32_t shm_reclaim_dead(struct sticky_shm *s)
{
    uint32_t me = (uint32_t)getpid(), n = 0;
    uint32_t hwm = atomic_load_explicit(&s->hdr->procs_hwm, memory_order_acquire);
    if (hwm > s->geo.sizes.max_processes)
        hwm = s->geo.sizes.max_processes;
    for (uint32_t r = 0; r < hwm; r++) {
        struct shm_proc *p = &s->procs[r];
        uint64_t owner = atomic_load_explicit(&p->owner, memory_order_acquire);
        uint32_t pid = (uint32_t)owner;
        if (owner == 0 || pid == me)
            continue;
        uint64_t start = (owner & PROC_RECLAIMING) ? 0 : atomic_load(&p->start_time);
        if (shm_pid_alive(pid, start))
            continue;
        /* Claim the dead row (a dead reclaimer's too), then zero it. */
        if (!atomic_compare_exchange_strong(&p->owner, &owner, PROC_RECLAIMING | me))
            continue;
        row_clear(s, r);
        atomic_fetch_add_explicit(&s->hdr->reclaimed_processes, 1, memory_order_relaxed);
        ctx_log(s->ctx, STICKY_LOG_INFO,
                "shm: process %u is gone; its in-flight counts were given back", pid);
        n++;
    }
    return n;
}

int shm_reclaim_maybe(struct sticky_shm *s, int64_t now_ms)
{
    int64_t last = atomic_load_explicit(&s->last_reclaim_ms, memory_order_relaxed);
    /* Unsigned difference: any two int64 clock readings are fine. */
    if (last != INT64_MIN && now_ms >= last &&
        (uint64_t)now_ms - (uint64_t)last < RECLAIM_INTERVAL_MS)
        return 0;
    if (!atomic_compare_exchange_strong(&s->last_reclaim_ms, &last, now_ms))
        return 0; /* another thread of this process is at it */
    return shm_reclaim_dead(s) > 0;
}

/* This process's row, taken on first use (and again after a fork). -1
 * when the table is full of live processes. */
static int my_row(struct sticky_shm *s)
{
    pthread_once(&atfork_once, register_atfork);
    uint64_t gen = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    int row = atomic_load_explicit(&s->row, memory_order_acquire);
    if (row >= 0 && atomic_load_explicit(&s->row_gen, memory_order_relaxed) == gen)
        return row;
    pthread_mutex_lock(&s->row_lock);
    row = atomic_load_explicit(&s->row, memory_order_relaxed);
    if (row >= 0 && atomic_load_explicit(&s->row_gen, memory_order_relaxed) == gen)
        goto out;
    uint32_t me = (uint32_t)getpid();
    uint64_t start = shm_self_start_time();
    row = -1;
    for (int pass = 0; pass < 2 && row < 0; pass++) {
        if (pass == 1)
            shm_reclaim_dead(s);
        for (uint32_t r = 0; r < s->geo.sizes.max_processes; r++) {
            uint64_t free_owner = 0;
            if (atomic_compare_exchange_strong(&s->procs[r].owner, &free_owner, me)) {
                atomic_store(&s->procs[r].start_time, start);
                uint32_t hwm = atomic_load(&s->hdr->procs_hwm);
                while (hwm < r + 1 &&
                       !atomic_compare_exchange_weak(&s->hdr->procs_hwm, &hwm, r + 1))
                    ;
                row = (int)r;
                break;
            }
        }
    }
    if (row < 0) {
        if (!atomic_exchange_explicit(&s->procs_full_logged, 1, memory_order_relaxed))
            ctx_log(s->ctx, STICKY_LOG_ERROR,
                    "shm: process table full (%u live processes): this process cannot "
                    "count in-flight requests; capped channels refuse it (raise "
                    "max_processes)",
                    s->geo.sizes.max_processes);
    } else {
        atomic_store_explicit(&s->row_gen, gen, memory_order_relaxed);
        atomic_store_explicit(&s->row, row, memory_order_release);
    }
out:
    pthread_mutex_unlock(&s->row_lock);
    return row;
}

uint32_t shm_inflight_count(struct sticky_shm *s, uint32_t index)
{
    if (index >= s->geo.sizes.max_channels)
        return 0;
    uint32_t hwm = atomic_load_explicit(&s->hdr->procs_hwm, memory_order_seq_cst);
    if (hwm > s->geo.sizes.max_processes)
        hwm = s->geo.sizes.max_processes;
    uint32_t sum = 0;
    for (uint32_t r = 0; r < hwm; r++)
        sum += atomic_load_explicit(&held_row(s, r)[index], memory_order_seq_cst);
    return sum;
}

int shm_inflight_reserve(struct sticky_shm *s, uint32_t index, uint32_t cap, int64_t now_ms)
{
    if (index >= s->geo.sizes.max_channels)
        return cap == 0;
    int row = my_row(s);
    if (row < 0)
        return cap == 0;
    _Atomic uint16_t *mine = &held_row(s, (uint32_t)row)[index];
    for (int tries = 0; tries < RESERVE_TRIES; tries++) {
        if (atomic_load_explicit(mine, memory_order_relaxed) == UINT16_MAX)
            return 0;
        atomic_fetch_add_explicit(mine, 1, memory_order_seq_cst);
        if (cap == 0)
            return 1;
        uint32_t sum = shm_inflight_count(s, index);
        if (sum <= cap)
            return 1;
        atomic_fetch_sub_explicit(mine, 1, memory_order_seq_cst);
        /* Over the cap: maybe a dead process still holds units. */
        if (shm_reclaim_maybe(s, now_ms))
            continue;
        /* Full without us, or only because others were racing us for
         * the last units (they back off too): look again, then retry. */
        if (shm_inflight_count(s, index) >= cap)
            return 0;
    }
    return 0;
}

void shm_inflight_release(struct sticky_shm *s, uint32_t index)
{
    if (index >= s->geo.sizes.max_channels)
        return;
    int row = atomic_load_explicit(&s->row, memory_order_acquire);
    pthread_once(&atfork_once, register_atfork);
    if (row < 0 || atomic_load_explicit(&s->row_gen, memory_order_relaxed) !=
                       atomic_load_explicit(&fork_generation, memory_order_relaxed))
        return; /* taken before a fork, by the parent's row */
    _Atomic uint16_t *mine = &held_row(s, (uint32_t)row)[index];
    uint16_t cur = atomic_load_explicit(mine, memory_order_relaxed);
    while (cur > 0 && !atomic_compare_exchange_weak_explicit(mine, &cur, (uint16_t)(cur - 1),
                                                             memory_order_seq_cst,
                                                             memory_order_relaxed))
        ;
}

void shm_proc_detach(struct sticky_shm *s)
{
    int row = atomic_load(&s->row);
    if (row < 0 || atomic_load(&s->row_gen) != atomic_load(&fork_generation))
        return;
    uint64_t owner = (uint32_t)getpid();
    if (atomic_compare_exchange_strong(&s->procs[row].owner, &owner, PROC_RECLAIMING | owner))
        row_clear(s, (uint32_t)row);
    atomic_store(&s->row, -1);
}
