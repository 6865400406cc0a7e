/*
 * lib/select/select_stats.c - the selector's counters: sticky_ctx_get_stats() and the
 * Prometheus text exposition with per-channel series. The exposition is
 * always valid UTF-8 text whatever bytes a channel id holds: label values
 * escape backslash, quote and newline, and every byte that is not part of
 * a well-formed UTF-8 sequence becomes U+FFFD.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "select/health_sync.h"
#include "select/select_internal.h"
#include "util/struct_log.h"
#include "sticky/error.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

STICKY_API int sticky_ctx_get_stats(const sticky_ctx *ctx, sticky_ctx_stats *out)
{
    if (ctx == NULL || out == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    int rc = struct_size_ok(ctx, "ctx_get_stats", "out", struct_size_of(out),
                            CTX_STATS_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    sticky_ctx_stats v;
    sticky_ctx_stats_init(&v);
    for (int i = 0; i < STAT_SHARDS; i++) {
        const struct selector_stats *s = &ctx->sel->stats[i];
        v.requests += LOAD(s->requests);
        v.hits += LOAD(s->by_reason[STICKY_REASON_HIT]) +
                  LOAD(s->by_reason[STICKY_REASON_EXPLICIT_HIT]);
        v.promoted_hits += LOAD(s->by_reason[STICKY_REASON_PROMOTED_HIT]);
        v.new_sessions += LOAD(s->by_reason[STICKY_REASON_NEW]);
        v.failovers += LOAD(s->by_reason[STICKY_REASON_FAILOVER]);
        v.spills += LOAD(s->by_reason[STICKY_REASON_SPILL]) +
                    LOAD(s->by_reason[STICKY_REASON_SIDE]);
        v.migrations += LOAD(s->by_reason[STICKY_REASON_MIGRATED]);
        v.no_channel += LOAD(s->by_reason[STICKY_REASON_NO_CHANNEL]);
        v.strict_rejections += LOAD(s->strict_rejections);
        v.store_errors += LOAD(s->store_errors);
        v.reports += LOAD(s->reports);
        v.tenant_mismatches += LOAD(s->tenant_mismatches);
    }
    v.channels = health_count(&ctx->sel->health);
    struct_copy_out(out, out->size, &v, sizeof(v));
    return STICKY_OK;
}

struct writer {
    char *buf;
    size_t cap, len;
    int64_t now;
};

static void w_printf(struct writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = w->len < w->cap ? w->buf + w->len : NULL;
    size_t room = w->len < w->cap ? w->cap - w->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n;
}

static void w_bytes(struct writer *w, const void *p, size_t n)
{
    if (w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->buf + w->len, p, n < room ? n : room);
    }
    w->len += n;
}

/* Length of the well-formed UTF-8 sequence at @s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 if the byte at @s
 * does not start one. @s is NUL-terminated. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A label value: backslash, quote and newline escaped (the Prometheus text
 * format's three escapes); a byte outside well-formed UTF-8 -> U+FFFD. */
static void w_label(struct writer *w, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        size_t n = utf8_seq(s);
        if (n == 0) {
            w_bytes(w, "\xef\xbf\xbd", 3);
            s++;
        } else if (*s == '\\' || *s == '"') {
            w_bytes(w, "\\", 1);
            w_bytes(w, s, 1);
            s++;
        } else if (*s == '\n') {
            w_bytes(w, "\\n", 2);
            s++;
        } else {
            w_bytes(w, s, n);
            s += n;
        }
    }
}

/* One metric family at a time: Prometheus wants each family's samples
 * grouped under its HELP / TYPE lines. */
struct family_writer {
    struct writer *w;
    const struct health_registry *health;
    int which; /* 0 selections, 1 failures, 2 in flight, 3 cooldown */
};

