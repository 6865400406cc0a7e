/*
 * tests/unit/test_select_headers.c - issue 12 items 6 and 7 through the
 * public API: sticky_report() reading the upstream's rate-limit headers
 * from sticky_outcome.headers (host numbers win, bad values ignored, an
 * account-wide rejection cooling every family), and the model taken from
 * the body's top-level "model" when request.model is not given
 * (decision.model, family scoping, request.model winning).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_helpers.h"
#include "select_test_util.h"

#define HDR(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

/* Seconds of cooldown left on @channel for @family (Prometheus gauge). */
static double cooldown_left(struct harness *h, const char *channel, const char *family)
{
    size_t need = 0;
    sticky_ctx_format_prometheus(h->ctx, NULL, 0, &need);
    char *buf = malloc(need + 1);
    assert_non_null(buf);
    assert_int_equal(sticky_ctx_format_prometheus(h->ctx, buf, need + 1, &need), STICKY_OK);
    char pat[160];
    snprintf(pat, sizeof(pat), "sticky_channel_cooldown_seconds{channel=\"%s\",family=\"%s\"} ",
             channel, family);
    const char *p = strstr(buf, pat);
    double v = p ? strtod(p + strlen(pat), NULL) : 0.0;
    free(buf);
    return v;
}

/* Select conversation 1 (sonnet body, no request.model) and report
 * @status with @hdr; numbers as given. */
static void fail_with(struct harness *h, int status, const sticky_header *hdr, size_t n,
                      int64_t retry_after_seconds, int64_t reset_epoch_seconds)
{
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    sticky_outcome o;
    sticky_outcome_init(&o);
    assert_null(o.headers);
    assert_int_equal(o.n_headers, 0);
    o.status = status;
    o.retry_after_seconds = retry_after_seconds;
    o.reset_epoch_seconds = reset_epoch_seconds;
    o.headers = hdr;
    o.n_headers = n;
    assert_int_equal(sticky_report(h->ctx, &d, &o), STICKY_OK);
}

static void test_retry_after_header(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_header hdr[] = {HDR("Content-Type", "application/json"), HDR("Retry-After", "42")};
    fail_with(&h, 429, hdr, 2, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 42.0);
    h_stop(&h);
}

static void test_retry_after_http_date_capped(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.retry_after_cap_seconds = 100;
    h_start(&h, 2);
    /* T0 is 2025-06-15T15:06:40Z; one hour later, capped at 100 s. */
    sticky_header hdr[] = {HDR("retry-after", "Sun, 15 Jun 2025 16:06:40 GMT")};
    fail_with(&h, 429, hdr, 1, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 100.0);
    h_stop(&h);
}

static void test_host_numbers_win(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_header hdr[] = {HDR("retry-after", "42"),
                           HDR("anthropic-ratelimit-unified-reset", "1750000500")};
    fail_with(&h, 429, hdr, 2, 7, T0 / 1000 + 9);
    assert_true(cooldown_left(&h, "A", "sonnet") == 9.0); /* the host's reset */
    h_stop(&h);
}

static void test_unified_reset_and_account_wide(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    /* Without a status: the reset, scoped to the request's family. */
    sticky_header a[] = {HDR("anthropic-ratelimit-unified-reset", "1750000030")};
    fail_with(&h, 429, a, 1, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 30.0);
    assert_true(cooldown_left(&h, "A", "all") == 0.0);
    h_stop(&h);

    h_config(&h);
    h_start(&h, 2);
    sticky_header b[] = {HDR("anthropic-ratelimit-unified-status", "rejected"),
                         HDR("anthropic-ratelimit-unified-reset", "1750000030")};
    fail_with(&h, 429, b, 2, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "all") == 30.0);
    assert_true(cooldown_left(&h, "A", "sonnet") == 0.0);
    /* Every family avoids A now, haiku too. */
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(9, 1, body, sizeof(body)), "claude-haiku-4-5",
                              0, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "B");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_rfc3339_and_openai_headers(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_header a[] = {HDR("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:00Z")};
    fail_with(&h, 429, a, 1, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 20.0);
    h_stop(&h);

    h_config(&h);
    h_start(&h, 2);
    sticky_header b[] = {HDR("x-ratelimit-reset-requests", "1m30s"),
                         HDR("x-ratelimit-reset-tokens", "1.5s")};
    fail_with(&h, 429, b, 2, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 90.0);
    h_stop(&h);

    h_config(&h);
    h_start(&h, 2);
    sticky_header c[] = {HDR("x-ratelimit-reset-tokens", "1.5s")};
    fail_with(&h, 429, c, 1, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == 2.0); /* whole seconds, rounded up */
    h_stop(&h);
}

