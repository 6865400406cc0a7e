/*
 * lib/key/canon.h - the canonical key stream (docs/session-key.md): a staged
 * SHA-256 / HMAC-SHA256 over tagged, length-prefixed records, from which a
 * 64-bit key is taken after each message without restarting the hash. Also
 * the canonical encoding of arbitrary JSON values (sorted object keys).
 */
#ifndef STICKY_CANON_H
#define STICKY_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "util/context_internal.h"
#include "util/growbuf.h"
#include "key/json_scan.h"
#include "util/sha256_state.h"

/* Record tags of the canonical encoding. */
#define CANON_DOMAIN "sticky-key/1"  /* followed by a NUL byte */
#define TAG_TENANT 'K'
#define TAG_EXPLICIT 'E'
#define TAG_SYSTEM 'S'
#define TAG_MESSAGE 'M'
#define TAG_END '.'
#define TAG_TEXT 'T'
#define TAG_IMAGE 'I'
#define TAG_DOCUMENT 'D'
#define TAG_TOOL_USE 'U'
#define TAG_TOOL_RESULT 'R'
#define TAG_OTHER 'X'
/* JSON value tags. */
#define VAL_OBJECT 'o'
#define VAL_OBJECT_END '}'
#define VAL_ARRAY 'a'
#define VAL_ARRAY_END ']'
#define VAL_STRING 's'
#define VAL_NUMBER 'n'
#define VAL_TRUE 't'
#define VAL_FALSE 'f'
#define VAL_NULL 'z'

#define CANON_STAGE_BYTES 2048

typedef struct canon {
    const sticky_ctx *ctx;
    sha256_state sha; /* the running hash */
    size_t n;         /* bytes staged */
    int err;          /* first error; later calls do nothing */
    growbuf scratch;  /* decoded strings */
    uint8_t stage[CANON_STAGE_BYTES];
} canon;

/* Start a stream: domain, then the tenant record. */
int canon_begin(canon *k, const sticky_ctx *ctx, const void *tenant, size_t tenant_len);
void canon_end(canon *k);

void canon_bytes(canon *k, const void *data, size_t len);
void canon_tag(canon *k, uint8_t tag);
/* u32 big-endian length + bytes. */
void canon_str(canon *k, const void *data, size_t len);
/* A JSON string from the body: decoded (escapes, UTF-8 checked) then canon_str. */
void canon_json_str(canon *k, const json_str *s);
/* The JSON value at the cursor, canonically encoded (canon_value_encode()
 * with @skip_keys), into the stream. */
void canon_json_value(canon *k, json_cur *c, const char *const *skip_keys);
/* Record an error (first one wins). */
void canon_fail(canon *k, int err);

/* The key of everything written so far; the stream goes on. */
int canon_key(canon *k, uint64_t *out);

/*
 * Canonical encoding of a JSON value: objects with keys sorted bytewise
 * (stable for duplicates), members named in a skip list (top level only)
 * left out, strings decoded, numbers by their token text.
 *
 * Built in two phases so that the cost is linear whatever the nesting
 * (canon.c explains): canon_value_encode() writes the members in source
 * order and records the objects whose members are out of key order;
 * canon_value_emit() then hands the canonical bytes to a sink, each byte
 * once (small objects are sorted in place instead, each byte at most
 * once). @work counts the bytes written, moved in place and emitted, plus
 * the member records of recorded objects (it accumulates over calls); the
 * cost tests hold it to a small multiple of the encoding's size, which a
 * per-level copy would not meet.
 */
typedef struct canon_value {
    growbuf bytes;  /* the encoding with members in source order */
    growbuf objs;   /* struct canon_obj (canon.c): objects out of key order */
    growbuf order;  /* their members, in key order */
    growbuf stack;  /* members of the objects being read (canon.c) */
    size_t n_objs;      /* recorded objects */
    size_t n_unsorted;  /* objects found out of key order (recorded or sorted in place) */
    size_t work;
} canon_value;

typedef int (*canon_sink_fn)(void *user, const uint8_t *data, size_t len);

void canon_value_init(canon_value *v, const sticky_ctx *ctx);
void canon_value_free(canon_value *v);
/* Read the value at @c (starting over in @v). Returns 0 or a sticky_err. */
int canon_value_encode(json_cur *c, canon_value *v, const char *const *skip_keys);
/* The canonical bytes, in pieces, to @sink; stops at the first non-zero
 * return of the sink and returns it. */
int canon_value_emit(canon_value *v, canon_sink_fn sink, void *user);
/* canon_value_emit() into the stream @k. */
void canon_value_to_stream(canon *k, canon_value *v);

#endif /* STICKY_CANON_H */
