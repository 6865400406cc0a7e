/*
 * lib/redis/redis_internal.h - the Redis store's private state shared by
 * the files of lib/redis/: validated options, the connection pool (one
 * mutex per connection), the reconnect backoff gate, counters, the shared
 * channel health state, and the internal functions each file provides.
 */
#ifndef STICKY_REDIS_INTERNAL_H
#define STICKY_REDIS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "sticky/config.h"
#include "sticky/context.h"
#include "sticky/redis_store.h"
#include "sticky/store.h"

/* The Lua scripts, one per store operation (redis_scripts.c). */
enum rscript { RS_GET = 0, RS_PUT, RS_TOUCH, RS_DEL, RS_HEALTH, RS_LOOKUP, RS_COUNT };

/* Shared channel health (redis_health.c): health records a get or put
 * reply carries at most; events waiting for health_poll at most. */
#define HEALTH_REPLY_MAX 32
#define HEALTH_QUEUE 128

struct rhealth {
    pthread_mutex_t lock;        /* guards seen and the queue */
    int64_t seen;                /* last health version taken; -1: the
                                  * health key was reported unreadable */
    _Atomic int64_t seen_hint;   /* a copy of seen read without the lock */
    atomic_uint queued;          /* events in q: health_poll's fast path */
    unsigned head;
    sticky_health_event q[HEALTH_QUEUE];
    char origin[17];             /* this store's id in published records */
    char key[STICKY_REDIS_STORE_MAX_PREFIX + 8]; /* <prefix>health */
    size_t key_len;
};

/* One pooled connection; `lock` is held by the call using it. */
struct rslot {
    pthread_mutex_t lock;
    redisContext *c;         /* NULL: not connected */
    int ever_connected;      /* a later connect is a reconnect */
    char sha[RS_COUNT][41];  /* SCRIPT LOAD results on this connection */
};

/* Validated, owned copy of the options. */
struct ropts {
    char *host, *unix_path, *username, *password, *client_name;
    char prefix[STICKY_REDIS_STORE_MAX_PREFIX + 1];
    size_t prefix_len;
    int port, db;
    int64_t connect_timeout_ns, command_timeout_ns;
    uint32_t pool_size;
    int64_t ttl_ms;
    int64_t threshold_ms;    /* -1: sliding renewal */
    uint32_t backoff_min_ms, backoff_max_ms;
    int count_entries, tcp_keepalive;
};

struct rstore {
    sticky_ctx *ctx;         /* allocator and log: sticky_ctx_mem_*(), rlog() */
    struct ropts o;

    struct rslot *pool;
    atomic_uint next_slot;   /* round-robin start */

    /* Backoff gate (redis_conn.c): 0 = healthy; otherwise calls before
     * this CLOCK_MONOTONIC time fail at once. */
    _Atomic int64_t down_until_ns;
    pthread_mutex_t gate_lock; /* serialises backoff_ms updates */
    int gate_ready;            /* gate_lock initialised */
    _Atomic uint32_t backoff_ms;

    struct rhealth health;   /* shared channel health (redis_health.c) */
    int health_ready;        /* health.lock initialised */

    /* sticky_store_stats counters. */
    atomic_uint_fast64_t hits, misses, inserts, updates, renewals, deletes;
    /* sticky_redis_store_stats counters. */
    atomic_uint_fast64_t round_trips, connects, reconnects, connect_failures,
        timeouts, io_errors, server_errors, protocol_errors, noscript_reloads,
        fast_fails, pool_waits, pool_timeouts, health_published, health_received,
        health_ignored;
    atomic_int_fast64_t connections_open;

    struct rasync *as;       /* the loop engine (redis_async.c); NULL for a
                              * store of sticky_redis_store_new() */
};

#define RCOUNT(rs, field) atomic_fetch_add_explicit(&(rs)->field, 1, memory_order_relaxed)

/* Log through the context (sticky_ctx_log()), every line prefixed with
 * "redis store: "; the format must be a string literal. */
#define rlog(rs, level, ...) \
    sticky_ctx_log((rs)->ctx, (level), "redis store: " __VA_ARGS__)

/* redis_util.c */
/* A copy of @s from the context's allocator (free: sticky_ctx_mem_free). */
char *rstrdup(struct rstore *rs, const char *s);
/* CLOCK_MONOTONIC in ns: timeouts and backoff only, never expiry. */
int64_t rmono_ns(void);

/* redis_options.c: defaults from @ctx, validation, owned copies. */
int ropts_load(struct rstore *rs, const sticky_redis_store_options *in);
void ropts_free(struct rstore *rs);

/* redis_scripts.c */
const char *rscript_body(enum rscript id);

/* redis_record.c: the value stored under each key (docs/redis.md). */
#define RRECORD_MAX 320
/* Encode a fresh record; returns its length, or -1 if it does not fit. */
int rrecord_encode(char *buf, size_t cap, int64_t created_ms, int64_t last_ms,
                   int64_t expires_ms, uint64_t count, const char *tenant,
                   const char *channel);
