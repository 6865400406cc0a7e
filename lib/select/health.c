/*
 * lib/select/health.c - the channel health registry (see health.h): lock-free
 * lookups, inserts in place under a mutex, one copy per doubling, a bound
 * on the number of ids.
 */
#include "select/health.h"

#include <string.h>

#include "shm/shm_internal.h"
#include "sticky/error.h"

#define FIRST_CAP 16

static struct health_table *table_new(const sticky_ctx *ctx, size_t cap)
{
    struct health_table *t =
        mem_calloc(ctx, 1, sizeof(*t) + cap * sizeof(t->slots[0]));
    if (t == NULL)
        return NULL;
    t->cap = cap;
    for (size_t i = 0; i < cap; i++)
        atomic_init(&t->slots[i], NULL);
    return t;
}

int health_init(struct health_registry *r, const sticky_ctx *ctx, size_t max_ids)
{
    r->ctx = ctx;
    r->max_ids = max_ids != 0 ? max_ids : HEALTH_MAX_IDS;
    atomic_init(&r->count, 0);
    atomic_init(&r->full_logged, 0);
    r->shm = NULL;
    struct health_table *t = table_new(ctx, FIRST_CAP);
    if (t == NULL)
        return STICKY_ENOMEM;
    atomic_init(&r->table, t);
    if (pthread_mutex_init(&r->grow_lock, NULL) != 0) {
        mem_free(ctx, t);
        return STICKY_ENOMEM;
    }
    return STICKY_OK;
}

void health_destroy(struct health_registry *r)
{
    struct health_table *t = atomic_load(&r->table);
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->cap && r->shm == NULL; i++)
        mem_free(r->ctx, atomic_load_explicit(&t->slots[i], memory_order_relaxed));
    while (t != NULL) {
        struct health_table *older = t->older;
        mem_free(r->ctx, t);
        t = older;
    }
    atomic_store(&r->table, NULL);
    pthread_mutex_destroy(&r->grow_lock);
}

static struct channel_health *find(struct health_table *t, const char *id, uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct channel_health *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (e == NULL)
            return NULL;
        if (e->hash == h && strcmp(e->id, id) == 0)
            return e;
    }
}

/* Publish @e in @t (the caller holds grow_lock and made room). */
static void place(struct health_table *t, struct channel_health *e)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != NULL)
        i = (i + 1) & mask;
    atomic_store_explicit(&t->slots[i], e, memory_order_release);
}


/* A new record: the context's own, or the segment's (found or created
 * there; other processes may have made it). */
static struct channel_health *entry_new(struct health_registry *r, const char *id,
                                        uint64_t hash, int create)
{
    if (r->shm != NULL) {
        uint32_t index;
        return shm_channel_get(r->shm, id, hash, create, &index);
    }
    if (!create)
        return NULL;
    struct channel_health *e = mem_calloc(r->ctx, 1, sizeof(*e));
    if (e != NULL)
        health_record_init(e, id, hash, HEALTH_NOT_SHARED);
    return e;
}

static struct channel_health *lookup(struct health_registry *r, const char *id, uint64_t hash,
                                     int create)
{
    struct health_table *t = atomic_load_explicit(&r->table, memory_order_acquire);
    struct channel_health *e = find(t, id, hash);
    if (e != NULL)
        return e;

    pthread_mutex_lock(&r->grow_lock);
    t = atomic_load_explicit(&r->table, memory_order_relaxed);
    e = find(t, id, hash); /* another thread may have added it */
    if (e != NULL)
        goto out;
    size_t count = atomic_load_explicit(&r->count, memory_order_relaxed);
    if (count >= r->max_ids) {
        if (!atomic_exchange_explicit(&r->full_logged, 1, memory_order_relaxed))
            ctx_log(r->ctx, STICKY_LOG_WARN,
                    "channel health registry full (%zu ids): channel %s and any later new "
                    "id are routed without health (no cooldowns, no in-flight cap)",
                    r->max_ids, id);
        goto out;
    }
    e = entry_new(r, id, hash, create);
    if (e == NULL)
        goto out;
    if ((count + 1) * 2 > t->cap) {
        /* Past half full: one copy into a table twice as large. Readers
         * may still be probing the old one, so it is kept (the sizes
         * halve, so all old tables together are smaller than this one). */
        struct health_table *nt = table_new(r->ctx, t->cap * 2);
        if (nt == NULL) {
            if (r->shm == NULL)
                mem_free(r->ctx, e);
            e = NULL;
            goto out;
        }
        for (size_t i = 0; i < t->cap; i++) {
            struct channel_health *x = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (x != NULL)
                place(nt, x);
        }
        nt->older = t;
        place(nt, e);
        atomic_store_explicit(&r->table, nt, memory_order_release);
    } else {
        place(t, e);
    }
    atomic_store_explicit(&r->count, count + 1, memory_order_relaxed);
out:
    pthread_mutex_unlock(&r->grow_lock);
    return e;
}

struct channel_health *health_get(struct health_registry *r, const char *id, uint64_t hash)
{
    return lookup(r, id, hash, 1);
}

struct channel_health *health_find(struct health_registry *r, const char *id, uint64_t hash)
{
    struct channel_health *e = find(atomic_load_explicit(&r->table, memory_order_acquire), id, hash);
    if (e == NULL && r->shm != NULL) /* known to another process */
        e = lookup(r, id, hash, 0);
    return e;
}

