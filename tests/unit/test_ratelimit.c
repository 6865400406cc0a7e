/*
 * tests/unit/test_ratelimit.c - the rate-limit header parsers
 * (lib/select/ratelimit.c): every accepted format, malformed and
 * overflowing values refused or saturated, and how ratelimit_from_headers()
 * combines the headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "select/ratelimit.h"

#define NOW 1750000000000LL /* 2025-06-15T15:06:40Z */
#define MAX_WAIT_MS (1000000000LL * 1000)

typedef int (*parser)(const char *, size_t, int64_t *);

static int64_t ok(parser p, const char *s)
{
    int64_t v = -7;
    if (!p(s, strlen(s), &v))
        fail_msg("refused: \"%s\"", s);
    return v;
}

static void bad(parser p, const char *s)
{
    int64_t v = -7;
    if (p(s, strlen(s), &v))
        fail_msg("accepted: \"%s\" (%lld)", s, (long long)v);
    assert_int_equal(v, -7);
}

static void test_delta_seconds(void **state)
{
    (void)state;
    assert_int_equal(ok(ratelimit_parse_delta_seconds, "0"), 0);
    assert_int_equal(ok(ratelimit_parse_delta_seconds, "120"), 120000);
    assert_int_equal(ok(ratelimit_parse_delta_seconds, " 7\t"), 7000);
    assert_int_equal(ok(ratelimit_parse_delta_seconds, "99999999999999999999999999999"),
                     MAX_WAIT_MS); /* saturates, never wraps */
    bad(ratelimit_parse_delta_seconds, "");
    bad(ratelimit_parse_delta_seconds, "  ");
    bad(ratelimit_parse_delta_seconds, "-5");
    bad(ratelimit_parse_delta_seconds, "+5");
    bad(ratelimit_parse_delta_seconds, "1.5");
    bad(ratelimit_parse_delta_seconds, "5s");
    bad(ratelimit_parse_delta_seconds, "1 2");
    assert_int_equal(ratelimit_parse_delta_seconds(NULL, 3, &(int64_t){0}), 0);
}

static void test_http_date(void **state)
{
    (void)state;
    /* The three forms of RFC 9110 section 5.6.7, all the same instant. */
    const int64_t t = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(ok(ratelimit_parse_http_date, "Sun, 06 Nov 1994 08:49:37 GMT"), t);
    assert_int_equal(ok(ratelimit_parse_http_date, "Sunday, 06-Nov-94 08:49:37 GMT"), t);
    assert_int_equal(ok(ratelimit_parse_http_date, "Sun Nov  6 08:49:37 1994"), t);
    assert_int_equal(ok(ratelimit_parse_http_date, "Sun Nov 06 08:49:37 1994"), t);
    assert_int_equal(ok(ratelimit_parse_http_date, "Sun, 15 Jun 2025 15:06:40 GMT"), NOW);
    assert_int_equal(ok(ratelimit_parse_http_date, "Thu, 29 Feb 2024 00:00:00 GMT"),
                     1709164800000LL);
    assert_int_equal(ok(ratelimit_parse_http_date, "Thursday, 01-Jan-30 00:00:00 GMT"),
                     1893456000000LL); /* two-digit year below 70: 20xx */
    bad(ratelimit_parse_http_date, "");
    bad(ratelimit_parse_http_date, "Sun, 06 Nov 1994 08:49:37 UTC");
    bad(ratelimit_parse_http_date, "Sun, 06 nov 1994 08:49:37 GMT");
    bad(ratelimit_parse_http_date, "Xyz, 06 Nov 1994 08:49:37 GMT");
    bad(ratelimit_parse_http_date, "Sun, 31 Nov 1994 08:49:37 GMT");
    bad(ratelimit_parse_http_date, "Fri, 29 Feb 2023 00:00:00 GMT");
    bad(ratelimit_parse_http_date, "Sun, 06 Nov 1994 24:00:00 GMT");
    bad(ratelimit_parse_http_date, "Sun, 06 Nov 1994 08:60:00 GMT");
    bad(ratelimit_parse_http_date, "Sun, 6 Nov 1994 08:49:37 GMT");
    bad(ratelimit_parse_http_date, "Sun, 06 Nov 1994 08:49:37 GMTX");
    bad(ratelimit_parse_http_date, "Sun, 06 Nov 1994 8:49:37 GMT");
    bad(ratelimit_parse_http_date, "Sunday, 06-Nov-94 08:49:37");
    bad(ratelimit_parse_http_date, ",");
    bad(ratelimit_parse_http_date, "Sun Nov  6 08:49:37 94  ");
    bad(ratelimit_parse_http_date, "1994-11-06T08:49:37Z");
}

