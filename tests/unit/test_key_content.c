/*
 * tests/unit/test_key_content.c - content keys: the chain across turns,
 * canonical equivalences, differences, tenant and secret isolation, message
 * count and system prompt settings, and structured input matching bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "key_test_util.h"

#define U1 "{\"role\":\"user\",\"content\":\"Write a haiku about caching\"}"
#define A1 "{\"role\":\"assistant\",\"content\":\"Warm bytes wait in rows\"}"
#define U2 "{\"role\":\"user\",\"content\":\"Another, about routing\"}"
#define A2 "{\"role\":\"assistant\",\"content\":\"Packets find their way\"}"
#define U3 "{\"role\":\"user\",\"content\":\"Thanks!\"}"
#define BODY(msgs) "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"messages\":[" msgs "]}"

static void test_turns_share_chain(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain t1 = derive_ok(ctx, "k1", BODY(U1));
    sticky_key_chain t2 = derive_ok(ctx, "k1", BODY(U1 "," A1 "," U2));
    sticky_key_chain t3 = derive_ok(ctx, "k1", BODY(U1 "," A1 "," U2 "," A2 "," U3));
    assert_int_equal(t1.n_keys, 1);
    assert_int_equal(t2.n_keys, 3);
    assert_int_equal(t3.n_keys, 3);
    assert_int_equal(t1.source, STICKY_KEY_SOURCE_CONTENT);
    assert_int_equal(t1.format, STICKY_FORMAT_ANTHROPIC);
    /* K1 equal on all turns: this is what makes turn 1 -> 2 meet. */
    assert_true(t1.keys[0] == t2.keys[0] && t2.keys[0] == t3.keys[0]);
    /* K2, K3 stable from the turn they first exist. */
    assert_true(t2.keys[1] == t3.keys[1]);
    assert_true(t2.keys[2] == t3.keys[2]);
    /* And the keys of one chain differ from each other. */
    assert_false(t2.keys[0] == t2.keys[1] || t2.keys[1] == t2.keys[2]);
    sticky_ctx_free(ctx);
}

struct pair {
    const char *name, *a, *b;
};

static const struct pair same[] = {
    {"string vs one text part",
     BODY("{\"role\":\"user\",\"content\":\"hi there\"}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi there\"}]}")},
    {"cache_control present vs absent",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\",\"cache_control\":{\"type\":\"ephemeral\"}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}")},
    {"cache_control moved to the newest message",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
          "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"}"),
     BODY("{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
          "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"c\",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]}")},
    {"whitespace and key order",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{\"a\":1,\"b\":[true,null]}}]}]}",
     "{ \"messages\" : [ { \"content\" : [ { \"input\" : { \"b\" : [ true , null ] , \"a\" : 1 } ,\n\t\"name\":\"f\", \"type\" : \"tool_use\" } ] , \"role\" : \"user\" } ] ,\r\n \"model\":\"m\" }"},
    {"\\u00e9 vs raw UTF-8",
     BODY("{\"role\":\"user\",\"content\":\"caf\\u00e9 \\ud83d\\ude00\"}"),
     BODY("{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}")},
    {"thinking present vs dropped",
     BODY(U1 ",{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"sig\"},"
          "{\"type\":\"redacted_thinking\",\"data\":\"xx\"},{\"type\":\"text\",\"text\":\"ok\"}]}," U2),
     BODY(U1 ",{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}," U2)},
    {"escaped slash and key escapes",
     BODY("{\"role\":\"user\",\"content\":\"a/b\"}"),
     "{\"messages\":[{\"r\\u006fle\":\"user\",\"content\":\"a\\/b\"}]}"},
    {"tool_result string vs text part, cache_control inside",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"42\"}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"text\",\"text\":\"42\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}")},
    {"unknown top-level fields and tools do not count",
     BODY(U1),
     "{\"tools\":[{\"name\":\"x\",\"input_schema\":{}}],\"stream\":true,\"temperature\":0.5,\"messages\":[" U1 "],\"max_tokens\":1}"},
};

