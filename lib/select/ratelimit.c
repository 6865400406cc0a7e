/*
 * lib/select/ratelimit.c - parsers for the upstream's rate-limit response
 * headers (see ratelimit.h for which ones and how they combine). Every
 * parser reads (pointer, length) text once, left to right, with no
 * allocation; numbers saturate or are refused before they can overflow;
 * anything malformed makes the value absent (the caller ignores it).
 */
#include <string.h>

#include "select/ratelimit.h"

/* Longest wait a header can express (saturation point): ~31 years. */
#define MAX_WAIT_MS (1000000000LL * 1000)
/* Latest absolute time accepted: 9999-12-31T23:59:59Z. */
#define MAX_EPOCH_S 253402300799LL

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Trim optional whitespace (SP / HTAB) from both ends of [*s, *s + *len). */
static void trim_ows(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* Exactly @n digits at @s as a number. */
static int fixed_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Unix ms of a validated calendar time; 0 if a field is out of range. */
static int civil_ms(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || s > 60) /* 60: a leap second */
        return 0;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + s * 1000LL;
    return 1;
}

/* A three-letter English month name (case-sensitive, as HTTP requires). */
static int month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++) {
        if (memcmp(s, names + 3 * i, 3) == 0)
            return i + 1;
    }
    return 0;
}

static int day_name_ok(const char *s, size_t n)
{
    static const char *const shortn[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const longn[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    for (int i = 0; i < 7; i++) {
        if ((n == 3 && memcmp(s, shortn[i], 3) == 0) ||
            (n == strlen(longn[i]) && memcmp(s, longn[i], n) == 0))
            return 1;
    }
    return 0;
}

/* "08:49:37" */
static int clock_of(const char *s, int *h, int *mi, int *sec)
{
    return fixed_digits(s, 2, h) && s[2] == ':' && fixed_digits(s + 3, 2, mi) && s[5] == ':' &&
           fixed_digits(s + 6, 2, sec);
}

int ratelimit_parse_delta_seconds(const char *s, size_t len, int64_t *out_ms)
{
    if (s == NULL)
        return 0;
    trim_ows(&s, &len);
    if (len == 0)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        if (v < MAX_WAIT_MS / 1000) /* saturate: a huge wait is still a wait */
            v = v * 10 + (s[i] - '0');
    }
    *out_ms = v >= MAX_WAIT_MS / 1000 ? MAX_WAIT_MS : v * 1000;
    return 1;
}

int ratelimit_parse_http_date(const char *s, size_t len, int64_t *out_ms)
{
    if (s == NULL)
        return 0;
    trim_ows(&s, &len);
    int y, mo, d, h, mi, sec;
    const char *comma = len > 0 ? memchr(s, ',', len) : NULL;
    if (len == 29 && comma == s + 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (!day_name_ok(s, 3) || s[4] != ' ' || !fixed_digits(s + 5, 2, &d) || s[7] != ' ' ||
            (mo = month_of(s + 8)) == 0 || s[11] != ' ' || !fixed_digits(s + 12, 4, &y) ||
            s[16] != ' ' || !clock_of(s + 17, &h, &mi, &sec) || memcmp(s + 25, " GMT", 4) != 0)
            return 0;
    } else if (comma != NULL) {
        /* obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        size_t dn = (size_t)(comma - s);
        const char *p = comma + 1;
        if (len != dn + 24 || !day_name_ok(s, dn) || p[0] != ' ' ||
            !fixed_digits(p + 1, 2, &d) || p[3] != '-' || (mo = month_of(p + 4)) == 0 ||
            p[7] != '-' || !fixed_digits(p + 8, 2, &y) || p[10] != ' ' ||
            !clock_of(p + 11, &h, &mi, &sec) || memcmp(p + 19, " GMT", 4) != 0)
            return 0;
        y += y < 70 ? 2000 : 1900;
    } else if (len == 24) {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (!day_name_ok(s, 3) || s[3] != ' ' || (mo = month_of(s + 4)) == 0 || s[7] != ' ' ||
            s[10] != ' ' || !clock_of(s + 11, &h, &mi, &sec) || s[19] != ' ' ||
            !fixed_digits(s + 20, 4, &y))
            return 0;
        if (s[8] == ' ') {
            if (!fixed_digits(s + 9, 1, &d))
                return 0;
        } else if (!fixed_digits(s + 8, 2, &d)) {
            return 0;
        }
    } else {
        return 0;
    }
    return civil_ms(y, mo, d, h, mi, sec, out_ms);
}

int ratelimit_parse_epoch_seconds(const char *s, size_t len, int64_t *out_ms)
{
    if (s == NULL)
        return 0;
    trim_ows(&s, &len);
    size_t i = 0;
    int64_t v = 0;
    for (; i < len && is_digit(s[i]); i++) {
        v = v * 10 + (s[i] - '0');
        if (v > MAX_EPOCH_S)
            return 0;
    }
    if (i == 0)
        return 0;
    int64_t ms = 0;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        int64_t scale = 100;
        for (; i < len && is_digit(s[i]); i++, scale /= 10)
            ms += (s[i] - '0') * scale; /* digits past the third add 0 */
        if (i == f)
            return 0;
    }
    if (i != len)
        return 0;
    *out_ms = v * 1000 + ms;
    return 1;
}

int ratelimit_parse_rfc3339(const char *s, size_t len, int64_t *out_ms)
{
    if (s == NULL)
        return 0;
    trim_ows(&s, &len);
    /* 2025-06-01T12:00:30[.frac](Z|+hh:mm|-hh:mm) */
    int y, mo, d, h, mi, sec;
    if (len < 20 || !fixed_digits(s, 4, &y) || s[4] != '-' || !fixed_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !fixed_digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !clock_of(s + 11, &h, &mi, &sec))
        return 0;
    size_t i = 19;
    int64_t ms = 0;
    if (s[i] == '.') {
        size_t f = ++i;
        int64_t scale = 100;
        for (; i < len && is_digit(s[i]); i++, scale /= 10)
            ms += (s[i] - '0') * scale;
        if (i == f)
            return 0;
    }
    int64_t offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!fixed_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !fixed_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset_min = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 60 + om);
        i += 6;
    } else {
        return 0;
    }
    int64_t base;
    if (i != len || !civil_ms(y, mo, d, h, mi, sec, &base))
        return 0;
    *out_ms = base + ms - offset_min * 60000;
    return 1;
}