static void channel_series(struct channel_health *h, void *arg)
{
    struct family_writer *fw = arg;
    struct writer *w = fw->w;
    static const char *const names[] = {"sticky_channel_selections_total",
                                        "sticky_channel_failures_total",
                                        "sticky_channel_in_flight"};
    if (fw->which < 3) {
        uint64_t v = fw->which == 0   ? LOAD(h->selections)
                     : fw->which == 1 ? LOAD(h->failures)
                                      : health_in_flight(fw->health, h);
        w_printf(w, "%s{channel=\"", names[fw->which]);
        w_label(w, h->id);
        w_printf(w, "\"} %" PRIu64 "\n", v);
        return;
    }
    for (int f = 0; f < FAMILY_COUNT; f++) {
        int64_t until = LOAD(h->cooldown_until_ms[f]);
        /* In double: the difference of two extreme clock readings does
         * not fit an int64. */
        double left = until > w->now ? ((double)until - (double)w->now) / 1000.0 : 0.0;
        w_printf(w, "sticky_channel_cooldown_seconds{channel=\"");
        w_label(w, h->id);
        if (until == INT64_MAX) /* an auth state: until the host clears it */
            w_printf(w, "\",family=\"%s\"} +Inf\n", sticky_model_family_name(f));
        else
            w_printf(w, "\",family=\"%s\"} %.3f\n", sticky_model_family_name(f), left);
    }
}

STICKY_API int sticky_ctx_format_prometheus(const sticky_ctx *ctx, char *buf, size_t cap,
                                              size_t *needed)
{
    if (ctx == NULL || needed == NULL || ctx->sel == NULL || (buf == NULL && cap != 0))
        return STICKY_EINVAL;
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(ctx, &s);
    struct writer w = {buf, cap, 0, sticky_ctx_now_ms(ctx)};
    struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        {"sticky_requests_total", "sticky_select() calls", s.requests},
        {"sticky_hits_total", "requests routed by an existing binding", s.hits},
        {"sticky_promoted_hits_total", "hits on a shallower key, promoted", s.promoted_hits},
        {"sticky_new_sessions_total", "sessions placed by policy", s.new_sessions},
        {"sticky_failovers_total", "sessions moved off an unusable channel", s.failovers},
        {"sticky_spills_total", "requests served elsewhere, binding kept", s.spills},
        {"sticky_migrations_total", "sessions moved to a better priority tier", s.migrations},
        {"sticky_strict_rejections_total", "strict requests refused", s.strict_rejections},
        {"sticky_no_channel_total", "requests with no usable channel", s.no_channel},
        {"sticky_store_errors_total", "store failures (decided without the store)", s.store_errors},
        {"sticky_reports_total", "outcomes reported", s.reports},
        {"sticky_tenant_mismatches_total",
         "lookups that found another tenant's binding (placed without a binding)",
         s.tenant_mismatches},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        w_printf(&w, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", counters[i].name,
                 counters[i].help, counters[i].name, counters[i].name, counters[i].v);
    static const char *const families[] = {
        "# HELP sticky_channel_selections_total selections per channel\n"
        "# TYPE sticky_channel_selections_total counter\n",
        "# HELP sticky_channel_failures_total failed outcomes per channel\n"
        "# TYPE sticky_channel_failures_total counter\n",
        "# HELP sticky_channel_in_flight attempts in flight per channel\n"
        "# TYPE sticky_channel_in_flight gauge\n",
        "# HELP sticky_channel_cooldown_seconds cooldown left per channel and model family\n"
        "# TYPE sticky_channel_cooldown_seconds gauge\n",
    };
    for (int f = 0; f < 4; f++) {
        w_printf(&w, "%s", families[f]);
        struct family_writer fw = {&w, &ctx->sel->health, f};
        health_each(&ctx->sel->health, channel_series, &fw);
    }
    *needed = w.len;
    if (w.len >= cap) {
        if (cap > 0)
            buf[cap - 1] = '\0';
        return STICKY_ELIMIT;
    }
    return STICKY_OK;
}

