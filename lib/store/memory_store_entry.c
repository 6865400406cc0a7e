/*
 * lib/store/memory_store_entry.c - the memory store's entries inside one shard:
 * slab allocation with a free list, interning of (channel, tenant) ids with
 * a reference count and a table index, insertion into / removal from the
 * uthash table, and the LRU order (uthash's app-order list). Every function
 * here runs with the shard's lock held.
 */
#include <string.h>

#include "store/memory_store.h"
#include "sticky/error.h"

#define FIRST_SLAB 16u
#define MAX_SLAB 4096u

/* Keep head_hint equal to the LRU head's last access; INT64_MAX means
 * empty, so a head used at INT64_MAX is published as INT64_MAX - 1. */
void mem_hint_update(struct mem_shard *sh)
{
    int64_t h = INT64_MAX;
    if (sh->head != NULL) {
        h = mem_last_access(sh, sh->head);
        if (h == INT64_MAX)
            h = INT64_MAX - 1;
    }
    atomic_store_explicit(&sh->head_hint, h, memory_order_relaxed);
}

/* A free entry: a recycled one, else the next never-used one of the newest
 * slab (handed out in order, so untouched slab pages stay unfaulted). */
static struct mem_entry *entry_alloc(struct mem_shard *sh)
{
    struct mem_entry *e = sh->free_list;
    if (e != NULL) {
        sh->free_list = e->hh.next;
    } else {
        if (sh->slabs == NULL || sh->slab_used == sh->slabs->n) {
            size_t n = sh->next_slab_n != 0 ? sh->next_slab_n : FIRST_SLAB;
            struct mem_slab *slab = mem_malloc(
                sh->ctx, sizeof(*slab) + n * sizeof(struct mem_entry));
            if (slab == NULL)
                return NULL;
            slab->n = n;
            slab->next = sh->slabs;
            sh->slabs = slab;
            sh->slab_used = 0;
            sh->next_slab_n = n * 2 <= MAX_SLAB ? n * 2 : MAX_SLAB;
        }
        e = &sh->slabs->entries[sh->slab_used++];
    }
    memset(e, 0, sizeof(*e));
    return e;
}

static void entry_release(struct mem_shard *sh, struct mem_entry *e)
{
    e->hh.next = sh->free_list;
    sh->free_list = e;
}

/* Make room for one more pair index. */
static int pair_tab_grow(struct mem_shard *sh)
{
    if (sh->pair_cap >= MEM_MAX_PAIRS)
        return STICKY_ELIMIT;
    uint32_t cap = sh->pair_cap != 0 ? sh->pair_cap * 2 : 8;
    if (cap > MEM_MAX_PAIRS)
        cap = MEM_MAX_PAIRS;
    struct mem_pair **tab = mem_realloc(sh->ctx, sh->pair_tab, cap * sizeof(*tab));
    if (tab == NULL)
        return STICKY_ENOMEM;
    sh->pair_tab = tab;
    uint32_t *fi = mem_realloc(sh->ctx, sh->free_idx, cap * sizeof(*fi));
    if (fi == NULL)
        return STICKY_ENOMEM; /* the larger table is kept; cap unchanged */
    sh->free_idx = fi;
    sh->pair_cap = cap;
    return STICKY_OK;
}

/* Find or create the interned pair and take a reference; its table index
 * goes to *@idx. Returns 0, STICKY_ENOMEM or STICKY_ELIMIT. */
static int pair_ref(struct mem_shard *sh, const char *channel, const char *tenant,
                    uint32_t *idx)
{
    size_t clen = strlen(channel), tlen = strlen(tenant);
    char key[2 * STICKY_ID_SIZE];
    memcpy(key, channel, clen);
    key[clen] = '\0';
    memcpy(key + clen + 1, tenant, tlen);
    size_t klen = clen + 1 + tlen;

    struct mem_pair *p = NULL;
    HASH_FIND(hh, sh->pairs, key, (unsigned)klen, p);
    if (p == NULL) {
        if (sh->n_free == 0 && sh->pair_used == sh->pair_cap) {
            int rc = pair_tab_grow(sh);
            if (rc != STICKY_OK)
                return rc;
        }
        p = mem_malloc(sh->ctx, sizeof(*p) + klen + 1);
        if (p == NULL)
            return STICKY_ENOMEM;
        memset(p, 0, sizeof(*p));
        memcpy(p->text, key, klen);
        p->text[klen] = '\0';
        p->channel_len = (uint16_t)clen;
        p->tenant_len = (uint16_t)tlen;
        HASH_ADD_KEYPTR(hh, sh->pairs, p->text, (unsigned)klen, p);
        if (p->hh.tbl == NULL) { /* uthash could not grow its table */
            mem_free(sh->ctx, p);
            return STICKY_ENOMEM;
        }
        p->idx = sh->n_free != 0 ? sh->free_idx[--sh->n_free] : sh->pair_used++;
        sh->pair_tab[p->idx] = p;
    }
    p->refs++;
    *idx = p->idx;
    return STICKY_OK;
}

