/*
 * tests/unit/test_key_canon.c - the canonical encoding of JSON values
 * (lib/key/canon.c): unsorted objects encode exactly like their sorted
 * twins at any nesting, duplicates keep their order, skipped members go
 * only at the top level; and the cost stays linear whatever the nesting.
 *
 * The cost tests are not timed. They count work: the canonicaliser's own
 * counter (bytes written + bytes emitted + members reordered) and, through
 * the public API, the bytes a key derivation asks its allocator for. Sorting
 * an object by moving the bytes beneath it (issue 11, item 1: 58 nested
 * {"b":{...},"a":1} around a 33 MB string) costs depth x size on both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sticky/sticky.h>

#include "key/canon.h"

/* ---- helpers ------------------------------------------------------------- */

static int sink_growbuf(void *user, const uint8_t *data, size_t len)
{
    return growbuf_append(user, data, len);
}

/* Canonical bytes of @json into @out (initialised here); returns the work
 * counter. Fails the test on an error. */
static size_t encode(const sticky_ctx *ctx, const char *json, const char *const *skip,
                     growbuf *out)
{
    json_cur c;
    json_cur_init(&c, json, strlen(json));
    canon_value v;
    canon_value_init(&v, ctx);
    growbuf_init(out, ctx);
    assert_int_equal(canon_value_encode(&c, &v, skip), STICKY_OK);
    assert_int_equal(json_peek(&c), -1);
    assert_int_equal(canon_value_emit(&v, sink_growbuf, out), STICKY_OK);
    size_t work = v.work;
    canon_value_free(&v);
    return work;
}

static void assert_same_encoding(const sticky_ctx *ctx, const char *a, const char *b)
{
    growbuf x, y;
    encode(ctx, a, NULL, &x);
    encode(ctx, b, NULL, &y);
    if (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)
        fail_msg("different encodings:\n  %s\n  %s", a, b);
    growbuf_free(&x);
    growbuf_free(&y);
}

/* @depth nested objects around a string of @str_len 'x': unsorted
 * {"b":{...},"a":1} or sorted {"a":1,"b":{...}}. malloc'ed. */
static char *nested(int depth, size_t str_len, int sorted)
{
    size_t len = str_len + 2 + (size_t)depth * 16 + 1;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    for (int i = 0; i < depth; i++)
        p += sprintf(p, sorted ? "{\"a\":1,\"b\":" : "{\"b\":");
    *p++ = '"';
    memset(p, 'x', str_len);
    p += str_len;
    *p++ = '"';
    for (int i = 0; i < depth; i++)
        p += sprintf(p, sorted ? "}" : ",\"a\":1}");
    *p = '\0';
    return s;
}

static int setup(void **state)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    sticky_ctx_free(*state);
    return 0;
}

/* ---- bytes ------------------------------------------------------------------ */

/* One unsorted object, byte for byte (docs/session-key.md, "JSON values"). */
static void test_bytes_of_one_object(void **state)
{
    growbuf out;
    encode(*state, "{\"b\":\"xyz\",\"a\":1}", NULL, &out);
    static const uint8_t want[] = {'o', 0, 0, 0, 1, 'a', 'n', 0, 0, 0, 1, '1',
                                   0, 0, 0, 1, 'b', 's', 0, 0, 0, 3, 'x', 'y', 'z', '}'};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    growbuf_free(&out);
}

/* Unsorted nesting at every depth up to the parser's limit encodes like
 * the sorted twin. */
static void test_nested_unsorted_equals_sorted(void **state)
{
    static const int depths[] = {1, 2, 3, 17, 58, STICKY_MAX_JSON_DEPTH};
    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        char *u = nested(depths[i], 5, 0), *s = nested(depths[i], 5, 1);
        assert_same_encoding(*state, u, s);
        free(u);
        free(s);
    }
}

/* Objects just under, at and over the size that is sorted in place (4 KiB,
 * canon.c), alone and nested. */
static void test_in_place_threshold(void **state)
{
    for (size_t len = 4060; len <= 4110; len++) {
        for (int d = 1; d <= 3; d++) {
            char *u = nested(d, len, 0), *s = nested(d, len, 1);
            assert_same_encoding(*state, u, s);
            free(u);
            free(s);
        }
    }
}

/* Shapes where recorded objects sit inside sorted ones, inside arrays,
 * side by side, and at the start / end of their parent's members. */
