/*
 * tests/unit/test_select_health.c - what sticky_report() does to channel
 * health: the cooldown of every outcome class with its default, model
 * family scoping, success clearing failures, the circuit breaker, lazy
 * recovery; plus the rendezvous and random policies, bounded load and the
 * Prometheus output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select_test_util.h"
#include "select/select_internal.h"

/* After reporting @status on A, A is unusable for exactly @cool_s seconds
 * (0: not at all) for a request of @model. */
static void expect_cooldown(int kind, int status, int64_t retry_after, int64_t reset_s,
                            int64_t cool_s, const char *model)
{
    struct harness h;
    h_config(&h);
    h_start(&h, 1);
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), model, 0, &d),
                     STICKY_OK);
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.kind = kind;
    o.status = status;
    o.retry_after_seconds = retry_after;
    o.reset_epoch_seconds = reset_s;
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_OK);
    int rc = h_select(&h, NULL, body, model, 0, &d);
    if (cool_s == 0) {
        if (rc != STICKY_OK)
            fail_msg("status %d: should not cool down", status);
        sticky_release(h.ctx, &d);
        h_stop(&h);
        return;
    }
    if (rc != STICKY_ENOCHANNEL)
        fail_msg("status %d kind %d: should cool down", status, kind);
    assert_true(d.retry_at_ms == T0 + cool_s * 1000);
    h.clk.now_ms = T0 + cool_s * 1000 - 1;
    assert_int_equal(h_select(&h, NULL, body, model, 0, &d), STICKY_ENOCHANNEL);
    h.clk.now_ms = T0 + cool_s * 1000; /* lazy recovery: just the clock */
    assert_int_equal(h_select(&h, NULL, body, model, 0, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_cooldown_classes(void **state)
{
    (void)state;
    const char *m = "claude-sonnet-4-5";
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, STICKY_ABSENT, T0 / 1000 + 3 * 3600, 3 * 3600, m); /* reset */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, 42, STICKY_ABSENT, 42, m);          /* Retry-After */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, 999999, STICKY_ABSENT, 1800, m);    /* capped */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, STICKY_ABSENT, STICKY_ABSENT, 60, m);          /* neither */
    /* A reset that is not ahead (0 from a zero-filled outcome, or past)
     * counts as absent: Retry-After, else the default. */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, STICKY_ABSENT, 0, 60, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, 42, T0 / 1000 - 5, 42, m);
    /* An isolated 529 cools nothing (the provider is overloaded, not the
     * account); 5xx and timeouts are short. 401 / 403: test_auth_state. */
    expect_cooldown(STICKY_OUTCOME_HTTP, 529, STICKY_ABSENT, STICKY_ABSENT, 0, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 503, STICKY_ABSENT, STICKY_ABSENT, 30, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 500, STICKY_ABSENT, STICKY_ABSENT, 30, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 502, STICKY_ABSENT, STICKY_ABSENT, 30, m);
    expect_cooldown(STICKY_OUTCOME_TIMEOUT, 0, STICKY_ABSENT, STICKY_ABSENT, 30, m);
    expect_cooldown(STICKY_OUTCOME_TRANSPORT, 0, STICKY_ABSENT, STICKY_ABSENT, 30, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 400, STICKY_ABSENT, STICKY_ABSENT, 0, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 404, STICKY_ABSENT, STICKY_ABSENT, 0, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 413, STICKY_ABSENT, STICKY_ABSENT, 0, m);
    expect_cooldown(STICKY_OUTCOME_HTTP, 200, STICKY_ABSENT, STICKY_ABSENT, 0, m);
    /* A reset in the past (a stale header, or clock skew with the
     * upstream) is not trusted to mean "retry now": the default applies. */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, STICKY_ABSENT, T0 / 1000 - 10, 60, m);
    /* Unknown model: the 429 cools the channel for every model. */
    expect_cooldown(STICKY_OUTCOME_HTTP, 429, 30, STICKY_ABSENT, 30, NULL);
}

