/*
 * tests/unit/test_select.c - sticky_select(): new sessions by policy and
 * priority, stickiness across turns (promotion), stickiness over priority,
 * renewal and counts, failover (transient / permanent), spill, no failback,
 * strict mode, no channel / least bad, tenant isolation, store failure,
 * unkeyed requests, bad arguments. Time only moves through the fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select_test_util.h"

static void test_lru_new_sessions(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    /* Never used first, in list order; then the oldest use. */
    const char *want[] = {"A", "B", "C", "A", "B"};
    for (int i = 0; i < 5; i++) {
        h.clk.now_ms += 1000;
        sticky_decision d = h_turn(&h, 100 + i, 1);
        assert_int_equal(d.reason, STICKY_REASON_NEW);
        assert_string_equal(d.channel_id, want[i]);
        assert_int_equal(d.channel_index, (int)(d.channel_id[0] - 'A'));
        assert_int_equal(d.key_source, STICKY_KEY_SOURCE_CONTENT);
        assert_int_equal(strlen(d.key_hex), 16);
    }
    assert_non_null(strstr(h.log.all, "created sticky session"));
    h_stop(&h);
}

/* A burst of new sessions within one millisecond (the clock does not
 * move): LRU orders the uses inside the millisecond, so the burst goes
 * round the channels instead of piling onto one - also when the channels'
 * histories differ (C new, A, B and D each chosen 25 times before): a
 * tie-break on how often a channel was chosen would send the whole burst
 * to C. */
static void test_lru_burst_spreads(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 4);
    int per[4] = {0};
    for (int i = 0; i < 40; i++) {
        sticky_decision d = h_turn(&h, 300 + i, 1);
        assert_int_equal(d.reason, STICKY_REASON_NEW);
        per[d.channel_index]++;
    }
    for (int c = 0; c < 4; c++)
        assert_int_equal(per[c], 10);
    h_stop(&h);

    h_config(&h);
    h_start(&h, 4);
    h.ch[2].state = STICKY_CHANNEL_DISABLED; /* C sits out the history */
    for (int i = 0; i < 75; i++) {
        h.clk.now_ms += 1;
        sticky_decision d = h_turn(&h, 400 + i, 1);
        assert_true(d.channel_index != 2);
    }
    h.ch[2].state = STICKY_CHANNEL_ACTIVE;
    h.clk.now_ms += 1000;
    memset(per, 0, sizeof(per));
    for (int i = 0; i < 40; i++) {
        sticky_decision d = h_turn(&h, 500 + i, 1);
        per[d.channel_index]++;
    }
    for (int c = 0; c < 4; c++)
        assert_int_equal(per[c], 10);
    h_stop(&h);
}

static void test_priority_tier(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    h.ch[0].priority = 2;
    h.ch[1].priority = 1; /* B is the best tier alone */
    h.ch[2].priority = 2;
    for (int i = 0; i < 3; i++) {
        h.clk.now_ms += 1000;
        sticky_decision d = h_turn(&h, 200 + i, 1);
        assert_string_equal(d.channel_id, "B");
    }
    /* The best tier unusable: the next tier, by LRU (A before C). */
    h.ch[1].state = STICKY_CHANNEL_DISABLED;
    sticky_decision d = h_turn(&h, 210, 1);
    assert_string_equal(d.channel_id, "A");
    h_stop(&h);
}

