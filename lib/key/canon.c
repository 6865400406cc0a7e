/*
 * lib/key/canon.c - the canonical key stream and JSON value canonicalisation
 * (see canon.h and docs/session-key.md).
 */
#include "key/canon.h"

#include <stdlib.h>
#include <string.h>

#include "sticky/error.h"

int canon_begin(canon *k, const sticky_ctx *ctx, const void *tenant, size_t tenant_len)
{
    k->ctx = ctx;
    k->n = 0;
    k->err = STICKY_OK;
    growbuf_init(&k->scratch, ctx);
    if (ctx->has_secret)
        k->sha = ctx->hmac_inner;
    else
        sha256_begin(&k->sha);
    canon_bytes(k, CANON_DOMAIN, sizeof(CANON_DOMAIN)); /* includes the NUL */
    canon_tag(k, TAG_TENANT);
    canon_str(k, tenant, tenant_len);
    return k->err;
}

void canon_end(canon *k)
{
    growbuf_free(&k->scratch);
}

void canon_fail(canon *k, int err)
{
    if (k->err == STICKY_OK)
        k->err = err;
}

static void flush(canon *k)
{
    if (k->n != 0 && k->err == STICKY_OK)
        sha256_update(&k->sha, k->stage, k->n);
    k->n = 0;
}

void canon_bytes(canon *k, const void *data, size_t len)
{
    if (k->err != STICKY_OK || len == 0)
        return; /* also: data may be NULL when len is 0 */
    if (k->n <= CANON_STAGE_BYTES && len <= CANON_STAGE_BYTES - k->n) {
        memcpy(&k->stage[k->n], data, len);
        k->n += len;
        return;
    }
    flush(k);
    if (len >= CANON_STAGE_BYTES / 2) {
        sha256_update(&k->sha, data, len);
        return;
    }
    memcpy(k->stage, data, len);
    k->n = len;
}

void canon_tag(canon *k, uint8_t tag)
{
    if (k->err == STICKY_OK && k->n < CANON_STAGE_BYTES) {
        k->stage[k->n++] = tag;
        return;
    }
    canon_bytes(k, &tag, 1);
}

void canon_str(canon *k, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        canon_fail(k, STICKY_ELIMIT);
        return;
    }
    uint8_t hdr[4];
    put_u32be(hdr, (uint32_t)len);
    canon_bytes(k, hdr, 4);
    canon_bytes(k, data, len);
}

void canon_json_str(canon *k, const json_str *s)
{
    if (k->err != STICKY_OK)
        return;
    if (!s->has_escape) {
        int rc = json_check_plain_string(s);
        if (rc != STICKY_OK) {
            canon_fail(k, rc);
            return;
        }
        canon_str(k, s->raw, s->raw_len);
        return;
    }
    k->scratch.len = 0;
    int rc = json_decode_string(s, &k->scratch);
    if (rc != STICKY_OK) {
        canon_fail(k, rc);
        return;
    }
    canon_str(k, k->scratch.data, k->scratch.len);
}

void canon_json_value(canon *k, json_cur *c)
{
    if (k->err != STICKY_OK)
        return;
    growbuf buf;
    growbuf_init(&buf, k->ctx);
    int rc = canon_value_encode(c, &buf, NULL);
    if (rc == STICKY_OK)
        canon_bytes(k, buf.data, buf.len);
    else
        canon_fail(k, rc);
    growbuf_free(&buf);
}