static void pair_unref(struct mem_shard *sh, uint32_t idx)
{
    struct mem_pair *p = sh->pair_tab[idx];
    if (--p->refs != 0)
        return;
    HASH_DELETE(hh, sh->pairs, p);
    sh->pair_tab[idx] = NULL;
    sh->free_idx[sh->n_free++] = idx;
    mem_free(sh->ctx, p);
}

const struct mem_pair *mem_pair_of(const struct mem_shard *sh,
                                   const struct mem_entry *e)
{
    return sh->pair_tab[mem_low_get(e->w_access)];
}

struct mem_entry *mem_find(struct mem_shard *sh, uint64_t key, unsigned hashv)
{
    struct mem_entry *e = NULL;
    HASH_FIND_BYHASHVALUE(hh, sh->head, &key, sizeof(key), hashv, e);
    return e;
}

int mem_insert(struct mem_shard *sh, uint64_t key, unsigned hashv,
               const char *channel, const char *tenant, int64_t now)
{
    struct mem_store *st = sh->store;
    struct mem_entry *e = entry_alloc(sh);
    if (e == NULL)
        return STICKY_ENOMEM;
    uint32_t idx;
    int rc = pair_ref(sh, channel, tenant, &idx);
    if (rc != STICKY_OK) {
        entry_release(sh, e);
        return rc;
    }
    e->key = key;
    mem_time_set(sh, &e->w_expires, mem_sat_add(now, st->ttl_ms));
    mem_low_set(&e->w_expires, 1);
    mem_time_set(sh, &e->w_access, now);
    mem_low_set(&e->w_access, idx);
    mem_time_set(sh, &e->w_created, now);
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, sh->head, &e->key, sizeof(e->key), hashv, e);
    if (e->hh.tbl == NULL) { /* uthash could not grow its table */
        pair_unref(sh, idx);
        entry_release(sh, e);
        return STICKY_ENOMEM;
    }
    sh->count++;
    mem_hint_update(sh);
    return STICKY_OK;
}

int mem_set_ids(struct mem_shard *sh, struct mem_entry *e, const char *channel,
                const char *tenant)
{
    uint32_t idx;
    int rc = pair_ref(sh, channel, tenant, &idx);
    if (rc != STICKY_OK)
        return rc;
    pair_unref(sh, mem_low_get(e->w_access));
    mem_low_set(&e->w_access, idx);
    return STICKY_OK;
}

void mem_remove(struct mem_shard *sh, struct mem_entry *e)
{
    HASH_DELETE(hh, sh->head, e);
    pair_unref(sh, mem_low_get(e->w_access));
    entry_release(sh, e);
    sh->count--;
    atomic_fetch_sub_explicit(&sh->store->count, 1, memory_order_relaxed);
    mem_hint_update(sh);
}

/* Move @e to the tail of the app-order list (most recently used). uthash
 * keeps that list in hh.prev / hh.next and tbl->tail; HASH_SORT rewrites
 * it the same way. The bucket chains are not touched. */
void mem_lru_touch(struct mem_shard *sh, struct mem_entry *e)
{
    UT_hash_table *tbl = e->hh.tbl;
    if (tbl->tail != &e->hh) {
        struct mem_entry *prev = e->hh.prev;
        struct mem_entry *next = e->hh.next; /* not NULL: e is not the tail */
        if (prev != NULL)
            prev->hh.next = next;
        else
            sh->head = next;
        next->hh.prev = prev;
        struct mem_entry *tail = ELMT_FROM_HH(tbl, tbl->tail);
        tail->hh.next = e;
        e->hh.prev = tail;
        e->hh.next = NULL;
        tbl->tail = &e->hh;
    }
    mem_hint_update(sh);
}

void mem_to_record(const struct mem_shard *sh, const struct mem_entry *e,
                   sticky_mapping *out)
{
    const struct mem_pair *p = mem_pair_of(sh, e);
    out->key = e->key;
    memcpy(out->channel_id, p->text, (size_t)p->channel_len + 1);
    memcpy(out->tenant_id, p->text + p->channel_len + 1, (size_t)p->tenant_len + 1);
    out->request_count = mem_count(e);
    out->created_ms = mem_created(sh, e);
    out->last_access_ms = mem_last_access(sh, e);
    out->expires_ms = mem_expires(sh, e);
}

void mem_shard_release(struct mem_shard *sh)
{
    struct mem_pair *p, *tmp;
    HASH_ITER(hh, sh->pairs, p, tmp) {
        HASH_DELETE(hh, sh->pairs, p);
        mem_free(sh->ctx, p);
    }
    HASH_CLEAR(hh, sh->head); /* frees the table; entries live in slabs */
    mem_free(sh->ctx, sh->pair_tab);
    mem_free(sh->ctx, sh->free_idx);
    sh->pair_tab = NULL;
    sh->free_idx = NULL;
    sh->pair_cap = sh->pair_used = sh->n_free = 0;
    while (sh->slabs != NULL) {
        struct mem_slab *next = sh->slabs->next;
        mem_free(sh->ctx, sh->slabs);
        sh->slabs = next;
    }
    sh->free_list = NULL;
    sh->slab_used = 0;
    sh->count = 0;
}
