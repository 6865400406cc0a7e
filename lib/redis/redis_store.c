/*
 * lib/redis/redis_store.c - the Redis backend's sticky_store_vtable and
 * its constructor: each method formats the Redis key, runs its script
 * (redis_conn.c) in one round trip, checks the reply's shape, decodes the
 * record strictly and keeps the sticky_store_stats counters; get and put
 * also carry the shared channel health (redis_health.c). Also
 * sticky_redis_store_get_stats(), which finds its state with
 * sticky_store_self() (either vtable: this one or the loop store's,
 * redis_async.c). Also what the pooled and the async paths share: the
 * reply parser and the put call.
 */
#include <stdio.h>
#include <string.h>

#include "sticky/error.h"
#include "sticky/store.h"
#include "redis_internal.h"
#include "util/struct_size.h"

#define KEY_BUF (STICKY_REDIS_STORE_MAX_PREFIX + 17)

static int fmt_i64(char *buf, size_t cap, int64_t v, size_t *len)
{
    int n = snprintf(buf, cap, "%lld", (long long)v);
    *len = (size_t)n;
    return n;
}

/* Reply {status, record}: status into *st, record decoded into @out (if
 * not NULL and the status says there is one). */
int rreply_record(struct rstore *rs, const redisReply *r, long long *st,
                  int want_record_from, sticky_mapping *out, uint64_t key)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        goto bad;
    *st = r->element[0]->integer;
    /* {status[, record]} or, with health news, {status, record or '',
     * mode, version, junk, field, value, ...}. */
    if (r->elements > 2) {
        if (r->element[1]->type != REDIS_REPLY_STRING || rhealth_take(rs, r, 2) != STICKY_OK)
            goto bad;
    }
    if (*st < 0) {
        rlog(rs, STICKY_LOG_WARN, "undecodable record under key %016llx",
             (unsigned long long)key);
        goto bad;
    }
    if (*st >= want_record_from) {
        if (r->elements < 2 || r->element[1]->type != REDIS_REPLY_STRING)
            goto bad;
        sticky_mapping tmp;
        memset(&tmp, 0, sizeof(tmp));
        if (rrecord_decode(r->element[1]->str, r->element[1]->len, &tmp) != STICKY_OK) {
            rlog(rs, STICKY_LOG_WARN, "undecodable record under key %016llx",
                 (unsigned long long)key);
            goto bad;
        }
        if (out != NULL) {
            memcpy(out->channel_id, tmp.channel_id, sizeof(tmp.channel_id));
            memcpy(out->tenant_id, tmp.tenant_id, sizeof(tmp.tenant_id));
            out->key = key;
            out->request_count = tmp.request_count;
            out->created_ms = tmp.created_ms;
            out->last_access_ms = tmp.last_access_ms;
            out->expires_ms = tmp.expires_ms;
        }
    }
    return STICKY_OK;
bad:
    RCOUNT(rs, protocol_errors);
    return STICKY_ESTORE;
}

/* Run @script on key @key in one round trip and parse its {status, record}
 * reply: the shared tail of get, put and touch. */
static int eval_record(struct rstore *rs, enum rscript script, uint64_t key, const char *k, size_t kl,
                       int nargs, const char **args, const size_t *lens,
                       int want_record_from, sticky_mapping *out, long long *st)
{
    redisReply *r;
    /* get and put also read the health hash (KEYS[2]); touch does not. */
    int with_health = script == RS_GET || script == RS_PUT;
    const char *keys[2] = {k, rs->health.key};
    size_t key_lens[2] = {kl, rs->health.key_len};
    int rc = rconn_eval(rs, script, with_health ? 2 : 1, keys, key_lens, nargs, args, lens, &r);
    if (rc != STICKY_OK)
        return rc;
    rc = rreply_record(rs, r, st, want_record_from, out, key);
    freeReplyObject(r);
    return rc;
}

int rstore_get(void *self, uint64_t key, int64_t now_ms, unsigned flags,
                 sticky_mapping *out)
{
    struct rstore *rs = self;
    char k[KEY_BUF], now[24], ttl[24], thr[24], seen[24];
    size_t kl = rkey_format(rs, key, k, sizeof(k));
    const char *args[5] = {now, ttl, thr, (flags & STICKY_STORE_PEEK) ? "1" : "0", seen};
    size_t lens[5];
    fmt_i64(now, sizeof(now), now_ms, &lens[0]);
    fmt_i64(ttl, sizeof(ttl), rs->o.ttl_ms, &lens[1]);
    fmt_i64(thr, sizeof(thr), rs->o.threshold_ms, &lens[2]);
    lens[3] = 1;
    lens[4] = rhealth_seen_arg(rs, seen, sizeof(seen));
    long long st = 0;
    int rc = eval_record(rs, RS_GET, key, k, kl, 5, args, lens, 1, out, &st);
    if (rc != STICKY_OK)
        return rc;
    int peek = (flags & STICKY_STORE_PEEK) != 0;
    if (st == 0) {
        if (!peek)
            RCOUNT(rs, misses);
        return STICKY_ENOTFOUND;
    }
    if (!peek) {
        RCOUNT(rs, hits);
        if (st == 2)
            RCOUNT(rs, renewals);
    }
    return STICKY_OK;
}

