/*
 * lib/util/growbuf.h - a growable byte buffer allocated through the context's
 * allocator; used for decoded JSON strings and canonical encodings.
 */
#ifndef STICKY_GROWBUF_H
#define STICKY_GROWBUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/context_internal.h"

typedef struct growbuf {
    const sticky_ctx *ctx;
    uint8_t *data;
    size_t len, cap;
} growbuf;

static inline void growbuf_init(growbuf *b, const sticky_ctx *ctx)
{
    b->ctx = ctx;
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Make room for @extra more bytes. Returns 0, STICKY_ENOMEM or STICKY_ELIMIT. */
int growbuf_reserve(growbuf *b, size_t extra);
/* Append bytes. Returns 0 or an error from growbuf_reserve(). */
int growbuf_append(growbuf *b, const void *data, size_t len);
/* Append one byte. */
int growbuf_byte(growbuf *b, uint8_t v);
/* Append a 32-bit big-endian length followed by the bytes. */
int growbuf_str(growbuf *b, const void *data, size_t len);
void growbuf_free(growbuf *b);

/* Write @v big-endian into @out[4]. */
static inline void put_u32be(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

#endif /* STICKY_GROWBUF_H */
