/*
 * lib/key/json_scan.h - the on-demand JSON scanner: a cursor over raw bytes that
 * reads only what the session key needs and skips the rest (validating its
 * structure), decodes string escapes (with surrogate pairs) and validates
 * UTF-8 in the strings it decodes, and bounds nesting depth. No DOM.
 *
 * Every function returns 0 or a negative sticky_err (STICKY_EPARSE,
 * STICKY_ELIMIT, STICKY_ENOMEM) and leaves the cursor after what it read.
 */
#ifndef STICKY_JSON_SCAN_H
#define STICKY_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "util/growbuf.h"

typedef struct json_cur {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last byte */
    int depth;          /* current nesting, bounded by STICKY_MAX_JSON_DEPTH */
} json_cur;

/* A string as it appears in the body, without the quotes. */
typedef struct json_str {
    const uint8_t *raw;
    size_t raw_len;
    int has_escape; /* raw contains backslash escapes */
} json_str;

/* A value's bytes in the body: [start, end). */
typedef struct json_span {
    const uint8_t *start, *end;
} json_span;

static inline void json_cur_init(json_cur *c, const void *data, size_t len)
{
    /* An empty buffer may be NULL; pointer arithmetic on NULL is undefined. */
    static const uint8_t empty[1] = {0};
    if (data == NULL)
        data = empty, len = 0;
    c->p = (const uint8_t *)data;
    c->end = c->p + len;
    c->depth = 0;
}

/* Skip whitespace; returns the next byte or -1 at the end. */
int json_peek(json_cur *c);

/* Consume byte @ch (after whitespace) or fail with STICKY_EPARSE. */
int json_expect(json_cur *c, uint8_t ch);

/* Read a string (cursor at its opening quote, after whitespace). The escape
 * syntax is checked; the contents are not decoded. */
int json_read_string(json_cur *c, json_str *out);

/* Decode @s into @out (appending): escapes resolved, UTF-8 validated,
 * control characters rejected. */
int json_decode_string(const json_str *s, growbuf *out);

/* Validate @s as in json_decode_string(), for strings without escapes used
 * in place. */
int json_check_plain_string(const json_str *s);

/* Skip one value of any type, checking its structure. */
int json_skip_value(json_cur *c);

/* Skip one value and report its span. */
int json_span_value(json_cur *c, json_span *out);

/*
 * Object iteration. Call json_object_begin() at '{'. Then repeatedly
 * json_object_next(): it sets *done at '}' or reads the next key and the
 * ':' so the cursor is at the member's value, which the caller must consume
 * (read or skip) before the next call.
 */
int json_object_begin(json_cur *c);
int json_object_next(json_cur *c, json_str *key, int *done);

/* Array iteration, same pattern: *done at ']', else cursor at the element. */
int json_array_begin(json_cur *c);
int json_array_next(json_cur *c, int *done);

/* The key equals @lit (a plain ASCII literal); escaped keys are decoded
 * for the comparison. */
int json_key_is(const json_str *key, const char *lit);

/*
 * Read the object at the cursor, recording the value span of every member
 * whose key is one of @names (a NULL-terminated list) in @spans at the same
 * index (the last occurrence wins; absent members keep span.start NULL) and
 * skipping the rest. @whole (optional) receives the object's own span.
 */
int json_scan_members(json_cur *c, const char *const *names, json_span *spans,
                      json_span *whole);

/* Decode the string value at @span into @out (its contents replaced).
 * Returns 0; STICKY_ENOTFOUND if the span is absent or not a string; a
 * parse error for a malformed string. */
int json_span_decode_string(const json_span *span, growbuf *out);

/* Read a number token's raw text (validated against the JSON grammar). */
int json_read_number(json_cur *c, json_span *out);

/* Read true / false / null; *which is 't', 'f' or 'n'. */
int json_read_literal(json_cur *c, int *which);

#endif /* STICKY_JSON_SCAN_H */