/* Decode @len bytes into @m (key not set). 0 or STICKY_ESTORE. */
int rrecord_decode(const char *v, size_t len, sticky_mapping *m);
/* The Redis key of a session key: prefix + 16 hex digits. */
size_t rkey_format(const struct rstore *rs, uint64_t key, char *buf, size_t cap);

/* redis_conn.c: the backoff gate, one per store, shared by the pooled
 * calls and the async engine. rgate_enter: 0 go ahead (healthy, or this
 * caller probes), -1 refused. */
int rgate_enter(struct rstore *rs, int64_t now);
void rgate_success(struct rstore *rs);
void rgate_failure(struct rstore *rs, const char *why);

/* One script call's keys and arguments (after EVALSHA <sha> <numkeys>),
 * with room for a whole key chain and the health hash. */
#define RCMD_MAX (STICKY_MAX_MESSAGE_COUNT + 1 + 8)
#define RCMD_BUF 8192
struct rcmd {
    enum rscript id;
    int nkeys, n;               /* keys, keys + arguments */
    const char *v[RCMD_MAX];
    size_t l[RCMD_MAX];
    char buf[RCMD_BUF];
    size_t used;
};
void rcmd_init(struct rcmd *c, enum rscript id);
/* Append one key or argument (copied into c->buf); -1 if it does not fit. */
int rcmd_add(struct rcmd *c, const char *s, size_t len);
int rcmd_addf(struct rcmd *c, long long v);

/* redis_store.c: what the pooled and the async paths share. */
/* Reply {status, record[, health...]}: status into *st, the record decoded
 * into @out's fields (key set to @key) when status >= @want_record_from;
 * health news queued. 0 or STICKY_ESTORE (counted). */
int rreply_record(struct rstore *rs, const redisReply *r, long long *st,
                  int want_record_from, sticky_mapping *out, uint64_t key);
/* The put script's call, and its reply turned into put()'s result. */
int rput_cmd(struct rstore *rs, const sticky_mapping *m, int64_t now_ms, unsigned flags,
             struct rcmd *c);
int rput_result(struct rstore *rs, const redisReply *r, uint64_t key, sticky_mapping *existing);
/* The pooled (blocking) methods, also the async store's synchronous ones. */
int rstore_get(void *self, uint64_t key, int64_t now_ms, unsigned flags, sticky_mapping *out);
int rstore_put(void *self, const sticky_mapping *m, int64_t now_ms, unsigned flags,
               sticky_mapping *existing);
int rstore_touch(void *self, uint64_t key, int64_t now_ms, sticky_mapping *out);
int rstore_del(void *self, uint64_t key, int64_t now_ms);
int rstore_sweep(void *self, int64_t now_ms, size_t budget, size_t *reclaimed);
int rstore_stats(void *self, sticky_store_stats *out);
/* The loop store's vtable (redis_async.c), for get_stats' recognition. */
extern const sticky_store_vtable rasync_vtable;
/* Everything but the async engine; frees @rs. */
void rstore_free(struct rstore *rs);
/* Options, health and the pool of a new store (sticky_redis_store_new and
 * the loop constructor). 0 or an error (then rstore_free(rs)). */
int rstore_setup(struct rstore *rs, const sticky_redis_store_options *opts);

/* redis_conn.c: run one script on a pooled connection with @nkeys keys
 * (1 or 2). On 0, *@reply is the script's reply (an array or integer;
 * free with freeReplyObject()). Any failure is STICKY_ESTORE, already
 * counted and logged. */
int rconn_eval(struct rstore *rs, enum rscript id, int nkeys, const char *const *keys,
               const size_t *key_lens, int nargs, const char **args,
               const size_t *arg_lens, redisReply **reply);
/* Count keys under the prefix with SCAN (for stats). */
int rconn_count_keys(struct rstore *rs, uint64_t *count);
int rpool_init(struct rstore *rs);
void rpool_free(struct rstore *rs);

/* redis_health.c: shared channel health (docs/redis.md). */
int rhealth_init(struct rstore *rs);
void rhealth_free(struct rstore *rs);
/* The version argument of get / put ("12", or "-1"); returns its length. */
size_t rhealth_seen_arg(struct rstore *rs, char *buf, size_t cap);
/* Take the health part of a get / put reply (elements from @from on:
 * mode, version, junk, field, value, ...). STICKY_ESTORE if its shape is
 * wrong; bad records inside are logged, counted and skipped. */
int rhealth_take(struct rstore *rs, const redisReply *r, size_t from);
/* The health script's call for @ev, and its reply as publish's result. */
int rhealth_cmd(struct rstore *rs, const sticky_health_event *ev, int64_t now_ms, struct rcmd *c);
int rhealth_result(struct rstore *rs, const redisReply *r);
int rhealth_publish(void *self, const sticky_health_event *ev, int64_t now_ms);
int rhealth_poll(void *self, sticky_health_event *out);

#endif /* STICKY_REDIS_INTERNAL_H */