static void test_turns_stay_together(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    sticky_decision t1 = h_turn(&h, 1, 1);
    assert_int_equal(t1.reason, STICKY_REASON_NEW);
    /* Another conversation takes the next LRU channel... */
    h.clk.now_ms += 1000;
    sticky_decision other = h_turn(&h, 2, 1);
    assert_string_not_equal(other.channel_id, t1.channel_id);
    /* ...but turn 2 of the first one comes back (K1 hit, promoted to K3). */
    h.clk.now_ms += 1000;
    sticky_decision t2 = h_turn(&h, 1, 2);
    assert_int_equal(t2.reason, STICKY_REASON_PROMOTED_HIT);
    assert_string_equal(t2.channel_id, t1.channel_id);
    /* Turn 3 hits the deepest key directly. */
    h.clk.now_ms += 1000;
    sticky_decision t3 = h_turn(&h, 1, 3);
    assert_int_equal(t3.reason, STICKY_REASON_HIT);
    assert_string_equal(t3.channel_id, t1.channel_id);
    assert_true(t3.key == t2.key);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(h.ctx, &s), STICKY_OK);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.new_sessions, 2);
    assert_int_equal(s.promoted_hits, 1);
    assert_int_equal(s.hits, 1);
    assert_non_null(strstr(h.log.all, "sticky session hit"));
    h_stop(&h);
}

