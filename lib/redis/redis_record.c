/*
 * lib/redis/redis_record.c - the value stored under each Redis key and the
 * key itself. A record is short ASCII (docs/redis.md, "Record encoding"):
 *
 *     1,<created_ms>,<last_access - created>,<expires - created>,<count>,<tenant_len>,<tenant><channel>
 *
 * e.g. "1,1767225600000,0,3600000,1,8,tenant-1chan-a" (44 bytes, which
 * Redis keeps as one embedded string). The scripts (redis_scripts.c) parse
 * and rewrite the numeric head; this file is the strict C decoder: anything
 * that is not exactly this shape is STICKY_ESTORE, never half a record.
 */
#include <stdio.h>
#include <string.h>

#include "sticky/error.h"
#include "redis_internal.h"

int rrecord_encode(char *buf, size_t cap, int64_t created_ms, int64_t last_ms,
                   int64_t expires_ms, uint64_t count, const char *tenant,
                   const char *channel)
{
    int n = snprintf(buf, cap, "1,%lld,%lld,%lld,%llu,%zu,%s%s",
                     (long long)created_ms, (long long)(last_ms - created_ms),
                     (long long)(expires_ms - created_ms),
                     (unsigned long long)count, strlen(tenant), tenant, channel);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return n;
}

/* A decimal field of 1..18 digits followed by ','. */
static int field(const char **p, const char *end, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (++digits > 18)
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (digits == 0 || *p >= end || **p != ',')
        return -1;
    (*p)++;
    *out = v;
    return 0;
}

int rrecord_decode(const char *v, size_t len, sticky_mapping *m)
{
    const char *p = v, *end = v + len;
    int64_t cr, la, ex, n, tl;
    if (len < 2 || p[0] != '1' || p[1] != ',')
        return STICKY_ESTORE;
    p += 2;
    if (field(&p, end, &cr) || field(&p, end, &la) || field(&p, end, &ex) ||
        field(&p, end, &n) || field(&p, end, &tl))
        return STICKY_ESTORE;
    size_t rest = (size_t)(end - p);
    if (tl >= STICKY_ID_SIZE || (size_t)tl >= rest || rest - (size_t)tl >= STICKY_ID_SIZE)
        return STICKY_ESTORE; /* channel is 1..127 bytes, tenant 0..127 */
    if (memchr(p, '\0', rest) != NULL || n < 1)
        return STICKY_ESTORE;
    memcpy(m->tenant_id, p, (size_t)tl);
    m->tenant_id[tl] = '\0';
    memcpy(m->channel_id, p + tl, rest - (size_t)tl);
    m->channel_id[rest - (size_t)tl] = '\0';
    m->request_count = (uint64_t)n;
    m->created_ms = cr;
    m->last_access_ms = cr + la;
    m->expires_ms = cr + ex;
    return STICKY_OK;
}

size_t rkey_format(const struct rstore *rs, uint64_t key, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s%016llx", rs->o.prefix, (unsigned long long)key);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