int rput_cmd(struct rstore *rs, const sticky_mapping *m, int64_t now_ms, unsigned flags,
             struct rcmd *c)
{
    char k[KEY_BUF], rec[RRECORD_MAX], seen[24];
    size_t kl = rkey_format(rs, m->key, k, sizeof(k));
    int n = rrecord_encode(rec, sizeof(rec), now_ms, now_ms, now_ms + rs->o.ttl_ms, 1,
                           m->tenant_id, m->channel_id);
    if (n < 0)
        return STICKY_ELIMIT;
    size_t sl = rhealth_seen_arg(rs, seen, sizeof(seen));
    rcmd_init(c, RS_PUT);
    c->nkeys = 2;
    if (rcmd_add(c, k, kl) || rcmd_add(c, rs->health.key, rs->health.key_len) ||
        rcmd_addf(c, now_ms) || rcmd_addf(c, rs->o.ttl_ms) ||
        rcmd_add(c, (flags & STICKY_STORE_IF_ABSENT) ? "1" : "0", 1) ||
        rcmd_add(c, rec, (size_t)n) || rcmd_add(c, seen, sl))
        return STICKY_ELIMIT;
    return STICKY_OK;
}

int rput_result(struct rstore *rs, const redisReply *r, uint64_t key, sticky_mapping *existing)
{
    long long st = 0;
    int rc = rreply_record(rs, r, &st, 2, existing, key);
    if (rc != STICKY_OK)
        return rc;
    if (st == 2)
        return STICKY_EEXIST;
    if (st == 1)
        RCOUNT(rs, updates);
    else
        RCOUNT(rs, inserts);
    return STICKY_OK;
}

int rstore_put(void *self, const sticky_mapping *m, int64_t now_ms, unsigned flags,
               sticky_mapping *existing)
{
    struct rstore *rs = self;
    struct rcmd c;
    int rc = rput_cmd(rs, m, now_ms, flags, &c);
    if (rc != STICKY_OK)
        return rc;
    redisReply *r;
    rc = rconn_eval(rs, RS_PUT, c.nkeys, c.v, c.l, c.n - c.nkeys, c.v + c.nkeys,
                    c.l + c.nkeys, &r);
    if (rc != STICKY_OK)
        return rc;
    rc = rput_result(rs, r, m->key, existing);
    freeReplyObject(r);
    return rc;
}

int rstore_touch(void *self, uint64_t key, int64_t now_ms, sticky_mapping *out)
{
    struct rstore *rs = self;
    char k[KEY_BUF], now[24], ttl[24];
    size_t kl = rkey_format(rs, key, k, sizeof(k));
    const char *args[2] = {now, ttl};
    size_t lens[2];
    fmt_i64(now, sizeof(now), now_ms, &lens[0]);
    fmt_i64(ttl, sizeof(ttl), rs->o.ttl_ms, &lens[1]);
    long long st = 0;
    int rc = eval_record(rs, RS_TOUCH, key, k, kl, 2, args, lens, 1, out, &st);
    if (rc != STICKY_OK)
        return rc;
    if (st == 0)
        return STICKY_ENOTFOUND;
    RCOUNT(rs, renewals);
    return STICKY_OK;
}

int rstore_del(void *self, uint64_t key, int64_t now_ms)
{
    struct rstore *rs = self;
    char k[KEY_BUF], now[24];
    size_t kl = rkey_format(rs, key, k, sizeof(k));
    const char *args[1] = {now};
    size_t lens[1];
    fmt_i64(now, sizeof(now), now_ms, &lens[0]);
    redisReply *r;
    const char *keys[1] = {k};
    int rc = rconn_eval(rs, RS_DEL, 1, keys, &kl, 1, args, lens, &r);
    if (rc != STICKY_OK)
        return rc;
    int type = r->type;
    long long v = r->integer;
    freeReplyObject(r);
    if (type != REDIS_REPLY_INTEGER) {
        RCOUNT(rs, protocol_errors);
        return STICKY_ESTORE;
    }
    if (v == 0)
        return STICKY_ENOTFOUND;
    RCOUNT(rs, deletes);
    return STICKY_OK;
}

/* Redis expires keys itself (PX); there is nothing to reclaim here. */
int rstore_sweep(void *self, int64_t now_ms, size_t budget, size_t *reclaimed)
{
    (void)self;
    (void)now_ms;
    (void)budget;
    (void)reclaimed;
    return STICKY_OK;
}

#define LD(rs, f) atomic_load_explicit(&(rs)->f, memory_order_relaxed)

