/*
 * lib/select/moves.c - the signature memory of moves.h: a bucketed table
 * (MOVES_BUCKETS x MOVES_WAYS) whose buckets are striped over MOVES_LOCKS
 * mutexes, so sessions of different buckets never wait for each other;
 * looked at only while it holds entries (an atomic count keeps the common
 * path lock-free). No thread holds two stripe locks at once.
 */
#include "select/moves.h"

#include <stdio.h>
#include <string.h>

#include "shm/shm_internal.h"
#include "sticky/error.h"
#include "sticky/select.h"

_Static_assert(sizeof(struct move_entry) <= SHM_MOVE_BYTES &&
                   MOVES_WAYS == SHM_MOVES_WAYS && MOVES_LOCKS == SHM_MOVES_LOCKS &&
                   SHM_MOVES_BUCKETS % MOVES_LOCKS == 0,
               "the segment's signature memory region fits the table");

int moves_init(struct move_table *t, const sticky_ctx *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    atomic_init(&t->own_live, 0);
    atomic_init(&t->own_group, 0);
    t->live = &t->own_live;
    t->next_group = &t->own_group;
    t->buckets = MOVES_BUCKETS;
    t->shm = NULL;
    atomic_init(&t->slots, NULL);
    int i = 0;
    for (; i < MOVES_LOCKS; i++) {
        if (pthread_mutex_init(&t->locks[i], NULL) != 0)
            break;
    }
    if (i == MOVES_LOCKS && pthread_mutex_init(&t->alloc_lock, NULL) == 0)
        return STICKY_OK;
    while (i-- > 0)
        pthread_mutex_destroy(&t->locks[i]);
    return STICKY_ENOMEM;
}

void moves_use_shm(struct move_table *t, struct sticky_shm *shm)
{
    t->shm = shm;
    t->buckets = SHM_MOVES_BUCKETS;
    t->live = &shm->hdr->moves_live;
    t->next_group = &shm->hdr->moves_group;
    atomic_store_explicit(&t->slots, (struct move_entry *)shm->moves, memory_order_release);
}

void moves_destroy(struct move_table *t)
{
    if (t->shm == NULL)
        mem_free(t->ctx, atomic_load(&t->slots));
    atomic_store(&t->slots, NULL);
    for (int i = 0; i < MOVES_LOCKS; i++)
        pthread_mutex_destroy(&t->locks[i]);
    pthread_mutex_destroy(&t->alloc_lock);
}

static size_t bucket_index(const struct move_table *t, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    return (size_t)((h >> 40) % t->buckets);
}

static struct move_entry *bucket_of(struct move_table *t, uint64_t key)
{
    struct move_entry *slots = atomic_load_explicit(&t->slots, memory_order_acquire);
    return &slots[bucket_index(t, key) * MOVES_WAYS];
}

/* Lock stripe @i (a segment's robust lock, or the table's own). 0, or
 * nonzero when a segment's lock failed (logged there). */
static int stripe_lock(struct move_table *t, size_t i)
{
    if (t->shm != NULL)
        return shm_moves_lock(t->shm, (uint32_t)(i % MOVES_LOCKS));
    pthread_mutex_lock(&t->locks[i % MOVES_LOCKS]);
    return 0;
}

static void stripe_unlock(struct move_table *t, size_t i)
{
    if (t->shm != NULL)
        shm_moves_unlock(t->shm, (uint32_t)(i % MOVES_LOCKS));
    else
        pthread_mutex_unlock(&t->locks[i % MOVES_LOCKS]);
}

static size_t stripe_of(const struct move_table *t, uint64_t key)
{
    return bucket_index(t, key) % MOVES_LOCKS;
}

/* The slots, allocated on first use; NULL when memory ran out. */
static struct move_entry *slots_of(struct move_table *t)
{
    struct move_entry *slots = atomic_load_explicit(&t->slots, memory_order_acquire);
    if (slots != NULL)
        return slots;
    pthread_mutex_lock(&t->alloc_lock);
    slots = atomic_load_explicit(&t->slots, memory_order_acquire);
    if (slots == NULL) {
        slots = mem_calloc(t->ctx, t->buckets * MOVES_WAYS, sizeof(*slots));
        if (slots != NULL)
            atomic_store_explicit(&t->slots, slots, memory_order_release);
    }
    pthread_mutex_unlock(&t->alloc_lock);
    return slots;
}

static struct move_entry *find(struct move_table *t, uint64_t key, int64_t now)
{
    struct move_entry *b = bucket_of(t, key);
    for (int i = 0; i < MOVES_WAYS; i++) {
        if (b[i].key == 0)
            continue;
        if (b[i].expires_ms <= now) { /* expired: free it on the way */
            b[i].key = 0;
            atomic_fetch_sub_explicit(t->live, 1, memory_order_relaxed);
            continue;
        }
        if (b[i].key == key)
            return &b[i];
    }
    return NULL;
}

/* A slot for @key: its own, a free one, or the bucket's oldest. */
static struct move_entry *slot_for(struct move_table *t, uint64_t key, int64_t now)
{
    struct move_entry *e = find(t, key, now);
    if (e != NULL)
        return e;
    struct move_entry *b = bucket_of(t, key), *oldest = &b[0];
    for (int i = 0; i < MOVES_WAYS; i++) {
        if (b[i].key == 0) {
            atomic_fetch_add_explicit(t->live, 1, memory_order_relaxed);
            return &b[i];
        }
        if (b[i].expires_ms < oldest->expires_ms)
            oldest = &b[i];
    }
    return oldest; /* evicted: counted already */
}