int ratelimit_parse_duration(const char *s, size_t len, int64_t *out_ms)
{
    if (s == NULL)
        return 0;
    trim_ows(&s, &len);
    if (len == 1 && s[0] == '0') { /* Go prints a zero duration as "0s", accept "0" */
        *out_ms = 0;
        return 1;
    }
    /* Sum of components <number>[.<fraction>]<unit>, kept in microseconds
     * and saturated at MAX_WAIT_MS. */
    const int64_t cap_us = MAX_WAIT_MS * 1000;
    int64_t total_us = 0;
    size_t i = 0;
    if (len == 0)
        return 0;
    while (i < len) {
        int64_t whole = 0;
        size_t start = i;
        /* Saturates just above cap_us in ns (the finest unit), 1e18. */
        for (; i < len && is_digit(s[i]); i++)
            whole = whole <= cap_us * 100 ? whole * 10 + (s[i] - '0') : cap_us * 1000 + 1;
        int have_whole = i > start;
        int64_t frac_num = 0, frac_den = 1;
        if (i < len && s[i] == '.') {
            size_t f = ++i;
            for (; i < len && is_digit(s[i]); i++) {
                if (frac_den < 1000000000LL) {
                    frac_num = frac_num * 10 + (s[i] - '0');
                    frac_den *= 10;
                }
            }
            if (i == f && !have_whole)
                return 0;
        } else if (!have_whole) {
            return 0;
        }
        /* The unit, in microseconds; a sub-microsecond unit in ns. */
        int64_t unit_us, unit_div = 1;
        size_t rest = len - i;
        if (rest >= 2 && s[i] == 'n' && s[i + 1] == 's') {
            unit_us = 1, unit_div = 1000, i += 2;
        } else if (rest >= 2 && (s[i] == 'u') && s[i + 1] == 's') {
            unit_us = 1, i += 2;
        } else if (rest >= 3 && (unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] == 0xB5 &&
                   s[i + 2] == 's') { /* µs, U+00B5 */
            unit_us = 1, i += 3;
        } else if (rest >= 3 && (unsigned char)s[i] == 0xCE && (unsigned char)s[i + 1] == 0xBC &&
                   s[i + 2] == 's') { /* μs, U+03BC */
            unit_us = 1, i += 3;
        } else if (rest >= 2 && s[i] == 'm' && s[i + 1] == 's') {
            unit_us = 1000, i += 2;
        } else if (rest >= 1 && s[i] == 's') {
            unit_us = 1000000, i += 1;
        } else if (rest >= 1 && s[i] == 'm') {
            unit_us = 60000000, i += 1;
        } else if (rest >= 1 && s[i] == 'h') {
            unit_us = 3600000000LL, i += 1;
        } else {
            return 0;
        }
        int64_t part;
        if (whole > cap_us / unit_us * unit_div) {
            part = cap_us;
        } else {
            /* frac_num < frac_den <= 1e9 and unit_us <= 3.6e9: the
             * product fits only after one division, so split it. */
            int64_t frac_us = frac_num * (unit_us / frac_den) +
                              (frac_num * (unit_us % frac_den)) / frac_den;
            part = whole * unit_us + frac_us;
            part = (part + unit_div - 1) / unit_div;
        }
        total_us = total_us > cap_us - part ? cap_us : total_us + part;
    }
    int64_t ms = (total_us + 999) / 1000;
    *out_ms = ms > MAX_WAIT_MS ? MAX_WAIT_MS : ms;
    return 1;
}

