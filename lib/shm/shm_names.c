/*
 * lib/shm/shm_names.c - the segment's two name tables: channels (id, and
 * the select layer's health record) and long tenant ids. Both are
 * insert-only arrays with an open-addressing index of positions. Inserts
 * run under the names lock and publish in an order that leaves nothing
 * reachable half-written if the inserter dies (entry, then its ready flag,
 * then the count, then the index slot); lookups take no lock. A slot's
 * tenant is packed into 16 bytes when it is empty, short or a selector
 * digest; only other tenant ids take a table entry.
 */
#include <string.h>

#include "shm/shm_internal.h"
#include "sticky/error.h"

_Static_assert(sizeof(struct channel_health) <= SHM_HEALTH_BYTES,
               "a channel's health record must fit its place in the segment");

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- channels --------------------------------------------------------------- */

static struct shm_channel *channel_at(struct sticky_shm *s, uint32_t pos)
{
    if (pos >= s->geo.sizes.max_channels)
        return NULL;
    struct shm_channel *c = &s->channels[pos];
    if (atomic_load_explicit(&c->ready, memory_order_acquire) != 1 || c->index != pos ||
        c->id[0] == '\0' || memchr(c->id, '\0', STICKY_ID_SIZE) == NULL)
        return NULL; /* unpublished, or damaged: never handed out */
    return c;
}

static struct shm_channel *channel_find(struct sticky_shm *s, const char *id, uint64_t hash)
{
    uint32_t mask = s->geo.channel_index_cap - 1;
    uint32_t i = (uint32_t)hash & mask;
    for (uint32_t step = 0; step <= mask; step++, i = (i + 1) & mask) {
        uint32_t v = __atomic_load_n(&s->channel_index[i], __ATOMIC_ACQUIRE);
        if (v == 0)
            return NULL;
        struct shm_channel *c = channel_at(s, v - 1);
        if (c != NULL && c->hash == hash && strncmp(c->id, id, STICKY_ID_SIZE) == 0)
            return c;
    }
    return NULL;
}

static void index_put(uint32_t *index, uint32_t cap, uint64_t hash, uint32_t pos)
{
    uint32_t mask = cap - 1;
    uint32_t i = (uint32_t)hash & mask;
    for (uint32_t step = 0; step <= mask; step++, i = (i + 1) & mask) {
        if (__atomic_load_n(&index[i], __ATOMIC_RELAXED) == 0) {
            __atomic_store_n(&index[i], pos + 1, __ATOMIC_RELEASE);
            return;
        }
    }
}

struct channel_health *shm_channel_get(struct sticky_shm *s, const char *id, uint64_t hash,
                                       int create, uint32_t *index)
{
    struct shm_channel *c = channel_find(s, id, hash);
    if (c == NULL && create &&
        atomic_load_explicit(&s->hdr->channels, memory_order_relaxed) >=
            s->geo.sizes.max_channels)
        create = 0; /* full: no lock, no insert (logged once below) */
    if (c == NULL && !create && s->geo.sizes.max_channels != 0 &&
        atomic_load_explicit(&s->hdr->channels, memory_order_relaxed) >=
            s->geo.sizes.max_channels &&
        !atomic_exchange_explicit(&s->channels_full_logged, 1, memory_order_relaxed))
        ctx_log(s->ctx, STICKY_LOG_WARN,
                "shm: channel table full (%u ids): channel %s and later new ids are "
                "routed without shared health (a capped one is refused)",
                s->geo.sizes.max_channels, id);
    if (c == NULL && create) {
        if (shm_names_lock(s) != STICKY_OK)
            return NULL;
        c = channel_find(s, id, hash);
        uint32_t pos = atomic_load_explicit(&s->hdr->channels, memory_order_relaxed);
        if (c == NULL && pos < s->geo.sizes.max_channels) {
            c = &s->channels[pos];
            atomic_store_explicit(&c->ready, 0, memory_order_relaxed);
            memset(c->id, 0, sizeof(c->id));
            size_t n = strnlen(id, STICKY_ID_SIZE - 1);
            memcpy(c->id, id, n);
            c->hash = hash;
            c->index = pos;
            memset(c->health, 0, sizeof(c->health));
            health_record_init((struct channel_health *)c->health, c->id, hash, pos);
            atomic_store_explicit(&c->ready, 1, memory_order_release);
            atomic_store_explicit(&s->hdr->channels, pos + 1, memory_order_release);
            index_put(s->channel_index, s->geo.channel_index_cap, hash, pos);
        } else if (c == NULL &&
                   !atomic_exchange_explicit(&s->channels_full_logged, 1, memory_order_relaxed)) {
            ctx_log(s->ctx, STICKY_LOG_WARN,
                    "shm: channel table full (%u ids): channel %s and later new ids are "
                    "routed without shared health",
                    s->geo.sizes.max_channels, id);
        }
        shm_names_unlock(s);
    }
    if (c == NULL)
        return NULL;
    *index = c->index;
    return (struct channel_health *)c->health;
}