static void test_renewal_and_counts(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.ttl_seconds = 3600;
    h.cfg.renew_threshold_seconds = 300;
    h_start(&h, 2);
    sticky_decision d = h_turn(&h, 3, 1);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(h.store, d.key, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.request_count, 1);
    assert_true(m.expires_ms == T0 + 3600 * 1000);
    /* A hit with plenty of time left: counted, not renewed. */
    h.clk.now_ms = T0 + 1000 * 1000;
    d = h_turn(&h, 3, 1);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(sticky_store_get(h.store, d.key, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.request_count, 2);
    assert_true(m.last_access_ms == T0 + 1000 * 1000);
    assert_true(m.expires_ms == T0 + 3600 * 1000);
    /* Under the threshold: renewed to the full TTL. */
    h.clk.now_ms = T0 + 3400 * 1000;
    d = h_turn(&h, 3, 1);
    assert_int_equal(sticky_store_get(h.store, d.key, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(m.request_count, 3);
    assert_true(m.expires_ms == T0 + (3400 + 3600) * 1000LL);
    /* Expired: a new session (the same channel is not promised). */
    h.clk.now_ms = T0 + (3400 + 3600 + 1) * 1000LL;
    d = h_turn(&h, 3, 1);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    h_stop(&h);
}

static void test_stickiness_beats_priority_and_migration(void **state)
{
    (void)state;
    for (int migrate = 0; migrate <= 1; migrate++) {
        struct harness h;
        h_config(&h);
        h.cfg.migrate_better_tier = migrate;
        h_start(&h, 2);
        h.ch[0].priority = 0; /* A is better */
        h.ch[1].priority = 1;
        h.ch[0].state = STICKY_CHANNEL_DISABLED;
        sticky_decision d = h_turn(&h, 4, 1);
        assert_string_equal(d.channel_id, "B");
        h.ch[0].state = STICKY_CHANNEL_ACTIVE; /* the better tier is back */
        h.clk.now_ms += 1000;
        d = h_turn(&h, 4, 1);
        if (!migrate) {
            assert_int_equal(d.reason, STICKY_REASON_HIT);
            assert_string_equal(d.channel_id, "B");
        } else {
            assert_int_equal(d.reason, STICKY_REASON_MIGRATED);
            assert_string_equal(d.channel_id, "A");
            assert_string_equal(d.moved_from, "B");
            d = h_turn(&h, 4, 1);
            assert_int_equal(d.reason, STICKY_REASON_HIT);
            assert_string_equal(d.channel_id, "A");
        }
        h_stop(&h);
    }
}

/* Transient trouble: 429 with a reset time moves the session once; it stays
 * on the new channel after the reset passes (no failback). */
static void test_failover_transient_no_failback(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    /* A 500 cools the whole account (a family-scoped 429 would only send
     * this family's requests elsewhere: test_select_outcomes.c). */
    sticky_decision d = h_fail(&h, 5, 1, 500, STICKY_ABSENT, STICKY_ABSENT);
    assert_string_equal(d.channel_id, "A");
    h.clk.now_ms += 1000;
    d = h_turn(&h, 5, 2);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.moved_from, "A");
    assert_string_equal(d.channel_id, "B");
    assert_non_null(strstr(h.log.all, "failover A -> B (cooling down)"));
    /* The binding was rewritten: later turns hit B... */
    d = h_turn(&h, 5, 3);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "B");
    /* No success on B reported yet (released only): the turns still may
     * carry A's thinking signatures. */
    assert_string_equal(d.moved_from, "A");
    /* ...also after A recovers. */
    h.clk.now_ms = T0 + 200 * 1000;
    char body[4096];
    assert_int_equal(h_select(&h, NULL, conv_body(5, 3, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "B");
    assert_string_equal(d.moved_from, "A");
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    /* The first success on B ends it. */
    d = h_turn(&h, 5, 3);
    assert_string_equal(d.channel_id, "B");
    assert_int_equal(d.moved_from[0], '\0');
    h_stop(&h);
}

/* Permanent trouble deletes the old binding: disabled, absent. (A model
 * the channel does not serve is a side request: test_side_request_*.) */
static void test_failover_permanent(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        struct harness h;
        h_config(&h);
        h_start(&h, 3);
        const char *models_b[] = {"claude-*"};
        const char *models_a[] = {"gpt-5"};
        char body[4096];
        sticky_decision t1 = h_turn(&h, 6, 1);
        assert_string_equal(t1.channel_id, "A");
        uint64_t k1 = t1.key;
        if (kind == 0) {
            h.ch[0].state = STICKY_CHANNEL_DISABLED;
        } else if (kind == 1) {
            h.ch[0] = h.ch[1]; /* A is no longer offered: [B, C] */
            h.ch[1] = h.ch[2];
            h.n = 2;
        } else {
            h.ch[0].models = models_a;
            h.ch[0].n_models = 1;
            h.ch[1].models = models_b;
            h.ch[1].n_models = 1;
        }
        sticky_decision d;
        assert_int_equal(h_select(&h, NULL, conv_body(6, 2, body, sizeof(body)),
                                  "claude-sonnet-4-5", 0, &d), STICKY_OK);
        assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
        assert_string_equal(d.moved_from, "A");
        assert_string_not_equal(d.channel_id, "A");
        sticky_release(h.ctx, &d);
        /* The old binding at K1 is replaced: every key of the chain now
         * names the new channel. */
        sticky_mapping m;
        sticky_mapping_init(&m);
        assert_int_equal(sticky_store_get(h.store, k1, STICKY_STORE_PEEK, &m), STICKY_OK);
        assert_string_equal(m.channel_id, d.channel_id);
        assert_int_equal(sticky_store_get(h.store, d.key, STICKY_STORE_PEEK, &m), STICKY_OK);
        assert_string_equal(m.channel_id, d.channel_id);
        h_stop(&h);
    }
}

/* A failover found at the deepest key also rewrites the shallower keys: an
 * edited turn 2 (same K1, new K2/K3) after the old channel recovers must
 * not silently return to it. */
static void test_failover_rewrites_shallower_keys(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_decision d = h_turn(&h, 20, 1); /* K1 -> A */
    d = h_turn(&h, 20, 2);                  /* promoted: K3 -> A */
    assert_string_equal(d.channel_id, "A");
    h_fail(&h, 20, 2, 500, STICKY_ABSENT, STICKY_ABSENT); /* A cools (all models) */
    d = h_turn(&h, 20, 2);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.channel_id, "B");
    h.clk.now_ms += 120 * 1000;             /* A has recovered */
    char body[4096];
    snprintf(body, sizeof(body),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"conv 20 msg 0\"},"
             "{\"role\":\"assistant\",\"content\":\"an edited answer\"},"
             "{\"role\":\"user\",\"content\":\"a forked question\"}]}");
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_PROMOTED_HIT);
    assert_string_equal(d.channel_id, "B");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_spill_keeps_binding(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    h.ch[0].max_inflight = 1;
    char body[4096];
    sticky_decision first, second;
    assert_int_equal(h_select(&h, NULL, conv_body(7, 1, body, sizeof(body)), NULL, 0, &first),
                     STICKY_OK);
    assert_string_equal(first.channel_id, "A");
    /* A is at its cap while the first attempt runs: spill to B. */
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &second), STICKY_OK);
    assert_int_equal(second.reason, STICKY_REASON_SPILL);
    assert_string_equal(second.channel_id, "B");
    sticky_release(h.ctx, &second);
    sticky_release(h.ctx, &first);
    sticky_release(h.ctx, &first); /* idempotent */
    /* The binding stayed on A. */
    sticky_decision third = h_turn(&h, 7, 1);
    assert_int_equal(third.reason, STICKY_REASON_HIT);
    assert_string_equal(third.channel_id, "A");
    h_stop(&h);
}

