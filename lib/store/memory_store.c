/*
 * lib/store/memory_store.c - the memory store's options, creation and vtable
 * methods (get, put, touch, delete, sweep, stats, destroy). Each method
 * locks only the key's shard; see memory_store_entry.c for the entries and
 * memory_store_sweep.c for sweeping and eviction.
 */
#include <string.h>

#include "store/memory_store.h"
#include "util/struct_log.h"
#include "sticky/error.h"

static void options_defaults(sticky_memory_store_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->shard_count = STICKY_MEMORY_STORE_DEFAULT_SHARDS;
    o->max_sessions = 0;
    o->ttl_seconds = 0;
    o->renew_mode = STICKY_RENEW_THRESHOLD;
    o->renew_threshold_seconds = STICKY_RENEW_THRESHOLD_FROM_CTX;
    o->sweep_on_write = STICKY_MEMORY_STORE_DEFAULT_SWEEP_ON_WRITE;
}

STICKY_API int sticky_memory_store_options_init_sized(sticky_memory_store_options *o,
                                                      size_t size)
{
    sticky_memory_store_options d;
    options_defaults(&d);
    return struct_init_defaults(o, size, MEMORY_STORE_OPTIONS_MIN_SIZE, &d, sizeof(d));
}

/*
 * Times never move backwards: "now" is read before the shard lock, so a
 * thread can apply an older now after another thread applied a newer one
 * (and a wall clock can step back).
 */
static void mem_seen(const struct mem_shard *sh, struct mem_entry *e, int64_t now)
{
    if (now > mem_last_access(sh, e))
        mem_time_set(sh, &e->w_access, now);
}

static void mem_extend(const struct mem_shard *sh, struct mem_entry *e,
                       int64_t expires)
{
    if (expires > mem_expires(sh, e))
        mem_time_set(sh, &e->w_expires, expires);
}

/* Remaining TTL below the threshold -> renew (threshold mode); always
 * (sliding mode). */
static void renew_on_use(struct mem_shard *sh, struct mem_entry *e, int64_t now)
{
    const struct mem_store *st = sh->store;
    if (st->renew_mode == STICKY_RENEW_SLIDING ||
        mem_expires(sh, e) < mem_sat_add(now, st->threshold_ms)) {
        mem_extend(sh, e, mem_sat_add(now, st->ttl_ms));
        sh->c.renewals++;
    }
}

/*
 * The start of every keyed method: lock @key's shard and find the key's
 * live entry. An expired entry is never returned; with @reclaim it is
 * reclaimed on the spot, and a shard whose packed-time window no longer
 * holds @now is re-based first (a peek passes 0: it changes nothing, and
 * reading needs no re-base). Returns the locked shard (the caller unlocks
 * it); *@e is the live entry or NULL, and *@hashv the key's hash value
 * within the shard.
 */
static struct mem_shard *lock_live(struct mem_store *st, uint64_t key, int64_t now,
                                   int reclaim, unsigned *hashv, struct mem_entry **e)
{
    uint64_t h = mem_mix(key);
    struct mem_shard *sh = mem_shard_of(st, h);
    *hashv = (unsigned)h;
    pthread_mutex_lock(&sh->lock);
    if (reclaim)
        mem_rebase_if_needed(sh, now);
    *e = mem_find(sh, key, *hashv);
    if (*e != NULL && mem_expired(sh, *e, now)) {
        if (reclaim)
            mem_reclaim(sh, *e, 1);
        *e = NULL;
    }
    return sh;
}

static int mem_get(void *self, uint64_t key, int64_t now, unsigned flags,
                   sticky_mapping *out)
{
    struct mem_store *st = self;
    int peek = (flags & STICKY_STORE_PEEK) != 0;
    unsigned hashv;
    struct mem_entry *e;
    struct mem_shard *sh = lock_live(st, key, now, !peek, &hashv, &e);
    if (e == NULL) {
        if (!peek)
            sh->c.misses++;
        pthread_mutex_unlock(&sh->lock);
        return STICKY_ENOTFOUND;
    }
    if (!peek) {
        sh->c.hits++;
        mem_low_set(&e->w_expires, mem_count(e) + 1);
        mem_seen(sh, e, now);
        renew_on_use(sh, e, now);
        mem_lru_touch(sh, e);
    }
    mem_to_record(sh, e, out);
    pthread_mutex_unlock(&sh->lock);
    return STICKY_OK;
}