uint32_t health_in_flight(const struct health_registry *r, const struct channel_health *h)
{
    if (r->shm != NULL && h->shm_index != HEALTH_NOT_SHARED)
        return shm_inflight_count(r->shm, h->shm_index);
    return atomic_load_explicit(&h->in_flight, memory_order_relaxed);
}

int health_full(struct health_registry *r, struct channel_health *h, uint32_t cap)
{
    if (health_in_flight(r, h) < cap)
        return 0;
    if (r->shm == NULL || h->shm_index == HEALTH_NOT_SHARED ||
        !shm_reclaim_maybe(r->shm, sticky_ctx_now_ms(r->ctx)))
        return 1;
    return health_in_flight(r, h) >= cap;
}

int health_reserve(struct health_registry *r, struct channel_health *h, uint32_t cap)
{
    if (r->shm != NULL && h->shm_index != HEALTH_NOT_SHARED)
        return shm_inflight_reserve(r->shm, h->shm_index, cap, sticky_ctx_now_ms(r->ctx));
    uint32_t cur = atomic_load_explicit(&h->in_flight, memory_order_relaxed);
    do {
        if ((cap != 0 && cur >= cap) || cur == UINT32_MAX)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&h->in_flight, &cur, cur + 1,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

void health_release(struct health_registry *r, struct channel_health *h)
{
    if (r->shm != NULL && h->shm_index != HEALTH_NOT_SHARED) {
        shm_inflight_release(r->shm, h->shm_index);
        return;
    }
    uint32_t cur = atomic_load_explicit(&h->in_flight, memory_order_relaxed);
    while (cur > 0 &&
           !atomic_compare_exchange_weak_explicit(&h->in_flight, &cur, cur - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

size_t health_count(struct health_registry *r)
{
    return atomic_load_explicit(&r->count, memory_order_relaxed);
}

void health_each(struct health_registry *r,
                 void (*fn)(struct channel_health *h, void *arg), void *arg)
{
    struct health_table *t = atomic_load_explicit(&r->table, memory_order_acquire);
    for (size_t i = 0; i < t->cap; i++) {
        struct channel_health *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (e != NULL)
            fn(e, arg);
    }
}

static int contains(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(s + i, word, n) == 0)
            return 1;
    }
    return 0;
}

int model_family_of(const char *model, size_t len)
{
    if (model == NULL || len == 0)
        return STICKY_MODEL_FAMILY_ALL;
    if (contains(model, len, "opus"))
        return STICKY_MODEL_FAMILY_OPUS;
    if (contains(model, len, "sonnet"))
        return STICKY_MODEL_FAMILY_SONNET;
    if (contains(model, len, "haiku"))
        return STICKY_MODEL_FAMILY_HAIKU;
    return STICKY_MODEL_FAMILY_OTHER;
}

STICKY_API const char *sticky_model_family_name(int family)
{
    switch (family) {
    case STICKY_MODEL_FAMILY_ALL: return "all";
    case STICKY_MODEL_FAMILY_OPUS: return "opus";
    case STICKY_MODEL_FAMILY_SONNET: return "sonnet";
    case STICKY_MODEL_FAMILY_HAIKU: return "haiku";
    case STICKY_MODEL_FAMILY_OTHER: return "other";
    default: return "unknown";
    }
}

int health_cooling(const struct channel_health *h, int f, int64_t now_ms, int64_t *end)
{
    int cooling = 0;
    *end = 0;
    for (int i = 0; i < FAMILY_COUNT; i++) {
        /* A request without a model (family ALL) respects every cooldown;
         * a known family its own and the all-models one. */
        if (f != STICKY_MODEL_FAMILY_ALL && i != f && i != STICKY_MODEL_FAMILY_ALL)
            continue;
        int64_t u = atomic_load_explicit(&h->cooldown_until_ms[i], memory_order_relaxed);
        if (u > now_ms && (!cooling || u > *end)) {
            *end = u;
            cooling = 1;
        }
    }
    return cooling;
}

static int cause_rank(int cause)
{
    switch (cause) {
    case STICKY_CAUSE_AUTH: return COOL_AUTH;
    case STICKY_CAUSE_RATE_LIMIT: return COOL_RATE_LIMIT;
    default: return COOL_NOISE;
    }
}

int health_cooling_ex(const struct channel_health *h, int f, int64_t now_ms, int64_t *end,
                      int *account_wide, int *rank)
{
    int cooling = 0;
    *end = 0;
    *account_wide = 0;
    *rank = COOL_NOISE;
    for (int i = 0; i < FAMILY_COUNT; i++) {
        if (f != STICKY_MODEL_FAMILY_ALL && i != f && i != STICKY_MODEL_FAMILY_ALL)
            continue;
        int64_t u = atomic_load_explicit(&h->cooldown_until_ms[i], memory_order_relaxed);
        if (u <= now_ms)
            continue;
        if (!cooling || u > *end)
            *end = u;
        cooling = 1;
        if (i == STICKY_MODEL_FAMILY_ALL)
            *account_wide = 1;
        int r = cause_rank(atomic_load_explicit(&h->cause[i], memory_order_relaxed));
        if (r > *rank)
            *rank = r;
    }
    return cooling;
}
