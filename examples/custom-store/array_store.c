/*
 * examples/custom-store/array_store.c - the array backend: one slot per
 * mapping, found by linear search. Shows the whole vtable contract: take
 * time only from now_ms, treat now >= expires_ms as absent, copy records
 * into caller memory (never hand out pointers), report counters, free only
 * what it allocated itself - from the host's allocator, through the
 * context (sticky_ctx_mem_*()), and log through the host's log callback
 * (sticky_ctx_log()).
 */
#include "array_store.h"

#include <string.h>

struct slot {
    int used;
    sticky_mapping rec; /* our own full copy */
};

struct array_store {
    sticky_ctx *ctx; /* allocator and log */
    struct array_store_config cfg;
    struct slot *slots;
    size_t cursor; /* next slot the sweep looks at */
    sticky_store_stats st;
};

static int live(const struct slot *s, int64_t now)
{
    return s->used && now < s->rec.expires_ms;
}

/* Find @key's slot, live or expired; NULL if none. */
static struct slot *find(struct array_store *a, uint64_t key)
{
    for (size_t i = 0; i < a->cfg.capacity; i++) {
        if (a->slots[i].used && a->slots[i].rec.key == key)
            return &a->slots[i];
    }
    return NULL;
}

static void drop(struct array_store *a, struct slot *s, uint64_t *counter)
{
    s->used = 0;
    a->st.entries--;
    (*counter)++;
}

/* Times never move backwards, even if calls arrive with an older now
 * (several threads read the clock before libsticky serialises them). */
static void seen(sticky_mapping *rec, int64_t now)
{
    if (now > rec->last_access_ms)
        rec->last_access_ms = now;
}

static void extend(sticky_mapping *rec, int64_t expires)
{
    if (expires > rec->expires_ms)
        rec->expires_ms = expires;
}

/* Copy out only when the caller's record is at least the one we know. */
static int copy_out(sticky_mapping *out, const sticky_mapping *rec)
{
    if (out == NULL)
        return STICKY_OK;
    if (out->size < sizeof(sticky_mapping))
        return STICKY_EABI;
    size_t size = out->size;
    memcpy(out, rec, sizeof(*rec));
    out->size = size;
    return STICKY_OK;
}

static int a_get(void *self, uint64_t key, int64_t now, unsigned flags,
                 sticky_mapping *out)
{
    struct array_store *a = self;
    int peek = (flags & STICKY_STORE_PEEK) != 0;
    struct slot *s = find(a, key);
    if (s == NULL || !live(s, now)) {
        if (!peek) {
            a->st.misses++;
            if (s != NULL)
                drop(a, s, &a->st.expirations);
        }
        return STICKY_ENOTFOUND;
    }
    if (!peek) {
        a->st.hits++;
        s->rec.request_count++;
        seen(&s->rec, now);
        int64_t ttl = (int64_t)a->cfg.ttl_seconds * 1000;
        int64_t thr = (int64_t)a->cfg.renew_threshold_seconds * 1000;
        if (a->cfg.renew_mode == STICKY_RENEW_SLIDING ||
            s->rec.expires_ms - now < thr) {
            extend(&s->rec, now + ttl);
            a->st.renewals++;
        }
    }
    return copy_out(out, &s->rec);
}

/* A free slot, else an expired one, else the least recently used. */
static struct slot *victim(struct array_store *a, int64_t now)
{
    struct slot *lru = NULL;
    for (size_t i = 0; i < a->cfg.capacity; i++) {
        struct slot *s = &a->slots[i];
        if (!s->used)
            return s;
        if (!live(s, now)) {
            drop(a, s, &a->st.expirations);
            return s;
        }
        if (lru == NULL || s->rec.last_access_ms < lru->rec.last_access_ms)
            lru = s;
    }
    drop(a, lru, &a->st.evictions);
    return lru;
}

