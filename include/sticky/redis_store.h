/*
 * sticky/redis_store.h - the Redis storage backend (libsticky-redis, a separate
 * library: link with `pkg-config --libs sticky-redis`). Sessions live in a
 * Redis (or Valkey) server shared by every gateway node, so a conversation
 * sticks to one channel whichever node its request lands on. One round trip
 * per store call (a Lua script per operation), TTL kept by Redis itself,
 * fail-open: a dead or slow server makes calls fail fast with STICKY_ESTORE
 * and the selector decides without the store (store_degraded).
 *
 * Usage:
 *     sticky_redis_store_options o;
 *     sticky_redis_store_options_init(&o);        // 127.0.0.1:6379, "sticky:"
 *     o.host = "10.0.0.5";
 *     sticky_store *st;
 *     if (sticky_redis_store_new(ctx, &o, &st) == STICKY_OK)
 *         sticky_ctx_set_store(ctx, st);
 *
 * docs/redis.md covers deployment, key layout and the record encoding.
 */
#ifndef STICKY_REDIS_STORE_H
#define STICKY_REDIS_STORE_H

#include "common.h"
#include "context.h"
#include "store.h"

STICKY_BEGIN_DECLS

#define STICKY_REDIS_STORE_DEFAULT_HOST "127.0.0.1"
#define STICKY_REDIS_STORE_DEFAULT_PORT 6379
#define STICKY_REDIS_STORE_DEFAULT_PREFIX "sticky:"
#define STICKY_REDIS_STORE_DEFAULT_CLIENT_NAME "libsticky"
#define STICKY_REDIS_STORE_DEFAULT_CONNECT_TIMEOUT_MS 200u
#define STICKY_REDIS_STORE_DEFAULT_COMMAND_TIMEOUT_MS 100u
#define STICKY_REDIS_STORE_DEFAULT_POOL_SIZE 4u
#define STICKY_REDIS_STORE_MAX_POOL_SIZE 256u
#define STICKY_REDIS_STORE_DEFAULT_BACKOFF_MIN_MS 50u
#define STICKY_REDIS_STORE_DEFAULT_BACKOFF_MAX_MS 2000u
/* Longest key prefix and client name, in bytes. */
#define STICKY_REDIS_STORE_MAX_PREFIX 64u

/*
 * Caller-filled, size-prefixed: start with sticky_redis_store_options_init().
 * Fields are only ever appended; fields past the caller's size take their
 * defaults. Strings are copied by sticky_redis_store_new(); NULL means the
 * default.
 */
typedef struct sticky_redis_store_options {
    size_t size; /* set by sticky_redis_store_options_init() */

    const char *host;        /* TCP host or IP; default "127.0.0.1" */
    const char *unix_path;   /* Unix socket path; when set, host/port unused */
    const char *username;    /* ACL user (AUTH user password); NULL: none */
    const char *password;    /* NULL: no AUTH */
    const char *key_prefix;  /* prepended to every key; default "sticky:";
                              * 0..64 bytes */
    const char *client_name; /* CLIENT SETNAME; default "libsticky";
                              * "" = do not set; 0..64 bytes, no spaces */
    int32_t port;            /* 1..65535; default 6379 */
    int32_t db;              /* SELECT; 0..1000000; default 0 */
    uint32_t connect_timeout_ms; /* 1..60000; default 200 */
    uint32_t command_timeout_ms; /* 1..60000; default 100 */
    uint32_t pool_size;      /* connections, 1..256; default 4 */
    uint32_t ttl_seconds;    /* 1..1 year; 0 = ctx ttl_seconds */
    int32_t renew_mode;      /* enum sticky_renew_mode; default THRESHOLD */
    /* 0..ttl; 0 = never renew by threshold; default
     * STICKY_RENEW_THRESHOLD_FROM_CTX = ctx renew_threshold_seconds */
    int32_t renew_threshold_seconds;
    uint32_t backoff_min_ms; /* first reconnect delay, 1..60000; default 50 */
    uint32_t backoff_max_ms; /* delay cap, backoff_min..600000; default 2000 */
    /* 1: sticky_store_get_stats() counts the keys under key_prefix with
     * SCAN (O(keys in the database), several round trips) into `entries`;
     * 0 (default): entries is reported as 0. */
    int32_t count_entries;
    /* 1 (default): SO_KEEPALIVE on TCP connections; 0: off. */
    int32_t tcp_keepalive;
} sticky_redis_store_options;

/**
 * sticky_redis_store_options_init_sized - fill @o with defaults, set o->size.
 *
 * Prefer the sticky_redis_store_options_init() wrapper, which passes sizeof(*o).
 *
 * @o: the struct to fill.
 * @size: the caller's sizeof(sticky_redis_store_options).
 * Returns: 0; STICKY_EINVAL if @o is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread (touches only @o).
 * Since: 0.2.0 (0.1.0: sticky_redis_options_init_sized)
 */
STICKY_API int sticky_redis_store_options_init_sized(sticky_redis_store_options *o, size_t size);

/* Defaults into @o; see sticky_redis_store_options_init_sized(). Since: 0.1.0 */
static inline int sticky_redis_store_options_init(sticky_redis_store_options *o)
{
    return sticky_redis_store_options_init_sized(o, sizeof(*o));
}

/*
 * What the connections of one Redis store went through, size-prefixed
 * (start with sticky_redis_store_stats_init()). Counters only grow; the last two
 * fields are gauges.
 */
