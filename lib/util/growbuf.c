/* lib/util/growbuf.c - growable byte buffer (see growbuf.h). */
#include "util/growbuf.h"

#include <string.h>

#include "sticky/error.h"
#include "sticky/key.h"

int growbuf_reserve(growbuf *b, size_t extra)
{
    /* Nothing we build can exceed a few times the largest body. */
    const size_t limit = (size_t)STICKY_MAX_BODY_BYTES * 4;
    if (extra > limit || b->len > limit - extra)
        return STICKY_ELIMIT;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return STICKY_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = mem_realloc(b->ctx, b->data, cap);
    if (p == NULL)
        return STICKY_ENOMEM;
    b->data = p;
    b->cap = cap;
    return STICKY_OK;
}

int growbuf_append(growbuf *b, const void *data, size_t len)
{
    int rc = growbuf_reserve(b, len);
    if (rc != STICKY_OK)
        return rc;
    if (len != 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return STICKY_OK;
}

int growbuf_byte(growbuf *b, uint8_t v)
{
    return growbuf_append(b, &v, 1);
}

int growbuf_str(growbuf *b, const void *data, size_t len)
{
    if (len > UINT32_MAX)
        return STICKY_ELIMIT;
    int rc = growbuf_reserve(b, 4 + len);
    if (rc != STICKY_OK)
        return rc;
    put_u32be(b->data + b->len, (uint32_t)len);
    b->len += 4;
    return growbuf_append(b, data, len);
}

void growbuf_free(growbuf *b)
{
    mem_free(b->ctx, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