static void test_bad_headers_ignored(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_header hdr[] = {HDR("retry-after", "-5"),
                           HDR("anthropic-ratelimit-unified-reset", "soon"),
                           HDR("x-ratelimit-reset-requests", "6 minutes"),
                           {NULL, 0, "1", 1}};
    fail_with(&h, 429, hdr, 4, STICKY_ABSENT, STICKY_ABSENT);
    assert_true(cooldown_left(&h, "A", "sonnet") == (double)STICKY_DEFAULT_COOLDOWN_429_SECONDS);
    /* NULL headers with a count: read as none, not an error. */
    fail_with(&h, 200, NULL, 3, STICKY_ABSENT, STICKY_ABSENT);
    h_stop(&h);
}

static void test_model_from_body(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_SONNET);
    assert_string_equal(d.model, "claude-sonnet-4-5");
    sticky_release(h.ctx, &d);
    /* request.model wins over the body's. */
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), "claude-haiku-4-5",
                              0, &d), STICKY_OK);
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_HAIKU);
    assert_string_equal(d.model, "claude-haiku-4-5");
    sticky_release(h.ctx, &d);
    /* An OpenAI body, model after the messages, with an escape. */
    const char *oai = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                      "\"model\":\"gpt-5\\u002dmini\"}";
    assert_int_equal(h_select(&h, NULL, oai, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.model, "gpt-5-mini");
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_OTHER);
    sticky_release(h.ctx, &d);
    /* No model anywhere; a non-string model: none. */
    const char *none = "{\"model\":42,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assert_int_equal(h_select(&h, NULL, none, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.model, "");
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_ALL);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_body_model_decides_served(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    static const char *const gpt_only[] = {"gpt-*"};
    h.ch[0].models = gpt_only; /* A serves only gpt models */
    h.ch[0].n_models = 1;
    char body[4096];
    sticky_decision d;
    for (int conv = 1; conv <= 6; conv++) {
        assert_int_equal(h_select(&h, NULL, conv_body(conv, 1, body, sizeof(body)), NULL, 0, &d),
                         STICKY_OK);
        assert_string_equal(d.channel_id, "B"); /* the body says claude-sonnet */
        sticky_release(h.ctx, &d);
    }
    h_stop(&h);
}

static void test_model_too_long_or_nul(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char body[512], name[STICKY_MODEL_SIZE + 1];
    memset(name, 'o', sizeof(name) - 1);
    memcpy(name, "opus", 4);
    name[sizeof(name) - 1] = '\0'; /* STICKY_MODEL_SIZE bytes: one too many */
    snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"hi\"}]}", name);
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.model, "");
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_ALL);
    sticky_release(h.ctx, &d);
    name[STICKY_MODEL_SIZE - 1] = '\0'; /* exactly the longest that fits */
    snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"hi\"}]}", name);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.model, name);
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_OPUS);
    sticky_release(h.ctx, &d);
    const char *nul = "{\"model\":\"opus\\u0000x\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hi\"}]}";
    assert_int_equal(h_select(&h, NULL, nul, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.model, "");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_model_with_precomputed_chain(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = "t1";
    r.tenant_len = 2;
    r.body = body;
    r.body_len = strlen(body);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    assert_int_equal(sticky_key_derive(h.ctx, &r, &chain), STICKY_OK);
    r.chain = &chain;
    sticky_decision d;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &d), STICKY_OK);
    assert_string_equal(d.model, "claude-sonnet-4-5");
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_SONNET);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_header),
        cmocka_unit_test(test_retry_after_http_date_capped),
        cmocka_unit_test(test_host_numbers_win),
        cmocka_unit_test(test_unified_reset_and_account_wide),
        cmocka_unit_test(test_rfc3339_and_openai_headers),
        cmocka_unit_test(test_bad_headers_ignored),
        cmocka_unit_test(test_model_from_body),
        cmocka_unit_test(test_body_model_decides_served),
        cmocka_unit_test(test_model_too_long_or_nul),
        cmocka_unit_test(test_model_with_precomputed_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
