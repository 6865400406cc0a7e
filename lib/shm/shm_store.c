/*
 * lib/shm/shm_store.c - the session store on a shared segment: the
 * sticky_store vtable (get, put, touch, delete, sweep, stats, destroy) over
 * the shards of shm_shard.c, with the memory store's semantics (TTL,
 * threshold or sliding renewal, the clock-went-back rule, counters). A
 * mapping is copied out only after its channel and tenant decode; a slot
 * that does not (damage) makes the shard be rebuilt, never returned.
 */
#include <string.h>

#include "shm/shm_shard.h"
#include "util/health_record.h"
#include "sticky/error.h"

#define EVICT_SAMPLE 32u
#define FUTURE_SLACK_MS 60000

struct shm_store {
    struct sticky_shm *shm;
    sticky_ctx *ctx;          /* the store's context (allocation) */
    int64_t ttl_ms, threshold_ms, future_ms;
    int renew_mode;
    uint32_t sweep_on_write;
};

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Live at @now: not expired, and not from the future (the clock went back
 * by more than TTL + max(TTL, 60 s): treated as expired). */
static int live(const struct shm_store *st, const struct shm_slot *e, int64_t now)
{
    if (now >= e->expires_ms)
        return 0;
    return (uint64_t)e->expires_ms - (uint64_t)now <= (uint64_t)st->future_ms;
}

static int to_record(struct sticky_shm *s, const struct shm_slot *e, sticky_mapping *out)
{
    const char *ch = shm_channel_id(s, e->channel);
    if (ch == NULL || shm_tenant_decode(s, e, out->tenant_id) != STICKY_OK)
        return STICKY_ECORRUPT;
    out->key = e->key;
    size_t n = strnlen(ch, STICKY_ID_SIZE - 1);
    memcpy(out->channel_id, ch, n);
    out->channel_id[n] = '\0';
    out->request_count = e->count;
    out->created_ms = e->created_ms;
    out->last_access_ms = e->last_access_ms;
    out->expires_ms = e->expires_ms;
    return STICKY_OK;
}

static void repair_locked(struct sticky_shm *s, uint32_t shard, const char *why)
{
    ctx_log(s->ctx, STICKY_LOG_WARN, "shm: shard %u damaged (%s); rebuilt from its slots",
            shard, why);
    shm_shard_repair(s, shard);
    atomic_fetch_add_explicit(&s->hdr->repairs, 1, memory_order_relaxed);
}

/* Lock @key's shard and find its slot (repairing a damaged shard once).
 * Returns 0 with the shard locked and *@found 0/1, or STICKY_ESTORE. */
static int lock_find(struct sticky_shm *s, uint64_t key, uint32_t *shard, uint32_t *slot,
                     int *found)
{
    uint64_t h = shm_key_hash(key);
    *shard = shm_shard_of(s, h);
    int rc = shm_shard_lock(s, *shard);
    if (rc != STICKY_OK)
        return rc;
    const struct shm_shard *sh = &s->shards[*shard];
    const uint32_t n = s->geo.slots_per_shard;
    if (sh->cap == 0 || sh->cap > n || sh->count > sh->cap || sh->fresh > n ||
        sh->free_head > n || sh->writing > n)
        repair_locked(s, *shard, "shard header out of range");
    uint32_t prev;
    int r = shard_find(s, *shard, key, h, slot, &prev);
    if (r == SHARD_FOUND && !shm_slot_valid(s, *shard, &shard_slots(s, *shard)[*slot])) {
        repair_locked(s, *shard, "a mapping does not decode");
        r = shard_find(s, *shard, key, h, slot, &prev);
    } else if (r == SHARD_CORRUPT) {
        repair_locked(s, *shard, "a chain is broken");
        r = shard_find(s, *shard, key, h, slot, &prev);
    }
    if (r == SHARD_CORRUPT) {
        shm_shard_unlock(s, *shard);
        return STICKY_ESTORE;
    }
    *found = r == SHARD_FOUND;
    return STICKY_OK;
}

static void reclaim_expired(struct sticky_shm *s, uint32_t shard, uint32_t slot)
{
    if (shard_release(s, shard, slot) == SHARD_FOUND)
        s->shards[shard].c.expirations++;
    else
        repair_locked(s, shard, "unlink failed");
}

static void renew_on_use(struct shm_store *st, struct shm_shard *sh, struct shm_slot *e,
                         int64_t now)
{
    if (st->renew_mode == STICKY_RENEW_SLIDING ||
        e->expires_ms < sat_add(now, st->threshold_ms)) {
        int64_t x = sat_add(now, st->ttl_ms);
        if (x > e->expires_ms)
            e->expires_ms = x;
        sh->c.renewals++;
    }
}

