/*
 * lib/key/json_scan.c - on-demand JSON scanning (see json_scan.h). Skipping uses
 * memchr to jump between quotes, so skipped strings cost about one pass.
 */
#include "key/json_scan.h"

#include <string.h>

#include "sticky/error.h"
#include "sticky/key.h"

static inline int is_ws(uint8_t b)
{
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
}

int json_peek(json_cur *c)
{
    while (c->p < c->end && is_ws(*c->p))
        c->p++;
    return c->p < c->end ? *c->p : -1;
}

int json_expect(json_cur *c, uint8_t ch)
{
    if (json_peek(c) != ch)
        return STICKY_EPARSE;
    c->p++;
    return STICKY_OK;
}

static int hex_val(uint8_t b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

/* Check the escape at @p (which points at the backslash); return its length
 * (2 or 6) or 0 if invalid. */
static size_t escape_len(const uint8_t *p, const uint8_t *end)
{
    if (end - p < 2)
        return 0;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 2;
    case 'u':
        if (end - p < 6)
            return 0;
        for (int i = 2; i < 6; i++) {
            if (hex_val(p[i]) < 0)
                return 0;
        }
        return 6;
    default:
        return 0;
    }
}

int json_read_string(json_cur *c, json_str *out)
{
    if (json_peek(c) != '"')
        return STICKY_EPARSE;
    const uint8_t *start = ++c->p;
    const uint8_t *p = start;
    int has_escape = 0;
    /* Find the closing quote once; only an escape that ends on it (\")
     * makes us look further. Linear in the string's length. */
    const uint8_t *q = memchr(p, '"', (size_t)(c->end - p));
    for (;;) {
        if (q == NULL)
            return STICKY_EPARSE;
        const uint8_t *bs = memchr(p, '\\', (size_t)(q - p));
        if (bs == NULL) {
            out->raw = start;
            out->raw_len = (size_t)(q - start);
            out->has_escape = has_escape;
            c->p = q + 1;
            return STICKY_OK;
        }
        size_t n = escape_len(bs, c->end);
        if (n == 0)
            return STICKY_EPARSE;
        has_escape = 1;
        p = bs + n;
        if (p > q)
            q = memchr(p, '"', (size_t)(c->end - p));
    }
}

/* Append code point @cp as UTF-8. */
static int put_utf8(growbuf *out, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return growbuf_append(out, b, n);
}

/* Length of the valid UTF-8 sequence at @p (1..4), or 0 if invalid
 * (overlongs, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t b0 = p[0];
    if (b0 < 0x80)
        return 1;
    size_t avail = (size_t)(end - p);
    if (b0 >= 0xC2 && b0 <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (b0 == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (b0 == 0xF4 && p[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Some byte of @w is below 0x20 or at/above 0x80 (word-at-a-time test). */
static inline int word_not_plain_ascii(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    return (((w - ones * 0x20) | w) & high) != 0;
}

/* Validate plain bytes: UTF-8 and no control characters. */
static int check_plain(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        /* Fast path: eight printable ASCII bytes at a time. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (word_not_plain_ascii(w))
                break;
            p += 8;
        }
        if (p >= end)
            break;
        if (*p >= 0x20 && *p < 0x80) {
            p++;
            continue;
        }
        if (*p < 0x20)
            return STICKY_EPARSE;
        size_t n = utf8_seq_len(p, end);
        if (n == 0)
            return STICKY_EPARSE;
        p += n;
    }
    return STICKY_OK;
}

int json_check_plain_string(const json_str *s)
{
    return check_plain(s->raw, s->raw + s->raw_len);
}

static uint32_t read_u4(const uint8_t *p)
{
    return (uint32_t)(hex_val(p[0]) << 12 | hex_val(p[1]) << 8 |
                      hex_val(p[2]) << 4 | hex_val(p[3]));
}

int json_decode_string(const json_str *s, growbuf *out)
{
    const uint8_t *p = s->raw, *end = s->raw + s->raw_len;
    int rc = growbuf_reserve(out, s->raw_len);
    if (rc != STICKY_OK)
        return rc;
    while (p < end) {
        const uint8_t *bs = s->has_escape ? memchr(p, '\\', (size_t)(end - p)) : NULL;
        const uint8_t *run_end = bs ? bs : end;
        if ((rc = check_plain(p, run_end)) != STICKY_OK)
            return rc;
        if ((rc = growbuf_append(out, p, (size_t)(run_end - p))) != STICKY_OK)
            return rc;
        if (bs == NULL)
            break;
        /* Normally checked by json_read_string(); checked again so that a
         * string from a skipped region can never be misread. */
        if (escape_len(bs, end) == 0)
            return STICKY_EPARSE;
        uint8_t e = bs[1];
        p = bs + 2;
        uint8_t ch;
        switch (e) {
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            uint32_t cp = read_u4(bs + 2);
            p = bs + 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return STICKY_EPARSE; /* lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || escape_len(p, end) != 6)
                    return STICKY_EPARSE; /* lone high surrogate */
                uint32_t lo = read_u4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return STICKY_EPARSE;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if ((rc = put_utf8(out, cp)) != STICKY_OK)
                return rc;
            continue;
        }
        default: ch = e; break; /* " \ / */
        }
        if ((rc = growbuf_byte(out, ch)) != STICKY_OK)
            return rc;
    }
    return STICKY_OK;
}