static void test_mixed_shapes(void **state)
{
    static const char *const pairs[][2] = {
        {"[{\"b\":1,\"a\":2},{\"d\":{\"z\":[{\"y\":1,\"x\":2}],\"c\":3}}]",
         "[{\"a\":2,\"b\":1},{\"d\":{\"c\":3,\"z\":[{\"x\":2,\"y\":1}]}}]"},
        {"{\"a\":{\"n\":{\"q\":1,\"p\":2},\"m\":{\"s\":1,\"r\":2}},\"b\":[{\"k\":1,\"j\":2}]}",
         "{\"a\":{\"m\":{\"r\":2,\"s\":1},\"n\":{\"p\":2,\"q\":1}},\"b\":[{\"j\":2,\"k\":1}]}"},
        {"{\"c\":{\"f\":1,\"e\":{\"h\":true,\"g\":null}},\"b\":{},\"a\":[[],{\"y\":\"\",\"x\":[1,{\"w\":1,\"v\":2}]}]}",
         "{\"a\":[[],{\"x\":[1,{\"v\":2,\"w\":1}],\"y\":\"\"}],\"b\":{},\"c\":{\"e\":{\"g\":null,\"h\":true},\"f\":1}}"},
        /* keys that share a prefix: shorter first; escaped keys by their bytes */
        {"{\"ab\":1,\"a\":2,\"\\u0061c\":{\"2\":0,\"10\":1}}",
         "{\"a\":2,\"ab\":1,\"ac\":{\"10\":1,\"2\":0}}"},
        /* many members, reversed */
        {"{\"j\":0,\"i\":1,\"h\":2,\"g\":3,\"f\":{\"b\":1,\"a\":0},\"e\":5,\"d\":6,\"c\":7,\"b\":8,\"a\":9}",
         "{\"a\":9,\"b\":8,\"c\":7,\"d\":6,\"e\":5,\"f\":{\"a\":0,\"b\":1},\"g\":3,\"h\":2,\"i\":1,\"j\":0}"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        assert_same_encoding(*state, pairs[i][0], pairs[i][1]);
}

/* Duplicate keys keep their source order (a stable sort), also when the
 * duplicates hold objects that are themselves reordered. */
static void test_duplicates_stable(void **state)
{
    assert_same_encoding(*state, "{\"b\":1,\"a\":{\"d\":1,\"c\":2},\"a\":3}",
                         "{\"a\":{\"c\":2,\"d\":1},\"a\":3,\"b\":1}");
    growbuf x, y;
    encode(*state, "{\"b\":1,\"a\":2,\"a\":1}", NULL, &x);
    encode(*state, "{\"b\":1,\"a\":1,\"a\":2}", NULL, &y);
    assert_true(x.len == y.len && memcmp(x.data, y.data, x.len) != 0);
    growbuf_free(&x);
    growbuf_free(&y);
}

/* The skip list applies to the top level only. */
static void test_skip_top_level_only(void **state)
{
    static const char *const skip[] = {"type", NULL};
    growbuf x, y;
    encode(*state, "{\"type\":\"x\",\"b\":{\"type\":\"y\",\"a\":1},\"a\":true}", skip, &x);
    encode(*state, "{\"a\":true,\"b\":{\"a\":1,\"type\":\"y\"}}", NULL, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    growbuf_free(&x);
    growbuf_free(&y);
}

/* Errors inside a reordered object are reported, and nothing leaks. */
static void test_errors(void **state)
{
    static const char *const bad[] = {"{\"b\":{\"d\":1,\"c\":}, \"a\":1}", "{\"b\":1,\"a\":[1,}",
                                      "{\"b\":\"\\ud800\",\"a\":1}", "{\"b\":1,\"a\":1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_cur c;
        json_cur_init(&c, bad[i], strlen(bad[i]));
        canon_value v;
        canon_value_init(&v, *state);
        assert_int_equal(canon_value_encode(&c, &v, NULL), STICKY_EPARSE);
        canon_value_free(&v);
    }
}

/* ---- cost ----------------------------------------------------------------------- */

#define BIG (64u * 1024u)

/* Work counted by the canonicaliser: each byte is written once and emitted
 * once (2 x the encoding) plus one unit per member reordered, whatever the
 * nesting; sorted and unsorted twins cost the same to a few units. A
 * per-level copy would add at least (depth - 1) x BIG. */
static void test_work_is_linear_in_size(void **state)
{
    static const int depths[] = {1, 58, STICKY_MAX_JSON_DEPTH};
    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        int d = depths[i];
        char *u = nested(d, BIG, 0), *s = nested(d, BIG, 1);
        growbuf x, y;
        size_t wu = encode(*state, u, NULL, &x);
        size_t ws = encode(*state, s, NULL, &y);
        assert_int_equal(x.len, y.len);
        assert_int_equal(ws, 2 * y.len);                      /* nothing reordered */
        assert_int_equal(wu, 2 * x.len + 2 * (size_t)d);      /* + two members per level */
        assert_true(wu < 2 * x.len + 4096);
        growbuf_free(&x);
        growbuf_free(&y);
        free(u);
        free(s);
    }
}

/* Many small nested shapes side by side in an array: the innermost
 * object of each is sorted in place, the levels around it recorded; the
 * work stays within 2 x the encoding plus one in-place move of each byte
 * plus the member records. (Sorting every small level in place would move
 * the bytes of each shape once per level.) */
static void test_work_small_objects(void **state)
{
    char *one = nested(40, 16, 0);
    size_t one_len = strlen(one), copies = 200;
    char *arr = malloc(copies * (one_len + 1) + 2), *p = arr;
    assert_non_null(arr);
    *p++ = '[';
    for (size_t i = 0; i < copies; i++) {
        memcpy(p, one, one_len);
        p += one_len;
        *p++ = i + 1 < copies ? ',' : ']';
    }
    *p = '\0';
    growbuf x;
    size_t w = encode(*state, arr, NULL, &x);
    size_t records = copies * 2 * 39; /* two members per recorded level */
    assert_true(w <= 2 * x.len + 2 * copies * 64 + records);
    growbuf_free(&x);
    free(arr);
    free(one);
    /* and a flat array of small unsorted objects: each sorted in place */
    static const char unit[] = "{\"b\":1,\"a\":{\"d\":2,\"c\":[3]}},";
    size_t n = 5000, ul = sizeof(unit) - 1;
    arr = malloc(n * ul + 2);
    assert_non_null(arr);
    arr[0] = '[';
    for (size_t i = 0; i < n; i++)
        memcpy(arr + 1 + i * ul, unit, ul);
    arr[n * ul] = ']';
    arr[n * ul + 1] = '\0';
    w = encode(*state, arr, NULL, &x);
    assert_true(w <= 4 * x.len);
    growbuf_free(&x);
    free(arr);
}

/* Through the public API: the bytes a key derivation asks its allocator
 * for stay within a small multiple of the body, nested or not. */
struct alloc_count {
    size_t bytes, calls;
};

static void *count_malloc(size_t n, void *user)
{
    struct alloc_count *a = user;
    a->bytes += n;
    a->calls++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, void *user)
{
    struct alloc_count *a = user;
    a->bytes += n;
    a->calls++;
    return realloc(p, n);
}

static void count_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static size_t derive_alloc_bytes(const char *input, size_t *body_len)
{
    static const char head[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                               "[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Edit\",\"input\":";
    static const char tail[] = "}]}]}";
    size_t n = strlen(head) + strlen(input) + strlen(tail);
    char *body = malloc(n + 1);
    assert_non_null(body);
    snprintf(body, n + 1, "%s%s%s", head, input, tail);

    struct alloc_count count = {0, 0};
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.allocator.malloc_fn = count_malloc;
    cfg.allocator.realloc_fn = count_realloc;
    cfg.allocator.free_fn = count_free;
    cfg.allocator.user = &count;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "t";
    req.tenant_len = 1;
    req.body = body;
    req.body_len = n;
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    count.bytes = 0;
    assert_int_equal(sticky_key_derive(ctx, &req, &chain), STICKY_OK);
    assert_int_equal(chain.n_keys, 1);
    size_t bytes = count.bytes;
    sticky_ctx_free(ctx);
    free(body);
    *body_len = n;
    return bytes;
}

static void test_derive_allocates_linear_in_size(void **state)
{
    (void)state;
    size_t len_u, len_s;
    char *u = nested(58, 4 * BIG, 0), *s = nested(58, 4 * BIG, 1);
    size_t bu = derive_alloc_bytes(u, &len_u);
    size_t bs = derive_alloc_bytes(s, &len_s);
    /* A growing buffer asks for at most ~4x what it holds; the old
     * per-level copy asked for 58 x the body. */
    assert_true(bs <= 8 * len_s);
    assert_true(bu <= 8 * len_u);
    assert_true(bu <= bs + 64 * 1024);
    free(u);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_of_one_object),
        cmocka_unit_test(test_nested_unsorted_equals_sorted),
        cmocka_unit_test(test_in_place_threshold),
        cmocka_unit_test(test_mixed_shapes),
        cmocka_unit_test(test_duplicates_stable),
        cmocka_unit_test(test_skip_top_level_only),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_work_is_linear_in_size),
        cmocka_unit_test(test_work_small_objects),
        cmocka_unit_test(test_derive_allocates_linear_in_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