static const struct pair differ[] = {
    {"text", BODY("{\"role\":\"user\",\"content\":\"hi\"}"), BODY("{\"role\":\"user\",\"content\":\"hi!\"}")},
    {"role", BODY("{\"role\":\"user\",\"content\":\"hi\"}"), BODY("{\"role\":\"assistant\",\"content\":\"hi\"}")},
    {"image data",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAA\"}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAB\"}}]}")},
    {"image media type",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAA\"}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/gif\",\"data\":\"AAAA\"}}]}")},
    {"image url",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/a.png\"}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/b.png\"}}]}")},
    {"tool name",
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"read\",\"input\":{\"p\":\"a\"}}]}"),
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"write\",\"input\":{\"p\":\"a\"}}]}")},
    {"tool input",
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"read\",\"input\":{\"p\":\"a\"}}]}"),
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"read\",\"input\":{\"p\":\"b\"}}]}")},
    {"tool input number text",
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{\"n\":1}}]}"),
     BODY("{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{\"n\":1.0}}]}")},
    {"text split into two parts",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"ab\"}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}")},
    {"document content source",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"content\",\"content\":[{\"type\":\"text\",\"text\":\"A\"}]}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"content\",\"content\":[{\"type\":\"text\",\"text\":\"B\"}]}}]}")},
    {"image file id",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f1\"}}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f2\"}}]}")},
    {"tool_result is_error",
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"x\"}]}"),
     BODY("{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"x\",\"is_error\":true}]}")},
    {"system-role message inside messages counts (Anthropic)",
     BODY(U1 "," U2),
     BODY(U1 ",{\"role\":\"system\",\"content\":\"be brief\"}," U2)},
};

static void test_equivalences(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        sticky_key_chain a = derive_ok(ctx, "t", same[i].a);
        sticky_key_chain b = derive_ok(ctx, "t", same[i].b);
        if (a.n_keys != b.n_keys || a.n_keys == 0 ||
            a.keys[a.n_keys - 1] != b.keys[b.n_keys - 1])
            fail_msg("should be equal: %s", same[i].name);
        assert_same_chain(&a, &b);
    }
    sticky_ctx_free(ctx);
}

static void test_differences(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        sticky_key_chain a = derive_ok(ctx, "t", differ[i].a);
        sticky_key_chain b = derive_ok(ctx, "t", differ[i].b);
        if (a.keys[a.n_keys - 1] == b.keys[b.n_keys - 1])
            fail_msg("should differ: %s", differ[i].name);
    }
    sticky_ctx_free(ctx);
}

static void test_tenant_and_secret_isolation(void **state)
{
    (void)state;
    sticky_ctx *plain = key_ctx(3, 0, NULL);
    sticky_ctx *s1 = key_ctx(3, 0, "secret-one");
    sticky_ctx *s2 = key_ctx(3, 0, "secret-two");
    sticky_ctx *s1b = key_ctx(3, 0, "secret-one");
    sticky_key_chain a = derive_ok(plain, "tenant-a", BODY(U1));
    sticky_key_chain b = derive_ok(plain, "tenant-b", BODY(U1));
    sticky_key_chain e = derive_ok(plain, "", BODY(U1));
    assert_differs_last(&a, &b);
    assert_differs_last(&a, &e);
    sticky_key_chain h1 = derive_ok(s1, "tenant-a", BODY(U1));
    sticky_key_chain h2 = derive_ok(s2, "tenant-a", BODY(U1));
    sticky_key_chain h1b = derive_ok(s1b, "tenant-a", BODY(U1));
    assert_differs_last(&a, &h1);
    assert_differs_last(&h1, &h2);
    assert_same_chain(&h1, &h1b); /* deterministic per secret */
    /* A secret longer than the SHA-256 block is hashed first (RFC 2104). */
    char longsecret[200];
    memset(longsecret, 'k', sizeof(longsecret) - 1);
    longsecret[sizeof(longsecret) - 1] = '\0';
    sticky_ctx *sl = key_ctx(3, 0, longsecret);
    sticky_key_chain hl = derive_ok(sl, "tenant-a", BODY(U1));
    assert_differs_last(&hl, &h1);
    /* Tenants also separate explicit ids. */
    sticky_key_chain x1, x2;
    assert_int_equal(derive_full(plain, "tenant-a", BODY(U1), NULL, 0, "sess-1", &x1), STICKY_OK);
    assert_int_equal(derive_full(plain, "tenant-b", BODY(U1), NULL, 0, "sess-1", &x2), STICKY_OK);
    assert_differs_last(&x1, &x2);
    sticky_ctx_free(plain);
    sticky_ctx_free(s1);
    sticky_ctx_free(s2);
    sticky_ctx_free(s1b);
    sticky_ctx_free(sl);
}