static void test_epoch_seconds(void **state)
{
    (void)state;
    assert_int_equal(ok(ratelimit_parse_epoch_seconds, "1750000030"), NOW + 30000);
    assert_int_equal(ok(ratelimit_parse_epoch_seconds, "1750000030.25"), NOW + 30250);
    assert_int_equal(ok(ratelimit_parse_epoch_seconds, "1750000030.1239999"), NOW + 30123);
    assert_int_equal(ok(ratelimit_parse_epoch_seconds, "0"), 0);
    bad(ratelimit_parse_epoch_seconds, "");
    bad(ratelimit_parse_epoch_seconds, "-1");
    bad(ratelimit_parse_epoch_seconds, "1750000030.");
    bad(ratelimit_parse_epoch_seconds, ".5");
    bad(ratelimit_parse_epoch_seconds, "17e8");
    bad(ratelimit_parse_epoch_seconds, "2025-06-01T12:00:30Z");
    bad(ratelimit_parse_epoch_seconds, "253402300800"); /* after year 9999 */
    bad(ratelimit_parse_epoch_seconds, "99999999999999999999999999");
}

static void test_rfc3339(void **state)
{
    (void)state;
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15T15:06:40Z"), NOW);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15t15:06:40z"), NOW);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15 15:06:40Z"), NOW);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15T15:06:40.5Z"), NOW + 500);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15T17:06:40+02:00"), NOW);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-15T10:36:40.000-04:30"), NOW);
    assert_int_equal(ok(ratelimit_parse_rfc3339, "2025-06-01T12:00:30Z"), 1748779230000LL);
    bad(ratelimit_parse_rfc3339, "");
    bad(ratelimit_parse_rfc3339, "2025-06-15T15:06:40");
    bad(ratelimit_parse_rfc3339, "2025-06-15T15:06:40.Z");
    bad(ratelimit_parse_rfc3339, "2025-06-15T15:06:40+0200");
    bad(ratelimit_parse_rfc3339, "2025-06-15T15:06:40+24:00");
    bad(ratelimit_parse_rfc3339, "2025-13-15T15:06:40Z");
    bad(ratelimit_parse_rfc3339, "2025-06-31T15:06:40Z");
    bad(ratelimit_parse_rfc3339, "2025-06-15T15:06:40Zjunk");
    bad(ratelimit_parse_rfc3339, "2025-06-15X15:06:40Z");
    bad(ratelimit_parse_rfc3339, "1750000000");
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(ok(ratelimit_parse_duration, "6m0s"), 360000);
    assert_int_equal(ok(ratelimit_parse_duration, "1.5s"), 1500);
    assert_int_equal(ok(ratelimit_parse_duration, "20ms"), 20);
    assert_int_equal(ok(ratelimit_parse_duration, "1h2m3s"), 3723000);
    assert_int_equal(ok(ratelimit_parse_duration, "0s"), 0);
    assert_int_equal(ok(ratelimit_parse_duration, "0"), 0);
    assert_int_equal(ok(ratelimit_parse_duration, "2.5h"), 9000000);
    assert_int_equal(ok(ratelimit_parse_duration, ".5s"), 500);
    assert_int_equal(ok(ratelimit_parse_duration, "1.s"), 1000);
    assert_int_equal(ok(ratelimit_parse_duration, "1500us"), 2);   /* rounded up */
    assert_int_equal(ok(ratelimit_parse_duration, "1500\xc2\xb5s"), 2);
    assert_int_equal(ok(ratelimit_parse_duration, "1500\xce\xbcs"), 2);
    assert_int_equal(ok(ratelimit_parse_duration, "1ns"), 1);
    assert_int_equal(ok(ratelimit_parse_duration, "17.123456789123s"), 17124);
    assert_int_equal(ok(ratelimit_parse_duration, "1000000000000000000000h"), MAX_WAIT_MS);
    assert_int_equal(ok(ratelimit_parse_duration, "99999999999999999999ns"), MAX_WAIT_MS);
    assert_int_equal(ok(ratelimit_parse_duration, "1000000000000000000ns"), MAX_WAIT_MS);
    assert_int_equal(ok(ratelimit_parse_duration, "999999999999999999h999999999999h"),
                     MAX_WAIT_MS);
    bad(ratelimit_parse_duration, "");
    bad(ratelimit_parse_duration, "6");
    bad(ratelimit_parse_duration, "6m0");
    bad(ratelimit_parse_duration, "-1s");
    bad(ratelimit_parse_duration, "s");
    bad(ratelimit_parse_duration, ".s");
    bad(ratelimit_parse_duration, "1d");
    bad(ratelimit_parse_duration, "1 s");
    bad(ratelimit_parse_duration, "1.5.s");
    bad(ratelimit_parse_duration, "1\xc2s");
}

#define HDR(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static struct ratelimit_info read_h(const sticky_header *h, size_t n)
{
    struct ratelimit_info r;
    memset(&r, 0x5a, sizeof(r));
    ratelimit_from_headers(h, n, NOW, &r);
    return r;
}

