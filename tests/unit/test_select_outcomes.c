/*
 * tests/unit/test_select_outcomes.c - outcome semantics of issue 12: an
 * isolated 529 cools nothing, a success clears transient cooldowns (not an
 * announced rate-limit window), the default breaker, the auth state and the
 * channel health read/clear calls, least_bad's ordering, side requests and
 * moved_from until the first success on the new channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select_test_util.h"

#define SONNET "claude-sonnet-4-5"
#define HAIKU "claude-haiku-4-5"

static int sel(struct harness *h, int conv, int turn, const char *model, sticky_decision *d)
{
    char body[4096];
    return h_select(h, NULL, conv_body(conv, turn, body, sizeof(body)), model, 0, d);
}

static void get_health(struct harness *h, const char *id, sticky_channel_health *out)
{
    sticky_channel_health_init(out);
    assert_int_equal(sticky_ctx_get_channel_health(h->ctx, id, out), STICKY_OK);
}

/* 529: no cooldown; the next request of the session stays. */
static void test_isolated_529_keeps_session(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_decision d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    h_report(&h, &d, 529, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    assert_int_equal(d.reason, STICKY_REASON_PROMOTED_HIT);
    sticky_channel_health hh;
    get_health(&h, "A", &hh);
    assert_int_equal(hh.state, STICKY_HEALTH_OK);
    assert_int_equal(hh.consecutive_failures, 1);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* Consecutive 529s on one channel open the default breaker (5 in a row,
 * 30 s, every model): a dead channel still leaves. */
static void test_default_breaker(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    assert_int_equal(h.cfg.breaker_failures, 5);
    h_start(&h, 2);
    sticky_decision d;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "A");
        h_report(&h, &d, 529, STICKY_ABSENT, STICKY_ABSENT);
    }
    sticky_channel_health hh;
    get_health(&h, "A", &hh);
    assert_int_equal(hh.state, STICKY_HEALTH_COOLING);
    assert_int_equal(hh.cause, STICKY_CAUSE_BREAKER);
    assert_int_equal(hh.family, STICKY_MODEL_FAMILY_ALL);
    assert_true(hh.until_ms == T0 + 30000);
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.channel_id, "B");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* A success clears a transient cooldown of its scope; an announced
 * rate-limit window stays. */
static void test_success_clears_transient(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 1);
    sticky_decision a, b;
    assert_int_equal(sel(&h, 1, 1, SONNET, &a), STICKY_OK);
    assert_int_equal(sel(&h, 2, 1, SONNET, &b), STICKY_OK); /* in flight together */
    h_report(&h, &a, 500, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 3, 1, SONNET, &a), STICKY_ENOCHANNEL);
    h_report(&h, &b, 200, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 3, 1, SONNET, &a), STICKY_OK);
    assert_int_equal(sel(&h, 4, 1, SONNET, &b), STICKY_OK);
    /* a 429 with a reset time, then a success of a request sent before it */
    h_report(&h, &a, 429, STICKY_ABSENT, T0 / 1000 + 120);
    h_report(&h, &b, 200, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 5, 1, SONNET, &a), STICKY_ENOCHANNEL);
    assert_true(a.retry_at_ms == T0 + 120000);
    sticky_channel_health hh;
    get_health(&h, "A", &hh);
    assert_int_equal(hh.state, STICKY_HEALTH_RATE_LIMITED);
    assert_int_equal(hh.cause, STICKY_CAUSE_RATE_LIMIT);
    assert_int_equal(hh.family, STICKY_MODEL_FAMILY_SONNET);
    assert_int_equal(hh.cooling_families, 1u << STICKY_MODEL_FAMILY_SONNET);
    h_stop(&h);
}

/* 401 / 403: the auth state lasts until the host clears it. */
static void test_auth_state_until_cleared(void **state)
{
    (void)state;
    for (int status = 401; status <= 403; status += 2) {
        struct harness h;
        h_config(&h);
        h_start(&h, 2);
        sticky_decision d;
        assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "A");
        h_report(&h, &d, status, STICKY_ABSENT, STICKY_ABSENT);
        sticky_channel_health hh;
        get_health(&h, "A", &hh);
        assert_int_equal(hh.state, STICKY_HEALTH_AUTH);
        assert_int_equal(hh.cause, STICKY_CAUSE_AUTH);
        assert_int_equal(hh.family, STICKY_MODEL_FAMILY_ALL);
        assert_true(hh.until_ms == INT64_MAX);
        /* A day later: still out, for every model, even for least_bad. */
        h.clk.now_ms = T0 + 86400000LL;
        h.ch[1].state = STICKY_CHANNEL_DISABLED;
        assert_int_equal(sel(&h, 2, 1, HAIKU, &d), STICKY_ENOCHANNEL);
        assert_true(d.retry_at_ms == 0); /* never by itself */
        h_stop(&h);
        h_config(&h);
        h.cfg.least_bad = 1;
        h_start(&h, 1);
        assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
        h_report(&h, &d, status, STICKY_ABSENT, STICKY_ABSENT);
        assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_ENOCHANNEL);
        /* The host replaced the key. */
        assert_int_equal(sticky_ctx_clear_channel_health(h.ctx, "A"), STICKY_OK);
        get_health(&h, "A", &hh);
        assert_int_equal(hh.state, STICKY_HEALTH_OK);
        assert_int_equal(hh.cause, STICKY_CAUSE_NONE);
        assert_true(hh.until_ms == 0);
        assert_int_equal(hh.consecutive_failures, 0);
        assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
        sticky_release(h.ctx, &d);
        h_stop(&h);
    }
}