static int mem_put(void *self, const sticky_mapping *m, int64_t now,
                   unsigned flags, sticky_mapping *existing)
{
    struct mem_store *st = self;
    for (;;) {
        unsigned hashv;
        struct mem_entry *e;
        struct mem_shard *sh = lock_live(st, m->key, now, 1, &hashv, &e);
        if (e != NULL) {
            int rc = STICKY_EEXIST;
            if (flags & STICKY_STORE_IF_ABSENT) {
                if (existing != NULL)
                    mem_to_record(sh, e, existing);
            } else if ((rc = mem_set_ids(sh, e, m->channel_id, m->tenant_id)) ==
                       STICKY_OK) {
                mem_time_set(sh, &e->w_expires, mem_sat_add(now, st->ttl_ms));
                mem_low_set(&e->w_expires, 1);
                mem_time_set(sh, &e->w_access, now);
                mem_time_set(sh, &e->w_created, now);
                mem_lru_touch(sh, e);
                sh->c.updates++;
            }
            pthread_mutex_unlock(&sh->lock);
            return rc;
        }
        if (st->sweep_on_write != 0) {
            size_t examined = 0;
            mem_sweep_shard(sh, now, st->sweep_on_write, &examined, 0);
        }
        if (mem_try_reserve(st)) {
            int rc = mem_insert(sh, m->key, hashv, m->channel_id, m->tenant_id, now);
            if (rc == STICKY_OK)
                sh->c.inserts++;
            else
                atomic_fetch_sub_explicit(&st->count, 1, memory_order_relaxed);
            pthread_mutex_unlock(&sh->lock);
            return rc;
        }
        /* At the cap: evict without holding our lock, then try again. */
        pthread_mutex_unlock(&sh->lock);
        mem_evict_one(st, now);
    }
}