static void test_strict_mode(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    int64_t reset = T0 / 1000 + 90;
    h_fail(&h, 8, 1, 429, STICKY_ABSENT, reset);
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(8, 1, body, sizeof(body)), NULL,
                              STICKY_SELECT_STRICT, &d), STICKY_ENOCHANNEL);
    assert_int_equal(d.reason, STICKY_REASON_NO_CHANNEL);
    assert_true(d.retry_at_ms == reset * 1000);
    assert_int_equal(d.channel_index, -1);
    assert_int_equal(d.attempt, 0);
    /* After the reset the strict session is served by its own channel. */
    h.clk.now_ms = reset * 1000;
    assert_int_equal(h_select(&h, NULL, body, NULL, STICKY_SELECT_STRICT, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "A");
    sticky_release(h.ctx, &d);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(h.ctx, &s);
    assert_int_equal(s.strict_rejections, 1);
    h_stop(&h);
}

/* Strict requests are never moved, not even by tier migration. */
static void test_strict_never_migrates(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.migrate_better_tier = 1;
    h_start(&h, 2);
    h.ch[0].priority = 0;
    h.ch[1].priority = 1;
    h.ch[0].state = STICKY_CHANNEL_DISABLED;
    sticky_decision d = h_turn(&h, 21, 1);
    assert_string_equal(d.channel_id, "B");
    h.ch[0].state = STICKY_CHANNEL_ACTIVE;
    char body[4096];
    assert_int_equal(h_select(&h, NULL, conv_body(21, 1, body, sizeof(body)), NULL,
                              STICKY_SELECT_STRICT, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "B");
    assert_int_equal(d.moved_from[0], '\0');
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* least_bad for a bound session whose own channel recovers first: it
 * stays, and no move is reported. */
static void test_least_bad_keeps_bound_channel(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.least_bad = 1;
    h_start(&h, 2);
    sticky_decision a = h_fail(&h, 22, 1, 429, 30, STICKY_ABSENT);  /* A: 30 s */
    assert_string_equal(a.channel_id, "A");
    sticky_decision b = h_fail(&h, 23, 1, 429, 300, STICKY_ABSENT); /* B: 300 s */
    assert_string_equal(b.channel_id, "B");
    sticky_decision d;
    char body[4096];
    assert_int_equal(h_select(&h, NULL, conv_body(22, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(d.moved_from[0], '\0');
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* requests == the sum of the outcome counters, over every kind of path;
 * requests whose key cannot be derived are not counted. */
static void test_stats_add_up(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.least_bad = 0;
    h_start(&h, 2);
    h.ch[0].max_inflight = 1;
    char body[4096];
    sticky_decision d, hold;
    h_turn(&h, 30, 1);                                       /* new */
    h_turn(&h, 30, 2);                                       /* promoted */
    h_turn(&h, 30, 2);                                       /* hit */
    assert_int_equal(h_select(&h, NULL, conv_body(30, 2, body, sizeof(body)), NULL, 0, &hold),
                     STICKY_OK);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK); /* spill */
    assert_int_equal(d.reason, STICKY_REASON_SPILL);
    sticky_release(h.ctx, &d);
    assert_int_equal(h_select(&h, NULL, body, NULL, STICKY_SELECT_STRICT, &d),
                     STICKY_ENOCHANNEL);                     /* strict rejection */
    sticky_release(h.ctx, &hold);
    sticky_outcome late;
    sticky_outcome_init(&late);
    late.status = 429;
    assert_int_equal(sticky_report(h.ctx, &hold, &late), STICKY_ENOTFOUND); /* released */
    sticky_decision f = h_fail(&h, 30, 2, 500, STICKY_ABSENT, STICKY_ABSENT);      /* hit, then A cools */
    (void)f;
    h_turn(&h, 30, 2);                                       /* failover */
    h.ch[1].state = STICKY_CHANNEL_DISABLED;
    assert_int_equal(h_select(&h, NULL, conv_body(31, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_ENOCHANNEL);                     /* no channel */
    assert_int_equal(h_select(&h, NULL, "{\"messages\":[", NULL, 0, &d), STICKY_EPARSE);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(h.ctx, &s), STICKY_OK);
    assert_int_equal(s.requests, 9);
    assert_int_equal(s.hits + s.promoted_hits + s.new_sessions + s.failovers + s.spills +
                         s.migrations + s.strict_rejections + s.no_channel,
                     s.requests);
    assert_int_equal(s.strict_rejections, 1);
    assert_int_equal(s.spills, 1);
    assert_int_equal(s.failovers, 1);
    assert_int_equal(s.no_channel, 1);
    h_stop(&h);
}

static void test_no_channel_and_least_bad(void **state)
{
    (void)state;
    for (int least_bad = 0; least_bad <= 1; least_bad++) {
        struct harness h;
        h_config(&h);
        h.cfg.least_bad = least_bad;
        h_start(&h, 2);
        int64_t reset_a = T0 / 1000 + 500, reset_b = T0 / 1000 + 100;
        sticky_decision a = h_fail(&h, 9, 1, 429, STICKY_ABSENT, reset_a);
        assert_string_equal(a.channel_id, "A");
        sticky_decision b = h_fail(&h, 10, 1, 429, STICKY_ABSENT, reset_b);
        assert_string_equal(b.channel_id, "B");
        char body[4096];
        sticky_decision d;
        int rc = h_select(&h, NULL, conv_body(11, 1, body, sizeof(body)), NULL, 0, &d);
        if (!least_bad) {
            assert_int_equal(rc, STICKY_ENOCHANNEL);
            assert_int_equal(d.reason, STICKY_REASON_NO_CHANNEL);
            assert_true(d.retry_at_ms == reset_b * 1000); /* the earliest */
        } else {
            assert_int_equal(rc, STICKY_OK);
            assert_string_equal(d.channel_id, "B"); /* recovers first */
            sticky_release(h.ctx, &d);
        }
        /* All disabled: no retry time can be promised. */
        h.ch[0].state = h.ch[1].state = STICKY_CHANNEL_DISABLED;
        assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_ENOCHANNEL);
        assert_true(d.retry_at_ms == 0);
        h_stop(&h);
    }
}

/* A binding is only honoured for a channel in this request's list. */
static void test_tenant_isolation(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    chain.source = STICKY_KEY_SOURCE_EXPLICIT;
    chain.n_keys = 1;
    chain.keys[0] = 0x1234567890abcdefULL;
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    sticky_decision d;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 3, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &d);
    /* Same key, but this tenant is only offered B and C. */
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(h.ctx, &r, &h.ch[1], 2, &d), STICKY_OK);
    assert_string_not_equal(d.channel_id, "A");
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_int_equal(d.channel_index, d.channel_id[0] == 'B' ? 0 : 1);
    sticky_release(h.ctx, &d);
    /* The explicit key hits as an explicit-id hit. */
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(h.ctx, &r, &h.ch[1], 2, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_EXPLICIT_HIT);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static int failing_get(void *self, uint64_t key, int64_t now, unsigned flags, sticky_mapping *out)
{
    (void)self, (void)key, (void)now, (void)flags, (void)out;
    return STICKY_ESTORE;
}
static int failing_put(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                       sticky_mapping *existing)
{
    (void)self, (void)m, (void)now, (void)flags, (void)existing;
    return STICKY_ESTORE;
}
static int failing_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    (void)self, (void)key, (void)now, (void)out;
    return STICKY_ESTORE;
}
static int failing_del(void *self, uint64_t key, int64_t now)
{
    (void)self, (void)key, (void)now;
    return STICKY_ESTORE;
}
static int failing_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    (void)self, (void)now, (void)budget, (void)reclaimed;
    return STICKY_ESTORE;
}
static int failing_stats(void *self, sticky_store_stats *out)
{
    (void)self, (void)out;
    return STICKY_ESTORE;
}
static void failing_destroy(void *self)
{
    (void)self;
}

/* A store where a concurrent first request always won: get finds nothing,
 * put-if-absent reports the winner's binding to "A"; plain puts are kept. */
struct racing {
    int plain_puts;
    char last_plain[STICKY_ID_SIZE];
};
static int racing_get(void *self, uint64_t key, int64_t now, unsigned flags, sticky_mapping *out)
{
    (void)self, (void)key, (void)now, (void)flags, (void)out;
    return STICKY_ENOTFOUND;
}
static int racing_put(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                      sticky_mapping *existing)
{
    struct racing *r = self;
    (void)now;
    if (flags & STICKY_STORE_IF_ABSENT) {
        if (existing != NULL) { /* the winner: same session, same tenant */
            existing->key = m->key;
            strcpy(existing->channel_id, "A");
            strcpy(existing->tenant_id, m->tenant_id);
        }
        return STICKY_EEXIST;
    }
    r->plain_puts++;
    strcpy(r->last_plain, m->channel_id);
    return STICKY_OK;
}

/* The loser of a first-request race treats the winner's binding like any
 * binding: usable -> hit; cooling -> one failover (reported, moved_from);
 * strict -> refused, never a silent overwrite. */
static void test_race_loser_follows_winner(void **state)
{
    (void)state;
    static const sticky_store_vtable vt = {
        .version = 1, .flags = STICKY_STORE_CAP_THREAD_SAFE, .name = "racing",
        .get = racing_get, .put = racing_put, .touch = failing_touch, .del = failing_del,
        .sweep = failing_sweep,
        .stats = failing_stats, .destroy = failing_destroy};
    struct harness h;
    h_config(&h);
    h.cfg.select_policy = STICKY_POLICY_LRU;
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    struct racing race = {0, ""};
    sticky_store *st = NULL;
    assert_int_equal(sticky_store_new(h.ctx, &vt, &race, &st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h.ctx, st), STICKY_OK);
    static const char *ids[] = {"A", "B"};
    h.n = 2;
    for (int i = 0; i < 2; i++) {
        sticky_channel_init(&h.ch[i]);
        h.ch[i].id = ids[i];
    }
    char body[4096];
    conv_body(40, 1, body, sizeof(body));
    sticky_decision d;
    /* Our policy would pick A anyway; make it pick B: A used recently. */
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A"); /* usable winner: follow it */
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(race.plain_puts, 0);
    /* The winner's channel cools down: the loser moves once, visibly. */
    h_report(&h, &d, 500, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.channel_id, "B");
    assert_string_equal(d.moved_from, "A");
    assert_int_equal(race.plain_puts, 1);
    sticky_release(h.ctx, &d);
    /* Strict: refused, nothing overwritten. */
    assert_int_equal(h_select(&h, NULL, body, NULL, STICKY_SELECT_STRICT, &d), STICKY_ENOCHANNEL);
    assert_int_equal(race.plain_puts, 1);
    sticky_store_free(st);
    sticky_ctx_free(h.ctx);
}

static void test_store_failure_degrades(void **state)
{
    (void)state;
    static const sticky_store_vtable vt = {
        .version = 1, .flags = STICKY_STORE_CAP_THREAD_SAFE, .name = "failing",
        .get = failing_get, .put = failing_put, .touch = failing_touch, .del = failing_del,
        .sweep = failing_sweep,
        .stats = failing_stats, .destroy = failing_destroy};
    struct harness h;
    h_config(&h);
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    sticky_store *bad = NULL;
    static int dummy;
    assert_int_equal(sticky_store_new(h.ctx, &vt, &dummy, &bad), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h.ctx, bad), STICKY_OK);
    h.n = 3;
    static const char *ids[] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
        sticky_channel_init(&h.ch[i]);
        h.ch[i].id = ids[i];
    }
    /* Every decision still comes, flagged; the same session lands on the
     * same channel each time (rendezvous, not LRU). */
    char first[STICKY_ID_SIZE] = "";
    for (int i = 0; i < 4; i++) {
        h.clk.now_ms += 1000;
        sticky_decision d = h_turn(&h, 12, 2);
        assert_int_equal(d.store_degraded, 1);
        assert_int_equal(d.reason, STICKY_REASON_NEW);
        if (i == 0)
            strcpy(first, d.channel_id);
        assert_string_equal(d.channel_id, first);
    }
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(h.ctx, &s);
    assert_int_equal(s.store_errors, 4);
    assert_non_null(strstr(h.log.all, "session store get failed"));
    /* set_store after the first selection is refused. */
    assert_int_equal(sticky_ctx_set_store(h.ctx, NULL), STICKY_EBUSY);
    sticky_store_free(bad);
    sticky_ctx_free(h.ctx);
}

