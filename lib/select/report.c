/*
 * lib/select/report.c - sticky_report() / sticky_release(): ending an attempt and
 * turning the upstream's answer into channel health. Cooldown classes and
 * their defaults are in docs/selection.md; recovery is lazy (a cooldown is
 * just an end time that select compares with the clock). An attempt ends
 * once, through the attempt ledger (attempt.h): a second report of it, from
 * the same struct or a copy, is STICKY_ENOTFOUND and changes nothing. Time
 * arithmetic saturates, so any int64 clock reading works.
 */
#include <stdint.h>
#include <string.h>

#include "select/health_sync.h"
#include "select/ratelimit.h"
#include "select/select_internal.h"
#include "util/struct_log.h"
#include "sticky/async.h"
#include "sticky/error.h"

/* Sanity bound on an upstream-provided reset time. */
#define MAX_RESET_AHEAD_MS (7LL * 24 * 3600 * 1000)

/* @now + @ms, saturated at the ends of int64 (@ms >= 0). */
static int64_t add_ms(int64_t now, int64_t ms)
{
    return now > INT64_MAX - ms ? INT64_MAX : now + ms;
}

/* @now + @s seconds (@s >= 0), saturated. */
static int64_t add_s(int64_t now, int64_t s)
{
    return add_ms(now, s > INT64_MAX / 1000 ? INT64_MAX : s * 1000);
}

/* Make slot @scope cool until at least @until because of @cause (under
 * the entry's lock, so the pair stays consistent). An auth state is only
 * replaced by a later end. Returns 1 when it extended the slot. */
static int extend_cooldown(struct channel_health *h, int scope, int64_t until, int cause)
{
    health_lock(h);
    int64_t cur = atomic_load_explicit(&h->cooldown_until_ms[scope], memory_order_relaxed);
    int extended = cur < until;
    if (extended) {
        atomic_store_explicit(&h->cooldown_until_ms[scope], until, memory_order_relaxed);
        atomic_store_explicit(&h->cause[scope], cause, memory_order_relaxed);
    }
    health_unlock(h);
    return extended;
}

/* A success for @family: the transient cooldowns of its slot and of the
 * all-models slot end (5xx, 529, timeouts, breaker, a 429 without a time).
 * Announced rate-limit windows and an auth state stay: a success of a
 * request sent before them says nothing about them. A request without a
 * model (family ALL) clears every slot's transient cooldown. */
static void clear_transient(struct channel_health *h, int family)
{
    health_lock(h);
    for (int i = 0; i < FAMILY_COUNT; i++) {
        if (family != STICKY_MODEL_FAMILY_ALL && i != family && i != STICKY_MODEL_FAMILY_ALL)
            continue;
        int c = atomic_load_explicit(&h->cause[i], memory_order_relaxed);
        if (c == STICKY_CAUSE_RATE_LIMIT || c == STICKY_CAUSE_AUTH)
            continue;
        atomic_store_explicit(&h->cooldown_until_ms[i], HEALTH_NO_COOLDOWN,
                              memory_order_relaxed);
        atomic_store_explicit(&h->cause[i], STICKY_CAUSE_NONE, memory_order_relaxed);
    }
    health_unlock(h);
}

/* End the attempt @d carries: release its in-flight slot, once. Returns
 * STICKY_OK with *@h = the channel's health entry (NULL for an untracked
 * channel), STICKY_ENOTFOUND when @d is not an open attempt of this
 * context (ended before through this struct or a copy, or never opened
 * here), STICKY_EINVAL when it is open on another channel than @d names. */
static int end_attempt(sticky_ctx *ctx, sticky_decision *d, const char *op,
                       struct channel_health **h)
{
    *h = NULL;
    uint64_t token = d->attempt;
    if (token == 0) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision.attempt: 0 (already ended)", op);
        return STICKY_ENOTFOUND;
    }
    switch (attempt_end(&ctx->sel->attempts, token, d->channel_id, h)) {
    case ATTEMPT_ENDED:
        break;
    case ATTEMPT_WRONG_ID:
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision.channel_id: \"%s\" is not the channel of "
                "this attempt", op, d->channel_id);
        return STICKY_EINVAL;
    case ATTEMPT_UNCHECKED:
        /* Opened while the ledger was full: found by id, never created. */
        *h = health_find(&ctx->sel->health, d->channel_id, fnv1a64(d->channel_id));
        break;
    default: /* left as it is: it may be another context's attempt */
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision.attempt: not an open attempt (already ended "
                "through a copy of this decision, or not from this context)", op);
        return STICKY_ENOTFOUND;
    }
    d->attempt = 0;
    if (*h != NULL)
        health_release(&ctx->sel->health, *h);
    return STICKY_OK;
}

