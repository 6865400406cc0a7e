/*
 * lib/shm/shm_shard.c - one shard of the session table, structurally:
 * chained buckets of slot numbers, a free list, never-used slots handed out
 * in order, the "being written" crash marker, and the repair that rebuilds
 * all of it from the slots' own contents. Every index read from the
 * segment is bounds-checked and every walk is bounded, so a damaged shard
 * is detected (and rebuilt) instead of followed. Callers hold the shard's
 * lock.
 */
#include <string.h>

#include "shm/shm_shard.h"
#include "sticky/error.h"

uint64_t shm_key_hash(uint64_t key)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return key;
}

int shm_slot_valid(struct sticky_shm *s, uint32_t shard, const struct shm_slot *e)
{
    if (e->state != SLOT_USED)
        return 0;
    if (shm_shard_of(s, shm_key_hash(e->key)) != shard)
        return 0;
    if (shm_channel_id(s, e->channel) == NULL)
        return 0;
    char t[STICKY_ID_SIZE];
    return shm_tenant_decode(s, e, t) == STICKY_OK;
}

int shard_find(struct sticky_shm *s, uint32_t shard, uint64_t key, uint64_t h, uint32_t *slot,
               uint32_t *prev)
{
    const uint32_t n = s->geo.slots_per_shard;
    struct shm_slot *slots = shard_slots(s, shard);
    uint32_t *bucket = &shard_buckets(s, shard)[shm_bucket_of(s, h)];
    uint32_t p = 0, v = *bucket;
    for (uint32_t steps = 0; v != 0; steps++) {
        if (v > n || steps >= n || slots[v - 1].state != SLOT_USED)
            return SHARD_CORRUPT;
        if (slots[v - 1].key == key) {
            *slot = v - 1;
            *prev = p;
            return SHARD_FOUND;
        }
        p = v;
        v = slots[v - 1].next;
    }
    return SHARD_ABSENT;
}

int shard_unlink(struct sticky_shm *s, uint32_t shard, uint32_t slot)
{
    struct shm_slot *slots = shard_slots(s, shard);
    uint32_t found, prev;
    int r = shard_find(s, shard, slots[slot].key, shm_key_hash(slots[slot].key), &found, &prev);
    if (r != SHARD_FOUND || found != slot)
        return SHARD_CORRUPT;
    uint32_t next = slots[slot].next;
    if (prev == 0)
        shard_buckets(s, shard)[shm_bucket_of(s, shm_key_hash(slots[slot].key))] = next;
    else
        slots[prev - 1].next = next;
    return SHARD_FOUND;
}

int shard_release(struct sticky_shm *s, uint32_t shard, uint32_t slot)
{
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *e = &shard_slots(s, shard)[slot];
    shard_mark(sh, slot);
    if (shard_unlink(s, shard, slot) != SHARD_FOUND) {
        shard_unmark(sh);
        return SHARD_CORRUPT;
    }
    e->state = SLOT_FREE;
    e->next = sh->free_head;
    sh->free_head = slot + 1;
    if (sh->count > 0)
        sh->count--;
    shard_unmark(sh);
    return SHARD_FOUND;
}

int shard_alloc(struct sticky_shm *s, uint32_t shard, uint32_t *slot)
{
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *slots = shard_slots(s, shard);
    const uint32_t n = s->geo.slots_per_shard;
    uint32_t v = sh->free_head;
    if (v != 0) {
        if (v > n || slots[v - 1].state != SLOT_FREE)
            return SHARD_CORRUPT;
        sh->free_head = slots[v - 1].next;
        *slot = v - 1;
        return SHARD_FOUND;
    }
    if (sh->fresh < n) {
        *slot = sh->fresh++;
        return SHARD_FOUND;
    }
    if (sh->fresh > n)
        return SHARD_CORRUPT;
    return SHARD_ABSENT;
}

void shard_link(struct sticky_shm *s, uint32_t shard, uint32_t slot, uint64_t h)
{
    uint32_t *bucket = &shard_buckets(s, shard)[shm_bucket_of(s, h)];
    shard_slots(s, shard)[slot].next = *bucket;
    *bucket = slot + 1;
}

void shm_shard_repair(struct sticky_shm *s, uint32_t shard)
{
    struct shm_header *hdr = s->hdr;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *slots = shard_slots(s, shard);
    const uint32_t n = hdr->slots_per_shard;
    uint32_t cap = hdr->sizes.max_sessions / hdr->sizes.shard_count +
                   (shard < hdr->sizes.max_sessions % hdr->sizes.shard_count ? 1u : 0u);
    uint32_t fresh = sh->fresh <= n ? sh->fresh : n;
    uint32_t writing = sh->writing;
    memset(shard_buckets(s, shard), 0, (size_t)hdr->buckets_per_shard * 4);
    sh->cap = cap;
    sh->count = 0;
    sh->free_head = 0;
    /* Build the free list from the top so that it hands out low slots first. */
    for (uint32_t i = fresh; i-- > 0;) {
        struct shm_slot *e = &slots[i];
        int keep = i + 1 != writing && sh->count < cap && shm_slot_valid(s, shard, e);
        if (keep) {
            uint64_t h = shm_key_hash(e->key);
            uint32_t dup, prev;
            if (shard_find(s, shard, e->key, h, &dup, &prev) == SHARD_ABSENT) {
                shard_link(s, shard, i, h);
                sh->count++;
                continue;
            }
        }
        e->state = SLOT_FREE;
        e->next = sh->free_head;
        sh->free_head = i + 1;
    }
    sh->fresh = fresh;
    sh->hand = sh->hand < n ? sh->hand : 0;
    shard_unmark(sh);
}

int shm_test_hold_shard(struct sticky_shm *s, uint64_t key, int scribble)
{
    uint32_t shard = shm_shard_of(s, shm_key_hash(key));
    int rc = shm_shard_lock(s, shard);
    if (rc != STICKY_OK || !scribble)
        return rc;
    uint32_t slot, prev;
    if (shard_find(s, shard, key, shm_key_hash(key), &slot, &prev) == SHARD_FOUND) {
        struct shm_slot *e = &shard_slots(s, shard)[slot];
        shard_mark(&s->shards[shard], slot);
        e->channel = 0xffff;              /* half a write: an impossible channel */
        e->expires_ms = INT64_MAX;
    }
    return STICKY_OK;
}