static void test_headers_absent(void **state)
{
    (void)state;
    struct ratelimit_info r = read_h(NULL, 5);
    assert_int_equal(r.retry_after_ms, -1);
    assert_int_equal(r.reset_at_ms, -1);
    assert_int_equal(r.account_wide, 0);
    sticky_header h[] = {HDR("content-type", "application/json"),
                         HDR("retry-after", "soon"),
                         HDR("anthropic-ratelimit-unified-reset", "tomorrow"),
                         HDR("x-ratelimit-reset-tokens", "6 minutes"),
                         {NULL, 3, "1", 1},
                         {"retry-after", 11, NULL, 0}};
    r = read_h(h, sizeof(h) / sizeof(h[0]));
    assert_int_equal(r.retry_after_ms, -1);
    assert_int_equal(r.reset_at_ms, -1);
}

static void test_headers_retry_after(void **state)
{
    (void)state;
    sticky_header a[] = {HDR("Retry-After", "30")};
    assert_int_equal(read_h(a, 1).retry_after_ms, 30000);
    sticky_header b[] = {HDR("RETRY-AFTER", "Sun, 15 Jun 2025 15:07:10 GMT")};
    assert_int_equal(read_h(b, 1).retry_after_ms, 30000);
    sticky_header c[] = {HDR("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")};
    assert_int_equal(read_h(c, 1).retry_after_ms, 0); /* a past date: now */
    /* A valid Retry-After wins over the OpenAI durations. */
    sticky_header d[] = {HDR("x-ratelimit-reset-requests", "6m0s"), HDR("retry-after", "2")};
    assert_int_equal(read_h(d, 2).retry_after_ms, 2000);
    /* The last valid occurrence wins; an invalid one is skipped. */
    sticky_header e[] = {HDR("retry-after", "5"), HDR("retry-after", "9"),
                         HDR("retry-after", "x")};
    assert_int_equal(read_h(e, 3).retry_after_ms, 9000);
}

static void test_headers_openai(void **state)
{
    (void)state;
    /* Without remaining counts: the longer wait. */
    sticky_header a[] = {HDR("x-ratelimit-reset-requests", "6m0s"),
                         HDR("x-ratelimit-reset-tokens", "1.5s")};
    assert_int_equal(read_h(a, 2).retry_after_ms, 360000);
    /* The exhausted limit decides. */
    sticky_header b[] = {HDR("x-ratelimit-reset-requests", "6m0s"),
                         HDR("x-ratelimit-reset-tokens", "1.5s"),
                         HDR("x-ratelimit-remaining-requests", "59"),
                         HDR("x-ratelimit-remaining-tokens", "0")};
    struct ratelimit_info r = read_h(b, 4);
    assert_int_equal(r.retry_after_ms, 1500);
    assert_int_equal(r.reset_at_ms, -1);
    assert_int_equal(r.account_wide, 0);
}

static void test_headers_anthropic(void **state)
{
    (void)state;
    /* Unified limiter rejected: its reset, whole account. */
    sticky_header a[] = {HDR("anthropic-ratelimit-unified-status", "rejected"),
                         HDR("anthropic-ratelimit-unified-reset", "1750000300"),
                         HDR("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:00Z")};
    struct ratelimit_info r = read_h(a, 3);
    assert_int_equal(r.reset_at_ms, NOW + 300000);
    assert_int_equal(r.account_wide, 1);
    /* Unified limiter allowed: the 429 came from another limit. */
    sticky_header b[] = {HDR("anthropic-ratelimit-unified-status", "allowed"),
                         HDR("anthropic-ratelimit-unified-reset", "1750000300"),
                         HDR("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:00Z")};
    r = read_h(b, 3);
    assert_int_equal(r.reset_at_ms, NOW + 20000);
    assert_int_equal(r.account_wide, 0);
    /* Unified reset without a status: used, scope unknown (family). */
    sticky_header c[] = {HDR("anthropic-ratelimit-unified-reset", "1750000300")};
    r = read_h(c, 1);
    assert_int_equal(r.reset_at_ms, NOW + 300000);
    assert_int_equal(r.account_wide, 0);
    /* The exhausted per-kind limit decides among the RFC 3339 resets. */
    sticky_header d[] = {HDR("anthropic-ratelimit-requests-reset", "2025-06-15T15:08:00Z"),
                         HDR("anthropic-ratelimit-requests-remaining", "12"),
                         HDR("anthropic-ratelimit-output-tokens-reset", "2025-06-15T15:06:50Z"),
                         HDR("anthropic-ratelimit-output-tokens-remaining", "0")};
    r = read_h(d, 4);
    assert_int_equal(r.reset_at_ms, NOW + 10000);
    assert_int_equal(r.retry_after_ms, -1);
    /* Status words: any case, surrounding spaces; unknown ones ignored. */
    sticky_header e[] = {HDR("anthropic-ratelimit-unified-status", " Rejected ")};
    assert_int_equal(read_h(e, 1).account_wide, 1);
    sticky_header f[] = {HDR("anthropic-ratelimit-unified-status", "rejected!")};
    assert_int_equal(read_h(f, 1).account_wide, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_seconds),   cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_epoch_seconds),   cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_duration),        cmocka_unit_test(test_headers_absent),
        cmocka_unit_test(test_headers_retry_after), cmocka_unit_test(test_headers_openai),
        cmocka_unit_test(test_headers_anthropic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