int json_read_number(json_cur *c, json_span *out)
{
    json_peek(c);
    const uint8_t *p = c->p, *end = c->end, *start = p;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return STICKY_EPARSE;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return STICKY_EPARSE;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return STICKY_EPARSE;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return STICKY_EPARSE;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    out->start = start;
    out->end = p;
    c->p = p;
    return STICKY_OK;
}

int json_read_literal(json_cur *c, int *which)
{
    int ch = json_peek(c);
    const char *lit = ch == 't' ? "true" : ch == 'f' ? "false" : ch == 'n' ? "null" : NULL;
    if (lit == NULL)
        return STICKY_EPARSE;
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return STICKY_EPARSE;
    c->p += n;
    *which = ch;
    return STICKY_OK;
}

int json_object_begin(json_cur *c)
{
    int rc = json_expect(c, '{');
    if (rc != STICKY_OK)
        return rc;
    if (++c->depth > STICKY_MAX_JSON_DEPTH)
        return STICKY_ELIMIT;
    /* Mark "first member pending" by leaving the cursor after '{'. */
    return STICKY_OK;
}

/*
 * Both iterators need to know whether a comma is due: it is not when the
 * last non-whitespace byte before the cursor is the opening bracket, which
 * the matching *_begin() consumed, so the backward scan stays in bounds.
 */
static int prev_is_open(const uint8_t *p, uint8_t open)
{
    do {
        p--;
    } while (is_ws(*p));
    return *p == open;
}

int json_object_next(json_cur *c, json_str *key, int *done)
{
    const uint8_t *mark = c->p;
    int ch = json_peek(c);
    *done = 0;
    if (ch == '}') {
        c->p++;
        c->depth--;
        *done = 1;
        return STICKY_OK;
    }
    if (!prev_is_open(mark, '{')) {
        if (ch != ',')
            return STICKY_EPARSE;
        c->p++;
        if (json_peek(c) != '"')
            return STICKY_EPARSE; /* trailing comma or junk */
    }
    int rc = json_read_string(c, key);
    if (rc != STICKY_OK)
        return rc;
    return json_expect(c, ':');
}

int json_array_begin(json_cur *c)
{
    int rc = json_expect(c, '[');
    if (rc != STICKY_OK)
        return rc;
    if (++c->depth > STICKY_MAX_JSON_DEPTH)
        return STICKY_ELIMIT;
    return STICKY_OK;
}

int json_array_next(json_cur *c, int *done)
{
    const uint8_t *mark = c->p;
    int ch = json_peek(c);
    *done = 0;
    if (ch == ']') {
        c->p++;
        c->depth--;
        *done = 1;
        return STICKY_OK;
    }
    if (!prev_is_open(mark, '[')) {
        if (ch != ',')
            return STICKY_EPARSE;
        c->p++;
        if (json_peek(c) == ']')
            return STICKY_EPARSE; /* trailing comma */
    }
    return ch == -1 ? STICKY_EPARSE : STICKY_OK;
}

