/*
 * lib/redis/redis_health.c - shared channel health for the Redis store
 * (sticky_store_vtable version 2; docs/redis.md, "Shared channel health").
 * Health lives in one hash per key prefix, <prefix>health:
 *
 *     v              the version: +1 for every record written
 *     <f>|<channel>  a cooldown of family slot f (0..4):
 *                    <version>,<until_ms>,<cause>,<at_ms>,<origin>
 *     x|<channel>    a clear of every slot: <version>,<at_ms>,<origin>
 *
 * health_publish runs the health script (one round trip, merge rules in
 * redis_scripts.c). Nothing else does I/O: the get and put scripts append
 * the records newer than the version this store has seen, and this file
 * decodes them strictly into a queue that health_poll drains, in version
 * order. A store never hands out its own clears (origin: a random id per
 * store); its own cooldowns come back once and merge as no-ops, which
 * restores them if another node's clear of an earlier moment was applied
 * in between.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sticky/error.h"
#include "sticky/select.h"
#include "redis_internal.h"

/* Hash fields at most: every slot and a clear of every trackable channel,
 * and the version. */
#define HEALTH_MAX_FIELDS (STICKY_MAX_CHANNEL_IDS * 6 + 1)

static uint64_t random64(struct rstore *rs)
{
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
            v = 0;
        close(fd);
    }
    /* Without urandom: time, address and pid, mixed (splitmix64). */
    uint64_t x = v ^ (uint64_t)rmono_ns() ^ (uint64_t)(uintptr_t)rs ^ ((uint64_t)getpid() << 32);
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int rhealth_init(struct rstore *rs)
{
    struct rhealth *h = &rs->health;
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        return STICKY_ENOMEM;
    h->seen = 0;
    atomic_init(&h->seen_hint, 0);
    atomic_init(&h->queued, 0);
    h->head = 0;
    snprintf(h->origin, sizeof(h->origin), "%016" PRIx64, random64(rs));
    int n = snprintf(h->key, sizeof(h->key), "%shealth", rs->o.prefix);
    h->key_len = n > 0 ? (size_t)n : 0;
    return STICKY_OK;
}

void rhealth_free(struct rstore *rs)
{
    pthread_mutex_destroy(&rs->health.lock);
}

size_t rhealth_seen_arg(struct rstore *rs, char *buf, size_t cap)
{
    int64_t seen = atomic_load_explicit(&rs->health.seen_hint, memory_order_relaxed);
    int n = snprintf(buf, cap, "%lld", (long long)seen);
    return n > 0 ? (size_t)n : 0;
}

/* ---- decoding ------------------------------------------------------------- */

/* A signed decimal int64 ending at @end or at ','; advances *@p past the
 * comma. 0 or -1. */
static int num(const char **p, const char *end, int64_t *out, int allow_sign)
{
    const char *s = *p;
    int neg = 0;
    if (allow_sign && s < end && *s == '-') {
        neg = 1;
        s++;
    }
    uint64_t v = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (++digits > 19)
            return -1;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    if (digits == 0)
        return -1;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (s < end) {
        if (*s != ',')
            return -1;
        s++;
    }
    *p = s;
    return 0;
}

/* One record: field + value into @ev, its version into *@ver, whether it
 * is this store's own into *@own. 0 or -1 (undecodable). */
