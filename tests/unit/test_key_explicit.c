/*
 * tests/unit/test_key_explicit.c - explicit session ids: every source, their
 * precedence, malformed ids falling through, and the config mask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "key_test_util.h"

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
#define UUID "4f9c2b1e-8d3a-4e2b-9c1d-0a1b2c3d4e5f"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LEGACY "user_" HEX64 "_account_acc-123_session_" UUID

static sticky_key_chain with(const sticky_ctx *ctx, const char *body,
                             const sticky_header *h, size_t nh, const char *sid)
{
    sticky_key_chain c;
    int rc = derive_full(ctx, "t", body, h, nh, sid, &c);
    if (rc != STICKY_OK)
        fail_msg("derive: %s", sticky_err_name(rc));
    return c;
}

/* The key an explicit id gives (via the host id, the top source). */
static uint64_t id_key(const sticky_ctx *ctx, const char *id)
{
    sticky_key_chain c = with(ctx, "{" MSGS "}", NULL, 0, id);
    assert_int_equal(c.source, STICKY_KEY_SOURCE_EXPLICIT);
    return c.keys[0];
}

static void test_each_source(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain content = with(ctx, "{" MSGS "}", NULL, 0, NULL);
    assert_int_equal(content.source, STICKY_KEY_SOURCE_CONTENT);

    struct {
        const char *body;
        sticky_header h;
        unsigned want;
        const char *id;
    } cases[] = {
        {"{" MSGS "}", {"X-Claude-Code-Session-Id", 24, UUID, 36},
         STICKY_EXPLICIT_CLAUDE_CODE_HEADER, UUID},
        {"{" MSGS ",\"metadata\":{\"user_id\":\"" LEGACY "\"}}", {0},
         STICKY_EXPLICIT_METADATA_USER_ID, UUID},
        {"{" MSGS ",\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"dev1\\\",\\\"account_uuid\\\":\\\"\\\",\\\"session_id\\\":\\\"" UUID "\\\"}\"}}",
         {0}, STICKY_EXPLICIT_METADATA_USER_ID, UUID},
        {"{" MSGS ",\"prompt_cache_key\":\"pck-1\"}", {0}, STICKY_EXPLICIT_PROMPT_CACHE_KEY, "pck-1"},
        {"{" MSGS ",\"session_id\":\"bs-1\"}", {0}, STICKY_EXPLICIT_BODY_SESSION_ID, "bs-1"},
        {"{" MSGS ",\"conversation_id\":\"conv-1\"}", {0}, STICKY_EXPLICIT_BODY_CONVERSATION_ID, "conv-1"},
        {"{" MSGS "}", {"session_id", 10, "hs-1", 4}, STICKY_EXPLICIT_SESSION_ID_HEADER, "hs-1"},
        {"{" MSGS "}", {"X-Session-ID", 12, " xs-1 ", 6}, STICKY_EXPLICIT_X_SESSION_ID_HEADER, "xs-1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t nh = cases[i].h.name ? 1 : 0;
        sticky_key_chain c = with(ctx, cases[i].body, &cases[i].h, nh, NULL);
        if (c.explicit_source != cases[i].want)
            fail_msg("case %zu: source %u, want %u", i, c.explicit_source, cases[i].want);
        assert_int_equal(c.source, STICKY_KEY_SOURCE_EXPLICIT);
        assert_int_equal(c.n_keys, 1);
        /* The key depends on the id only, not on where it came from. */
        assert_true(c.keys[0] == id_key(ctx, cases[i].id));
        assert_false(c.keys[0] == content.keys[0]);
    }
    /* Host id. */
    sticky_key_chain h = with(ctx, "{" MSGS "}", NULL, 0, "host-1");
    assert_int_equal(h.explicit_source, STICKY_EXPLICIT_HOST);
    /* An explicit id needs no messages at all. */
    sticky_key_chain nomsg = with(ctx, "{\"prompt_cache_key\":\"pck-1\"}", NULL, 0, NULL);
    assert_true(nomsg.keys[0] == id_key(ctx, "pck-1"));
    sticky_ctx_free(ctx);
}

static void test_precedence(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    const char *body = "{" MSGS ",\"conversation_id\":\"c\",\"session_id\":\"s\","
                       "\"prompt_cache_key\":\"p\",\"metadata\":{\"user_id\":\"" LEGACY "\"}}";
    sticky_header hs[3] = {
        {"x-session-id", 12, "xs", 2},
        {"session_id", 10, "hs", 2},
        {"x-claude-code-session-id", 24, "cc", 2},
    };
    /* Peel sources off from the top and watch the next one win. */
    sticky_key_chain c = with(ctx, body, hs, 3, "host");
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_HOST);
    c = with(ctx, body, hs, 3, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_CLAUDE_CODE_HEADER);
    c = with(ctx, body, hs, 2, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_METADATA_USER_ID);
    c = with(ctx, "{" MSGS ",\"conversation_id\":\"c\",\"session_id\":\"s\",\"prompt_cache_key\":\"p\"}", hs, 2, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_PROMPT_CACHE_KEY);
    c = with(ctx, "{" MSGS ",\"conversation_id\":\"c\",\"session_id\":\"s\"}", hs, 2, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_BODY_SESSION_ID);
    c = with(ctx, "{" MSGS ",\"conversation_id\":\"c\"}", hs, 2, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_BODY_CONVERSATION_ID);
    c = with(ctx, "{" MSGS "}", hs, 2, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_SESSION_ID_HEADER);
    c = with(ctx, "{" MSGS "}", hs, 1, NULL);
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_X_SESSION_ID_HEADER);
    c = with(ctx, "{" MSGS "}", hs, 0, NULL);
    assert_int_equal(c.source, STICKY_KEY_SOURCE_CONTENT);
    sticky_ctx_free(ctx);
}