/* ---- the headers ---------------------------------------------------------- */

enum rl_header {
    H_RETRY_AFTER,
    H_UNIFIED_RESET,
    H_UNIFIED_STATUS,
    H_A_REQUESTS_RESET, /* the four RFC 3339 resets, then their remaining */
    H_A_TOKENS_RESET,
    H_A_INPUT_RESET,
    H_A_OUTPUT_RESET,
    H_A_REQUESTS_REMAINING,
    H_A_TOKENS_REMAINING,
    H_A_INPUT_REMAINING,
    H_A_OUTPUT_REMAINING,
    H_O_RESET_REQUESTS, /* the two durations, then their remaining */
    H_O_RESET_TOKENS,
    H_O_REMAINING_REQUESTS,
    H_O_REMAINING_TOKENS,
    H_COUNT
};

static const char *const header_names[H_COUNT] = {
    "retry-after",
    "anthropic-ratelimit-unified-reset",
    "anthropic-ratelimit-unified-status",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-output-tokens-remaining",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
};

static int which_header(const char *name, size_t len)
{
    for (int k = 0; k < H_COUNT; k++) {
        const char *want = header_names[k];
        if (strlen(want) != len)
            continue;
        size_t i = 0;
        while (i < len && lower(name[i]) == want[i])
            i++;
        if (i == len)
            return k;
    }
    return -1;
}

/* A "remaining" value: 1 when it is zero, 0 when positive, -1 malformed. */
static int remaining_is_zero(const char *s, size_t len)
{
    trim_ows(&s, &len);
    if (len == 0)
        return -1;
    int zero = 1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        if (s[i] != '0')
            zero = 0;
    }
    return zero;
}