static void fill_redis_stats(struct rstore *rs, sticky_redis_store_stats *s)
{
    s->round_trips = LD(rs, round_trips);
    s->connects = LD(rs, connects);
    s->reconnects = LD(rs, reconnects);
    s->connect_failures = LD(rs, connect_failures);
    s->timeouts = LD(rs, timeouts);
    s->io_errors = LD(rs, io_errors);
    s->server_errors = LD(rs, server_errors);
    s->protocol_errors = LD(rs, protocol_errors);
    s->noscript_reloads = LD(rs, noscript_reloads);
    s->fast_fails = LD(rs, fast_fails);
    s->pool_waits = LD(rs, pool_waits);
    s->pool_timeouts = LD(rs, pool_timeouts);
    s->health_published = LD(rs, health_published);
    s->health_received = LD(rs, health_received);
    s->health_ignored = LD(rs, health_ignored);
    int64_t open = LD(rs, connections_open);
    s->connections_open = open > 0 ? (uint64_t)open : 0;
    s->backoff_ms = atomic_load(&rs->down_until_ns) != 0 ? LD(rs, backoff_ms) : 0;
}

int rstore_stats(void *self, sticky_store_stats *out)
{
    struct rstore *rs = self;
    out->hits = LD(rs, hits);
    out->misses = LD(rs, misses);
    out->inserts = LD(rs, inserts);
    out->updates = LD(rs, updates);
    out->renewals = LD(rs, renewals);
    out->deletes = LD(rs, deletes);
    if (rs->o.count_entries)
        return rconn_count_keys(rs, &out->entries);
    return STICKY_OK;
}

void rstore_free(struct rstore *rs)
{
    rpool_free(rs);
    ropts_free(rs);
    if (rs->health_ready)
        rhealth_free(rs);
    if (rs->gate_ready)
        pthread_mutex_destroy(&rs->gate_lock);
    sticky_ctx_mem_free(rs->ctx, rs);
}

static void r_destroy(void *self)
{
    rstore_free(self);
}

/* Static: its address is how sticky_redis_store_get_stats() recognises a
 * Redis store (sticky_store_self()). */
static const sticky_store_vtable redis_vtable = {
    .version = 2, /* the methods below; a number, not the header's macro */
    .flags = STICKY_STORE_CAP_THREAD_SAFE,
    .name = "redis",
    .get = rstore_get,
    .put = rstore_put,
    .touch = rstore_touch,
    .del = rstore_del,
    .sweep = rstore_sweep,
    .stats = rstore_stats,
    .destroy = r_destroy,
    /* version 2: shared channel health (redis_health.c) */
    .health_publish = rhealth_publish,
    .health_poll = rhealth_poll,
};

int rstore_setup(struct rstore *rs, const sticky_redis_store_options *opts)
{
    if (pthread_mutex_init(&rs->gate_lock, NULL) != 0)
        return STICKY_ENOMEM;
    rs->gate_ready = 1;
    int rc;
    if ((rc = ropts_load(rs, opts)) == STICKY_OK && (rc = rhealth_init(rs)) == STICKY_OK)
        rs->health_ready = 1;
    if (rc == STICKY_OK)
        rc = rpool_init(rs);
    return rc;
}

STICKY_API int sticky_redis_store_new(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                      sticky_store **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return STICKY_EINVAL;
    struct rstore *rs = sticky_ctx_mem_calloc(ctx, 1, sizeof(*rs));
    if (rs == NULL)
        return STICKY_ENOMEM;
    rs->ctx = ctx;
    int rc;
    if ((rc = rstore_setup(rs, opts)) != STICKY_OK ||
        (rc = sticky_store_new(ctx, &redis_vtable, rs, out)) != STICKY_OK) {
        rstore_free(rs);
        return rc;
    }
    if (rs->o.unix_path != NULL)
        rlog(rs, STICKY_LOG_INFO, "created: unix:%s db %d prefix \"%s\" pool %u",
             rs->o.unix_path, rs->o.db, rs->o.prefix, rs->o.pool_size);
    else
        rlog(rs, STICKY_LOG_INFO, "created: %s:%d db %d prefix \"%s\" pool %u",
             rs->o.host, rs->o.port, rs->o.db, rs->o.prefix, rs->o.pool_size);
    return STICKY_OK;
}

STICKY_API int sticky_redis_store_get_stats(sticky_store *store, sticky_redis_store_stats *out)
{
    if (store == NULL || out == NULL)
        return STICKY_EINVAL;
    if (struct_check_size(out->size, STRUCT_END(sticky_redis_store_stats, backoff_ms), NULL) !=
        STICKY_OK)
        return STICKY_EABI;
    struct rstore *rs = sticky_store_self(store, &redis_vtable);
    if (rs == NULL)
        rs = sticky_store_self(store, &rasync_vtable); /* sticky_redis_store_new_loop() */
    if (rs == NULL)
        return STICKY_EINVAL; /* a store of another backend */
    sticky_redis_store_stats full;
    memset(&full, 0, sizeof(full));
    full.size = sizeof(full);
    fill_redis_stats(rs, &full);
    struct_copy_out(out, out->size, &full, sizeof(full));
    return STICKY_OK;
}