static void test_message_count(void **state)
{
    (void)state;
    const char *body = BODY(U1 "," A1 "," U2 "," A2 "," U3);
    sticky_key_chain prev;
    memset(&prev, 0, sizeof(prev));
    for (unsigned n = 1; n <= 8; n++) {
        sticky_ctx *ctx = key_ctx(n, 0, NULL);
        sticky_key_chain c = derive_ok(ctx, "t", body);
        /* Chain length: min(n, messages); larger than the conversation is fine. */
        assert_int_equal(c.n_keys, n < 5 ? n : 5);
        /* Prefix property: a deeper setting extends the shallower chain. */
        for (uint32_t i = 0; i < prev.n_keys; i++)
            assert_true(prev.keys[i] == c.keys[i]);
        prev = c;
        sticky_ctx_free(ctx);
    }
}

static void test_system_prompt_setting(void **state)
{
    (void)state;
    sticky_ctx *off = key_ctx(3, 0, NULL);
    sticky_ctx *on = key_ctx(3, 1, NULL);
    const char *sys_a = "{\"system\":\"You are A\",\"messages\":[" U1 "]}";
    const char *sys_a_blocks = "{\"messages\":[" U1 "],\"system\":[{\"type\":\"text\",\"text\":\"You are A\",\"cache_control\":{\"type\":\"ephemeral\"}}]}";
    const char *sys_b = "{\"system\":\"You are B\",\"messages\":[" U1 "]}";
    const char *no_sys = "{\"messages\":[" U1 "]}";
    /* Off: the system prompt does not count. */
    sticky_key_chain a = derive_ok(off, "t", sys_a), b = derive_ok(off, "t", sys_b),
                     n = derive_ok(off, "t", no_sys);
    assert_same_chain(&a, &b);
    assert_same_chain(&a, &n);
    /* On: it does; string and blocks are the same prompt. */
    a = derive_ok(on, "t", sys_a);
    b = derive_ok(on, "t", sys_b);
    sticky_key_chain ab = derive_ok(on, "t", sys_a_blocks);
    n = derive_ok(on, "t", no_sys);
    assert_differs_last(&a, &b);
    assert_differs_last(&a, &n);
    assert_same_chain(&a, &ab);
    /* No system prompt: on and off agree. */
    sticky_key_chain n_off = derive_ok(off, "t", no_sys);
    assert_same_chain(&n, &n_off);
    sticky_ctx_free(off);
    sticky_ctx_free(on);
}

static void test_no_messages(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain c = derive_ok(ctx, "t", "{\"model\":\"m\",\"messages\":[]}");
    assert_int_equal(c.n_keys, 0);
    assert_int_equal(c.source, STICKY_KEY_SOURCE_NONE);
    c = derive_ok(ctx, "t", "{\"model\":\"m\"}");
    assert_int_equal(c.n_keys, 0);
    sticky_ctx_free(ctx);
}