static int word_is(const char *s, size_t len, const char *w)
{
    trim_ows(&s, &len);
    if (strlen(w) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (lower(s[i]) != w[i])
            return 0;
    }
    return 1;
}

/* Among @n times, the latest of those whose limit is exhausted when any
 * is, else the latest; -1 if none. */
static int64_t pick(const int64_t *t, const int *zero, int n)
{
    int64_t any = -1, exhausted = -1;
    for (int i = 0; i < n; i++) {
        if (t[i] < 0)
            continue;
        if (t[i] > any)
            any = t[i];
        if (zero[i] == 1 && t[i] > exhausted)
            exhausted = t[i];
    }
    return exhausted >= 0 ? exhausted : any;
}

void ratelimit_from_headers(const sticky_header *h, size_t n, int64_t now_ms,
                            struct ratelimit_info *out)
{
    int64_t retry_after = -1, unified_reset = -1;
    int unified = 0; /* 0 not said, 1 rejected, 2 allowed */
    int64_t a_reset[4] = {-1, -1, -1, -1}, o_reset[2] = {-1, -1};
    int a_zero[4] = {-1, -1, -1, -1}, o_zero[2] = {-1, -1};
    out->retry_after_ms = -1;
    out->reset_at_ms = -1;
    out->account_wide = 0;

    for (size_t i = 0; h != NULL && i < n; i++) {
        const char *v = h[i].value;
        size_t vlen = h[i].value_len;
        if (h[i].name == NULL || v == NULL)
            continue;
        int k = which_header(h[i].name, h[i].name_len);
        int64_t t;
        int z;
        switch (k) {
        case H_RETRY_AFTER:
            if (ratelimit_parse_delta_seconds(v, vlen, &t))
                retry_after = t;
            else if (ratelimit_parse_http_date(v, vlen, &t))
                retry_after = t > now_ms ? (t - now_ms > MAX_WAIT_MS ? MAX_WAIT_MS : t - now_ms)
                                         : 0;
            break;
        case H_UNIFIED_RESET:
            if (ratelimit_parse_epoch_seconds(v, vlen, &t))
                unified_reset = t;
            break;
        case H_UNIFIED_STATUS:
            if (word_is(v, vlen, "rejected"))
                unified = 1;
            else if (word_is(v, vlen, "allowed") || word_is(v, vlen, "allowed_warning"))
                unified = 2;
            break;
        case H_A_REQUESTS_RESET: case H_A_TOKENS_RESET:
        case H_A_INPUT_RESET: case H_A_OUTPUT_RESET:
            if (ratelimit_parse_rfc3339(v, vlen, &t) && t >= 0)
                a_reset[k - H_A_REQUESTS_RESET] = t;
            break;
        case H_A_REQUESTS_REMAINING: case H_A_TOKENS_REMAINING:
        case H_A_INPUT_REMAINING: case H_A_OUTPUT_REMAINING:
            if ((z = remaining_is_zero(v, vlen)) >= 0)
                a_zero[k - H_A_REQUESTS_REMAINING] = z;
            break;
        case H_O_RESET_REQUESTS: case H_O_RESET_TOKENS:
            if (ratelimit_parse_duration(v, vlen, &t))
                o_reset[k - H_O_RESET_REQUESTS] = t;
            break;
        case H_O_REMAINING_REQUESTS: case H_O_REMAINING_TOKENS:
            if ((z = remaining_is_zero(v, vlen)) >= 0)
                o_zero[k - H_O_REMAINING_REQUESTS] = z;
            break;
        default:
            break;
        }
    }

    out->retry_after_ms = retry_after >= 0 ? retry_after : pick(o_reset, o_zero, 2);
    /* The unified reset tells when the unified limiter reopens; when that
     * limiter allowed the request, this 429 came from another limit. */
    if (unified_reset >= 0 && unified != 2)
        out->reset_at_ms = unified_reset;
    else
        out->reset_at_ms = pick(a_reset, a_zero, 4);
    out->account_wide = unified == 1;
}
