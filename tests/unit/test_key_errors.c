/*
 * tests/unit/test_key_errors.c - bad input gives an error code and never a
 * partial key: truncated and invalid JSON, bad escapes and UTF-8, nesting
 * and size limits, NULL arguments, struct sizes, allocator failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "key_test_util.h"
#include "test_helpers.h"

static void expect_err(const sticky_ctx *ctx, const char *body, size_t len, int want)
{
    sticky_request req;
    sticky_request_init(&req);
    req.body = body;
    req.body_len = len;
    sticky_key_chain c;
    sticky_key_chain_init(&c);
    c.n_keys = 7; /* must be reset */
    c.keys[0] = 1;
    int rc = sticky_key_derive(ctx, &req, &c);
    if (rc != want)
        fail_msg("body %.80s: rc %s, want %s", body, sticky_err_name(rc), sticky_err_name(want));
    assert_int_equal(c.n_keys, 0);
    assert_int_equal(c.source, STICKY_KEY_SOURCE_NONE);
    assert_true(c.keys[0] == 0);
}

static void test_malformed_json(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    const char *bad[] = {
        "",
        "   ",
        "[]",
        "\"str\"",
        "{",
        "{\"messages\":",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",}]}",
        "{\"messages\":[{\"role\":\"user\" \"content\":\"hi\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"bad \\x escape\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\u12\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"lone \\ud83d high\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"lone \\ude00 low\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"ctl \x01 char\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"bad utf8 \xc3\x28\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"overlong \xc0\xaf\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"surrogate \xed\xa0\x80\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} trailing",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}{}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":01}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":1.}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":-}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"b\":tru}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[1,2}",
        "{\"messages\":{\"role\":\"user\"}}",
        "{\"messages\":[\"just a string\"]}",
        "{\"messages\":[{\"content\":\"no role\"}]}",
        "{\"messages\":[{\"role\":5,\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":42}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[42]}]}",
        "{'messages':[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_err(ctx, bad[i], strlen(bad[i]), STICKY_EPARSE);
    /* An embedded NUL is malformed too. */
    expect_err(ctx, "{\"a\":1}\0", 8, STICKY_EPARSE);
    sticky_ctx_free(ctx);
}

/* Found by the fuzzer: a malformed escape in a string that was only
 * skipped (the role, read later by the OpenAI system-message check) must
 * be an error, never a misread. */
static void test_bad_escape_in_skipped_string(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    const char *body = "{\"messages\":[{\"role\":\"\xff\\u\xff\xff\xff" "0e\"}]}";
    for (int fmt = STICKY_FORMAT_AUTO; fmt <= STICKY_FORMAT_OPENAI_RESPONSES; fmt++) {
        sticky_request req;
        sticky_request_init(&req);
        req.body = body;
        req.body_len = strlen(body);
        req.format = fmt;
        sticky_key_chain c;
        sticky_key_chain_init(&c);
        int rc = sticky_key_derive(ctx, &req, &c);
        if (fmt == STICKY_FORMAT_OPENAI_RESPONSES)
            assert_int_equal(rc, STICKY_OK); /* no input: nothing to key on */
        else
            assert_int_equal(rc, STICKY_EPARSE);
        assert_int_equal(c.n_keys, 0);
    }
    sticky_ctx_free(ctx);
}

static char *nested(int depth, const char *wrap_open, const char *wrap_close)
{
    size_t n = strlen(wrap_open) * (size_t)depth + strlen(wrap_close) * (size_t)depth + 64;
    char *s = malloc(n);
    strcpy(s, "{\"x\":");
    for (int i = 0; i < depth; i++)
        strcat(s, wrap_open);
    strcat(s, "1");
    for (int i = 0; i < depth; i++)
        strcat(s, wrap_close);
    strcat(s, "}");
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    /* Depth: the top object is level 1, so 62 more arrays is at the limit. */
    char *ok = nested(STICKY_MAX_JSON_DEPTH - 1, "[", "]");
    sticky_key_chain c = derive_ok(ctx, "t", ok);
    assert_int_equal(c.n_keys, 0);
    free(ok);
    char *deep = nested(STICKY_MAX_JSON_DEPTH, "[", "]");
    expect_err(ctx, deep, strlen(deep), STICKY_ELIMIT);
    free(deep);
    char *very_deep = nested(100000, "{\"a\":", "}");
    expect_err(ctx, very_deep, strlen(very_deep), STICKY_ELIMIT);
    free(very_deep);
    /* Deep nesting inside a tool input that is hashed. */
    char body[4096];
    char inner[3000] = "";
    for (int i = 0; i < 70; i++)
        strcat(inner, "[");
    for (int i = 0; i < 70; i++)
        strcat(inner, "]");
    snprintf(body, sizeof(body),
             "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":%s}]}]}",
             inner);
    expect_err(ctx, body, strlen(body), STICKY_ELIMIT);
    /* Size: one byte over the limit is refused before reading. */
    size_t big = (size_t)STICKY_MAX_BODY_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    expect_err(ctx, huge, big, STICKY_ELIMIT);
    free(huge);
    sticky_ctx_free(ctx);
}

