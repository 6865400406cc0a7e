/*
 * lib/select/report.c - sticky_report() / sticky_release(): ending an attempt and
 * turning the upstream's answer into channel health. Cooldown classes and
 * their defaults are in docs/selection.md; recovery is lazy (a cooldown is
 * just an end time that select compares with the clock).
 */
#include <string.h>

#include "select/select_internal.h"
#include "util/struct_log.h"
#include "sticky/error.h"

/* Sanity bound on an upstream-provided reset time. */
#define MAX_RESET_AHEAD_MS (7LL * 24 * 3600 * 1000)

static void extend_cooldown(struct channel_health *h, int scope, int64_t until)
{
    int64_t cur = atomic_load_explicit(&h->cooldown_until_ms[scope], memory_order_relaxed);
    while (cur < until &&
           !atomic_compare_exchange_weak_explicit(&h->cooldown_until_ms[scope], &cur, until,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* End the attempt: release the in-flight slot once. Returns the channel's
 * health entry, or NULL if the attempt was already ended. */
static struct channel_health *end_attempt(sticky_ctx *ctx, sticky_decision *d)
{
    if (d->attempt == 0 || d->channel_id[0] == '\0')
        return NULL;
    d->attempt = 0;
    struct channel_health *h = health_get(&ctx->sel->health, d->channel_id);
    if (h == NULL)
        return NULL;
    uint32_t cur = atomic_load_explicit(&h->in_flight, memory_order_relaxed);
    while (cur > 0 &&
           !atomic_compare_exchange_weak_explicit(&h->in_flight, &cur, cur - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
    return h;
}

/* The decision comes back from the caller: the library reads its fields
 * up to attempt (the first-release layout), so its size must cover them,
 * its strings must still be terminated and its family must be a value. */
static int check_decision(const sticky_ctx *ctx, const sticky_decision *d, const char *op)
{
    if (ctx == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    if (d == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: d: NULL", op);
        return STICKY_EINVAL;
    }
    int rc = struct_size_ok(ctx, op, "d", struct_size_of(d), DECISION_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (memchr(d->channel_id, '\0', sizeof(d->channel_id)) == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: d->channel_id: not terminated", op);
        return STICKY_EINVAL;
    }
    if (d->model_family < STICKY_MODEL_FAMILY_ALL || d->model_family >= FAMILY_COUNT) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: d->model_family: %d is not an enum "
                "sticky_model_family", op, d->model_family);
        return STICKY_EINVAL;
    }
    return STICKY_OK;
}

STICKY_API int sticky_release(sticky_ctx *ctx, sticky_decision *d)
{
    int rc = check_decision(ctx, d, "release");
    if (rc != STICKY_OK)
        return rc;
    end_attempt(ctx, d);
    return STICKY_OK;
}

STICKY_API int sticky_report(sticky_ctx *ctx, sticky_decision *d, const sticky_outcome *o_in)
{
    int rc = check_decision(ctx, d, "report");
    if (rc != STICKY_OK)
        return rc;
    if (o_in == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: o: NULL");
        return STICKY_EINVAL;
    }
    sticky_outcome o;
    sticky_outcome_init(&o);
    rc = struct_in(ctx, "report", "o", &o, sizeof(o), o_in, OUTCOME_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (o.kind < STICKY_OUTCOME_HTTP || o.kind > STICKY_OUTCOME_TRANSPORT) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: o.kind: %d is not an enum sticky_outcome_kind",
                o.kind);
        return STICKY_EINVAL;
    }
    if ((o.retry_after_s < 0 && o.retry_after_s != STICKY_ABSENT) ||
        (o.reset_epoch_s < 0 && o.reset_epoch_s != STICKY_ABSENT)) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: o.%s: negative and not STICKY_ABSENT",
                o.retry_after_s < 0 && o.retry_after_s != STICKY_ABSENT ? "retry_after_s"
                                                                         : "reset_epoch_s");
        return STICKY_EINVAL;
    }
    struct channel_health *h = end_attempt(ctx, d);
    if (h == NULL)
        return STICKY_OK; /* already ended: reporting twice changes nothing */
    STAT_INC(ctx, reports);

    const sticky_config *cfg = &ctx->cfg;
    int64_t now = sticky_ctx_now_ms(ctx);
    int family = d->model_family;
    int scope = STICKY_MODEL_FAMILY_ALL;
    int64_t until = 0;
    int status = o.status;

    if (o.kind == STICKY_OUTCOME_HTTP && status >= 100 && status < 400) {
        atomic_store_explicit(&h->consecutive_failures, 0, memory_order_relaxed);
        return STICKY_OK;
    }
    if (o.kind != STICKY_OUTCOME_HTTP) {
        until = now + (int64_t)cfg->cooldown_5xx_s * 1000;
    } else if (status == 429) {
        scope = family;
        if (o.reset_epoch_s != STICKY_ABSENT) {
            /* Exactly the reset time (bounded first: no overflow). */
            int64_t max_s = (now + MAX_RESET_AHEAD_MS) / 1000;
            until = o.reset_epoch_s > max_s ? now + MAX_RESET_AHEAD_MS : o.reset_epoch_s * 1000;
        } else if (o.retry_after_s != STICKY_ABSENT) {
            int64_t s = o.retry_after_s < (int64_t)cfg->retry_after_cap_s
                            ? o.retry_after_s
                            : (int64_t)cfg->retry_after_cap_s;
            until = now + s * 1000;
        } else {
            until = now + (int64_t)cfg->cooldown_429_s * 1000;
        }
    } else if (status == 529) {
        scope = family;
        until = now + (int64_t)cfg->cooldown_529_s * 1000;
    } else if (status == 503) {
        until = now + (int64_t)cfg->cooldown_503_s * 1000;
    } else if (status >= 500 && status < 600) {
        until = now + (int64_t)cfg->cooldown_5xx_s * 1000;
    } else if (status == 401 || status == 403) {
        until = now + (int64_t)cfg->cooldown_auth_s * 1000;
    } else {
        /* 400, 404, 413 and other client errors: the request's fault. */
        return STICKY_OK;
    }

    atomic_fetch_add_explicit(&h->failures, 1, memory_order_relaxed);
    uint32_t fails = atomic_fetch_add_explicit(&h->consecutive_failures, 1,
                                               memory_order_relaxed) + 1;
    if (cfg->breaker_failures != 0 && fails >= cfg->breaker_failures) {
        int64_t b = now + (int64_t)cfg->breaker_cooldown_s * 1000;
        extend_cooldown(h, STICKY_MODEL_FAMILY_ALL, b);
        ctx_log(ctx, STICKY_LOG_WARN, "channel %s: circuit breaker open after %u failures",
                   h->id, (unsigned)fails);
    }
    if (until > now) {
        extend_cooldown(h, scope, until);
        ctx_log(ctx, STICKY_LOG_INFO, "channel %s cooling down for %s models until +%llds (%s %d)",
                   h->id, sticky_model_family_name(scope),
                   (long long)((until - now + 999) / 1000),
                   o.kind == STICKY_OUTCOME_HTTP ? "status" : "transport", status);
    }
    return STICKY_OK;
}
