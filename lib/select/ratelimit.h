/*
 * lib/select/ratelimit.h - the upstream's rate-limit response headers read
 * for sticky_report(): Retry-After (delta seconds or HTTP-date),
 * anthropic-ratelimit-unified-reset / -status, anthropic-ratelimit-*-reset
 * (RFC 3339) and OpenAI's x-ratelimit-reset-requests / -tokens (Go-style
 * durations like "6m0s", "1.5s", "20ms"). Pure functions over (pointer,
 * length) text: no allocation, one pass per value, overflow-safe. A value
 * that does not parse is ignored, never an error.
 */
#ifndef STICKY_SELECT_RATELIMIT_H
#define STICKY_SELECT_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "sticky/request.h"

/* What the headers say; every time is -1 when absent. */
struct ratelimit_info {
    int64_t retry_after_ms; /* wait this long from now (>= 0) */
    int64_t reset_at_ms;    /* the limit resets at this Unix time (ms, >= 0) */
    int account_wide;       /* 1: the whole account is limited (Anthropic's
                             * unified limiter said "rejected"); 0: the 429
                             * is scoped to the request's model family */
};

/*
 * Read @n headers @h (names case-insensitive; NULL entries skipped) at
 * @now_ms into @out. retry_after_ms comes from Retry-After, else from the
 * OpenAI reset durations (those whose x-ratelimit-remaining-* is "0" when
 * any is; else the longest); reset_at_ms from
 * anthropic-ratelimit-unified-reset (ignored when -unified-status says the
 * unified limiter allowed the request), else from the RFC 3339
 * anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset
 * (exhausted ones first, the latest among them). The last valid
 * occurrence of a repeated header wins.
 */
void ratelimit_from_headers(const sticky_header *h, size_t n, int64_t now_ms,
                            struct ratelimit_info *out);

/* The single-value parsers (exposed for the unit tests). Each returns 1
 * and sets *@out on success, 0 for a malformed or out-of-range value. */
int ratelimit_parse_delta_seconds(const char *s, size_t len, int64_t *out_ms);
int ratelimit_parse_http_date(const char *s, size_t len, int64_t *out_ms);
int ratelimit_parse_epoch_seconds(const char *s, size_t len, int64_t *out_ms);
int ratelimit_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);
int ratelimit_parse_duration(const char *s, size_t len, int64_t *out_ms);

#endif /* STICKY_SELECT_RATELIMIT_H */