static void test_malformed_ids_fall_through(void **state)
{
    (void)state;
    sticky_ctx *ctx = key_ctx(3, 0, NULL);
    sticky_key_chain content = with(ctx, "{" MSGS "}", NULL, 0, NULL);
    char longid[STICKY_MAX_SESSION_ID_BYTES + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    const char *bodies[] = {
        /* legacy form: short hex, missing session, bad uuid */
        "{" MSGS ",\"metadata\":{\"user_id\":\"user_0123_account_x_session_" UUID "\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"user_" HEX64 "_account_x\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"user_" HEX64 "_account_x_session_not-a-uuid\"}}",
        /* JSON form: empty / missing / non-string session_id, broken JSON */
        "{" MSGS ",\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"d\\\",\\\"session_id\\\":\\\"\\\"}\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"d\\\"}\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"{\\\"session_id\\\":42}\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"{\\\"session_id\\\":\\\"x\\\"\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":\"plain-user\"}}",
        "{" MSGS ",\"metadata\":{\"user_id\":17}}",
        "{" MSGS ",\"metadata\":\"x\"}",
        /* body ids: empty, wrong type, control character */
        "{" MSGS ",\"prompt_cache_key\":\"\"}",
        "{" MSGS ",\"prompt_cache_key\":null}",
        "{" MSGS ",\"session_id\":{\"id\":\"x\"}}",
        "{" MSGS ",\"conversation_id\":\"a\\nb\"}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sticky_key_chain c = with(ctx, bodies[i], NULL, 0, NULL);
        if (c.source != STICKY_KEY_SOURCE_CONTENT)
            fail_msg("body %zu should fall through to content", i);
        assert_same_chain(&c, &content);
    }
    sticky_header bad_headers[] = {
        {"X-Claude-Code-Session-Id", 24, "", 0},
        {"X-Claude-Code-Session-Id", 24, "   ", 3},
        {"X-Claude-Code-Session-Id", 24, longid, strlen(longid)},
        {"x-session-id", 12, "a\x01" "b", 3},
        {"x-session-id", 12, "\xff\xfe", 2},
    };
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        sticky_key_chain c = with(ctx, "{" MSGS "}", &bad_headers[i], 1, NULL);
        if (c.source != STICKY_KEY_SOURCE_CONTENT)
            fail_msg("header %zu should fall through to content", i);
    }
    /* A malformed higher source falls through to a valid lower one. */
    sticky_header good = {"x-session-id", 12, "ok-1", 4};
    sticky_key_chain c = with(ctx, "{" MSGS ",\"prompt_cache_key\":\"\"}", &good, 1, "");
    assert_int_equal(c.explicit_source, STICKY_EXPLICIT_X_SESSION_ID_HEADER);
    sticky_ctx_free(ctx);
}

static void test_sources_configurable(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.explicit_sources = STICKY_EXPLICIT_ALL & ~(unsigned)STICKY_EXPLICIT_CLAUDE_CODE_HEADER &
                           ~(unsigned)STICKY_EXPLICIT_METADATA_USER_ID;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_header cc = {"x-claude-code-session-id", 24, "cc", 2};
    sticky_key_chain c = with(ctx, "{" MSGS ",\"metadata\":{\"user_id\":\"" LEGACY "\"}}", &cc, 1, NULL);
    assert_int_equal(c.source, STICKY_KEY_SOURCE_CONTENT);
    sticky_ctx_free(ctx);

    cfg.explicit_sources = 0; /* content only */
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    c = with(ctx, "{" MSGS ",\"prompt_cache_key\":\"p\"}", &cc, 1, "host");
    assert_int_equal(c.source, STICKY_KEY_SOURCE_CONTENT);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_source),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_malformed_ids_fall_through),
        cmocka_unit_test(test_sources_configurable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