/* cooldown_auth_seconds > 0: hosts that want an automatic retry. */
static void test_auth_configured_cooldown(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.cooldown_auth_seconds = 600;
    h_start(&h, 1);
    sticky_decision d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    h_report(&h, &d, 401, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_ENOCHANNEL);
    assert_true(d.retry_at_ms == T0 + 600000);
    h.clk.now_ms = T0 + 600000;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_health_api_errors(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 1);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(hh.size, sizeof(hh));
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, "A", &hh), STICKY_ENOTFOUND);
    assert_int_equal(sticky_ctx_clear_channel_health(h.ctx, "A"), STICKY_ENOTFOUND);
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, NULL, &hh), STICKY_EINVAL);
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, "", &hh), STICKY_EINVAL);
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, "A", NULL), STICKY_EINVAL);
    assert_int_equal(sticky_ctx_clear_channel_health(NULL, "A"), STICKY_EINVAL);
    assert_int_equal(sticky_channel_health_init_sized(NULL, sizeof(hh)), STICKY_EINVAL);
    assert_int_equal(sticky_channel_health_init_sized(&hh, 3), STICKY_EABI);
    hh.size = 3;
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, "A", &hh), STICKY_EABI);
    sticky_decision d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    get_health(&h, "A", &hh);
    assert_int_equal(hh.in_flight, 1);
    assert_int_equal(hh.selections, 1);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* least_bad: a channel cooling from noise before one inside an announced
 * rate-limit window, even when the window ends sooner. */
static void test_least_bad_avoids_rate_limit_window(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.least_bad = 1;
    h.cfg.cooldown_5xx_seconds = 300;
    h_start(&h, 2);
    sticky_decision a, b;
    assert_int_equal(sel(&h, 1, 1, SONNET, &a), STICKY_OK);
    assert_int_equal(sel(&h, 2, 1, SONNET, &b), STICKY_OK);
    assert_string_equal(a.channel_id, "A");
    assert_string_equal(b.channel_id, "B");
    h_report(&h, &a, 429, STICKY_ABSENT, T0 / 1000 + 60); /* window: 60 s */
    h_report(&h, &b, 500, STICKY_ABSENT, STICKY_ABSENT);  /* noise: 300 s */
    for (int conv = 3; conv < 6; conv++) {
        sticky_decision d;
        assert_int_equal(sel(&h, conv, 1, SONNET, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "B");
        sticky_release(h.ctx, &d);
    }
    h_stop(&h);
}

/* A side request on a model the bound channel does not serve: served
 * elsewhere, the binding stays; moved_from names the bound channel. */
static void test_side_request_unserved_model(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    const char *a_models[] = {"claude-sonnet-*"};
    h.ch[0].models = a_models;
    h.ch[0].n_models = 1;
    sticky_decision d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sel(&h, 1, 2, HAIKU, &d), STICKY_OK);
        assert_int_equal(d.reason, STICKY_REASON_SIDE);
        assert_string_equal(d.channel_id, "B");
        assert_string_equal(d.moved_from, "A");
        assert_string_equal(sticky_reason_name(d.reason), "side");
        h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
        assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "A");
        assert_string_equal(d.moved_from, "");
        h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    }
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(h.ctx, &s), STICKY_OK);
    assert_int_equal(s.spills, 3); /* SIDE is counted with the spills */
    assert_int_equal(s.failovers, 0);
    h_stop(&h);
}

/* A family cooling on the bound channel: side; an account-wide one moves. */
static void test_side_request_family_cooling(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_decision d, hk;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    assert_int_equal(sel(&h, 1, 1, HAIKU, &hk), STICKY_OK);
    assert_string_equal(hk.channel_id, "A");
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    h_report(&h, &hk, 429, 300, STICKY_ABSENT); /* haiku limited on A */
    assert_int_equal(sel(&h, 1, 1, HAIKU, &hk), STICKY_OK);
    assert_int_equal(hk.reason, STICKY_REASON_SIDE);
    assert_string_equal(hk.channel_id, "B");
    h_report(&h, &hk, 200, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "A");
    /* A 500 cools the whole account: the session moves, once. */
    h_report(&h, &d, 500, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 1, HAIKU, &hk), STICKY_OK);
    assert_int_equal(hk.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(hk.moved_from, "A");
    sticky_release(h.ctx, &hk);
    h_stop(&h);
}