static int shm_get(void *self, uint64_t key, int64_t now, unsigned flags, sticky_mapping *out)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    int peek = (flags & STICKY_STORE_PEEK) != 0;
    uint32_t shard, slot;
    int found;
    int rc = lock_find(s, key, &shard, &slot, &found);
    if (rc != STICKY_OK)
        return rc;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *e = found ? &shard_slots(s, shard)[slot] : NULL;
    if (e == NULL || !live(st, e, now)) {
        if (!peek) {
            sh->c.misses++;
            if (e != NULL)
                reclaim_expired(s, shard, slot);
        }
        shm_shard_unlock(s, shard);
        return STICKY_ENOTFOUND;
    }
    if (!peek) {
        sh->c.hits++;
        shard_mark(sh, slot);
        if (e->count != UINT32_MAX)
            e->count++;
        if (now > e->last_access_ms)
            e->last_access_ms = now;
        renew_on_use(st, sh, e, now);
        shard_unmark(sh);
    }
    rc = to_record(s, e, out);
    shm_shard_unlock(s, shard);
    return rc;
}

/* Make room in a full shard: an expired mapping among up to EVICT_SAMPLE
 * examined from the hand, else the least recently used of them. */
static void evict_one(struct shm_store *st, uint32_t shard, int64_t now)
{
    struct sticky_shm *s = st->shm;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *slots = shard_slots(s, shard);
    uint32_t n = shard_fresh(s, shard), best = UINT32_MAX, seen = 0, i = sh->hand;
    if (n == 0)
        return;
    for (uint32_t step = 0; step < n && seen < EVICT_SAMPLE; step++) {
        if (i >= n)
            i = 0;
        struct shm_slot *e = &slots[i];
        if (e->state == SLOT_USED) {
            if (!live(st, e, now)) {
                sh->hand = i + 1;
                reclaim_expired(s, shard, i);
                return;
            }
            if (best == UINT32_MAX || e->last_access_ms < slots[best].last_access_ms)
                best = i;
            seen++;
        }
        i++;
    }
    sh->hand = i;
    if (best == UINT32_MAX)
        return;
    if (shard_release(s, shard, best) == SHARD_FOUND)
        sh->c.evictions++;
    else
        repair_locked(s, shard, "unlink failed");
}

/* Reclaim expired mappings among @budget slots from the hand. */
static size_t sweep_shard(struct shm_store *st, uint32_t shard, int64_t now, size_t budget)
{
    struct sticky_shm *s = st->shm;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *slots = shard_slots(s, shard);
    uint32_t n = shard_fresh(s, shard);
    size_t reclaimed = 0;
    if (n == 0)
        return 0;
    uint32_t i = sh->hand < n ? sh->hand : 0;
    for (size_t k = 0; k < budget && k < n; k++) {
        if (slots[i].state == SLOT_USED && !live(st, &slots[i], now)) {
            reclaim_expired(s, shard, i);
            reclaimed++;
        }
        i = i + 1 < n ? i + 1 : 0;
    }
    sh->hand = i;
    return reclaimed;
}

static int shm_put(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                   sticky_mapping *existing)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    /* Names first (they take the names lock; never under a shard lock). */
    struct shm_slot fresh;
    memset(&fresh, 0, sizeof(fresh));
    uint32_t ch;
    if (shm_channel_get(s, m->channel_id, fnv1a64(m->channel_id), 1, &ch) == NULL)
        return STICKY_ELIMIT;
    int rc = shm_tenant_encode(s, m->tenant_id, &fresh);
    if (rc != STICKY_OK)
        return rc;
    fresh.key = m->key;
    fresh.channel = (uint16_t)ch;
    fresh.created_ms = now;
    fresh.last_access_ms = now;
    fresh.expires_ms = sat_add(now, st->ttl_ms);
    fresh.count = 1;
    fresh.state = SLOT_USED;

    uint32_t shard, slot;
    int found;
    rc = lock_find(s, m->key, &shard, &slot, &found);
    if (rc != STICKY_OK)
        return rc;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *slots = shard_slots(s, shard);
    if (found && live(st, &slots[slot], now)) {
        if (flags & STICKY_STORE_IF_ABSENT) {
            rc = existing != NULL ? to_record(s, &slots[slot], existing) : STICKY_OK;
            shm_shard_unlock(s, shard);
            return rc == STICKY_OK ? STICKY_EEXIST : rc;
        }
        shard_mark(sh, slot);
        fresh.next = slots[slot].next;
        slots[slot] = fresh;
        sh->c.updates++;
        shard_unmark(sh);
        shm_shard_unlock(s, shard);
        return STICKY_OK;
    }
    if (found)
        reclaim_expired(s, shard, slot);
    if (st->sweep_on_write != 0)
        sweep_shard(st, shard, now, st->sweep_on_write);
    if (sh->count >= sh->cap)
        evict_one(st, shard, now);
    int r = sh->count < sh->cap ? shard_alloc(s, shard, &slot) : SHARD_ABSENT;
    if (r == SHARD_CORRUPT) {
        repair_locked(s, shard, "free list broken");
        r = sh->count < sh->cap ? shard_alloc(s, shard, &slot) : SHARD_ABSENT;
    }
    if (r != SHARD_FOUND) {
        shm_shard_unlock(s, shard);
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: shard %u has no free slot", shard);
        return STICKY_ESTORE;
    }
    shard_mark(sh, slot);
    slots[slot] = fresh;
    shard_link(s, shard, slot, shm_key_hash(m->key));
    sh->count++;
    sh->c.inserts++;
    shard_unmark(sh);
    shm_shard_unlock(s, shard);
    return STICKY_OK;
}

