/*
 * lib/redis/redis_options.c - sticky_redis_store_options: defaults, the
 * size-prefixed copy-in (fields past the caller's size keep defaults, a
 * larger struct must have a zero tail), range checks, and owned copies of
 * the strings; the sizes of the public structs for bindings
 * (sticky_redis_store_struct_size()).
 */
#include <string.h>

#include "sticky/context.h"
#include "sticky/error.h"
#include "redis_internal.h"
#include "sticky/redis_async.h"
#include "util/struct_size.h"

STICKY_API int sticky_redis_store_options_init_sized(sticky_redis_store_options *o, size_t size)
{
    sticky_redis_store_options d;
    memset(&d, 0, sizeof(d));
    d.port = STICKY_REDIS_STORE_DEFAULT_PORT;
    d.connect_timeout_ms = STICKY_REDIS_STORE_DEFAULT_CONNECT_TIMEOUT_MS;
    d.command_timeout_ms = STICKY_REDIS_STORE_DEFAULT_COMMAND_TIMEOUT_MS;
    d.pool_size = STICKY_REDIS_STORE_DEFAULT_POOL_SIZE;
    d.renew_mode = STICKY_RENEW_THRESHOLD;
    d.renew_threshold_seconds = STICKY_RENEW_THRESHOLD_FROM_CTX;
    d.backoff_min_ms = STICKY_REDIS_STORE_DEFAULT_BACKOFF_MIN_MS;
    d.backoff_max_ms = STICKY_REDIS_STORE_DEFAULT_BACKOFF_MAX_MS;
    d.tcp_keepalive = 1;
    d.size = sizeof(d);
    return struct_init_defaults(o, size, STRUCT_END(sticky_redis_store_options, tcp_keepalive),
                                &d, sizeof(d));
}

STICKY_API int sticky_redis_store_stats_init_sized(sticky_redis_store_stats *s, size_t size)
{
    return struct_init(s, size, STRUCT_END(sticky_redis_store_stats, backoff_ms));
}

STICKY_API size_t sticky_redis_store_struct_size(int id)
{
    switch (id) {
    case STICKY_REDIS_STORE_STRUCT_OPTIONS: return sizeof(sticky_redis_store_options);
    case STICKY_REDIS_STORE_STRUCT_STATS: return sizeof(sticky_redis_store_stats);
    case STICKY_REDIS_STORE_STRUCT_LOOP: return sizeof(sticky_redis_loop);
    default: return 0;
    }
}

/* The caller's struct over our defaults (see docs/ABI.md). */
static int copy_in(sticky_redis_store_options *full, const sticky_redis_store_options *in)
{
    sticky_redis_store_options_init(full);
    if (in == NULL)
        return STICKY_OK;
    return struct_copy_in(full, sizeof(*full), in,
                          STRUCT_END(sticky_redis_store_options, tcp_keepalive), NULL);
}

static int bad(struct rstore *rs, const char *what)
{
    rlog(rs, STICKY_LOG_ERROR, "invalid option: %s", what);
    return STICKY_ECONFIG;
}

static int dup_opt(struct rstore *rs, char **dst, const char *src)
{
    if (src == NULL)
        return STICKY_OK;
    *dst = rstrdup(rs, src);
    return *dst != NULL ? STICKY_OK : STICKY_ENOMEM;
}