static void test_default_store_and_unkeyed(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_channel ch[2];
    sticky_channel_init(&ch[0]);
    sticky_channel_init(&ch[1]);
    ch[0].id = "x";
    ch[1].id = "y";
    sticky_request r;
    sticky_request_init(&r);
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    r.body = body;
    r.body_len = strlen(body);
    sticky_decision d;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(ctx, &r, ch, 2, &d), STICKY_OK); /* default store */
    sticky_release(ctx, &d);
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(ctx, &r, ch, 2, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    sticky_release(ctx, &d);
    /* Nothing to key on: placed by policy, not bound. */
    r.body = "{\"messages\":[]}";
    r.body_len = strlen(r.body);
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(ctx, &r, ch, 2, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_int_equal(d.key_source, STICKY_KEY_SOURCE_NONE);
    assert_true(d.key == 0);
    sticky_release(ctx, &d);
    sticky_ctx_free(ctx);
}

/* More channels than fit on the stack (heap path): every allocation is
 * returned; and a sticky hit looks up only its own channel's health. */
static void test_many_channels_and_lazy_health(void **state)
{
    (void)state;
    struct counting_alloc a = {0, 0, 0, -1};
    sticky_config cfg;
    sticky_config_init(&cfg);
    counting_alloc_install(&cfg, &a);
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_store *st = NULL;
    assert_int_equal(sticky_memory_store_new(ctx, NULL, &st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(ctx, st), STICKY_OK);
    enum { N = 40 };
    static char names[N][8];
    sticky_channel ch[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "C%d", i);
        sticky_channel_init(&ch[i]);
        ch[i].id = names[i];
    }
    /* A binding made elsewhere (another node): K -> C37. */
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 0xfeed;
    strcpy(m.channel_id, "C37");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    chain.source = STICKY_KEY_SOURCE_CONTENT;
    chain.n_keys = 1;
    chain.keys[0] = 0xfeed;
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    sticky_decision d;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(ctx, &r, ch, N, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_int_equal(d.channel_index, 37);
    sticky_release(ctx, &d);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(ctx, &s);
    assert_int_equal(s.channels, 1); /* only C37's health was needed */
    /* New sessions over all 40: LRU walks them in list order. */
    for (uint64_t k = 1; k <= N; k++) {
        chain.keys[0] = k;
        sticky_decision_init(&d);
        assert_int_equal(sticky_select(ctx, &r, ch, N, &d), STICKY_OK);
        assert_int_equal(d.reason, STICKY_REASON_NEW);
        sticky_release(ctx, &d);
    }
    sticky_ctx_get_stats(ctx, &s);
    assert_int_equal(s.channels, N);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    assert_int_equal(a.mallocs, a.frees);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_request r;
    sticky_request_init(&r);
    sticky_decision d;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(NULL, &r, h.ch, 2, &d), STICKY_EINVAL);
    assert_int_equal(sticky_select(h.ctx, NULL, h.ch, 2, &d), STICKY_EINVAL);
    assert_int_equal(sticky_select(h.ctx, &r, NULL, 2, &d), STICKY_EINVAL);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 0, &d), STICKY_EINVAL);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 5000, &d), STICKY_EINVAL);
    h.ch[1].id = "";
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EINVAL);
    h.ch[1].id = NULL;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EINVAL);
    h.ch[1].id = "B";
    h.ch[1].state = 7;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EINVAL);
    h.ch[1].state = 0;
    h.ch[1].size = 3; /* inconsistent stride */
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EABI);
    h.ch[1].size = sizeof(sticky_channel);
    r.body = "{\"messages\":[";
    r.body_len = strlen(r.body);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EPARSE);
    assert_int_equal(d.channel_index, -1);
    r.body = NULL;
    r.body_len = 0;
    r.model_len = 4;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EINVAL);
    r.model_len = 0;
    d.size = 0;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 2, &d), STICKY_EABI);
    /* report / release argument checks */
    sticky_decision_init(&d);
    sticky_outcome o;
    sticky_outcome_init(&o);
    assert_int_equal(sticky_report(NULL, &d, &o), STICKY_EINVAL);
    assert_int_equal(sticky_report(h.ctx, &d, NULL), STICKY_EINVAL);
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_EINVAL); /* carries no channel */
    assert_string_equal(h.log.last, "report: decision.channel_id: empty (the decision carries no channel)");
    assert_int_equal(sticky_release(h.ctx, &d), STICKY_OK);         /* nothing to release */
    assert_int_equal(sticky_release(h.ctx, NULL), STICKY_EINVAL);
    memset(d.channel_id, 'x', sizeof(d.channel_id)); /* unterminated */
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_EINVAL);
    assert_string_equal(sticky_reason_name(STICKY_REASON_SPILL), "spill");
    assert_string_equal(sticky_reason_name(99), "none");
    assert_string_equal(sticky_model_family_name(STICKY_MODEL_FAMILY_ALL), "all");
    assert_string_equal(sticky_model_family_name(STICKY_MODEL_FAMILY_SONNET), "sonnet");
    assert_string_equal(sticky_model_family_name(STICKY_MODEL_FAMILY_HAIKU), "haiku");
    assert_string_equal(sticky_model_family_name(STICKY_MODEL_FAMILY_OTHER), "other");
    assert_string_equal(sticky_model_family_name(-1), "unknown");
    assert_string_equal(sticky_model_family_name(5), "unknown");
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_new_sessions),
        cmocka_unit_test(test_lru_burst_spreads),
        cmocka_unit_test(test_priority_tier),
        cmocka_unit_test(test_turns_stay_together),
        cmocka_unit_test(test_renewal_and_counts),
        cmocka_unit_test(test_stickiness_beats_priority_and_migration),
        cmocka_unit_test(test_failover_transient_no_failback),
        cmocka_unit_test(test_failover_permanent),
        cmocka_unit_test(test_failover_rewrites_shallower_keys),
        cmocka_unit_test(test_spill_keeps_binding),
        cmocka_unit_test(test_strict_mode),
        cmocka_unit_test(test_strict_never_migrates),
        cmocka_unit_test(test_least_bad_keeps_bound_channel),
        cmocka_unit_test(test_stats_add_up),
        cmocka_unit_test(test_no_channel_and_least_bad),
        cmocka_unit_test(test_tenant_isolation),
        cmocka_unit_test(test_race_loser_follows_winner),
        cmocka_unit_test(test_store_failure_degrades),
        cmocka_unit_test(test_default_store_and_unkeyed),
        cmocka_unit_test(test_many_channels_and_lazy_health),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
