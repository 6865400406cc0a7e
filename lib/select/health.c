/*
 * lib/select/health.c - the channel health registry (see health.h): lock-free
 * lookups in an immutable table, copy-on-write growth under a mutex.
 */
#include "select/health.h"

#include <string.h>

#include "sticky/error.h"

uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static struct health_table *table_new(const sticky_ctx *ctx, size_t cap)
{
    struct health_table *t =
        mem_calloc(ctx, 1, sizeof(*t) + cap * sizeof(struct channel_health *));
    if (t != NULL)
        t->cap = cap;
    return t;
}

int health_init(struct health_registry *r, const sticky_ctx *ctx)
{
    r->ctx = ctx;
    struct health_table *t = table_new(ctx, 16);
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
    for (size_t i = 0; i < t->cap; i++)
        mem_free(r->ctx, t->slots[i]);
    while (t != NULL) {
        struct health_table *older = t->older;
        mem_free(r->ctx, t);
        t = older;
    }
    atomic_store(&r->table, NULL);
    pthread_mutex_destroy(&r->grow_lock);
}

static struct channel_health *find(const struct health_table *t, const char *id,
                                   uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct channel_health *e = t->slots[i];
        if (e == NULL)
            return NULL;
        if (e->hash == h && strcmp(e->id, id) == 0)
            return e;
    }
}

static void place(struct health_table *t, struct channel_health *e)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (t->slots[i] != NULL)
        i = (i + 1) & mask;
    t->slots[i] = e;
    t->count++;
}

struct channel_health *health_get(struct health_registry *r, const char *id)
{
    uint64_t h = fnv1a64(id);
    struct health_table *t = atomic_load_explicit(&r->table, memory_order_acquire);
    struct channel_health *e = find(t, id, h);
    if (e != NULL)
        return e;

    pthread_mutex_lock(&r->grow_lock);
    t = atomic_load_explicit(&r->table, memory_order_acquire);
    e = find(t, id, h); /* another thread may have added it */
    if (e != NULL)
        goto out;
    e = mem_calloc(r->ctx, 1, sizeof(*e));
    if (e == NULL)
        goto out;
    size_t n = strlen(id);
    memcpy(e->id, id, n < STICKY_ID_MAX ? n : STICKY_ID_MAX - 1);
    e->hash = h;
    /* A new table (keep load <= 1/2), published with a release store so a
     * reader sees fully initialised entries. The old one stays readable
     * until the registry is destroyed. */
    size_t cap = t->cap;
    while ((t->count + 1) * 2 > cap)
        cap *= 2;
    struct health_table *nt = table_new(r->ctx, cap);
    if (nt == NULL) {
        mem_free(r->ctx, e);
        e = NULL;
        goto out;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != NULL)
            place(nt, t->slots[i]);
    }
    place(nt, e);
    nt->older = t;
    atomic_store_explicit(&r->table, nt, memory_order_release);
out:
    pthread_mutex_unlock(&r->grow_lock);
    return e;
}

void health_each(struct health_registry *r,
                 void (*fn)(struct channel_health *h, void *arg), void *arg)
{
    struct health_table *t = atomic_load_explicit(&r->table, memory_order_acquire);
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != NULL)
            fn(t->slots[i], arg);
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

int64_t health_cooldown_end(const struct channel_health *h, int f, int64_t now_ms)
{
    int64_t end = 0;
    for (int i = 0; i < FAMILY_COUNT; i++) {
        /* A request without a model (family ALL) respects every cooldown;
         * a known family its own and the all-models one. */
        if (f != STICKY_MODEL_FAMILY_ALL && i != f && i != STICKY_MODEL_FAMILY_ALL)
            continue;
        int64_t u = atomic_load_explicit(&h->cooldown_until_ms[i], memory_order_relaxed);
        if (u > now_ms && u > end)
            end = u;
    }
    return end;
}