static int shm_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    uint32_t shard, slot;
    int found;
    int rc = lock_find(s, key, &shard, &slot, &found);
    if (rc != STICKY_OK)
        return rc;
    struct shm_shard *sh = &s->shards[shard];
    struct shm_slot *e = found ? &shard_slots(s, shard)[slot] : NULL;
    if (e == NULL || !live(st, e, now)) {
        if (e != NULL)
            reclaim_expired(s, shard, slot);
        shm_shard_unlock(s, shard);
        return STICKY_ENOTFOUND;
    }
    shard_mark(sh, slot);
    int64_t x = sat_add(now, st->ttl_ms);
    if (x > e->expires_ms)
        e->expires_ms = x;
    if (now > e->last_access_ms)
        e->last_access_ms = now;
    sh->c.renewals++;
    shard_unmark(sh);
    rc = out != NULL ? to_record(s, e, out) : STICKY_OK;
    shm_shard_unlock(s, shard);
    return rc;
}

static int shm_del(void *self, uint64_t key, int64_t now)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    uint32_t shard, slot;
    int found;
    int rc = lock_find(s, key, &shard, &slot, &found);
    if (rc != STICKY_OK)
        return rc;
    struct shm_shard *sh = &s->shards[shard];
    rc = STICKY_ENOTFOUND;
    if (found && live(st, &shard_slots(s, shard)[slot], now)) {
        if (shard_release(s, shard, slot) == SHARD_FOUND) {
            sh->c.deletes++;
            rc = STICKY_OK;
        } else {
            repair_locked(s, shard, "unlink failed");
            rc = STICKY_ESTORE;
        }
    } else if (found) {
        reclaim_expired(s, shard, slot);
    }
    shm_shard_unlock(s, shard);
    return rc;
}

static int shm_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    uint32_t shards = s->geo.sizes.shard_count;
    uint32_t start = atomic_fetch_add_explicit(&s->hdr->sweep_cursor, 1, memory_order_relaxed);
    size_t left = budget;
    for (uint32_t k = 0; k < shards && left > 0; k++) {
        uint32_t shard = (start + k) & s->shard_mask;
        if (shm_shard_lock(s, shard) != STICKY_OK)
            return STICKY_ESTORE;
        uint32_t n = shard_fresh(s, shard);
        size_t take = left < n ? left : n;
        *reclaimed += sweep_shard(st, shard, now, take);
        shm_shard_unlock(s, shard);
        left -= take;
    }
    return STICKY_OK;
}

static int shm_stats(void *self, sticky_store_stats *out)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    for (uint32_t i = 0; i < s->geo.sizes.shard_count; i++) {
        if (shm_shard_lock(s, i) != STICKY_OK)
            return STICKY_ESTORE;
        const struct shm_shard *sh = &s->shards[i];
        out->entries += sh->count;
        out->hits += sh->c.hits;
        out->misses += sh->c.misses;
        out->inserts += sh->c.inserts;
        out->updates += sh->c.updates;
        out->renewals += sh->c.renewals;
        out->expirations += sh->c.expirations;
        out->evictions += sh->c.evictions;
        out->deletes += sh->c.deletes;
        shm_shard_unlock(s, i);
    }
    return STICKY_OK;
}

static void shm_destroy(void *self)
{
    struct shm_store *st = self;
    struct sticky_shm *s = st->shm;
    mem_free(st->ctx, st);
    shm_unref(s);
}

static const sticky_store_vtable shm_vtable = {
    .version = 1,
    .flags = STICKY_STORE_CAP_THREAD_SAFE | STICKY_STORE_CAP_NONBLOCKING,
    .name = "shm",
    .get = shm_get,
    .put = shm_put,
    .touch = shm_touch,
    .del = shm_del,
    .sweep = shm_sweep,
    .stats = shm_stats,
    .destroy = shm_destroy,
};

int shm_store_create(struct sticky_shm *s, sticky_ctx *ctx, sticky_store **out)
{
    struct shm_store *st = mem_calloc(ctx, 1, sizeof(*st));
    if (st == NULL)
        return STICKY_ENOMEM;
    st->shm = s;
    st->ctx = ctx;
    st->ttl_ms = (int64_t)s->opts.ttl_seconds * 1000;
    st->threshold_ms = (int64_t)s->opts.renew_threshold_seconds * 1000;
    st->future_ms = st->ttl_ms + (st->ttl_ms > FUTURE_SLACK_MS ? st->ttl_ms : FUTURE_SLACK_MS);
    st->renew_mode = s->opts.renew_mode;
    st->sweep_on_write = s->opts.sweep_on_write;
    int rc = sticky_store_new(ctx, &shm_vtable, st, out);
    if (rc != STICKY_OK)
        mem_free(ctx, st);
    else
        shm_ref(s);
    return rc;
}

STICKY_API int sticky_shm_store_new(sticky_shm *shm, sticky_store **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (shm == NULL)
        return STICKY_EINVAL;
    return shm_store_create(shm, shm->ctx, out);
}