/* ---- one channel's health (sticky_ctx_get_channel_health) ---------------- */

STICKY_API int sticky_channel_health_init_sized(sticky_channel_health *h, size_t size)
{
    return struct_init(h, size, CHANNEL_HEALTH_MIN_SIZE);
}

static struct channel_health *entry_of(const sticky_ctx *ctx, const char *id, const char *op)
{
    if (memchr(id, '\0', STICKY_ID_SIZE) == NULL || id[0] == '\0') {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: channel_id: empty or longer than 127 bytes", op);
        return NULL;
    }
    return health_find(&ctx->sel->health, id, fnv1a64(id));
}

void health_view(const struct health_registry *r, struct channel_health *h, int64_t now,
                 sticky_channel_health *v)
{
    sticky_channel_health_init(v);
    int best = -1, best_cause = STICKY_CAUSE_NONE;
    int64_t best_until = 0;
    health_lock(h);
    for (int f = 0; f < FAMILY_COUNT; f++) {
        int64_t until = LOAD(h->cooldown_until_ms[f]);
        int cause = LOAD(h->cause[f]);
        if (until <= now)
            continue;
        v->cooling_families |= 1u << f;
        /* The auth state first, then the cooldown that ends last. */
        int auth = cause == STICKY_CAUSE_AUTH, best_auth = best_cause == STICKY_CAUSE_AUTH;
        if (best < 0 || auth > best_auth || (auth == best_auth && until > best_until)) {
            best = f;
            best_until = until;
            best_cause = cause;
        }
    }
    health_unlock(h);
    if (best >= 0) {
        v->cause = best_cause;
        v->family = best;
        v->until_ms = best_until;
        v->state = best_cause == STICKY_CAUSE_AUTH         ? STICKY_HEALTH_AUTH
                  : best_cause == STICKY_CAUSE_RATE_LIMIT ? STICKY_HEALTH_RATE_LIMITED
                                                          : STICKY_HEALTH_COOLING;
    }
    v->in_flight = health_in_flight(r, h);
    v->consecutive_failures = LOAD(h->consecutive_failures);
    v->selections = LOAD(h->selections);
    v->failures = LOAD(h->failures);
}

STICKY_API int sticky_ctx_get_channel_health(const sticky_ctx *ctx, const char *channel_id,
                                             sticky_channel_health *out)
{
    if (ctx == NULL || ctx->sel == NULL || channel_id == NULL || out == NULL)
        return STICKY_EINVAL;
    int rc = struct_size_ok(ctx, "ctx_get_channel_health", "out", struct_size_of(out),
                            CHANNEL_HEALTH_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (memchr(channel_id, '\0', STICKY_ID_SIZE) == NULL || channel_id[0] == '\0')
        return STICKY_EINVAL;
    struct channel_health *h = entry_of(ctx, channel_id, "ctx_get_channel_health");
    if (h == NULL)
        return STICKY_ENOTFOUND;
    sticky_channel_health v;
    health_view(&ctx->sel->health, h, sticky_ctx_now_ms(ctx), &v);
    struct_copy_out(out, out->size, &v, sizeof(v));
    return STICKY_OK;
}

STICKY_API int sticky_ctx_clear_channel_health(sticky_ctx *ctx, const char *channel_id)
{
    if (ctx == NULL || ctx->sel == NULL || channel_id == NULL)
        return STICKY_EINVAL;
    if (memchr(channel_id, '\0', STICKY_ID_SIZE) == NULL || channel_id[0] == '\0')
        return STICKY_EINVAL;
    struct channel_health *h = entry_of(ctx, channel_id, "ctx_clear_channel_health");
    if (h == NULL)
        return STICKY_ENOTFOUND;
    health_record_clear(h);
    ctx_log(ctx, STICKY_LOG_INFO, "channel %s: health cleared by the host", h->id);
    health_sync_push_clear(ctx, h); /* to other nodes (health_sync.h) */
    return STICKY_OK;
}