int canon_key(canon *k, uint64_t *out)
{
    flush(k);
    if (k->err != STICKY_OK)
        return k->err;
    uint8_t d[SHA256_DIGEST_LENGTH];
    sha256_peek(&k->sha, d);
    if (k->ctx->has_secret) {
        sha256_state outer = k->ctx->hmac_outer;
        sha256_update(&outer, d, sizeof(d));
        sha256_peek(&outer, d);
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | d[i];
    *out = v;
    return STICKY_OK;
}

/* ---- canonical JSON values ---------------------------------------------- */

struct member {
    size_t off, len;       /* the encoded member (key record + value) in buf */
    size_t key_off, key_len; /* the decoded key bytes in buf */
    size_t order;          /* original position, for a stable sort */
    const uint8_t *key;    /* base + key_off, set just before sorting */
};


static int key_in(const growbuf *b, size_t off, size_t len, const char *const *skip)
{
    for (; skip != NULL && *skip != NULL; skip++) {
        size_t n = strlen(*skip);
        if (n == len && memcmp(b->data + off, *skip, n) == 0)
            return 1;
    }
    return 0;
}

/* Key bytes (shorter first on a common prefix), then original order: a
 * stable order with qsort, O(n log n) even for objects with many keys. */
static int member_cmp(const void *pa, const void *pb)
{
    const struct member *a = pa, *b = pb;
    size_t l = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, l);
    if (c != 0)
        return c;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static void sort_members(struct member *m, size_t n, const uint8_t *base)
{
    for (size_t i = 0; i < n; i++)
        m[i].key = base + m[i].key_off;
    qsort(m, n, sizeof(*m), member_cmp);
}

static int encode_value(json_cur *c, growbuf *out, const char *const *skip);

static int encode_object(json_cur *c, growbuf *out, const char *const *skip)
{
    int rc, done;
    json_str key;
    growbuf members; /* array of struct member */
    growbuf_init(&members, out->ctx);
    if ((rc = json_object_begin(c)) != STICKY_OK)
        return rc;
    if ((rc = growbuf_byte(out, VAL_OBJECT)) != STICKY_OK)
        return rc;
    size_t body_start = out->len;
    size_t n = 0;
    for (;;) {
        if ((rc = json_object_next(c, &key, &done)) != STICKY_OK)
            goto out;
        if (done)
            break;
        struct member m;
        m.off = out->len;
        m.order = n;
        /* Key record: u32 length + decoded bytes. */
        if ((rc = growbuf_reserve(out, 4)) != STICKY_OK)
            goto out;
        out->len += 4;
        m.key_off = out->len;
        if ((rc = json_decode_string(&key, out)) != STICKY_OK)
            goto out;
        m.key_len = out->len - m.key_off;
        if (m.key_len > UINT32_MAX) {
            rc = STICKY_ELIMIT;
            goto out;
        }
        put_u32be(out->data + m.off, (uint32_t)m.key_len);
        if (key_in(out, m.key_off, m.key_len, skip)) {
            if ((rc = json_skip_value(c)) != STICKY_OK)
                goto out;
            out->len = m.off; /* drop the member */
            continue;
        }
        if ((rc = encode_value(c, out, NULL)) != STICKY_OK)
            goto out;
        m.len = out->len - m.off;
        if ((rc = growbuf_append(&members, &m, sizeof(m))) != STICKY_OK)
            goto out;
        n++;
    }
    if (n > 1) {
        struct member *ms = (struct member *)(void *)members.data;
        sort_members(ms, n, out->data);
        int sorted = 1;
        for (size_t i = 0; i < n; i++)
            sorted &= ms[i].order == i;
        if (!sorted) {
            size_t body_len = out->len - body_start;
            uint8_t *copy = mem_malloc(out->ctx, body_len);
            if (copy == NULL) {
                rc = STICKY_ENOMEM;
                goto out;
            }
            memcpy(copy, out->data + body_start, body_len);
            size_t w = body_start;
            for (size_t i = 0; i < n; i++) {
                memcpy(out->data + w, copy + (ms[i].off - body_start), ms[i].len);
                w += ms[i].len;
            }
            mem_free(out->ctx, copy);
        }
    }
    rc = growbuf_byte(out, VAL_OBJECT_END);
out:
    growbuf_free(&members);
    return rc;
}

static int encode_value(json_cur *c, growbuf *out, const char *const *skip)
{
    int rc, done, which;
    int ch = json_peek(c);
    if (ch == '{')
        return encode_object(c, out, skip);
    if (ch == '[') {
        if ((rc = json_array_begin(c)) != STICKY_OK ||
            (rc = growbuf_byte(out, VAL_ARRAY)) != STICKY_OK)
            return rc;
        for (;;) {
            if ((rc = json_array_next(c, &done)) != STICKY_OK)
                return rc;
            if (done)
                return growbuf_byte(out, VAL_ARRAY_END);
            if ((rc = encode_value(c, out, NULL)) != STICKY_OK)
                return rc;
        }
    }
    if (ch == '"') {
        json_str s;
        if ((rc = json_read_string(c, &s)) != STICKY_OK ||
            (rc = growbuf_byte(out, VAL_STRING)) != STICKY_OK)
            return rc;
        size_t at = out->len;
        if ((rc = growbuf_reserve(out, 4)) != STICKY_OK)
            return rc;
        out->len += 4;
        if ((rc = json_decode_string(&s, out)) != STICKY_OK)
            return rc;
        size_t n = out->len - at - 4;
        if (n > UINT32_MAX)
            return STICKY_ELIMIT;
        put_u32be(out->data + at, (uint32_t)n);
        return STICKY_OK;
    }
    if (ch == 't' || ch == 'f' || ch == 'n') {
        if ((rc = json_read_literal(c, &which)) != STICKY_OK)
            return rc;
        return growbuf_byte(out, which == 't' ? VAL_TRUE : which == 'f' ? VAL_FALSE : VAL_NULL);
    }
    json_span num;
    if ((rc = json_read_number(c, &num)) != STICKY_OK ||
        (rc = growbuf_byte(out, VAL_NUMBER)) != STICKY_OK)
        return rc;
    return growbuf_str(out, num.start, (size_t)(num.end - num.start));
}

int canon_value_encode(json_cur *c, growbuf *out, const char *const *skip_keys)
{
    return encode_value(c, out, skip_keys);
}