static int a_put(void *self, const sticky_mapping *m, int64_t now,
                 unsigned flags, sticky_mapping *existing)
{
    struct array_store *a = self;
    struct slot *s = find(a, m->key);
    if (s != NULL && !live(s, now)) {
        drop(a, s, &a->st.expirations);
        s = NULL;
    }
    if (s != NULL && (flags & STICKY_STORE_IF_ABSENT)) {
        int rc = copy_out(existing, &s->rec);
        return rc != STICKY_OK ? rc : STICKY_EEXIST;
    }
    if (s != NULL) {
        a->st.updates++;
    } else {
        s = victim(a, now);
        s->used = 1;
        a->st.entries++;
        a->st.inserts++;
    }
    memset(&s->rec, 0, sizeof(s->rec));
    s->rec.size = sizeof(s->rec);
    s->rec.key = m->key;
    memcpy(s->rec.channel_id, m->channel_id, sizeof(s->rec.channel_id));
    memcpy(s->rec.tenant_id, m->tenant_id, sizeof(s->rec.tenant_id));
    s->rec.request_count = 1;
    s->rec.created_ms = now;
    s->rec.last_access_ms = now;
    s->rec.expires_ms = now + (int64_t)a->cfg.ttl_seconds * 1000;
    return STICKY_OK;
}

static int a_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct array_store *a = self;
    struct slot *s = find(a, key);
    if (s == NULL || !live(s, now)) {
        if (s != NULL)
            drop(a, s, &a->st.expirations);
        return STICKY_ENOTFOUND;
    }
    extend(&s->rec, now + (int64_t)a->cfg.ttl_seconds * 1000);
    seen(&s->rec, now);
    a->st.renewals++;
    return copy_out(out, &s->rec);
}

static int a_del(void *self, uint64_t key, int64_t now)
{
    struct array_store *a = self;
    struct slot *s = find(a, key);
    if (s == NULL || !live(s, now)) {
        if (s != NULL)
            drop(a, s, &a->st.expirations);
        return STICKY_ENOTFOUND;
    }
    drop(a, s, &a->st.deletes);
    return STICKY_OK;
}

/* Look at @budget slots from where the last sweep stopped. */
static int a_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    struct array_store *a = self;
    for (size_t n = 0; n < budget && n < a->cfg.capacity; n++) {
        struct slot *s = &a->slots[a->cursor];
        a->cursor = (a->cursor + 1) % a->cfg.capacity;
        if (s->used && !live(s, now)) {
            drop(a, s, &a->st.expirations);
            (*reclaimed)++;
        }
    }
    return STICKY_OK;
}

static int a_stats(void *self, sticky_store_stats *out)
{
    struct array_store *a = self;
    if (out->size < sizeof(sticky_store_stats))
        return STICKY_EABI;
    size_t size = out->size;
    *out = a->st;
    out->size = size;
    return STICKY_OK;
}

static void a_destroy(void *self)
{
    struct array_store *a = self;
    sticky_ctx_mem_free(a->ctx, a->slots);
    sticky_ctx_mem_free(a->ctx, a);
}

/* A static const: the core keeps its address as this backend's identity
 * (sticky_store_self(store, &array_vtable) gives back our state). */
static const sticky_store_vtable array_vtable = {
    .version = 1, /* the version we implement: a number, never the header's
                   * STICKY_STORE_VTABLE_VERSION, which grows with the header */
    .flags = 0, /* not thread-safe: libsticky serialises calls */
    .name = "array",
    .get = a_get,
    .put = a_put,
    .touch = a_touch,
    .del = a_del,
    .sweep = a_sweep,
    .stats = a_stats,
    .destroy = a_destroy,
};

int array_store_new(sticky_ctx *ctx, const struct array_store_config *cfg,
                    sticky_store **out)
{
    if (ctx == NULL || cfg == NULL || out == NULL || cfg->capacity == 0 ||
        cfg->ttl_seconds == 0 || cfg->renew_threshold_seconds > cfg->ttl_seconds)
        return STICKY_EINVAL;
    struct array_store *a = sticky_ctx_mem_calloc(ctx, 1, sizeof(*a));
    if (a == NULL)
        return STICKY_ENOMEM;
    a->ctx = ctx;
    a->cfg = *cfg;
    a->slots = sticky_ctx_mem_calloc(ctx, cfg->capacity, sizeof(*a->slots));
    if (a->slots == NULL) {
        sticky_ctx_mem_free(ctx, a);
        return STICKY_ENOMEM;
    }
    int rc = sticky_store_new(ctx, &array_vtable, a, out);
    if (rc != STICKY_OK) {
        a_destroy(a); /* on failure the backend state is still ours */
        return rc;
    }
    sticky_ctx_log(ctx, STICKY_LOG_DEBUG, "array store: %zu slots, ttl %us",
                   cfg->capacity, (unsigned)cfg->ttl_seconds);
    return STICKY_OK;
}
