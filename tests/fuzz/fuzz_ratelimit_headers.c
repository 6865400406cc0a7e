/*
 * tests/fuzz/fuzz_ratelimit_headers.c - libFuzzer target for the rate-limit
 * header parsers (lib/select/ratelimit.c). The input is split at '\n' into
 * lines and each line at its first ':' into a header name and value (a
 * line without ':' is a name with an empty value); the first line is the
 * clock. Checks: every time is -1 or in range, account_wide is 0 or 1,
 * and each single-value parser refuses or returns a sane value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "select/ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 64
#define MAX_WAIT_MS (1000000000LL * 1000)

static void check_one(int (*p)(const char *, size_t, int64_t *), const char *s, size_t n,
                      int64_t lo, int64_t hi)
{
    int64_t v = -7;
    if (p(s, n, &v)) {
        if (v < lo || v > hi)
            abort();
    } else if (v != -7) {
        abort(); /* refused but wrote */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sticky_header h[MAX_HEADERS];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    int64_t now = 1750000000000LL;
    const char *nl = memchr(p, '\n', size);
    if (nl != NULL) { /* first line: the clock, as up to 8 raw bytes */
        uint64_t v = 0;
        for (const char *q = p; q < nl && q < p + 8; q++)
            v = (v << 8) | (uint8_t)*q;
        if (nl > p)
            now = (int64_t)v;
        p = nl + 1;
    }
    while (p < end && n < MAX_HEADERS) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (e == NULL)
            e = end;
        const char *c = memchr(p, ':', (size_t)(e - p));
        h[n].name = p;
        h[n].name_len = (size_t)((c ? c : e) - p);
        h[n].value = c ? c + 1 : e;
        h[n].value_len = c ? (size_t)(e - c - 1) : 0;
        /* each value through every parser */
        check_one(ratelimit_parse_delta_seconds, h[n].value, h[n].value_len, 0, MAX_WAIT_MS);
        check_one(ratelimit_parse_duration, h[n].value, h[n].value_len, 0, MAX_WAIT_MS);
        check_one(ratelimit_parse_epoch_seconds, h[n].value, h[n].value_len, 0,
                  253402300799999LL);
        check_one(ratelimit_parse_http_date, h[n].value, h[n].value_len, -2208988800000LL,
                  253402300799000LL);
        check_one(ratelimit_parse_rfc3339, h[n].value, h[n].value_len,
                  -2208988800000LL - 86400000LL, 253402300799999LL + 86400000LL);
        n++;
        p = e + 1;
    }
    struct ratelimit_info r;
    ratelimit_from_headers(h, n, now, &r);
    if (r.retry_after_ms < -1 || r.retry_after_ms > MAX_WAIT_MS)
        abort();
    if (r.reset_at_ms < -1 || r.reset_at_ms > 253402300799999LL + 86400000LL)
        abort();
    if (r.account_wide != 0 && r.account_wide != 1)
        abort();
    return 0;
}
