/*
 * lib/store/memory_store_sweep.c - how the memory store gives memory back: reclaiming
 * expired entries with bounded work (from the LRU head, plus a bucket
 * cursor that finds expired entries elsewhere in threshold mode),
 * evicting the globally least recently used entry at the size cap, and
 * following clock jumps: re-basing a shard's packed times when now leaves
 * their window (dropping what is dead at the new time).
 */
#include "store/memory_store.h"
#include "sticky/error.h"

int mem_expired_slow(const struct mem_shard *sh, const struct mem_entry *e,
                     int64_t now)
{
    struct mem_store *st = sh->store;
    if (!atomic_load_explicit(&st->back_logged, memory_order_relaxed) &&
        !atomic_exchange_explicit(&st->back_logged, 1, memory_order_relaxed))
        ctx_log(st->ctx, STICKY_LOG_WARN,
                "memory store: the clock went back (now %lld, a mapping expires at "
                "%lld, more than TTL + %llds ahead): mappings from the future are "
                "treated as expired (logged once)",
                (long long)now, (long long)mem_expires(sh, e),
                (long long)((st->future_ms - st->ttl_ms) / 1000));
    return 1;
}

void mem_set_base(struct mem_shard *sh, int64_t base)
{
    if (base < MEM_BASE_MIN)
        base = MEM_BASE_MIN;
    if (base > MEM_BASE_MAX)
        base = MEM_BASE_MAX;
    const int64_t reach = MEM_TIME_BIAS - MEM_TIME_MARGIN;
    sh->base_ms = base;
    /* At an end of the int64 range the window reaches it: times there
     * saturate, so no re-base could help. */
    sh->win_lo = base == MEM_BASE_MIN ? INT64_MIN : base - reach;
    sh->win_hi = base == MEM_BASE_MAX ? INT64_MAX : base + reach;
}

void mem_rebase_if_needed(struct mem_shard *sh, int64_t now)
{
    if (now >= sh->win_lo && now <= sh->win_hi)
        return;
    struct mem_store *st = sh->store;
    int64_t old_base = sh->base_ms;
    size_t dropped = 0, kept = 0;
    /* Dead at the new time (expired, or from the future after the clock
     * went back): reclaimed, decoded with the old base. */
    struct mem_entry *e = sh->head, *next;
    for (; e != NULL; e = next) {
        next = e->hh.next;
        if (mem_expired(sh, e, now)) {
            mem_reclaim(sh, e, 1);
            dropped++;
        }
    }
    /* The live rest: now < expires <= now + future_ms, exact in the new
     * window; created and last access are clamped to it if older. */
    mem_set_base(sh, now);
    for (e = sh->head; e != NULL; e = e->hh.next) {
        mem_time_encode(sh->base_ms, &e->w_expires,
                        mem_time_decode(old_base, e->w_expires));
        mem_time_encode(sh->base_ms, &e->w_access, mem_time_decode(old_base, e->w_access));
        mem_time_encode(sh->base_ms, &e->w_created,
                        mem_time_decode(old_base, e->w_created));
        kept++;
    }
    mem_hint_update(sh);
    int first = !atomic_load_explicit(&st->jump_logged, memory_order_relaxed) &&
                !atomic_exchange_explicit(&st->jump_logged, 1, memory_order_relaxed);
    ctx_log(st->ctx, first ? STICKY_LOG_WARN : STICKY_LOG_DEBUG,
            "memory store: the clock jumped to %lld, more than %lld days from the "
            "shard's time base %lld: re-based, %zu mappings dead at the new time "
            "dropped, %zu kept%s",
            (long long)now, (long long)((MEM_TIME_BIAS - MEM_TIME_MARGIN) / 86400000),
            (long long)old_base, dropped, kept,
            first ? " (later re-bases are logged at debug level)" : "");
}

void mem_reclaim(struct mem_shard *sh, struct mem_entry *e, int expired)
{
    if (expired)
        sh->c.expirations++;
    else
        sh->c.evictions++;
    mem_remove(sh, e);
}

