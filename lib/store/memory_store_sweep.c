/*
 * lib/store/memory_store_sweep.c - how the memory store gives memory back: reclaiming
 * expired entries with bounded work (from the LRU head, plus a bucket
 * cursor that finds expired entries elsewhere in threshold mode) and
 * evicting the globally least recently used entry at the size cap.
 */
#include "store/memory_store.h"
#include "sticky/error.h"

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
            if (mem_expired(sh->store, e, now)) {
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
        if (!mem_expired(sh->store, sh->head, now))
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
    while (c < st->max_entries) {
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
        mem_reclaim(sh, sh->head, mem_expired(sh->store, sh->head, now));
    pthread_mutex_unlock(&sh->lock);
}