static void test_huge_valid_body(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    /* 8 MB of messages: only the first three are read, the rest skipped. */
    size_t n = 20000;
    size_t cap = n * 420 + 128;
    char *body = malloc(cap);
    size_t o = (size_t)sprintf(body, "{\"messages\":[");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(body + o, "%s{\"role\":\"%s\",\"content\":\"%0380zu\"}", i ? "," : "",
                             i % 2 ? "assistant" : "user", i);
    o += (size_t)sprintf(body + o, "]}");
    sticky_key_chain c = derive_ok(ctx, "t", body);
    assert_int_equal(c.n_keys, 3);
    /* Corrupt the very end: the skipped part is still validated. */
    body[o - 1] = ',';
    expect_err(ctx, body, o, STICKY_EPARSE);
    free(body);
    sticky_ctx_free(ctx);
}

/* An object with many members in a hashed tool input is canonicalised in
 * O(n log n): 200,000 keys in reverse order take well under a second (an
 * insertion sort needs ~2e10 comparisons here, beyond the test timeout);
 * member order does not change the key. */
static void test_many_object_members(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    enum { N = 200000 };
    size_t cap = (size_t)N * 24 + 256;
    char *fwd = malloc(cap), *rev = malloc(cap);
    size_t a = (size_t)sprintf(fwd, "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{");
    size_t b = (size_t)sprintf(rev, "%s", fwd);
    for (int i = 0; i < N; i++) {
        a += (size_t)sprintf(fwd + a, "%s\"k%d\":%d", i ? "," : "", i, i);
        b += (size_t)sprintf(rev + b, "%s\"k%d\":%d", i ? "," : "", N - 1 - i, N - 1 - i);
    }
    sprintf(fwd + a, "}}]}]}");
    sprintf(rev + b, "}}]}]}");
    sticky_key_chain x = derive_ok(ctx, "t", fwd);
    sticky_key_chain y = derive_ok(ctx, "t", rev);
    assert_same_chain(&x, &y);
    free(fwd);
    free(rev);
    sticky_ctx_free(ctx);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_request req;
    sticky_key_chain c;
    sticky_request_init(&req);
    sticky_key_chain_init(&c);
    assert_int_equal(sticky_key_derive(NULL, &req, &c), STICKY_EINVAL);
    assert_int_equal(sticky_key_derive(ctx, NULL, &c), STICKY_EINVAL);
    assert_int_equal(sticky_key_derive(ctx, &req, NULL), STICKY_EINVAL);
    req.body_len = 5; /* NULL body with a length */
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    sticky_request_init(&req);
    req.n_headers = 1;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    sticky_request_init(&req);
    req.tenant_len = 3;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    sticky_request_init(&req);
    req.n_messages = 2;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    /* Struct sizes. */
    sticky_request_init(&req);
    req.size = 0;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EABI);
    sticky_request_init(&req);
    c.size = 0;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EABI);
    assert_int_equal(sticky_request_init_sized(NULL, sizeof(req)), STICKY_EINVAL);
    assert_int_equal(sticky_key_chain_init_sized(&c, 1), STICKY_EABI);
    sticky_ctx_free(ctx);
}

/* An old caller whose chain struct ends after keys[0] gets K1 only, and
 * nothing is written past its size. */
static void test_small_chain_struct(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}";
    sticky_key_chain full = derive_ok(ctx, "t", body);
    unsigned char buf[sizeof(sticky_key_chain)];
    memset(buf, 0xEE, sizeof(buf));
    sticky_key_chain *small = (sticky_key_chain *)(void *)buf;
    size_t size = offsetof(sticky_key_chain, keys) + sizeof(uint64_t);
    small->size = size;
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "t";
    req.tenant_len = 1;
    req.body = body;
    req.body_len = strlen(body);
    /* Shorter than the first-release chain: refused, nothing written. */
    assert_int_equal(sticky_key_derive(ctx, &req, small), STICKY_EABI);
    for (size_t i = sizeof(size_t); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xEE);
    sticky_key_chain_init(small);
    assert_int_equal(sticky_key_derive(ctx, &req, small), STICKY_OK);
    assert_int_equal(small->n_keys, 2);
    assert_true(small->keys[0] == full.keys[0]);
    sticky_ctx_free(ctx);
}

static void test_allocator_failures(void **state)
{
    (void)state;
    /* Escaped strings and tool inputs need buffers: fail each allocation in
     * turn; every failure is STICKY_ENOMEM and nothing leaks. */
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9\"},"
                       "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{\"b\":1,\"a\":{\"y\":2,\"x\":3}}}]}]}";
    int saw_enomem = 0, saw_ok = 0;
    for (long fail_after = 0; fail_after < 40; fail_after++) {
        struct counting_alloc a = {0, 0, 0, -1};
        sticky_config cfg;
        sticky_config_init(&cfg);
        counting_alloc_install(&cfg, &a);
        sticky_ctx *ctx = NULL;
        assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
        a.fail_after = a.mallocs + fail_after;
        sticky_key_chain c;
        int rc = derive_full(ctx, "t", body, NULL, 0, NULL, &c);
        if (rc == STICKY_ENOMEM) {
            saw_enomem = 1;
            assert_int_equal(c.n_keys, 0);
        } else {
            assert_int_equal(rc, STICKY_OK);
            assert_int_equal(c.n_keys, 2);
            saw_ok = 1;
        }
        sticky_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(saw_enomem);
    assert_true(saw_ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_bad_escape_in_skipped_string),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_huge_valid_body),
        cmocka_unit_test(test_many_object_members),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_small_chain_struct),
        cmocka_unit_test(test_allocator_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