/*
 * Threshold mode only: expiry order is not LRU order there (a use that
 * does not renew moves an entry to the tail without changing its expiry),
 * so walk the buckets with a persistent cursor. One call visits each
 * bucket at most once; every entry examined and every empty bucket
 * visited counts against the budget (uthash never shrinks its bucket
 * array, so a table emptied by deletes can be mostly empty buckets).
 */
static size_t sweep_buckets(struct mem_shard *sh, int64_t now, size_t budget,
                            size_t *examined)
{
    size_t reclaimed = 0;
    if (sh->head == NULL)
        return 0;
    UT_hash_table *tbl = sh->head->hh.tbl;
    uint32_t nb = tbl->num_buckets;
    if (sh->cursor_bucket >= nb) {
        sh->cursor_bucket = 0;
        sh->cursor_pos = 0;
    }
    for (uint32_t visited = 0; visited < nb && *examined < budget; visited++) {
        UT_hash_handle *hh = tbl->buckets[sh->cursor_bucket].hh_head;
        uint32_t pos = 0;
        if (hh == NULL)
            (*examined)++; /* an empty bucket costs a unit of work too */
        for (; hh != NULL && pos < sh->cursor_pos; pos++)
            hh = hh->hh_next;
        while (hh != NULL) {
            if (*examined >= budget) {
                sh->cursor_pos = pos;
                return reclaimed;
            }
            (*examined)++;
            UT_hash_handle *next = hh->hh_next;
            struct mem_entry *e = ELMT_FROM_HH(tbl, hh);
            if (mem_expired(sh, e, now)) {
                int last = sh->count == 1;
                mem_reclaim(sh, e, 1);
                reclaimed++;
                if (last) /* uthash freed the table with the last entry */
                    return reclaimed;
            } else {
                pos++;
            }
            hh = next;
        }
        sh->cursor_bucket = (sh->cursor_bucket + 1) & (nb - 1);
        sh->cursor_pos = 0;
    }
    return reclaimed;
}

size_t mem_sweep_shard(struct mem_shard *sh, int64_t now, size_t budget,
                       size_t *examined, int stragglers)
{
    size_t reclaimed = 0;
    /* LRU head first: in sliding mode expiry follows LRU order exactly. */
    while (sh->head != NULL && *examined < budget) {
        (*examined)++;
        if (!mem_expired(sh, sh->head, now))
            break;
        mem_reclaim(sh, sh->head, 1);
        reclaimed++;
    }
    if (stragglers && sh->store->renew_mode == STICKY_RENEW_THRESHOLD &&
        *examined < budget)
        reclaimed += sweep_buckets(sh, now, budget, examined);
    return reclaimed;
}

int mem_try_reserve(struct mem_store *st)
{
    size_t c = atomic_load_explicit(&st->count, memory_order_relaxed);
    while (c < st->max_sessions) {
        if (atomic_compare_exchange_weak_explicit(&st->count, &c, c + 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
    return 0;
}

/*
 * Each shard's LRU head is its least recently used entry, so the oldest
 * head hint names the globally least recently used entry. Reading the
 * hints needs no lock; only the victim's shard is locked. If the victim's
 * shard emptied meanwhile, the caller simply tries again.
 */
void mem_evict_one(struct mem_store *st, int64_t now)
{
    uint32_t best = 0;
    int64_t oldest = INT64_MAX;
    for (uint32_t i = 0; i <= st->shard_mask; i++) {
        int64_t h = atomic_load_explicit(&st->shards[i].head_hint,
                                         memory_order_relaxed);
        if (h < oldest) {
            oldest = h;
            best = i;
        }
    }
    if (oldest == INT64_MAX)
        return; /* all empty: slots are held by inserts in progress */
    struct mem_shard *sh = &st->shards[best];
    pthread_mutex_lock(&sh->lock);
    if (sh->head != NULL)
        mem_reclaim(sh, sh->head, mem_expired(sh, sh->head, now));
    pthread_mutex_unlock(&sh->lock);
}