const char *shm_channel_id(struct sticky_shm *s, uint32_t index)
{
    struct shm_channel *c = channel_at(s, index);
    return c != NULL ? c->id : NULL;
}

struct channel_health *shm_channel_health(struct sticky_shm *s, uint32_t index)
{
    struct shm_channel *c = channel_at(s, index);
    return c != NULL ? (struct channel_health *)c->health : NULL;
}

/* ---- tenants ---------------------------------------------------------------- */

static struct shm_tenant *tenant_at(struct sticky_shm *s, uint32_t pos)
{
    if (pos >= s->geo.sizes.max_tenants)
        return NULL;
    struct shm_tenant *t = &s->tenants[pos];
    if (atomic_load_explicit(&t->ready, memory_order_acquire) != 1 || t->len == 0 ||
        t->len >= STICKY_ID_SIZE)
        return NULL;
    return t;
}

static int tenant_find(struct sticky_shm *s, const char *id, size_t len, uint64_t hash,
                       uint32_t *pos)
{
    uint32_t mask = s->geo.tenant_index_cap - 1;
    uint32_t i = (uint32_t)hash & mask;
    for (uint32_t step = 0; step <= mask; step++, i = (i + 1) & mask) {
        uint32_t v = __atomic_load_n(&s->tenant_index[i], __ATOMIC_ACQUIRE);
        if (v == 0)
            return 0;
        struct shm_tenant *t = tenant_at(s, v - 1);
        if (t != NULL && t->hash == hash && t->len == len && memcmp(t->id, id, len) == 0) {
            *pos = v - 1;
            return 1;
        }
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int shm_tenant_encode(struct sticky_shm *s, const char *tenant, struct shm_slot *e)
{
    size_t len = strnlen(tenant, STICKY_ID_SIZE);
    memset(e->tenant, 0, sizeof(e->tenant));
    if (len == 0) {
        e->tenant_kind = TENANT_EMPTY;
        return STICKY_OK;
    }
    if (len == 32) {
        int ok = 1;
        for (size_t i = 0; i < 32 && ok; i += 2) {
            int hi = hexval(tenant[i]), lo = hexval(tenant[i + 1]);
            if (hi < 0 || lo < 0)
                ok = 0;
            else
                e->tenant[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        if (ok) {
            e->tenant_kind = TENANT_HEX;
            return STICKY_OK;
        }
        memset(e->tenant, 0, sizeof(e->tenant));
    }
    if (len <= TENANT_RAW_MAX) {
        memcpy(e->tenant, tenant, len);
        e->tenant_kind = (uint8_t)(TENANT_RAW0 + len);
        return STICKY_OK;
    }
    uint64_t hash = fnv(tenant, len);
    uint32_t pos;
    if (!tenant_find(s, tenant, len, hash, &pos)) {
        if (shm_names_lock(s) != STICKY_OK)
            return STICKY_ESTORE;
        int found = tenant_find(s, tenant, len, hash, &pos);
        if (!found) {
            pos = atomic_load_explicit(&s->hdr->tenants, memory_order_relaxed);
            if (pos >= s->geo.sizes.max_tenants) {
                shm_names_unlock(s);
                if (!atomic_exchange_explicit(&s->tenants_full_logged, 1, memory_order_relaxed))
                    ctx_log(s->ctx, STICKY_LOG_WARN,
                            "shm: tenant table full (%u long tenant ids): mappings with a new "
                            "one are not stored (raise max_tenants)",
                            s->geo.sizes.max_tenants);
                return STICKY_ELIMIT;
            }
            struct shm_tenant *t = &s->tenants[pos];
            atomic_store_explicit(&t->ready, 0, memory_order_relaxed);
            memset(t->id, 0, sizeof(t->id));
            memcpy(t->id, tenant, len);
            t->len = (uint32_t)len;
            t->hash = hash;
            atomic_store_explicit(&t->ready, 1, memory_order_release);
            atomic_store_explicit(&s->hdr->tenants, pos + 1, memory_order_release);
            index_put(s->tenant_index, s->geo.tenant_index_cap, hash, pos);
        }
        shm_names_unlock(s);
    }
    e->tenant_kind = TENANT_INTERNED;
    memcpy(e->tenant, &pos, sizeof(pos));
    return STICKY_OK;
}

int shm_tenant_decode(struct sticky_shm *s, const struct shm_slot *e, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t k = e->tenant_kind;
    if (k == TENANT_EMPTY) {
        out[0] = '\0';
        return STICKY_OK;
    }
    if (k == TENANT_HEX) {
        for (int i = 0; i < 16; i++) {
            out[2 * i] = hex[e->tenant[i] >> 4];
            out[2 * i + 1] = hex[e->tenant[i] & 15];
        }
        out[32] = '\0';
        return STICKY_OK;
    }
    if (k > TENANT_RAW0 && k <= TENANT_RAW0 + TENANT_RAW_MAX) {
        size_t len = (size_t)(k - TENANT_RAW0);
        if (memchr(e->tenant, '\0', len) != NULL)
            return STICKY_ECORRUPT;
        memcpy(out, e->tenant, len);
        out[len] = '\0';
        return STICKY_OK;
    }
    if (k == TENANT_INTERNED) {
        uint32_t pos;
        memcpy(&pos, e->tenant, sizeof(pos));
        struct shm_tenant *t = tenant_at(s, pos);
        if (t == NULL || memchr(t->id, '\0', t->len) != NULL)
            return STICKY_ECORRUPT;
        memcpy(out, t->id, t->len);
        out[t->len] = '\0';
        return STICKY_OK;
    }
    return STICKY_ECORRUPT;
}

/* ---- recovery --------------------------------------------------------------- */

void shm_names_rebuild(struct sticky_shm *s)
{
    struct shm_header *h = s->hdr;
    memset(s->channel_index, 0, (size_t)s->geo.channel_index_cap * 4);
    uint32_t top = 0;
    for (uint32_t pos = 0; pos < s->geo.sizes.max_channels; pos++) {
        struct shm_channel *c = &s->channels[pos];
        uint32_t r = atomic_load_explicit(&c->ready, memory_order_relaxed);
        if (r == 0)
            continue;
        size_t n = strnlen(c->id, STICKY_ID_SIZE);
        if (r != 1 || c->index != pos || n == 0 || n >= STICKY_ID_SIZE ||
            c->hash != fnv(c->id, n)) {
            atomic_store_explicit(&c->ready, 0, memory_order_relaxed);
            continue;
        }
        health_record_recover((struct channel_health *)c->health);
        index_put(s->channel_index, s->geo.channel_index_cap, c->hash, pos);
        top = pos + 1;
    }
    atomic_store_explicit(&h->channels, top, memory_order_relaxed);

    memset(s->tenant_index, 0, (size_t)s->geo.tenant_index_cap * 4);
    top = 0;
    for (uint32_t pos = 0; pos < s->geo.sizes.max_tenants; pos++) {
        struct shm_tenant *t = &s->tenants[pos];
        uint32_t r = atomic_load_explicit(&t->ready, memory_order_relaxed);
        if (r == 0)
            continue;
        if (r != 1 || t->len == 0 || t->len >= STICKY_ID_SIZE ||
            memchr(t->id, '\0', t->len) != NULL || t->hash != fnv(t->id, t->len)) {
            atomic_store_explicit(&t->ready, 0, memory_order_relaxed);
            continue;
        }
        index_put(s->tenant_index, s->geo.tenant_index_cap, t->hash, pos);
        top = pos + 1;
    }
    atomic_store_explicit(&h->tenants, top, memory_order_relaxed);
}