static int mem_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct mem_store *st = self;
    unsigned hashv;
    struct mem_entry *e;
    struct mem_shard *sh = lock_live(st, key, now, 1, &hashv, &e);
    int rc = STICKY_ENOTFOUND;
    if (e != NULL) {
        mem_extend(sh, e, mem_sat_add(now, st->ttl_ms));
        mem_seen(sh, e, now);
        sh->c.renewals++;
        mem_lru_touch(sh, e);
        if (out != NULL)
            mem_to_record(sh, e, out);
        rc = STICKY_OK;
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

static int mem_del(void *self, uint64_t key, int64_t now)
{
    struct mem_store *st = self;
    unsigned hashv;
    struct mem_entry *e;
    struct mem_shard *sh = lock_live(st, key, now, 1, &hashv, &e);
    int rc = STICKY_ENOTFOUND;
    if (e != NULL) {
        sh->c.deletes++;
        mem_remove(sh, e);
        rc = STICKY_OK;
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

/* Visit shards round-robin from a moving start until the budget is spent. */
static int mem_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    struct mem_store *st = self;
    uint32_t start = atomic_fetch_add_explicit(&st->sweep_start, 1,
                                               memory_order_relaxed);
    size_t examined = 0;
    for (uint32_t i = 0; i <= st->shard_mask && examined < budget; i++) {
        struct mem_shard *sh = &st->shards[(start + i) & st->shard_mask];
        pthread_mutex_lock(&sh->lock);
        *reclaimed += mem_sweep_shard(sh, now, budget, &examined, 1);
        pthread_mutex_unlock(&sh->lock);
    }
    return STICKY_OK;
}

static int mem_stats(void *self, sticky_store_stats *out)
{
    struct mem_store *st = self;
    for (uint32_t i = 0; i <= st->shard_mask; i++) {
        struct mem_shard *sh = &st->shards[i];
        pthread_mutex_lock(&sh->lock);
        out->hits += sh->c.hits;
        out->misses += sh->c.misses;
        out->inserts += sh->c.inserts;
        out->updates += sh->c.updates;
        out->renewals += sh->c.renewals;
        out->expirations += sh->c.expirations;
        out->evictions += sh->c.evictions;
        out->deletes += sh->c.deletes;
        pthread_mutex_unlock(&sh->lock);
    }
    out->entries = atomic_load_explicit(&st->count, memory_order_relaxed);
    return STICKY_OK;
}

static void mem_destroy_n(struct mem_store *st, uint32_t n_locks)
{
    for (uint32_t i = 0; i <= st->shard_mask; i++) {
        mem_shard_release(&st->shards[i]);
        if (i < n_locks)
            pthread_mutex_destroy(&st->shards[i].lock);
    }
    mem_free(st->ctx, st->shards_raw);
    mem_free(st->ctx, st);
}

static void mem_destroy(void *self)
{
    struct mem_store *st = self;
    mem_destroy_n(st, st->shard_mask + 1);
}

static const sticky_store_vtable mem_vtable = {
    .version = 1, /* the methods below; a number, not the header's macro */
    .flags = STICKY_STORE_CAP_THREAD_SAFE | STICKY_STORE_CAP_NONBLOCKING,
    .name = "memory",
    .get = mem_get,
    .put = mem_put,
    .touch = mem_touch,
    .del = mem_del,
    .sweep = mem_sweep,
    .stats = mem_stats,
    .destroy = mem_destroy,
};

/* Resolve "from the context" defaults and check ranges. */
static int resolve_options(const sticky_ctx *ctx, sticky_memory_store_options *o)
{
    const sticky_config *cfg = &ctx->cfg;
    if (o->shard_count == 0)
        o->shard_count = STICKY_MEMORY_STORE_DEFAULT_SHARDS;
    if (o->max_sessions == 0)
        o->max_sessions = cfg->max_sessions;
    if (o->ttl_seconds == 0)
        o->ttl_seconds = cfg->ttl_seconds;
    if (o->renew_threshold_seconds == STICKY_RENEW_THRESHOLD_FROM_CTX)
        o->renew_threshold_seconds = (int32_t)cfg->renew_threshold_seconds;

    const char *bad = NULL;
    if (o->shard_count > STICKY_MEMORY_STORE_MAX_SHARDS ||
        (o->shard_count & (o->shard_count - 1)) != 0)
        bad = "shard_count (a power of two, 1..1024)";
    else if (o->max_sessions > STICKY_MAX_SESSIONS_LIMIT)
        bad = "max_sessions";
    else if (o->ttl_seconds > STICKY_MAX_TTL_SECONDS)
        bad = "ttl_seconds";
    else if (o->renew_mode != STICKY_RENEW_THRESHOLD &&
             o->renew_mode != STICKY_RENEW_SLIDING)
        bad = "renew_mode";
    else if (o->renew_threshold_seconds < 0 ||
             (uint32_t)o->renew_threshold_seconds > o->ttl_seconds)
        bad = "renew_threshold_seconds (0..ttl_seconds)";
    if (bad != NULL) {
        ctx_log(ctx, STICKY_LOG_ERROR, "memory store: invalid %s", bad);
        return STICKY_ECONFIG;
    }
    return STICKY_OK;
}

static unsigned log2u(uint32_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

STICKY_API int sticky_memory_store_new(sticky_ctx *ctx,
                                       const sticky_memory_store_options *opts,
                                       sticky_store **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return STICKY_EINVAL;
    sticky_memory_store_options o;
    options_defaults(&o);
    int rc = STICKY_OK;
    if (opts != NULL)
        rc = struct_in(ctx, "memory_store_new", "opts", &o, sizeof(o), opts,
                       MEMORY_STORE_OPTIONS_MIN_SIZE);
    if (rc == STICKY_OK)
        rc = resolve_options(ctx, &o);
    if (rc != STICKY_OK)
        return rc;

    struct mem_store *st = mem_calloc(ctx, 1, sizeof(*st));
    if (st == NULL)
        return STICKY_ENOMEM;
    st->ctx = ctx;
    st->shard_mask = o.shard_count - 1;
    st->shard_bits = log2u(o.shard_count);
    st->max_sessions = o.max_sessions;
    st->ttl_ms = (int64_t)o.ttl_seconds * 1000;
    st->threshold_ms = (int64_t)o.renew_threshold_seconds * 1000;
    st->renew_mode = o.renew_mode;
    st->sweep_on_write = o.sweep_on_write;
    st->future_ms = st->ttl_ms + (st->ttl_ms > MEM_FUTURE_SLACK_MS ? st->ttl_ms
                                                                    : MEM_FUTURE_SLACK_MS);
    atomic_init(&st->jump_logged, 0);
    atomic_init(&st->back_logged, 0);
    int64_t now = sticky_ctx_now_ms(ctx);
    atomic_init(&st->count, 0);
    atomic_init(&st->sweep_start, 0);

    size_t bytes = (size_t)o.shard_count * sizeof(struct mem_shard);
    st->shards_raw = mem_malloc(ctx, bytes + 63);
    if (st->shards_raw == NULL) {
        mem_free(ctx, st);
        return STICKY_ENOMEM;
    }
    st->shards = (struct mem_shard *)(((uintptr_t)st->shards_raw + 63) &
                                      ~(uintptr_t)63);
    memset(st->shards, 0, bytes);
    for (uint32_t i = 0; i < o.shard_count; i++) {
        struct mem_shard *sh = &st->shards[i];
        sh->ctx = ctx;
        sh->store = st;
        mem_set_base(sh, now);
        atomic_init(&sh->head_hint, INT64_MAX);
        if (pthread_mutex_init(&sh->lock, NULL) != 0) {
            mem_destroy_n(st, i);
            return STICKY_ENOMEM;
        }
    }
    rc = sticky_store_new(ctx, &mem_vtable, st, out);
    if (rc != STICKY_OK) {
        mem_destroy(st);
        return rc;
    }
    ctx_log(ctx, STICKY_LOG_DEBUG,
               "memory store: shards=%u max_sessions=%u ttl=%us renew=%s "
               "threshold=%ds sweep_on_write=%u",
               (unsigned)o.shard_count, (unsigned)o.max_sessions,
               (unsigned)o.ttl_seconds,
               o.renew_mode == STICKY_RENEW_SLIDING ? "sliding" : "threshold",
               (int)o.renew_threshold_seconds, (unsigned)o.sweep_on_write);
    return STICKY_OK;
}

/* Walk one shard's list and table and compare with its counters. */
static int check_shard(struct mem_shard *sh, size_t *pairs)
{
    size_t n = 0;
    struct mem_entry *prev = NULL;
    for (struct mem_entry *e = sh->head; e != NULL; e = e->hh.next) {
        const struct mem_pair *p = mem_pair_of(sh, e);
        if (e->hh.prev != prev || p == NULL || p->refs == 0 ||
            p->idx != mem_low_get(e->w_access))
            return STICKY_ESTORE;
        struct mem_entry *found = mem_find(sh, e->key, (unsigned)mem_mix(e->key));
        if (found != e)
            return STICKY_ESTORE;
        prev = e;
        n++;
    }
    if (n != sh->count || (sh->head != NULL && sh->head->hh.tbl->num_items != n))
        return STICKY_ESTORE;
    if (sh->head != NULL && ELMT_FROM_HH(sh->head->hh.tbl, sh->head->hh.tbl->tail) != prev)
        return STICKY_ESTORE;
    size_t refs = 0, shard_pairs = 0;
    for (struct mem_pair *p = sh->pairs; p != NULL; p = p->hh.next) {
        if (p->idx >= sh->pair_used || sh->pair_tab[p->idx] != p)
            return STICKY_ESTORE;
        refs += p->refs;
        shard_pairs++;
    }
    *pairs += shard_pairs;
    size_t used = 0;
    for (uint32_t i = 0; i < sh->pair_used; i++)
        used += sh->pair_tab[i] != NULL;
    if (used != shard_pairs || used + sh->n_free != sh->pair_used)
        return STICKY_ESTORE;
    if (refs != n)
        return STICKY_ESTORE;
    if (sh->base_ms < MEM_BASE_MIN || sh->base_ms > MEM_BASE_MAX ||
        sh->win_lo > sh->base_ms || sh->win_hi < sh->base_ms)
        return STICKY_ESTORE;
    int64_t hint = atomic_load_explicit(&sh->head_hint, memory_order_relaxed);
    int64_t want = INT64_MAX;
    if (sh->head != NULL)
        want = mem_last_access(sh, sh->head) < INT64_MAX ? mem_last_access(sh, sh->head)
                                                          : INT64_MAX - 1;
    if (hint != want)
        return STICKY_ESTORE;
    return STICKY_OK;
}

int memory_store_check(sticky_store *store, size_t *pairs_out)
{
    struct mem_store *st = sticky_store_self(store, &mem_vtable);
    if (st == NULL)
        return STICKY_EINVAL;
    size_t total = 0, pairs = 0;
    int rc = STICKY_OK;
    for (uint32_t i = 0; i <= st->shard_mask && rc == STICKY_OK; i++) {
        struct mem_shard *sh = &st->shards[i];
        pthread_mutex_lock(&sh->lock);
        rc = check_shard(sh, &pairs);
        total += sh->count;
        pthread_mutex_unlock(&sh->lock);
    }
    if (rc == STICKY_OK &&
        total != atomic_load_explicit(&st->count, memory_order_relaxed))
        rc = STICKY_ESTORE;
    if (pairs_out != NULL)
        *pairs_out = pairs;
    return rc;
}