static int decode(const struct rhealth *h, const redisReply *f, const redisReply *v,
                  sticky_health_event *ev, int64_t *ver, int *own)
{
    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || f->len < 3 ||
        f->str[1] != '|' || f->len - 2 >= STICKY_ID_SIZE || memchr(f->str, '\0', f->len))
        return -1;
    char kind = f->str[0];
    if (kind != 'x' && (kind < '0' || kind > '4'))
        return -1;
    sticky_health_event_init(ev);
    memcpy(ev->channel_id, f->str + 2, f->len - 2);
    ev->channel_id[f->len - 2] = '\0';
    const char *p = v->str, *end = v->str + v->len;
    int64_t cause = 0;
    if (num(&p, end, ver, 0) != 0 || *ver < 1)
        return -1;
    if (kind == 'x') {
        ev->family = STICKY_MODEL_FAMILY_ALL;
        ev->cause = STICKY_CAUSE_NONE;
        ev->until_ms = STICKY_HEALTH_CLEARED;
    } else {
        ev->family = kind - '0';
        if (num(&p, end, &ev->until_ms, 1) != 0 || num(&p, end, &cause, 0) != 0 ||
            (cause != STICKY_CAUSE_RATE_LIMIT && cause != STICKY_CAUSE_AUTH) ||
            ev->until_ms == STICKY_HEALTH_CLEARED)
            return -1;
        ev->cause = (int)cause;
    }
    if (num(&p, end, &ev->at_ms, 1) != 0 || end - p != 16)
        return -1;
    for (const char *q = p; q < end; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')))
            return -1;
    *own = memcmp(p, h->origin, 16) == 0;
    return 0;
}

static void set_seen(struct rhealth *h, int64_t seen)
{
    h->seen = seen;
    atomic_store_explicit(&h->seen_hint, seen, memory_order_relaxed);
}

int rhealth_take(struct rstore *rs, const redisReply *r, size_t from)
{
    struct rhealth *h = &rs->health;
    if (r->elements < from + 3 || (r->elements - from - 3) % 2 != 0)
        return STICKY_ESTORE;
    const redisReply *mode = r->element[from], *top = r->element[from + 1],
                     *junk = r->element[from + 2];
    if (mode->type != REDIS_REPLY_INTEGER || top->type != REDIS_REPLY_INTEGER ||
        junk->type != REDIS_REPLY_INTEGER || mode->integer < 1 || mode->integer > 3)
        return STICKY_ESTORE;
    if (mode->integer == 3) {
        pthread_mutex_lock(&h->lock);
        int first = h->seen != -1;
        set_seen(h, -1);
        pthread_mutex_unlock(&h->lock);
        if (first) {
            RCOUNT(rs, health_ignored);
            rlog(rs, STICKY_LOG_WARN, "shared health: key %s is not a health hash (wrong type "
                 "or bad version): ignored until it is repaired", h->key);
        }
        return STICKY_OK;
    }
    size_t bad = junk->integer > 0 ? (size_t)junk->integer : 0, taken = 0;
    pthread_mutex_lock(&h->lock);
    /* mode 2: the server is behind this store (flushed, restarted):
     * everything it has is new. A reply older than what was already taken
     * (another thread's, raced) brings nothing new: versions <= seen are
     * skipped, so a clear is never applied again after a newer cooldown. */
    int64_t seen = mode->integer == 2 ? 0 : h->seen;
    int64_t upto = top->integer;
    for (size_t i = from + 3; i + 1 < r->elements; i += 2) {
        sticky_health_event ev;
        int64_t ver;
        int own;
        if (decode(h, r->element[i], r->element[i + 1], &ev, &ver, &own) != 0) {
            bad++;
            continue;
        }
        if (ver <= seen)
            continue;
        /* This store's own clear already happened here; its own
         * cooldowns are taken (merging them is a no-op, unless a clear
         * from another node came first in this same version order). */
        if (!(own && ev.cause == STICKY_CAUSE_NONE)) {
            if (atomic_load_explicit(&h->queued, memory_order_relaxed) == HEALTH_QUEUE) {
                upto = seen; /* full: the rest comes again with the next reply */
                break;
            }
            unsigned n = atomic_load_explicit(&h->queued, memory_order_relaxed);
            h->q[(h->head + n) % HEALTH_QUEUE] = ev;
            atomic_store_explicit(&h->queued, n + 1, memory_order_release);
            taken++;
        }
        seen = ver;
    }
    if (mode->integer == 2 || upto > h->seen)
        set_seen(h, upto);
    pthread_mutex_unlock(&h->lock);
    if (taken > 0)
        atomic_fetch_add_explicit(&rs->health_received, taken, memory_order_relaxed);
    if (bad > 0) {
        atomic_fetch_add_explicit(&rs->health_ignored, bad, memory_order_relaxed);
        rlog(rs, STICKY_LOG_WARN, "shared health: %zu undecodable record(s) in %s ignored", bad,
             h->key);
    }
    return STICKY_OK;
}