#define ALL_FAMILIES 0x1fu /* every enum sticky_model_family value */

static uint32_t bits_of(int family)
{
    return family == STICKY_MODEL_FAMILY_ALL ? ALL_FAMILIES : 1u << family;
}

static void write_entry(struct move_entry *e, uint64_t key, uint64_t group, int64_t expires,
                        uint32_t families, const char *from, const char *to)
{
    e->key = key;
    e->group = group;
    e->expires_ms = expires;
    e->families = families;
    snprintf(e->from, sizeof(e->from), "%s", from);
    snprintf(e->to, sizeof(e->to), "%s", to);
}

void moves_note(struct move_table *t, const uint64_t *keys, uint32_t n, const char *from,
                const char *to, int family, int64_t now, int64_t ttl_ms)
{
    if (n == 0)
        return;
    int64_t expires = now > INT64_MAX - ttl_ms ? INT64_MAX : now + ttl_ms;
    if (slots_of(t) == NULL) {
        ctx_log(t->ctx, STICKY_LOG_WARN, "signature memory: out of memory (moved_from "
                "is set on the moving decision only)");
        return;
    }
    uint64_t group = atomic_fetch_add_explicit(t->next_group, 1, memory_order_relaxed) + 1;
    for (uint32_t i = 0; i < n; i++) {
        if (keys[i] == 0)
            continue;
        size_t stripe = stripe_of(t, keys[i]);
        if (stripe_lock(t, stripe) != 0)
            continue;
        struct move_entry *e = slot_for(t, keys[i], now);
        /* A pending move to @to covers every family: a side request of
         * one family does not replace it. */
        if (!(e->key == keys[i] && strncmp(e->to, to, STICKY_ID_SIZE) == 0 &&
              (e->families | bits_of(family)) == e->families))
            write_entry(e, keys[i], group, expires, bits_of(family), from, to);
        stripe_unlock(t, stripe);
    }
}

static int applies(const struct move_entry *e, const char *to, int family)
{
    return strncmp(e->to, to, STICKY_ID_SIZE) == 0 && (e->families & bits_of(family)) != 0;
}

int moves_lookup(struct move_table *t, const uint64_t *keys, uint32_t n, uint64_t deepest,
                 const char *to, int family, int64_t now, char *moved_from)
{
    if (atomic_load_explicit(t->live, memory_order_relaxed) == 0 || n == 0 ||
        atomic_load_explicit(&t->slots, memory_order_acquire) == NULL)
        return 0;
    for (uint32_t i = n; i-- > 0;) {
        size_t stripe = stripe_of(t, keys[i]);
        if (stripe_lock(t, stripe) != 0)
            continue;
        struct move_entry *e = find(t, keys[i], now);
        if (e == NULL) {
            stripe_unlock(t, stripe);
            continue;
        }
        /* The deepest entry is the session's. */
        struct move_entry c = *e;
        stripe_unlock(t, stripe);
        c.from[STICKY_ID_SIZE - 1] = '\0'; /* a segment's bytes are not trusted */
        c.to[STICKY_ID_SIZE - 1] = '\0';
        if (!applies(&c, to, family))
            return 0;
        memcpy(moved_from, c.from, STICKY_ID_SIZE);
        if (keys[i] != deepest) { /* promote, like the binding */
            stripe = stripe_of(t, deepest);
            if (stripe_lock(t, stripe) == 0) {
                write_entry(slot_for(t, deepest, now), deepest, c.group, c.expires_ms,
                            c.families, c.from, c.to);
                stripe_unlock(t, stripe);
            }
        }
        return 1;
    }
    return 0;
}

void moves_success(struct move_table *t, uint64_t key, const char *to, int family)
{
    struct move_entry *slots = atomic_load_explicit(&t->slots, memory_order_acquire);
    if (atomic_load_explicit(t->live, memory_order_relaxed) == 0 || key == 0 || slots == NULL)
        return;
    size_t stripe = stripe_of(t, key);
    if (stripe_lock(t, stripe) != 0)
        return;
    struct move_entry *e = find(t, key, INT64_MIN);
    int hit = e != NULL && applies(e, to, family);
    uint64_t group = hit ? e->group : 0;
    uint32_t clear = bits_of(family);
    stripe_unlock(t, stripe);
    if (!hit)
        return;
    /* Every key written with it, one stripe at a time (successes after a
     * move are rare and few per session). */
    for (size_t b = 0; b < t->buckets; b++) {
        if (stripe_lock(t, b % MOVES_LOCKS) != 0)
            continue;
        for (size_t w = 0; w < MOVES_WAYS; w++) {
            struct move_entry *x = &slots[b * MOVES_WAYS + w];
            if (x->key == 0 || x->group != group)
                continue;
            x->families &= ~clear;
            if (x->families == 0) {
                x->key = 0;
                atomic_fetch_sub_explicit(t->live, 1, memory_order_relaxed);
            }
        }
        stripe_unlock(t, b % MOVES_LOCKS);
    }
}