typedef struct sticky_redis_store_stats {
    size_t size; /* set by sticky_redis_store_stats_init() */

    uint64_t round_trips;      /* request/reply exchanges with the server,
                                * connection handshakes included (one each) */
    uint64_t connects;         /* connections established (handshake done) */
    uint64_t reconnects;       /* of those, replacing a lost connection */
    uint64_t connect_failures; /* connect or handshake failed */
    uint64_t timeouts;         /* replies not complete within the timeout */
    uint64_t io_errors;        /* connection closed or reset mid-call */
    uint64_t server_errors;    /* error replies (OOM, READONLY, LOADING...) */
    uint64_t protocol_errors;  /* unexpected reply or undecodable record */
    uint64_t noscript_reloads; /* NOSCRIPT answered by sending the script */
    uint64_t fast_fails;       /* calls refused without I/O during backoff */
    uint64_t pool_waits;       /* calls that waited for a busy connection */
    uint64_t pool_timeouts;    /* ... and gave up at the deadline */
    uint64_t connections_open; /* gauge: connections up now */
    uint64_t backoff_ms;       /* gauge: current reconnect delay; 0 healthy */
    /* Since 0.3.0: shared channel health (docs/redis.md). */
    uint64_t health_published; /* health records this store wrote */
    uint64_t health_received;  /* records of other nodes taken from replies */
    uint64_t health_ignored;   /* undecodable records (or an unreadable
                                * health key) ignored */
} sticky_redis_store_stats;

/**
 * sticky_redis_store_stats_init_sized - zero @s and set s->size.
 *
 * @s: the struct to initialise.
 * @size: the caller's sizeof(sticky_redis_store_stats).
 * Returns: 0; STICKY_EINVAL if @s is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread.
 * Since: 0.2.0 (0.1.0: sticky_redis_stats_init_sized)
 */
STICKY_API int sticky_redis_store_stats_init_sized(sticky_redis_store_stats *s, size_t size);

/* Zero @s and set its size; see sticky_redis_store_stats_init_sized(). Since: 0.1.0 */
static inline int sticky_redis_store_stats_init(sticky_redis_store_stats *s)
{
    return sticky_redis_store_stats_init_sized(s, sizeof(*s));
}

/**
 * sticky_redis_store_new - create a store kept in a Redis server.
 *
 * Connects lazily: no I/O happens here, so a server that is down at start-up
 * is not an error (calls fail with STICKY_ESTORE until it is reachable).
 * Each store call is one round trip (a script run with EVALSHA; the scripts
 * are loaded once per connection), waits at most command_timeout_ms for the
 * reply (plus connect_timeout_ms when it has to connect) and returns
 * STICKY_ESTORE on any trouble; after a connect failure or a timeout, calls
 * fail at once without I/O for a backoff delay that doubles from
 * backoff_min_ms up to backoff_max_ms and resets on success. Liveness is
 * decided with the context clock (the record carries expires_ms); Redis's
 * own key TTL (PX) reclaims the memory. No LRU cap: size the server with
 * maxmemory-policy volatile-lru (docs/redis.md). sweep does nothing.
 *
 * @ctx: the context (allocator, clock, log, TTL defaults); must outlive the
 *       store.
 * @opts: options, or NULL for all defaults.
 * @out: receives the store; set to NULL on error. Free it with
 *       sticky_store_free() (closes the connections).
 * Returns: 0; STICKY_EINVAL if @ctx or @out is NULL; STICKY_ECONFIG if an
 *          option is out of range (the reason is logged); STICKY_EABI on a
 *          bad opts->size; STICKY_ENOMEM.
 * Thread-safety: safe from any thread; the store declares
 *          STICKY_STORE_CAP_THREAD_SAFE (a pool of pool_size connections,
 *          each used by one call at a time).
 * Since: 0.2.0 (0.1.0: sticky_store_redis_new)
 */
STICKY_API int sticky_redis_store_new(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                      sticky_store **out);

/**
 * sticky_redis_store_get_stats - read the connection counters of a Redis store.
 *
 * @store: a store made by sticky_redis_store_new() or, since 0.4.0, by
 *         sticky_redis_store_new_loop() (or its libuv / libevent wrappers).
 * @out: caller struct with out->size set (sticky_redis_store_stats_init());
 *       only out->size bytes are written.
 * Returns: 0; STICKY_EINVAL if an argument is NULL or @store is not a
 *          Redis store; STICKY_EABI on a bad size. No I/O.
 * Thread-safety: safe from any thread; each counter is exact, the set is
 *          not one atomic snapshot.
 * Since: 0.2.0 (0.1.0: sticky_store_redis_stats)
 */
STICKY_API int sticky_redis_store_get_stats(sticky_store *store, sticky_redis_store_stats *out);

/*
 * Ids of libsticky-redis's public structs for sticky_redis_store_struct_size()
 * (the library's own id space, beside libsticky's enum sticky_struct_id in
 * sticky/abi.h). Append-only: values never change and are never reused.
 */
enum sticky_redis_store_struct_id {
    STICKY_REDIS_STORE_STRUCT_OPTIONS = 1, /* sticky_redis_store_options */
    STICKY_REDIS_STORE_STRUCT_STATS = 2,   /* sticky_redis_store_stats */
    STICKY_REDIS_STORE_STRUCT_LOOP = 3     /* sticky_redis_loop (versioned,
                                            * sticky/redis_async.h), 0.4.0 */
};

/**
 * sticky_redis_store_struct_size - sizeof a libsticky-redis struct in the
 * running library, for bindings (the counterpart of libsticky's
 * sticky_struct_size(); both structs are size-prefixed, see docs/ABI.md,
 * "For binding authors").
 *
 * @id: an enum sticky_redis_store_struct_id value.
 * Returns: the struct's size in bytes as this library was compiled; 0 for
 *          an id this library does not know.
 * Thread-safety: safe from any thread (a pure function).
 * Since: 0.2.0
 */
STICKY_API size_t sticky_redis_store_struct_size(int id);

STICKY_END_DECLS

#endif /* STICKY_REDIS_STORE_H */
