/*
 * lib/memstore_entry.c - the memory store's entries inside one shard:
 * slab allocation with a free list, interning of (channel, tenant) ids with
 * a reference count, insertion into / removal from the uthash table, the
 * LRU order (uthash's app-order list) and the packed creation time and
 * request count. Every function here runs with the shard's lock held.
 */
#include <string.h>

#include "memstore.h"
#include "sticky/error.h"

#define FIRST_SLAB 16u
#define MAX_SLAB 4096u
#define CREATED_BIAS ((int64_t)1 << (MEM_CREATED_BITS - 1))

/* Keep head_hint equal to the LRU head's last access. */
static void hint_update(struct mem_shard *sh)
{
    atomic_store_explicit(&sh->head_hint,
                          sh->head != NULL ? sh->head->last_access_ms : INT64_MAX,
                          memory_order_relaxed);
}

static struct mem_entry *entry_alloc(struct mem_shard *sh)
{
    if (sh->free_list == NULL) {
        size_t n = sh->next_slab_n != 0 ? sh->next_slab_n : FIRST_SLAB;
        struct mem_slab *slab = sticky_malloc(
            sh->ctx, sizeof(*slab) + n * sizeof(struct mem_entry));
        if (slab == NULL)
            return NULL;
        slab->n = n;
        slab->next = sh->slabs;
        sh->slabs = slab;
        for (size_t i = n; i-- > 0;) {
            slab->entries[i].hh.next = sh->free_list;
            sh->free_list = &slab->entries[i];
        }
        sh->next_slab_n = n * 2 <= MAX_SLAB ? n * 2 : MAX_SLAB;
    }
    struct mem_entry *e = sh->free_list;
    sh->free_list = e->hh.next;
    memset(e, 0, sizeof(*e));
    return e;
}

static void entry_release(struct mem_shard *sh, struct mem_entry *e)
{
    e->pair = NULL;
    e->hh.next = sh->free_list;
    sh->free_list = e;
}

/* Find or create the interned pair; takes a reference. NULL on OOM. */
static struct mem_pair *pair_ref(struct mem_shard *sh, const char *channel,
                                 const char *tenant)
{
    size_t clen = strlen(channel), tlen = strlen(tenant);
    char key[2 * STICKY_ID_MAX];
    memcpy(key, channel, clen);
    key[clen] = '\0';
    memcpy(key + clen + 1, tenant, tlen);
    size_t klen = clen + 1 + tlen;

    struct mem_pair *p = NULL;
    HASH_FIND(hh, sh->pairs, key, (unsigned)klen, p);
    if (p == NULL) {
        p = sticky_malloc(sh->ctx, sizeof(*p) + klen + 1);
        if (p == NULL)
            return NULL;
        memset(p, 0, sizeof(*p));
        memcpy(p->text, key, klen);
        p->text[klen] = '\0';
        p->channel_len = (uint16_t)clen;
        p->tenant_len = (uint16_t)tlen;
        HASH_ADD_KEYPTR(hh, sh->pairs, p->text, (unsigned)klen, p);
        if (p->hh.tbl == NULL) { /* uthash could not grow its table */
            sticky_free(sh->ctx, p);
            return NULL;
        }
    }
    p->refs++;
    return p;
}

static void pair_unref(struct mem_shard *sh, struct mem_pair *p)
{
    if (p == NULL || --p->refs != 0)
        return;
    HASH_DELETE(hh, sh->pairs, p);
    sticky_free(sh->ctx, p);
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
    struct mem_entry *e = entry_alloc(sh);
    if (e == NULL)
        return STICKY_ENOMEM;
    e->pair = pair_ref(sh, channel, tenant);
    if (e->pair == NULL) {
        entry_release(sh, e);
        return STICKY_ENOMEM;
    }
    e->key = key;
    e->expires_ms = now + sh->store->ttl_ms;
    e->last_access_ms = now;
    mem_set_created(sh->store, e, now);
    mem_set_count(e, 1);
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, sh->head, &e->key, sizeof(e->key), hashv, e);
    if (e->hh.tbl == NULL) { /* uthash could not grow its table */
        pair_unref(sh, e->pair);
        entry_release(sh, e);
        return STICKY_ENOMEM;
    }
    sh->count++;
    hint_update(sh);
    return STICKY_OK;
}

int mem_set_ids(struct mem_shard *sh, struct mem_entry *e, const char *channel,
                const char *tenant)
{
    struct mem_pair *p = pair_ref(sh, channel, tenant);
    if (p == NULL)
        return STICKY_ENOMEM;
    pair_unref(sh, e->pair);
    e->pair = p;
    return STICKY_OK;
}

void mem_remove(struct mem_shard *sh, struct mem_entry *e)
{
    HASH_DELETE(hh, sh->head, e);
    pair_unref(sh, e->pair);
    entry_release(sh, e);
    sh->count--;
    atomic_fetch_sub_explicit(&sh->store->count, 1, memory_order_relaxed);
    hint_update(sh);
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
    hint_update(sh);
}

void mem_set_created(struct mem_store *st, struct mem_entry *e, int64_t t)
{
    int64_t off = t - st->base_ms;
    if (off < -CREATED_BIAS)
        off = -CREATED_BIAS;
    if (off > CREATED_BIAS - 1)
        off = CREATED_BIAS - 1;
    uint64_t u = (uint64_t)(off + CREATED_BIAS);
    e->created_count = (u << MEM_COUNT_BITS) | (e->created_count & MEM_COUNT_MAX);
}

int64_t mem_created(const struct mem_store *st, const struct mem_entry *e)
{
    int64_t u = (int64_t)(e->created_count >> MEM_COUNT_BITS);
    return st->base_ms + u - CREATED_BIAS;
}

uint32_t mem_count(const struct mem_entry *e)
{
    return (uint32_t)(e->created_count & MEM_COUNT_MAX);
}

void mem_set_count(struct mem_entry *e, uint32_t n)
{
    if (n > MEM_COUNT_MAX)
        n = MEM_COUNT_MAX;
    e->created_count = (e->created_count & ~(uint64_t)MEM_COUNT_MAX) | n;
}

void mem_to_record(const struct mem_store *st, const struct mem_entry *e,
                   sticky_mapping *out)
{
    const struct mem_pair *p = e->pair;
    out->key = e->key;
    memcpy(out->channel_id, p->text, (size_t)p->channel_len + 1);
    memcpy(out->tenant_id, p->text + p->channel_len + 1, (size_t)p->tenant_len + 1);
    out->request_count = mem_count(e);
    out->created_ms = mem_created(st, e);
    out->last_access_ms = e->last_access_ms;
    out->expires_ms = e->expires_ms;
}

void mem_shard_release(struct mem_shard *sh)
{
    struct mem_pair *p, *tmp;
    HASH_ITER(hh, sh->pairs, p, tmp) {
        HASH_DELETE(hh, sh->pairs, p);
        sticky_free(sh->ctx, p);
    }
    HASH_CLEAR(hh, sh->head); /* frees the table; entries live in slabs */
    while (sh->slabs != NULL) {
        struct mem_slab *next = sh->slabs->next;
        sticky_free(sh->ctx, sh->slabs);
        sh->slabs = next;
    }
    sh->free_list = NULL;
    sh->count = 0;
}
