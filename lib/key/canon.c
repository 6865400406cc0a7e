/*
 * lib/key/canon.c - the canonical key stream and JSON value canonicalisation
 * (see canon.h and docs/session-key.md).
 */
#include "key/canon.h"

#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "sticky/error.h"

int canon_begin(canon *k, const sticky_ctx *ctx, const void *tenant, size_t tenant_len)
{
    k->ctx = ctx;
    k->n = 0;
    k->err = STICKY_OK;
    growbuf_init(&k->scratch, ctx);
    keyed_begin(ctx, &k->sha);
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

int canon_key(canon *k, uint64_t *out)
{
    flush(k);
    if (k->err != STICKY_OK)
        return k->err;
    uint8_t d[STICKY_SHA256_LEN];
    keyed_peek(k->ctx, &k->sha, d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | d[i];
    *out = v;
    return STICKY_OK;
}

/* ---- canonical JSON values ---------------------------------------------- */

/*
 * Why two phases. The canonical encoding lists every object's members in
 * key order, and the body may not. Sorting each object as it closes, by
 * moving the bytes of its members, moves everything beneath it once per
 * enclosing unsorted object: depth x size (58 nested {"b":{...},"a":1}
 * around a 33 MB string moved 58 x 33 MB). So phase 1 writes every member
 * in source order and only records, for each object whose members are out
 * of order, where its members are and the order to emit them in; phase 2
 * emits the bytes once, in canonical order, jumping between the recorded
 * ranges. Every byte is written once and emitted once whatever the nesting:
 * O(size + members log members).
 *
 * One shortcut keeps small objects cheap: an out-of-order object of at most
 * CANON_INPLACE_MAX bytes with no out-of-order object inside it is sorted
 * in place at once (the common tool input {"file_path":..,"old_string":..,
 * "new_string":..}). Such objects never overlap, so each byte moves in
 * place at most once, and they leave nothing to record.
 */
#define CANON_INPLACE_MAX 4096

/* A member of an object being read: its encoded bytes (key record +
 * value) and its key, for sorting. The members of the objects being read
 * form a stack in v->stack: an object's members are on top while it is
 * read and are popped when it closes. */
struct member {
    size_t off, len;         /* the encoded member in v->bytes */
    size_t key_off, key_len; /* the decoded key bytes in v->bytes */
    size_t order;            /* original position, for a stable sort */
    const uint8_t *key;      /* bytes.data + key_off, set just before sorting */
};

/* An object whose members are out of key order. Offsets fit in 32 bits:
 * a growbuf never exceeds 4 x STICKY_MAX_BODY_BYTES. */
struct canon_obj {
    uint32_t start, end; /* its encoding in v->bytes: '{' tag .. '}' tag inclusive */
    uint32_t first, n;   /* its members in canonical order: v->order[first .. first+n) */
    uint32_t inner;      /* recorded objects inside it (they follow it in v->objs) */
};

/* One member's encoded bytes. */
struct canon_range {
    uint32_t off, len;
};

void canon_value_init(canon_value *v, const sticky_ctx *ctx)
{
    growbuf_init(&v->bytes, ctx);
    growbuf_init(&v->objs, ctx);
    growbuf_init(&v->order, ctx);
    growbuf_init(&v->stack, ctx);
    v->n_objs = v->n_unsorted = 0;
    v->work = 0;
}

void canon_value_free(canon_value *v)
{
    growbuf_free(&v->bytes);
    growbuf_free(&v->objs);
    growbuf_free(&v->order);
    growbuf_free(&v->stack);
    v->n_objs = v->n_unsorted = 0;
}

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

/* Rewrite the members of the object at [@start, end of bytes) in sorted
 * order, through a copy of its body. */
static void sort_in_place(canon_value *v, const struct member *m, size_t n, size_t start)
{
    uint8_t copy[CANON_INPLACE_MAX];
    size_t body = start + 1, body_len = v->bytes.len - 1 - body;
    memcpy(copy, v->bytes.data + body, body_len);
    size_t w = body;
    for (size_t k = 0; k < n; k++) {
        memcpy(v->bytes.data + w, copy + (m[k].off - body), m[k].len);
        w += m[k].len;
    }
    v->work += 2 * body_len;
}

/* Record the object at [@start, end of bytes) and its member order @m. */
static int record_object(canon_value *v, const struct member *m, size_t n, size_t start,
                         size_t objs_before)
{
    if (v->bytes.len > UINT32_MAX || v->order.len / sizeof(struct canon_range) > UINT32_MAX - n)
        return STICKY_ELIMIT;
    struct canon_obj o = {(uint32_t)start, (uint32_t)v->bytes.len,
                          (uint32_t)(v->order.len / sizeof(struct canon_range)), (uint32_t)n,
                          (uint32_t)(v->n_objs - objs_before)};
    int rc = growbuf_reserve(&v->order, n * sizeof(struct canon_range));
    if (rc != STICKY_OK)
        return rc;
    struct canon_range *r = (struct canon_range *)(void *)(v->order.data + v->order.len);
    for (size_t k = 0; k < n; k++)
        r[k] = (struct canon_range){(uint32_t)m[k].off, (uint32_t)m[k].len};
    v->order.len += n * sizeof(struct canon_range);
    v->work += n;
    if ((rc = growbuf_append(&v->objs, &o, sizeof(o))) != STICKY_OK)
        return rc;
    v->n_objs++;
    return STICKY_OK;
}

/* The object that started at @start has just closed, with its @n members
 * on top of the stack: sort them; if that changed their order, sort the
 * object in place or record it. */
static int order_members(canon_value *v, size_t n, size_t start, size_t objs_before,
                         size_t unsorted_before)
{
    struct member *m = (struct member *)(void *)v->stack.data;
    m += v->stack.len / sizeof(*m) - n;
    for (size_t i = 0; i < n; i++)
        m[i].key = v->bytes.data + m[i].key_off;
    qsort(m, n, sizeof(*m), member_cmp);
    size_t i = 0;
    while (i < n && m[i].order == i)
        i++;
    if (i == n)
        return STICKY_OK; /* already in key order */
    v->n_unsorted++;
    if (v->n_unsorted - 1 == unsorted_before && v->bytes.len - start <= CANON_INPLACE_MAX) {
        sort_in_place(v, m, n, start);
        return STICKY_OK;
    }
    return record_object(v, m, n, start, objs_before);
}

static int encode_value(json_cur *c, canon_value *v, const char *const *skip);

static int encode_object(json_cur *c, canon_value *v, const char *const *skip)
{
    int rc, done;
    json_str key;
    growbuf *out = &v->bytes;
    if ((rc = json_object_begin(c)) != STICKY_OK)
        return rc;
    size_t start = out->len, objs_before = v->n_objs, unsorted_before = v->n_unsorted;
    size_t stack_before = v->stack.len;
    if ((rc = growbuf_byte(out, VAL_OBJECT)) != STICKY_OK)
        return rc;
    size_t n = 0;
    for (;;) {
        if ((rc = json_object_next(c, &key, &done)) != STICKY_OK)
            return rc;
        if (done)
            break;
        struct member m;
        m.off = out->len;
        m.order = n;
        /* Key record: u32 length + decoded bytes. */
        if ((rc = growbuf_reserve(out, 4)) != STICKY_OK)
            return rc;
        out->len += 4;
        m.key_off = out->len;
        if ((rc = json_decode_string(&key, out)) != STICKY_OK)
            return rc;
        m.key_len = out->len - m.key_off;
        if (m.key_len > UINT32_MAX)
            return STICKY_ELIMIT;
        put_u32be(out->data + m.off, (uint32_t)m.key_len);
        if (key_in(out, m.key_off, m.key_len, skip)) {
            if ((rc = json_skip_value(c)) != STICKY_OK)
                return rc;
            v->work += out->len - m.off; /* written, then dropped */
            out->len = m.off;
            continue;
        }
        if ((rc = encode_value(c, v, NULL)) != STICKY_OK)
            return rc;
        m.len = out->len - m.off;
        if ((rc = growbuf_append(&v->stack, &m, sizeof(m))) != STICKY_OK)
            return rc;
        n++;
    }
    if ((rc = growbuf_byte(out, VAL_OBJECT_END)) != STICKY_OK)
        return rc;
    if (n > 1)
        rc = order_members(v, n, start, objs_before, unsorted_before);
    v->stack.len = stack_before; /* pop this object's members */
    return rc;
}

static int encode_value(json_cur *c, canon_value *v, const char *const *skip)
{
    int rc, done, which;
    growbuf *out = &v->bytes;
    int ch = json_peek(c);
    if (ch == '{')
        return encode_object(c, v, skip);
    if (ch == '[') {
        if ((rc = json_array_begin(c)) != STICKY_OK ||
            (rc = growbuf_byte(out, VAL_ARRAY)) != STICKY_OK)
            return rc;
        for (;;) {
            if ((rc = json_array_next(c, &done)) != STICKY_OK)
                return rc;
            if (done)
                return growbuf_byte(out, VAL_ARRAY_END);
            if ((rc = encode_value(c, v, NULL)) != STICKY_OK)
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

static int obj_start_cmp(const void *pa, const void *pb)
{
    const struct canon_obj *a = pa, *b = pb;
    return a->start < b->start ? -1 : a->start > b->start;
}

int canon_value_encode(json_cur *c, canon_value *v, const char *const *skip_keys)
{
    v->bytes.len = v->objs.len = v->order.len = v->stack.len = 0;
    v->n_objs = v->n_unsorted = 0;
    int rc = encode_value(c, v, skip_keys);
    v->work += v->bytes.len;
    if (rc == STICKY_OK && v->bytes.len > UINT32_MAX)
        rc = STICKY_ELIMIT;
    /* Objects were recorded as they closed (inner ones first); emitting
     * walks them in the order they start, where an object's inner ones
     * follow it. */
    if (rc == STICKY_OK && v->n_objs > 1)
        qsort(v->objs.data, v->n_objs, sizeof(struct canon_obj), obj_start_cmp);
    return rc;
}

/* ---- phase 2: emitting in canonical order ---------------------------------- */

struct emitter {
    canon_value *v;
    const struct canon_obj *objs;
    const struct canon_range *order;
    canon_sink_fn sink;
    void *user;
};

static int emit_bytes(struct emitter *e, size_t from, size_t to)
{
    if (to == from)
        return STICKY_OK;
    e->v->work += to - from;
    return e->sink(e->user, e->v->bytes.data + from, to - from);
}

/* The first recorded object in [lo, hi) that starts at or after @at. */
static size_t first_obj_from(const struct emitter *e, size_t lo, size_t hi, size_t at)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->objs[mid].start < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int emit_object(struct emitter *e, size_t i);

/*
 * Emit bytes [from, to), which hold whole values, with every recorded
 * object among them in its canonical order. @i .. @hi are the recorded
 * objects that may lie in the range (sorted by start); each one found is
 * emitted whole and its inner objects skipped.
 */
static int emit_range(struct emitter *e, size_t from, size_t to, size_t i, size_t hi)
{
    i = first_obj_from(e, i, hi, from);
    while (i < hi && e->objs[i].start < to) {
        const struct canon_obj *o = &e->objs[i];
        int rc = emit_bytes(e, from, o->start);
        if (rc == STICKY_OK)
            rc = emit_object(e, i);
        if (rc != STICKY_OK)
            return rc;
        from = o->end;
        i += 1 + (size_t)o->inner;
    }
    return emit_bytes(e, from, to);
}

/* Recorded object @i: its tags around its members in key order. */
static int emit_object(struct emitter *e, size_t i)
{
    const struct canon_obj *o = &e->objs[i];
    size_t inner_lo = i + 1, inner_hi = i + 1 + (size_t)o->inner;
    int rc = emit_bytes(e, o->start, (size_t)o->start + 1); /* VAL_OBJECT */
    for (uint32_t k = 0; k < o->n && rc == STICKY_OK; k++) {
        const struct canon_range *m = &e->order[o->first + k];
        rc = emit_range(e, m->off, (size_t)m->off + m->len, inner_lo, inner_hi);
    }
    if (rc == STICKY_OK)
        rc = emit_bytes(e, (size_t)o->end - 1, o->end); /* VAL_OBJECT_END */
    return rc;
}

int canon_value_emit(canon_value *v, canon_sink_fn sink, void *user)
{
    struct emitter e = {v, (const struct canon_obj *)(const void *)v->objs.data,
                        (const struct canon_range *)(const void *)v->order.data, sink, user};
    return emit_range(&e, 0, v->bytes.len, 0, v->n_objs);
}

static int sink_stream(void *user, const uint8_t *data, size_t len)
{
    canon *k = user;
    canon_bytes(k, data, len);
    return k->err;
}

void canon_value_to_stream(canon *k, canon_value *v)
{
    int rc = canon_value_emit(v, sink_stream, k);
    if (rc != STICKY_OK)
        canon_fail(k, rc);
}

void canon_json_value(canon *k, json_cur *c, const char *const *skip_keys)
{
    if (k->err != STICKY_OK)
        return;
    canon_value v;
    canon_value_init(&v, k->ctx);
    int rc = canon_value_encode(c, &v, skip_keys);
    if (rc == STICKY_OK)
        canon_value_to_stream(k, &v);
    else
        canon_fail(k, rc);
    canon_value_free(&v);
}
