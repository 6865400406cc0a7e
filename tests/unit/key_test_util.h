/*
 * tests/unit/key_test_util.h - helpers for the session-key tests: derive a
 * chain from a body / structured request and compare chains.
 */
#ifndef STICKY_KEY_TEST_UTIL_H
#define STICKY_KEY_TEST_UTIL_H

#include <string.h>

#include <sticky/sticky.h>

static inline sticky_ctx *key_ctx(unsigned message_count, int include_system,
                                  const char *secret)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.message_count = message_count;
    cfg.include_system_prompt = include_system;
    if (secret) {
        cfg.key_secret = secret;
        cfg.key_secret_len = strlen(secret);
    }
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(&cfg, &ctx) != STICKY_OK)
        return NULL;
    return ctx;
}

/* Derive from a body with optional headers; returns the error code. */
static inline int derive_full(const sticky_ctx *ctx, const char *tenant,
                              const char *body, const sticky_header *headers,
                              size_t n_headers, const char *session_id,
                              sticky_key_chain *out)
{
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = tenant;
    req.tenant_len = tenant ? strlen(tenant) : 0;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.headers = headers;
    req.n_headers = n_headers;
    req.session_id = session_id;
    req.session_id_len = session_id ? strlen(session_id) : 0;
    sticky_key_chain_init(out);
    return sticky_key_derive(ctx, &req, out);
}

static inline sticky_key_chain derive_ok(const sticky_ctx *ctx, const char *tenant,
                                         const char *body)
{
    sticky_key_chain ch;
    int rc = derive_full(ctx, tenant, body, NULL, 0, NULL, &ch);
    if (rc != STICKY_OK)
        fail_msg("derive failed (%s) for body: %.200s", sticky_err_name(rc), body);
    return ch;
}

static inline void assert_same_chain(const sticky_key_chain *a, const sticky_key_chain *b)
{
    assert_int_equal(a->n_keys, b->n_keys);
    assert_int_equal(a->source, b->source);
    for (uint32_t i = 0; i < a->n_keys; i++)
        assert_true(a->keys[i] == b->keys[i]);
}

static inline void assert_differs_last(const sticky_key_chain *a, const sticky_key_chain *b)
{
    assert_true(a->n_keys > 0 && b->n_keys > 0);
    assert_false(a->keys[a->n_keys - 1] == b->keys[b->n_keys - 1]);
}

#endif
