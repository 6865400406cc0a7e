/*
 * lib/select/health_sync.c - shared channel health (health_sync.h): turns
 * local cooldowns and clears into sticky_health_event records for the
 * store to publish, and applies the events the store received from other
 * nodes to the context's health registry with the same merge rule a local
 * report uses (the later end wins; a clear ends every slot). The store
 * used is the host's (sticky_ctx_set_store()); the default memory store
 * shares nothing. docs/storage.md, "Shared channel health".
 */
#include "select/health_sync.h"

#include <string.h>

#include "select/select_internal.h"
#include "store/store_async.h"
#include "store/store_health.h"
#include "util/struct_log.h"
#include "sticky/error.h"

/* Events applied per pull at most; the rest waits for the next one. */
#define PULL_MAX 64

static void apply_clear(sticky_ctx *ctx, struct channel_health *h)
{
    health_record_clear(h);
    ctx_log(ctx, STICKY_LOG_INFO, "channel %s: health cleared (shared by another node)", h->id);
}

static void apply_cooldown(sticky_ctx *ctx, struct channel_health *h,
                           const sticky_health_event *ev)
{
    health_lock(h);
    int64_t cur = atomic_load_explicit(&h->cooldown_until_ms[ev->family], memory_order_relaxed);
    int extended = cur < ev->until_ms;
    if (extended) {
        atomic_store_explicit(&h->cooldown_until_ms[ev->family], ev->until_ms,
                              memory_order_relaxed);
        atomic_store_explicit(&h->cause[ev->family], ev->cause, memory_order_relaxed);
    }
    health_unlock(h);
    if (!extended)
        return;
    if (ev->until_ms == INT64_MAX)
        ctx_log(ctx, STICKY_LOG_WARN, "channel %s: credentials refused on another node: out "
                "until cleared", h->id);
    else
        ctx_log(ctx, STICKY_LOG_INFO, "channel %s cooling down for %s models until %lld "
                "(cause %d, shared by another node)", h->id,
                sticky_model_family_name(ev->family), (long long)ev->until_ms, ev->cause);
}

void health_sync_pull(sticky_ctx *ctx, sticky_store *st)
{
    if (!store_shares_health(st))
        return;
    for (int i = 0; i < PULL_MAX; i++) {
        sticky_health_event ev;
        if (store_health_poll(st, &ev) != STICKY_OK)
            return;
        struct channel_health *h =
            health_get(&ctx->sel->health, ev.channel_id, fnv1a64(ev.channel_id));
        if (h == NULL)
            continue; /* registry full: the channel is untracked here */
        if (ev.cause == STICKY_CAUSE_NONE)
            apply_clear(ctx, h);
        else
            apply_cooldown(ctx, h, &ev);
    }
}

static void publish(sticky_ctx *ctx, sticky_store *st, const sticky_health_event *ev)
{
    int rc = store_health_publish(st, ev);
    if (rc != STICKY_OK)
        ctx_log(ctx, STICKY_LOG_WARN, "channel %s: sharing its health through store %s "
                "failed (%s); other nodes learn it on their own", ev->channel_id,
                sticky_store_name(st), sticky_strerror(rc));
}

static void event_for(sticky_health_event *ev, const struct channel_health *h, int64_t now)
{
    sticky_health_event_init(ev);
    memcpy(ev->channel_id, h->id, sizeof(ev->channel_id));
    ev->at_ms = now;
}

/* A publish sticky_report_async() did not wait for: on the context's list
 * until it completes, so that freeing the context first cancels it instead
 * of leaving the store a pointer to freed memory. */
struct health_pub {
    struct health_pub *prev, *next;
    sticky_ctx *ctx;
    sticky_store *store;
    void *op;
};

static void pub_unlink(sticky_ctx *ctx, struct health_pub *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        ctx->sel->pubs = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

static void publish_failed(sticky_ctx *ctx, int rc)
{
    STAT_INC(ctx, store_errors);
    ctx_log(ctx, STICKY_LOG_WARN, "sharing a channel's health through the store failed (%s); "
            "other nodes learn it on their own", sticky_strerror(rc));
}

static void publish_done(void *arg, int rc)
{
    struct health_pub *p = arg;
    sticky_ctx *ctx = p->ctx;
    pub_unlink(ctx, p);
    mem_free(ctx, p);
    if (rc != STICKY_OK)
        publish_failed(ctx, rc);
}

static void publish_async(sticky_ctx *ctx, sticky_store *st, const sticky_health_event *ev)
{
    struct health_pub *p = mem_calloc(ctx, 1, sizeof(*p));
    if (p == NULL) {
        publish_failed(ctx, STICKY_ENOMEM);
        return;
    }
    p->ctx = ctx;
    p->store = st;
    int rc = store_health_publish_async(st, ev, publish_done, p, &p->op);
    if (rc != STICKY_EINPROGRESS) {
        mem_free(ctx, p); /* completed at once */
        if (rc != STICKY_OK)
            publish_failed(ctx, rc);
        return;
    }
    p->next = ctx->sel->pubs;
    if (p->next)
        p->next->prev = p;
    ctx->sel->pubs = p;
}

void health_sync_cancel_all(sticky_ctx *ctx)
{
    while (ctx->sel->pubs != NULL) {
        struct health_pub *p = ctx->sel->pubs;
        pub_unlink(ctx, p);
        store_cancel(p->store, p->op);
        mem_free(ctx, p);
    }
}

int health_sync_would_block(const sticky_store *st)
{
    return store_shares_health(st) && !store_has_publish_async(st) &&
           !sticky_store_nonblocking(st);
}

void health_sync_push(sticky_ctx *ctx, struct channel_health *h, int family, int cause,
                      int async)
{
    sticky_store *st = ctx->sel->store;
    if (h == NULL || !store_shares_health(st) ||
        (cause != STICKY_CAUSE_RATE_LIMIT && cause != STICKY_CAUSE_AUTH) || family < 0 ||
        family >= FAMILY_COUNT)
        return;
    sticky_health_event ev;
    event_for(&ev, h, sticky_ctx_now_ms(ctx));
    ev.family = family;
    /* The slot after the merge: a later end already there is what counts. */
    health_lock(h);
    ev.until_ms = atomic_load_explicit(&h->cooldown_until_ms[family], memory_order_relaxed);
    ev.cause = atomic_load_explicit(&h->cause[family], memory_order_relaxed);
    health_unlock(h);
    if (ev.until_ms <= ev.at_ms ||
        (ev.cause != STICKY_CAUSE_RATE_LIMIT && ev.cause != STICKY_CAUSE_AUTH))
        return; /* a later local cooldown of another kind holds the slot */
    if (async && store_has_publish_async(st))
        publish_async(ctx, st, &ev);
    else
        publish(ctx, st, &ev);
}

void health_sync_push_clear(sticky_ctx *ctx, struct channel_health *h)
{
    sticky_store *st = ctx->sel->store;
    if (h == NULL || !store_shares_health(st))
        return;
    sticky_health_event ev;
    event_for(&ev, h, sticky_ctx_now_ms(ctx));
    ev.family = STICKY_MODEL_FAMILY_ALL;
    ev.cause = STICKY_CAUSE_NONE;
    ev.until_ms = STICKY_HEALTH_CLEARED;
    publish(ctx, st, &ev);
}
