/*
 * lib/select/moves.c - the signature memory of moves.h: a bucketed table
 * (MOVES_BUCKETS x MOVES_WAYS) under one mutex, looked at only while it
 * holds entries (an atomic count keeps the common path lock-free).
 */
#include "select/moves.h"

#include <stdio.h>
#include <string.h>

#include "sticky/error.h"
#include "sticky/select.h"

int moves_init(struct move_table *t, const sticky_ctx *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    atomic_init(&t->live, 0);
    return pthread_mutex_init(&t->lock, NULL) == 0 ? STICKY_OK : STICKY_ENOMEM;
}

void moves_destroy(struct move_table *t)
{
    mem_free(t->ctx, t->slots);
    t->slots = NULL;
    pthread_mutex_destroy(&t->lock);
}

static struct move_entry *bucket_of(struct move_table *t, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    return &t->slots[(h >> 40) % MOVES_BUCKETS * MOVES_WAYS];
}

static struct move_entry *find(struct move_table *t, uint64_t key, int64_t now)
{
    struct move_entry *b = bucket_of(t, key);
    for (int i = 0; i < MOVES_WAYS; i++) {
        if (b[i].key == 0)
            continue;
        if (b[i].expires_ms <= now) { /* expired: free it on the way */
            b[i].key = 0;
            atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
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
            atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed);
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
    pthread_mutex_lock(&t->lock);
    if (t->slots == NULL) {
        t->slots = mem_calloc(t->ctx, (size_t)MOVES_BUCKETS * MOVES_WAYS, sizeof(*t->slots));
        if (t->slots == NULL) {
            pthread_mutex_unlock(&t->lock);
            ctx_log(t->ctx, STICKY_LOG_WARN, "signature memory: out of memory (moved_from "
                    "is set on the moving decision only)");
            return;
        }
    }
    uint64_t group = ++t->next_group;
    for (uint32_t i = 0; i < n; i++) {
        if (keys[i] == 0)
            continue;
        struct move_entry *e = slot_for(t, keys[i], now);
        /* A pending move to @to covers every family: a side request of
         * one family does not replace it. */
        if (e->key == keys[i] && strcmp(e->to, to) == 0 &&
            (e->families | bits_of(family)) == e->families)
            continue;
        write_entry(e, keys[i], group, expires, bits_of(family), from, to);
    }
    pthread_mutex_unlock(&t->lock);
}

static int applies(const struct move_entry *e, const char *to, int family)
{
    return strcmp(e->to, to) == 0 && (e->families & bits_of(family)) != 0;
}

int moves_lookup(struct move_table *t, const uint64_t *keys, uint32_t n, uint64_t deepest,
                 const char *to, int family, int64_t now, char *moved_from)
{
    if (atomic_load_explicit(&t->live, memory_order_relaxed) == 0 || n == 0)
        return 0;
    int found = 0;
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = n; i-- > 0 && t->slots != NULL;) {
        struct move_entry *e = find(t, keys[i], now);
        if (e == NULL)
            continue;
        if (applies(e, to, family)) {
            memcpy(moved_from, e->from, STICKY_ID_SIZE);
            found = 1;
            if (keys[i] != deepest) {
                struct move_entry c = *e;
                write_entry(slot_for(t, deepest, now), deepest, c.group, c.expires_ms,
                            c.families, c.from, c.to);
            }
        }
        break; /* the deepest entry is the session's */
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

void moves_success(struct move_table *t, uint64_t key, const char *to, int family)
{
    if (atomic_load_explicit(&t->live, memory_order_relaxed) == 0 || key == 0)
        return;
    pthread_mutex_lock(&t->lock);
    struct move_entry *e = t->slots != NULL ? find(t, key, INT64_MIN) : NULL;
    if (e != NULL && applies(e, to, family)) {
        uint64_t group = e->group;
        uint32_t left = e->families & ~bits_of(family);
        /* Every key written with it (one pass; successes after a move are
         * rare and few per session). */
        for (size_t i = 0; i < (size_t)MOVES_BUCKETS * MOVES_WAYS; i++) {
            struct move_entry *x = &t->slots[i];
            if (x->key == 0 || x->group != group)
                continue;
            x->families = left;
            if (left == 0) {
                x->key = 0;
                atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
}