int json_key_is(const json_str *key, const char *lit)
{
    size_t n = strlen(lit);
    if (!key->has_escape)
        return key->raw_len == n && memcmp(key->raw, lit, n) == 0;
    /* Rare: decode small escaped keys on the stack. */
    uint8_t buf[64];
    size_t o = 0;
    const uint8_t *p = key->raw, *end = key->raw + key->raw_len;
    while (p < end && o < sizeof(buf)) {
        if (*p != '\\') {
            buf[o++] = *p++;
            continue;
        }
        size_t n_esc = escape_len(p, end);
        if (n_esc == 0)
            return 0; /* malformed escape (e.g. in a skipped string) */
        if (p[1] == 'u') {
            uint32_t cp = read_u4(p + 2);
            if (cp >= 0x80)
                return 0; /* literals are ASCII */
            buf[o++] = (uint8_t)cp;
            p += 6;
        } else {
            uint8_t e = p[1];
            buf[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r'
                     : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
            p += 2;
        }
    }
    return p == end && o == n && memcmp(buf, lit, n) == 0;
}

/*
 * Jump over a string that is only skipped: find the closing quote, i.e. the
 * first quote preceded by an even number of backslashes. Escapes are not
 * validated here (they are when a string is read). Cursor at the opening
 * quote.
 */
static int skip_string(json_cur *c)
{
    const uint8_t *start = c->p + 1, *p = start, *end = c->end;
    for (;;) {
        const uint8_t *q = memchr(p, '"', (size_t)(end - p));
        if (q == NULL)
            return STICKY_EPARSE;
        const uint8_t *b = q;
        while (b > start && b[-1] == '\\')
            b--;
        if (((q - b) & 1) == 0) {
            c->p = q + 1;
            return STICKY_OK;
        }
        p = q + 1;
    }
}

/* Bytes allowed between tokens in a skipped container: whitespace,
 * separators and the characters of numbers and literals. */
static const uint8_t skip_class[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [','] = 1, [':'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1, ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1,
    ['E'] = 1, ['t'] = 1, ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1,
    ['s'] = 1, ['n'] = 1,
    ['"'] = 2, ['{'] = 3, ['['] = 3, ['}'] = 4, [']'] = 4,
};

/*
 * Skip a container without parsing its members: strings are jumped with
 * memchr (escapes checked), brackets must balance and match, nesting is
 * bounded, and only number / literal / separator bytes may appear between
 * tokens. The full grammar is checked only in what the key reads.
 */
static int skip_container(json_cur *c)
{
    uint8_t closers[STICKY_MAX_JSON_DEPTH + 1];
    int depth = 0;
    const uint8_t *p = c->p, *end = c->end;
    while (p < end) {
        switch (skip_class[*p]) {
        case 1:
            p++;
            break;
        case 2:
            c->p = p;
            if (skip_string(c) != STICKY_OK)
                return STICKY_EPARSE;
            p = c->p;
            break;
        case 3:
            if (c->depth + depth + 1 > STICKY_MAX_JSON_DEPTH)
                return STICKY_ELIMIT;
            closers[depth++] = *p == '{' ? '}' : ']';
            p++;
            break;
        case 4:
            if (depth == 0 || closers[depth - 1] != *p)
                return STICKY_EPARSE;
            p++;
            if (--depth == 0) {
                c->p = p;
                return STICKY_OK;
            }
            break;
        default:
            return STICKY_EPARSE;
        }
    }
    return STICKY_EPARSE;
}

int json_skip_value(json_cur *c)
{
    int ch = json_peek(c);
    int which;
    json_span sp;
    switch (ch) {
    case '"':
        return skip_string(c);
    case '{':
    case '[':
        return skip_container(c);
    case 't': case 'f': case 'n':
        return json_read_literal(c, &which);
    case -1:
        return STICKY_EPARSE;
    default:
        return json_read_number(c, &sp);
    }
}

int json_scan_members(json_cur *c, const char *const *names, json_span *spans,
                      json_span *whole)
{
    size_t n = 0;
    while (names[n] != NULL)
        spans[n++] = (json_span){NULL, NULL};
    json_peek(c);
    const uint8_t *start = c->p;
    int rc, done;
    json_str key;
    if ((rc = json_object_begin(c)) != STICKY_OK)
        return rc;
    for (;;) {
        if ((rc = json_object_next(c, &key, &done)) != STICKY_OK)
            return rc;
        if (done)
            break;
        json_span sink, *dst = &sink;
        for (size_t i = 0; i < n; i++) {
            if (json_key_is(&key, names[i])) {
                dst = &spans[i];
                break;
            }
        }
        if ((rc = json_span_value(c, dst)) != STICKY_OK)
            return rc;
    }
    if (whole != NULL)
        *whole = (json_span){start, c->p};
    return STICKY_OK;
}

int json_span_decode_string(const json_span *span, growbuf *out)
{
    if (span->start == NULL || *span->start != '"')
        return STICKY_ENOTFOUND;
    json_cur c;
    json_str s;
    json_cur_init(&c, span->start, (size_t)(span->end - span->start));
    out->len = 0;
    int rc = json_read_string(&c, &s);
    return rc != STICKY_OK ? rc : json_decode_string(&s, out);
}

int json_span_value(json_cur *c, json_span *out)
{
    json_peek(c);
    out->start = c->p;
    int rc = json_skip_value(c);
    out->end = c->p;
    return rc;
}
