/*
 * tests/unit/test_key_openai.c - OpenAI Chat Completions and Responses
 * bodies: format detection, leading system/developer messages as the system
 * prompt, image_url, tool calls, Responses input forms and reasoning items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "key_test_util.h"

#define SYS "{\"role\":\"system\",\"content\":\"You are terse\"}"
#define DEV "{\"role\":\"developer\",\"content\":\"Use tools\"}"
#define U1 "{\"role\":\"user\",\"content\":\"What is 2+2?\"}"
#define A1 "{\"role\":\"assistant\",\"content\":\"4\"}"
#define U2 "{\"role\":\"user\",\"content\":\"And 3+3?\"}"

static void test_chat_detect_and_turns(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain t1 = derive_ok(ctx, "t", "{\"model\":\"gpt-5\",\"messages\":[" SYS "," U1 "]}");
    sticky_key_chain t2 = derive_ok(ctx, "t", "{\"model\":\"gpt-5\",\"messages\":[" SYS "," U1 "," A1 "," U2 "]}");
    assert_int_equal(t1.format, STICKY_FORMAT_OPENAI_CHAT);
    assert_int_equal(t1.n_keys, 1); /* the system message is not a chain message */
    assert_int_equal(t2.n_keys, 3);
    assert_true(t1.keys[0] == t2.keys[0]);
    /* System off: a different system prompt gives the same chain. */
    sticky_key_chain other = derive_ok(ctx, "t", "{\"messages\":[" DEV "," U1 "]}");
    assert_true(other.keys[0] == t1.keys[0]);
    sticky_ctx_free(ctx);

    ctx = key_ctx(3, 1, NULL);
    t1 = derive_ok(ctx, "t", "{\"messages\":[" SYS "," U1 "]}");
    other = derive_ok(ctx, "t", "{\"messages\":[" DEV "," U1 "]}");
    sticky_key_chain none = derive_ok(ctx, "t", "{\"messages\":[" U1 "]}");
    assert_false(t1.keys[0] == other.keys[0]);
    assert_false(t1.keys[0] == none.keys[0]);
    sticky_ctx_free(ctx);
}

static void test_chat_parts(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    /* String vs text part. */
    sticky_key_chain a = derive_ok(ctx, "t", "{\"messages\":[" SYS ",{\"role\":\"user\",\"content\":\"hi\"}]}");
    sticky_key_chain b = derive_ok(ctx, "t", "{\"messages\":[" SYS ",{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}");
    assert_same_chain(&a, &b);
    /* image_url as string or object with detail; url changes count. */
    sticky_key_chain i1 = derive_ok(ctx, "t", "{\"messages\":[" SYS ",{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/1.png\",\"detail\":\"high\"}}]}]}");
    sticky_key_chain i2 = derive_ok(ctx, "t", "{\"messages\":[" SYS ",{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/1.png\"}}]}]}");
    sticky_key_chain i3 = derive_ok(ctx, "t", "{\"messages\":[" SYS ",{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/2.png\"}}]}]}");
    assert_same_chain(&i1, &i2);
    assert_differs_last(&i1, &i3);
    /* tool_calls: arguments JSON is canonical; name changes count. */
    const char *tc1 = "{\"messages\":[" U1 ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":2}\"}}]}]}";
    const char *tc2 = "{\"messages\":[" U1 ",{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\",\"id\":\"c9\",\"function\":{\"arguments\":\"{ \\\"b\\\": 2, \\\"a\\\": 2 }\",\"name\":\"add\"}}]}]}";
    const char *tc3 = "{\"messages\":[" U1 ",{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"mul\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":2}\"}}]}]}";
    a = derive_ok(ctx, "t", tc1);
    b = derive_ok(ctx, "t", tc2);
    sticky_key_chain c = derive_ok(ctx, "t", tc3);
    assert_same_chain(&a, &b);
    assert_differs_last(&a, &c);
    sticky_ctx_free(ctx);
}

static void test_responses(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain s = derive_ok(ctx, "t", "{\"model\":\"gpt-5\",\"input\":\"What is 2+2?\"}");
    sticky_key_chain arr = derive_ok(ctx, "t", "{\"model\":\"gpt-5\",\"input\":[{\"role\":\"user\",\"content\":\"What is 2+2?\"}]}");
    sticky_key_chain parts = derive_ok(ctx, "t", "{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"What is 2+2?\"}]}],\"instructions\":\"be nice\"}");
    assert_int_equal(s.format, STICKY_FORMAT_OPENAI_RESPONSES);
    assert_same_chain(&s, &arr);
    assert_same_chain(&s, &parts);
    /* Follow-up turn: reasoning items are skipped like thinking blocks. */
    sticky_key_chain t2 = derive_ok(ctx, "t", "{\"input\":[{\"role\":\"user\",\"content\":\"What is 2+2?\"},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
        "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"4\"}]}");
    sticky_key_chain t2b = derive_ok(ctx, "t", "{\"input\":[{\"role\":\"user\",\"content\":\"What is 2+2?\"},"
        "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"4\"}]}");
    assert_int_equal(t2.n_keys, 3);
    assert_true(t2.keys[0] == s.keys[0]);
    assert_same_chain(&t2, &t2b);
    sticky_ctx_free(ctx);

    /* instructions are the system prompt. */
    ctx = key_ctx(3, 1, NULL);
    sticky_key_chain i1 = derive_ok(ctx, "t", "{\"instructions\":\"A\",\"input\":\"hi\"}");
    sticky_key_chain i2 = derive_ok(ctx, "t", "{\"instructions\":\"B\",\"input\":\"hi\"}");
    assert_differs_last(&i1, &i2);
    sticky_ctx_free(ctx);
}

static void test_stated_format(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    /* Stated Anthropic: a leading system message is a message. */
    const char *body = "{\"messages\":[" SYS "," U1 "]}";
    sticky_request req;
    sticky_request_init(&req);
    req.body = body;
    req.body_len = strlen(body);
    req.format = STICKY_FORMAT_ANTHROPIC;
    sticky_key_chain c;
    sticky_key_chain_init(&c);
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_OK);
    assert_int_equal(c.n_keys, 2);
    assert_int_equal(c.format, STICKY_FORMAT_ANTHROPIC);
    req.format = 42;
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    req.format = STICKY_FORMAT_STRUCTURED; /* with a body: invalid */
    assert_int_equal(sticky_key_derive(ctx, &req, &c), STICKY_EINVAL);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_detect_and_turns),
        cmocka_unit_test(test_chat_parts),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_stated_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