/* ---- the vtable methods ------------------------------------------------- */

int rhealth_poll(void *self, sticky_health_event *out)
{
    struct rstore *rs = self;
    struct rhealth *h = &rs->health;
    if (atomic_load_explicit(&h->queued, memory_order_acquire) == 0)
        return STICKY_ENOTFOUND; /* the sticky-hit path: no lock */
    pthread_mutex_lock(&h->lock);
    unsigned n = atomic_load_explicit(&h->queued, memory_order_relaxed);
    if (n == 0) {
        pthread_mutex_unlock(&h->lock);
        return STICKY_ENOTFOUND;
    }
    size_t keep = out->size;
    *out = h->q[h->head];
    out->size = keep;
    h->head = (h->head + 1) % HEALTH_QUEUE;
    atomic_store_explicit(&h->queued, n - 1, memory_order_relaxed);
    pthread_mutex_unlock(&h->lock);
    return STICKY_OK;
}

int rhealth_cmd(struct rstore *rs, const sticky_health_event *ev, int64_t now_ms, struct rcmd *c)
{
    struct rhealth *h = &rs->health;
    char field[STICKY_ID_SIZE + 2];
    int clear = ev->cause == STICKY_CAUSE_NONE;
    int fl = snprintf(field, sizeof(field), "%c|%s", clear ? 'x' : '0' + ev->family,
                      ev->channel_id);
    rcmd_init(c, RS_HEALTH);
    c->nkeys = 1;
    if (rcmd_add(c, h->key, h->key_len) || rcmd_addf(c, now_ms) ||
        rcmd_add(c, clear ? "x" : "c", 1) || rcmd_add(c, field, (size_t)fl) ||
        rcmd_addf(c, ev->until_ms) || rcmd_addf(c, ev->cause) || rcmd_addf(c, ev->at_ms) ||
        rcmd_add(c, h->origin, 16) || rcmd_addf(c, HEALTH_MAX_FIELDS))
        return STICKY_ELIMIT;
    return STICKY_OK;
}

int rhealth_result(struct rstore *rs, const redisReply *r)
{
    struct rhealth *h = &rs->health;
    long long st = -100;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        st = r->element[0]->integer;
    if (st == 0 || st == 1) {
        if (st == 1)
            RCOUNT(rs, health_published);
        return STICKY_OK;
    }
    if (st == -2) {
        rlog(rs, STICKY_LOG_WARN, "shared health: %s is full (%d fields): not shared",
             h->key, HEALTH_MAX_FIELDS);
        return STICKY_ELIMIT;
    }
    if (st == -3) {
        rlog(rs, STICKY_LOG_WARN, "shared health: key %s is not a hash: not shared", h->key);
        return STICKY_ESTORE;
    }
    RCOUNT(rs, protocol_errors);
    return STICKY_ESTORE;
}

int rhealth_publish(void *self, const sticky_health_event *ev, int64_t now_ms)
{
    struct rstore *rs = self;
    struct rcmd c;
    int rc = rhealth_cmd(rs, ev, now_ms, &c);
    if (rc != STICKY_OK)
        return rc;
    redisReply *r;
    rc = rconn_eval(rs, RS_HEALTH, c.nkeys, c.v, c.l, c.n - c.nkeys, c.v + c.nkeys,
                    c.l + c.nkeys, &r);
    if (rc != STICKY_OK)
        return rc;
    rc = rhealth_result(rs, r);
    freeReplyObject(r);
    return rc;
}