/* While only its family cools on the bound channel, every turn of a
 * conversation goes to the same fallback (keeping that account's prompt
 * cache), not wherever the placement policy points each time: 12
 * sessions bound to A, A's sonnet limited by a bare Retry-After (family
 * scope), each session's next 4 turns all on one of B, C, D, and the
 * sessions spread over them. */
static void test_side_request_stable_fallback(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 4);
    int first[12] = {0};
    sticky_decision d;
    int on_a = 0;
    for (int conv = 0; conv < 48 && on_a < 12; conv++) {
        assert_int_equal(sel(&h, conv, 1, SONNET, &d), STICKY_OK);
        h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
        if (strcmp(d.channel_id, "A") == 0)
            first[on_a++] = conv;
    }
    assert_int_equal(on_a, 12);
    /* A's own session (the first one there) meets the limit. */
    assert_int_equal(sel(&h, first[0], 2, SONNET, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    h_report(&h, &d, 429, 600, STICKY_ABSENT); /* Retry-After only: sonnet on A */
    int used[4] = {0};
    for (int i = 0; i < 12; i++) {
        int conv = first[i];
        char fallback[STICKY_ID_SIZE] = "";
        for (int turn = 3; turn <= 6; turn++) {
            h.clk.now_ms += 1000;
            assert_int_equal(sel(&h, conv, turn, SONNET, &d), STICKY_OK);
            assert_int_equal(d.reason, STICKY_REASON_SIDE);
            assert_string_equal(d.moved_from, "A");
            if (turn == 3)
                strcpy(fallback, d.channel_id);
            assert_string_equal(d.channel_id, fallback);
            h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
        }
        used[fallback[0] - 'A']++;
    }
    assert_int_equal(used[0], 0);
    assert_true((used[1] > 0) + (used[2] > 0) + (used[3] > 0) >= 2);
    h_stop(&h);
}

/* A spill names the bound channel; the turn back on it carries the spill
 * channel's name until a success there. */
static void test_spill_moved_from(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    h.ch[0].max_inflight = 1;
    sticky_decision hold, d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &hold), STICKY_OK);
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_SPILL);
    assert_string_equal(d.moved_from, "A");
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    h_report(&h, &hold, 500, STICKY_ABSENT, STICKY_ABSENT);
    h.clk.now_ms += 30000;
    assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    assert_string_equal(d.moved_from, "B");
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
    assert_string_equal(d.moved_from, "");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* A move whose first request fails: moved_from on every later decision
 * until a success on the new channel (also across a side request). */
static void test_moved_from_until_success(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    sticky_decision d;
    assert_int_equal(sel(&h, 1, 1, SONNET, &d), STICKY_OK);
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
    h_report(&h, &d, 401, STICKY_ABSENT, STICKY_ABSENT); /* A revoked */
    assert_int_equal(sel(&h, 1, 2, SONNET, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.moved_from, "A");
    const char *to = d.channel_id[0] == 'B' ? "B" : "C";
    h_report(&h, &d, 529, STICKY_ABSENT, STICKY_ABSENT); /* first request fails */
    for (int turn = 2; turn <= 4; turn++) {
        assert_int_equal(sel(&h, 1, turn, HAIKU, &d), STICKY_OK); /* side traffic */
        h_report(&h, &d, 529, STICKY_ABSENT, STICKY_ABSENT);
        assert_int_equal(sel(&h, 1, turn, SONNET, &d), STICKY_OK);
        assert_string_equal(d.channel_id, to);
        assert_true(d.reason == STICKY_REASON_HIT || d.reason == STICKY_REASON_PROMOTED_HIT);
        assert_string_equal(d.moved_from, "A");
        h_report(&h, &d, turn == 3 ? 200 : 529, STICKY_ABSENT, STICKY_ABSENT);
        if (turn == 3)
            break;
    }
    assert_int_equal(sel(&h, 1, 4, SONNET, &d), STICKY_OK);
    assert_string_equal(d.channel_id, to);
    assert_string_equal(d.moved_from, "");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolated_529_keeps_session),
        cmocka_unit_test(test_default_breaker),
        cmocka_unit_test(test_success_clears_transient),
        cmocka_unit_test(test_auth_state_until_cleared),
        cmocka_unit_test(test_auth_configured_cooldown),
        cmocka_unit_test(test_health_api_errors),
        cmocka_unit_test(test_least_bad_avoids_rate_limit_window),
        cmocka_unit_test(test_side_request_unserved_model),
        cmocka_unit_test(test_side_request_family_cooling),
        cmocka_unit_test(test_side_request_stable_fallback),
        cmocka_unit_test(test_spill_moved_from),
        cmocka_unit_test(test_moved_from_until_success),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