/* The decision comes back from the caller: the library reads its fields
 * up to attempt (the first-release layout), so its size must cover them,
 * its strings must still be terminated and its family must be a value. */
static int check_decision(const sticky_ctx *ctx, const sticky_decision *d, const char *op)
{
    if (ctx == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    if (d == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision: NULL", op);
        return STICKY_EINVAL;
    }
    int rc = struct_size_ok(ctx, op, "decision", struct_size_of(d), DECISION_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (memchr(d->channel_id, '\0', sizeof(d->channel_id)) == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision.channel_id: not terminated", op);
        return STICKY_EINVAL;
    }
    if (d->model_family < STICKY_MODEL_FAMILY_ALL || d->model_family >= FAMILY_COUNT) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: decision.model_family: %d is not an enum "
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
    if (d->channel_id[0] == '\0' || d->attempt == 0)
        return STICKY_OK; /* nothing open: releasing is idempotent */
    struct channel_health *h;
    rc = end_attempt(ctx, d, "release", &h);
    return rc == STICKY_ENOTFOUND ? STICKY_OK : rc;
}

/* sticky_report(); with @async the health publish is not waited for. */
static int report_impl(sticky_ctx *ctx, sticky_decision *d, const sticky_outcome *o_in,
                       int async)
{
    int rc = check_decision(ctx, d, "report");
    if (rc != STICKY_OK)
        return rc;
    if (o_in == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: outcome: NULL");
        return STICKY_EINVAL;
    }
    sticky_outcome o;
    sticky_outcome_init(&o);
    rc = struct_in(ctx, "report", "outcome", &o, sizeof(o), o_in, OUTCOME_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (o.kind < STICKY_OUTCOME_HTTP || o.kind > STICKY_OUTCOME_TRANSPORT) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: outcome.kind: %d is not an enum sticky_outcome_kind",
                o.kind);
        return STICKY_EINVAL;
    }
    if ((o.retry_after_seconds < 0 && o.retry_after_seconds != STICKY_ABSENT) ||
        (o.reset_epoch_seconds < 0 && o.reset_epoch_seconds != STICKY_ABSENT)) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: outcome.%s: negative and not STICKY_ABSENT",
                o.retry_after_seconds < 0 && o.retry_after_seconds != STICKY_ABSENT ? "retry_after_seconds"
                                                                         : "reset_epoch_seconds");
        return STICKY_EINVAL;
    }
    if (d->channel_id[0] == '\0') {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report: decision.channel_id: empty (the decision carries "
                "no channel)");
        return STICKY_EINVAL;
    }
    struct channel_health *h;
    rc = end_attempt(ctx, d, "report", &h);
    if (rc != STICKY_OK)
        return rc;
    STAT_INC(ctx, reports);
    if (h == NULL)
        return STICKY_OK; /* an untracked channel: no health to update */

    const sticky_config *cfg = &ctx->cfg;
    int64_t now = sticky_ctx_now_ms(ctx);
    int family = d->model_family;
    int scope = STICKY_MODEL_FAMILY_ALL;
    int64_t until = 0;
    int status = o.status;
    int cause = STICKY_CAUSE_NONE;
    int counts_for_breaker = 0; /* 5xx, 529, timeouts: the channel may be dead */

    /* The upstream's rate-limit headers (ratelimit.c) fill in what the host
     * left STICKY_ABSENT; numbers the host set win. account_wide: the
     * upstream limited the whole account, not the request's family. */
    struct ratelimit_info rl;
    ratelimit_from_headers(o.headers, o.n_headers, now, &rl);
    if (o.retry_after_seconds == STICKY_ABSENT && rl.retry_after_ms >= 0)
        o.retry_after_seconds = rl.retry_after_ms / 1000 + (rl.retry_after_ms % 1000 != 0);
    if (o.reset_epoch_seconds == STICKY_ABSENT && rl.reset_at_ms >= 0)
        o.reset_epoch_seconds = rl.reset_at_ms / 1000 + (rl.reset_at_ms % 1000 != 0);
    const int account_wide = rl.account_wide;

    if (o.kind == STICKY_OUTCOME_HTTP && status >= 100 && status < 400) {
        atomic_store_explicit(&h->consecutive_failures, 0, memory_order_relaxed);
        clear_transient(h, family);
        moves_success(&ctx->sel->moves, d->key, d->channel_id, family);
        return STICKY_OK;
    }
    if (o.kind != STICKY_OUTCOME_HTTP) {
        until = add_s(now, cfg->cooldown_5xx_seconds);
        cause = STICKY_CAUSE_TIMEOUT;
        counts_for_breaker = 1;
    } else if (status == 429) {
        scope = account_wide ? STICKY_MODEL_FAMILY_ALL : family;
        cause = STICKY_CAUSE_RATE_LIMIT;
        /* A reset time counts only when it is ahead: one already past (or
         * a zero-filled outcome: the epoch) says nothing about this 429,
         * which then falls back to Retry-After or the default cooldown. */
        int64_t reset = o.reset_epoch_seconds == STICKY_ABSENT ? 0
                                                                : add_s(0, o.reset_epoch_seconds);
        if (o.reset_epoch_seconds != STICKY_ABSENT && reset > now) {
            /* Exactly the reset time, at most MAX_RESET_AHEAD_MS ahead. */
            int64_t max = add_ms(now, MAX_RESET_AHEAD_MS);
            until = reset > max ? max : reset;
        } else if (o.retry_after_seconds != STICKY_ABSENT) {
            int64_t s = o.retry_after_seconds < (int64_t)cfg->retry_after_cap_seconds
                            ? o.retry_after_seconds
                            : (int64_t)cfg->retry_after_cap_seconds;
            until = add_s(now, s);
        } else {
            until = add_s(now, cfg->cooldown_429_seconds);
            cause = STICKY_CAUSE_RATE_LIMIT_GUESS;
        }
    } else if (status == 529) {
        /* Overloaded: the provider, not this account. No cooldown by
         * default (cooldown_529_seconds 0); the breaker still counts it. */
        scope = family;
        until = add_s(now, cfg->cooldown_529_seconds);
        cause = STICKY_CAUSE_OVERLOADED;
        counts_for_breaker = 1;
    } else if (status == 503) {
        until = add_s(now, cfg->cooldown_503_seconds);
        cause = STICKY_CAUSE_SERVER;
        counts_for_breaker = 1;
    } else if (status >= 500 && status < 600) {
        until = add_s(now, cfg->cooldown_5xx_seconds);
        cause = STICKY_CAUSE_SERVER;
        counts_for_breaker = 1;
    } else if (status == 401 || status == 403) {
        /* Revoked or refused credentials: out until the host clears it
         * (sticky_ctx_clear_channel_health), or for cooldown_auth_seconds. */
        until = cfg->cooldown_auth_seconds == 0 ? INT64_MAX
                                                : add_s(now, cfg->cooldown_auth_seconds);
        cause = STICKY_CAUSE_AUTH;
    } else {
        /* 400, 404, 413 and other client errors: the request's fault. */
        return STICKY_OK;
    }

    atomic_fetch_add_explicit(&h->failures, 1, memory_order_relaxed);
    uint32_t fails = atomic_fetch_add_explicit(&h->consecutive_failures, 1,
                                               memory_order_relaxed) + 1;
    if (counts_for_breaker && cfg->breaker_failures != 0 && fails >= cfg->breaker_failures) {
        int64_t b = add_s(now, cfg->breaker_cooldown_seconds);
        if (extend_cooldown(h, STICKY_MODEL_FAMILY_ALL, b, STICKY_CAUSE_BREAKER))
            ctx_log(ctx, STICKY_LOG_WARN, "channel %s: circuit breaker open after %u failures",
                    h->id, (unsigned)fails);
    }
    if (until > now) {
        extend_cooldown(h, scope, until, cause);
        health_sync_push(ctx, h, scope, cause, async); /* to other nodes (health_sync.h) */
        if (until == INT64_MAX)
            ctx_log(ctx, STICKY_LOG_WARN, "channel %s: credentials refused (status %d): out "
                    "until cleared", h->id, status);
        else
            ctx_log(ctx, STICKY_LOG_INFO,
                    "channel %s cooling down for %s models until +%llds (%s %d)", h->id,
                    sticky_model_family_name(scope),
                    (long long)(((uint64_t)until - (uint64_t)now + 999) / 1000),
                    o.kind == STICKY_OUTCOME_HTTP ? "status" : "transport", status);
    }
    return STICKY_OK;
}

STICKY_API int sticky_report(sticky_ctx *ctx, sticky_decision *d, const sticky_outcome *o)
{
    return report_impl(ctx, d, o, 0);
}

STICKY_API int sticky_report_async(sticky_ctx *ctx, sticky_decision *d,
                                   const sticky_outcome *o, unsigned flags)
{
    if (ctx == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    if (flags & ~(unsigned)STICKY_ASYNC_MAY_BLOCK) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report_async: flags: unknown bits");
        return STICKY_EINVAL;
    }
    /* Decided per store, not per outcome: a host meets it in its first
     * test, not in its first incident. */
    sticky_store *st = ctx->sel->store;
    if (!(flags & STICKY_ASYNC_MAY_BLOCK) && health_sync_would_block(st)) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "report_async: store %s may block (STICKY_EWOULDBLOCK)",
                sticky_store_name(st));
        return STICKY_EWOULDBLOCK;
    }
    return report_impl(ctx, d, o, 1);
}