static void test_configured_cooldowns(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.cooldown_529_seconds = 5;
    h_start(&h, 1);
    sticky_decision d = h_fail(&h, 1, 1, 529, STICKY_ABSENT, STICKY_ABSENT);
    char body[4096];
    h.clk.now_ms = T0 + 5000;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* A 429 for opus leaves the channel usable for sonnet. */
static void test_family_scoping(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)),
                              "claude-opus-4-1", 0, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    assert_int_equal(d.model_family, STICKY_MODEL_FAMILY_OPUS);
    assert_string_equal(sticky_model_family_name(d.model_family), "opus");
    /* A decision whose family is not a value is refused by report. */
    sticky_decision bad = d;
    bad.model_family = 99;
    sticky_outcome ok;
    sticky_outcome_init(&ok);
    ok.status = 200;
    assert_int_equal(sticky_report(h.ctx, &bad, &ok), STICKY_EINVAL);
    h_report(&h, &d, 429, 600, STICKY_ABSENT);
    /* Same session on opus: a family-scoped cooldown serves this request
     * elsewhere; the session stays on A. */
    assert_int_equal(h_select(&h, NULL, body, "claude-opus-4-1", 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_SIDE);
    assert_string_equal(d.channel_id, "B");
    assert_string_equal(d.moved_from, "A");
    sticky_release(h.ctx, &d);
    assert_int_equal(h_select(&h, NULL, body, "claude-sonnet-4-5", 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "A");
    sticky_release(h.ctx, &d);
    /* A sonnet session on A still works. */
    h.ch[1].state = STICKY_CHANNEL_DISABLED;
    assert_int_equal(h_select(&h, NULL, conv_body(2, 1, body, sizeof(body)),
                              "claude-sonnet-4-5", 0, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    sticky_release(h.ctx, &d);
    /* A 401 is not scoped: every model. */
    sticky_decision e;
    assert_int_equal(h_select(&h, NULL, conv_body(3, 1, body, sizeof(body)),
                              "claude-haiku-4-5", 0, &e), STICKY_OK);
    h_report(&h, &e, 401, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(h_select(&h, NULL, conv_body(4, 1, body, sizeof(body)),
                              "claude-sonnet-4-5", 0, &d), STICKY_ENOCHANNEL);
    h_stop(&h);
}

static void test_success_clears_and_breaker(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.cooldown_5xx_seconds = 0; /* only the breaker cools */
    h.cfg.breaker_failures = 3;
    h.cfg.breaker_cooldown_seconds = 30;
    h_start(&h, 1);
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_decision d;
    /* fail, fail, success, fail, fail: never 3 in a row */
    int seq[] = {500, 500, 200, 500, 500};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
        h_report(&h, &d, seq[i], STICKY_ABSENT, STICKY_ABSENT);
    }
    struct channel_health *ch = health_get(&h.ctx->sel->health, "A", fnv1a64("A"));
    assert_int_equal(atomic_load(&ch->consecutive_failures), 2);
    assert_int_equal(atomic_load(&ch->failures), 4);
    /* The third in a row opens the breaker. */
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    h_report(&h, &d, 502, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_ENOCHANNEL);
    assert_true(d.retry_at_ms == T0 + 30000);
    assert_non_null(strstr(h.log.all, "circuit breaker open"));
    /* Reporting twice changes nothing; the in-flight count never goes
     * below zero. */
    assert_int_equal(atomic_load(&ch->in_flight), 0);
    h_stop(&h);
}

static void test_rendezvous_stable_without_store(void **state)
{
    (void)state;
    char first[8][STICKY_ID_SIZE];
    for (int run = 0; run < 2; run++) {
        struct harness h;
        h_config(&h);
        h.cfg.select_policy = STICKY_POLICY_RENDEZVOUS;
        h_start(&h, 5); /* a fresh context and store each run: a store wipe */
        for (int c = 0; c < 8; c++) {
            sticky_decision d = h_turn(&h, 300 + c, 1);
            if (run == 0)
                strcpy(first[c], d.channel_id);
            else
                assert_string_equal(d.channel_id, first[c]);
        }
        h_stop(&h);
    }
    /* Removing a channel moves only its sessions. */
    struct harness h;
    h_config(&h);
    h.cfg.select_policy = STICKY_POLICY_RENDEZVOUS;
    h_start(&h, 5);
    h.ch[2] = h.ch[4]; /* drop C: [A, B, E, D] */
    h.n = 4;
    int spread = 0;
    for (int c = 0; c < 8; c++) {
        sticky_decision d = h_turn(&h, 300 + c, 1);
        if (strcmp(first[c], "C") != 0)
            assert_string_equal(d.channel_id, first[c]);
        spread |= 1 << (d.channel_id[0] - 'A');
    }
    assert_true(__builtin_popcount((unsigned)spread) >= 2); /* not all on one */
    h_stop(&h);
}

static void test_weights(void **state)
{
    (void)state;
    for (int policy = STICKY_POLICY_RENDEZVOUS; policy <= STICKY_POLICY_RANDOM; policy++) {
        struct harness h;
        h_config(&h);
        h.cfg.select_policy = policy;
        h.cfg.log_level = STICKY_LOG_ERROR;
        h_start(&h, 2);
        h.ch[0].weight = 1;
        h.ch[1].weight = 9;
        int on_b = 0;
        for (int c = 0; c < 400; c++)
            on_b += h_turn(&h, 1000 + c, 1).channel_id[0] == 'B';
        /* Expected 360 of 400; far outside chance for a broken weighting. */
        if (on_b < 320 || on_b > 395)
            fail_msg("policy %d: %d of 400 on the weight-9 channel", policy, on_b);
        h_stop(&h);
    }
}

static void test_bounded_load(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.bounded_load_permille = 1250;
    h.cfg.select_policy = STICKY_POLICY_RENDEZVOUS;
    h.cfg.log_level = STICKY_LOG_ERROR;
    h_start(&h, 2);
    /* Hold many attempts open: new placements must stay within 1.25 x the
     * average load, whatever rendezvous prefers. */
    sticky_decision open[40];
    char body[4096];
    for (int c = 0; c < 40; c++) {
        assert_int_equal(h_select(&h, NULL, conv_body(2000 + c, 1, body, sizeof(body)), NULL, 0,
                                  &open[c]), STICKY_OK);
        struct channel_health *a = health_get(&h.ctx->sel->health, "A", fnv1a64("A"));
        struct channel_health *b = health_get(&h.ctx->sel->health, "B", fnv1a64("B"));
        uint32_t la = atomic_load(&a->in_flight), lb = atomic_load(&b->in_flight);
        uint32_t hi = la > lb ? la : lb;
        /* ceil((la + lb) / 2 * 1.25) bounds the busier channel. */
        assert_true(hi * 2 * 1000 <= (la + lb) * 1250 + 2 * 1000);
    }
    /* Existing sessions never move because of load. */
    sticky_decision again;
    conv_body(2000, 1, body, sizeof(body));
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &again), STICKY_OK);
    assert_int_equal(again.reason, STICKY_REASON_HIT);
    assert_string_equal(again.channel_id, open[0].channel_id);
    sticky_release(h.ctx, &again);
    for (int c = 0; c < 40; c++)
        sticky_release(h.ctx, &open[c]);
    h_stop(&h);
}

static void test_draining(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_decision d = h_turn(&h, 1, 1);
    assert_string_equal(d.channel_id, "A");
    h.ch[0].state = STICKY_CHANNEL_DRAINING;
    d = h_turn(&h, 1, 2); /* keeps its session */
    assert_string_equal(d.channel_id, "A");
    d = h_turn(&h, 2, 1); /* takes no new ones */
    assert_string_equal(d.channel_id, "B");
    h.clk.now_ms += 1000;
    d = h_turn(&h, 3, 1);
    assert_string_equal(d.channel_id, "B");
    h_stop(&h);
}

static void test_prometheus(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    h_fail(&h, 1, 1, 429, 100, STICKY_ABSENT);
    h_turn(&h, 1, 2);
    size_t need = 0;
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, NULL, 0, &need), STICKY_ELIMIT);
    assert_true(need > 100);
    char *buf = malloc(need + 1);
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, buf, need + 1, &need), STICKY_OK);
    assert_non_null(strstr(buf, "# TYPE sticky_requests_total counter\nsticky_requests_total 2\n"));
    /* The body's model (sonnet) is what the 429 cooled on A: turn 2 is a
     * side decision (counted with spills), the session stays bound to A. */
    assert_non_null(strstr(buf, "sticky_failovers_total 0\n"));
    assert_non_null(strstr(buf, "sticky_spills_total 1\n"));
    assert_non_null(strstr(buf, "sticky_channel_selections_total{channel=\"A\"} 1\n"));
    assert_non_null(strstr(buf, "sticky_channel_selections_total{channel=\"B\"} 1\n"));
    /* No request.model: the body's "model" (claude-sonnet-4-5) scopes the 429. */
    assert_non_null(strstr(buf, "sticky_channel_cooldown_seconds{channel=\"A\",family=\"sonnet\"} 100.000\n"));
    assert_int_equal(strlen(buf), need);
    /* Each family's samples follow its TYPE line without interleaving. */
    char *t = strstr(buf, "# TYPE sticky_channel_in_flight gauge\n");
    char *sel = strstr(buf, "sticky_channel_selections_total{channel=\"B\"}");
    assert_true(t != NULL && sel != NULL && sel < t);
    free(buf);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooldown_classes),
        cmocka_unit_test(test_configured_cooldowns),
        cmocka_unit_test(test_family_scoping),
        cmocka_unit_test(test_success_clears_and_breaker),
        cmocka_unit_test(test_rendezvous_stable_without_store),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_bounded_load),
        cmocka_unit_test(test_draining),
        cmocka_unit_test(test_prometheus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