int ropts_load(struct rstore *rs, const sticky_redis_store_options *in)
{
    sticky_redis_store_options o;
    int rc = copy_in(&o, in);
    if (rc != STICKY_OK)
        return rc;
    sticky_config cfg;
    sticky_config_init(&cfg);
    if ((rc = sticky_ctx_config(rs->ctx, &cfg)) != STICKY_OK)
        return rc;

    struct ropts *r = &rs->o;
    if (o.unix_path == NULL && (o.port < 1 || o.port > 65535))
        return bad(rs, "port must be 1..65535");
    if (o.unix_path != NULL && o.unix_path[0] == '\0')
        return bad(rs, "unix_path is empty");
    if (o.host != NULL && o.host[0] == '\0')
        return bad(rs, "host is empty");
    if (o.db < 0 || o.db > 1000000)
        return bad(rs, "db must be 0..1000000");
    const char *prefix = o.key_prefix ? o.key_prefix : STICKY_REDIS_STORE_DEFAULT_PREFIX;
    if (strlen(prefix) > STICKY_REDIS_STORE_MAX_PREFIX)
        return bad(rs, "key_prefix longer than 64 bytes");
    const char *name = o.client_name ? o.client_name : STICKY_REDIS_STORE_DEFAULT_CLIENT_NAME;
    if (strlen(name) > STICKY_REDIS_STORE_MAX_PREFIX || strpbrk(name, " \t\r\n") != NULL)
        return bad(rs, "client_name longer than 64 bytes or has spaces");
    if (o.connect_timeout_ms < 1 || o.connect_timeout_ms > 60000)
        return bad(rs, "connect_timeout_ms must be 1..60000");
    if (o.command_timeout_ms < 1 || o.command_timeout_ms > 60000)
        return bad(rs, "command_timeout_ms must be 1..60000");
    if (o.pool_size < 1 || o.pool_size > STICKY_REDIS_STORE_MAX_POOL_SIZE)
        return bad(rs, "pool_size must be 1..256");
    uint32_t ttl = o.ttl_seconds ? o.ttl_seconds : cfg.ttl_seconds;
    if (ttl < 1 || ttl > STICKY_MAX_TTL_SECONDS)
        return bad(rs, "ttl_seconds must be 1..31536000");
    if (o.renew_mode != STICKY_RENEW_THRESHOLD && o.renew_mode != STICKY_RENEW_SLIDING)
        return bad(rs, "renew_mode");
    int64_t thr = o.renew_threshold_seconds == STICKY_RENEW_THRESHOLD_FROM_CTX
                      ? (int64_t)cfg.renew_threshold_seconds
                      : (int64_t)o.renew_threshold_seconds;
    if (thr < 0 || thr > (int64_t)ttl)
        return bad(rs, "renew_threshold_seconds must be 0..ttl");
    if (o.backoff_min_ms < 1 || o.backoff_min_ms > 60000)
        return bad(rs, "backoff_min_ms must be 1..60000");
    if (o.backoff_max_ms < o.backoff_min_ms || o.backoff_max_ms > 600000)
        return bad(rs, "backoff_max_ms must be backoff_min_ms..600000");
    if ((o.count_entries != 0 && o.count_entries != 1) ||
        (o.tcp_keepalive != 0 && o.tcp_keepalive != 1))
        return bad(rs, "count_entries and tcp_keepalive are 0 or 1");

    r->prefix_len = strlen(prefix);
    memcpy(r->prefix, prefix, r->prefix_len + 1);
    r->port = o.port;
    r->db = o.db;
    r->connect_timeout_ns = (int64_t)o.connect_timeout_ms * 1000000;
    r->command_timeout_ns = (int64_t)o.command_timeout_ms * 1000000;
    r->pool_size = o.pool_size;
    r->ttl_ms = (int64_t)ttl * 1000;
    r->threshold_ms = o.renew_mode == STICKY_RENEW_SLIDING ? -1 : thr * 1000;
    r->backoff_min_ms = o.backoff_min_ms;
    r->backoff_max_ms = o.backoff_max_ms;
    r->count_entries = o.count_entries;
    r->tcp_keepalive = o.tcp_keepalive;
    if ((rc = dup_opt(rs, &r->host, o.host ? o.host : STICKY_REDIS_STORE_DEFAULT_HOST)) ||
        (rc = dup_opt(rs, &r->unix_path, o.unix_path)) ||
        (rc = dup_opt(rs, &r->username, o.username)) ||
        (rc = dup_opt(rs, &r->password, o.password)) ||
        (rc = dup_opt(rs, &r->client_name, name)))
        return rc;
    return STICKY_OK;
}

void ropts_free(struct rstore *rs)
{
    struct ropts *r = &rs->o;
    sticky_ctx_mem_free(rs->ctx, r->host);
    sticky_ctx_mem_free(rs->ctx, r->unix_path);
    sticky_ctx_mem_free(rs->ctx, r->username);
    if (r->password != NULL) {
        /* Do not leave the secret in freed memory. */
        volatile char *p = r->password;
        while (*p)
            *p++ = 0;
    }
    sticky_ctx_mem_free(rs->ctx, r->password);
    sticky_ctx_mem_free(rs->ctx, r->client_name);
    r->host = r->unix_path = r->username = r->password = r->client_name = NULL;
}