/* Structured messages give the same keys as the equivalent body. */
static void test_structured_matches_body(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 1, NULL);
    const char *body =
        "{\"system\":[{\"type\":\"text\",\"text\":\"sys\"}],\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBOR\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\"},"
        "{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"zoom\",\"input\":{\"y\":2,\"x\":[1,\"a\"]}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"tu1\",\"content\":\"done\",\"is_error\":true}]}]}";
    sticky_key_chain from_body = derive_ok(ctx, "ten", body);

    sticky_part sys = {.type = STICKY_PART_TEXT, .text = "sys", .text_len = 3};
    sticky_part m1[2] = {
        {.type = STICKY_PART_TEXT, .text = "look", .text_len = 4},
        {.type = STICKY_PART_IMAGE, .source_kind = "base64", .source_kind_len = 6,
         .media_type = "image/png", .media_type_len = 9, .data = "iVBOR", .data_len = 5},
    };
    const char *input = "{ \"x\": [1, \"a\"], \"y\": 2 }";
    sticky_part m2[2] = {
        {.type = STICKY_PART_THINKING},
        {.type = STICKY_PART_TOOL_USE, .name = "zoom", .name_len = 4,
         .input_json = input, .input_json_len = strlen(input)},
    };
    sticky_part m3 = {.type = STICKY_PART_TOOL_RESULT, .text = "done", .text_len = 4, .is_error = 1};
    sticky_message msgs[3] = {
        {"user", 4, m1, 2}, {"assistant", 9, m2, 2}, {"user", 4, &m3, 1}};
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "ten";
    req.tenant_len = 3;
    req.messages = msgs;
    req.n_messages = 3;
    req.system = &sys;
    req.n_system = 1;
    sticky_key_chain from_struct;
    sticky_key_chain_init(&from_struct);
    assert_int_equal(sticky_key_derive(ctx, &req, &from_struct), STICKY_OK);
    assert_int_equal(from_struct.format, STICKY_FORMAT_STRUCTURED);
    assert_same_chain(&from_body, &from_struct);

    /* Invalid structured input: bad part type, bad tool input JSON. */
    sticky_part bad = {.type = 99};
    sticky_message badm = {"user", 4, &bad, 1};
    req.messages = &badm;
    req.n_messages = 1;
    assert_int_equal(sticky_key_derive(ctx, &req, &from_struct), STICKY_EINVAL);
    assert_int_equal(from_struct.n_keys, 0);
    sticky_part badjson = {.type = STICKY_PART_TOOL_USE, .name = "f", .name_len = 1,
                           .input_json = "{\"a\":", .input_json_len = 5};
    badm.parts = &badjson;
    assert_int_equal(sticky_key_derive(ctx, &req, &from_struct), STICKY_EPARSE);
    sticky_ctx_free(ctx);
}

static void test_hex(void **state)
{
    (void)state;
    char hex[STICKY_KEY_HEX_SIZE];
    assert_int_equal(sticky_key_to_hex(0xa3f5c8e9b2d1f4a7ULL, hex), STICKY_OK);
    assert_string_equal(hex, "a3f5c8e9b2d1f4a7");
    assert_int_equal(sticky_key_to_hex(1, hex), STICKY_OK);
    assert_string_equal(hex, "0000000000000001");
    uint64_t k = 0;
    assert_int_equal(sticky_key_from_hex("A3F5C8E9B2D1F4A7", &k), STICKY_OK);
    assert_true(k == 0xa3f5c8e9b2d1f4a7ULL);
    assert_int_equal(sticky_key_from_hex("a3f5c8e9b2d1f4a", &k), STICKY_EPARSE);
    assert_int_equal(sticky_key_from_hex("a3f5c8e9b2d1f4a7a", &k), STICKY_EPARSE);
    assert_int_equal(sticky_key_from_hex("g3f5c8e9b2d1f4a7", &k), STICKY_EPARSE);
    assert_int_equal(sticky_key_from_hex(NULL, &k), STICKY_EINVAL);
    assert_int_equal(sticky_key_to_hex(1, NULL), STICKY_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turns_share_chain),
        cmocka_unit_test(test_equivalences),
        cmocka_unit_test(test_differences),
        cmocka_unit_test(test_tenant_and_secret_isolation),
        cmocka_unit_test(test_message_count),
        cmocka_unit_test(test_system_prompt_setting),
        cmocka_unit_test(test_no_messages),
        cmocka_unit_test(test_structured_matches_body),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
