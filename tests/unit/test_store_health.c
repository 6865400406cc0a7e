/*
 * tests/unit/test_store_health.c - the selector's side of shared channel
 * health (sticky_store_vtable version 2, lib/select/health_sync.c) with a
 * scripted backend: an inbox of events "received from other nodes" that
 * health_poll hands out, and an outbox recording what health_publish was
 * given. Checks: a version-1 backend's health slots are never called (even
 * when the memory behind them is not NULL); half a pair is refused; only
 * account facts are published (a 429 with a reset, refused credentials, a
 * host's clear), never noise nor what was pulled; a pulled event is
 * applied before the bound channel's usability is judged; bad events from
 * a backend are logged and ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "select_test_util.h"

#define QMAX 16

/* The plain store of select_test_util.h plus a health inbox and outbox. */
struct hstore {
    struct plain_store *p;
    sticky_health_event inbox[QMAX];
    int n_in, head;
    sticky_health_event out[QMAX];
    int n_out;
    int polls;
    int publish_rc;
};

static int hs_get(void *self, uint64_t key, int64_t now, unsigned flags, sticky_mapping *out)
{
    return plain_get(((struct hstore *)self)->p, key, now, flags, out);
}

static int hs_put(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                  sticky_mapping *existing)
{
    return plain_put(((struct hstore *)self)->p, m, now, flags, existing);
}

static int hs_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    return plain_touch(((struct hstore *)self)->p, key, now, out);
}

static int hs_del(void *self, uint64_t key, int64_t now)
{
    return plain_del(((struct hstore *)self)->p, key, now);
}

static int hs_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    return plain_sweep(((struct hstore *)self)->p, now, budget, reclaimed);
}

static int hs_stats(void *self, sticky_store_stats *out)
{
    return plain_stats(((struct hstore *)self)->p, out);
}

static void hs_destroy(void *self)
{
    struct hstore *hs = self;
    plain_destroy(hs->p);
    free(hs);
}

static int hs_publish(void *self, const sticky_health_event *ev, int64_t now_ms)
{
    struct hstore *hs = self;
    (void)now_ms;
    assert_int_equal(ev->size, sizeof(*ev));
    if (hs->n_out < QMAX)
        hs->out[hs->n_out++] = *ev;
    return hs->publish_rc;
}

static int hs_poll(void *self, sticky_health_event *out)
{
    struct hstore *hs = self;
    hs->polls++;
    if (hs->head == hs->n_in)
        return STICKY_ENOTFOUND;
    assert_int_equal(out->size, sizeof(*out));
    *out = hs->inbox[hs->head++];
    return STICKY_OK;
}

static const sticky_store_vtable hs_vtable = {
    .version = 2, .flags = 0, .name = "scripted-health",
    .get = hs_get, .put = hs_put, .touch = hs_touch, .del = hs_del, .sweep = hs_sweep,
    .stats = hs_stats, .destroy = hs_destroy,
    .health_publish = hs_publish, .health_poll = hs_poll};

/* Health methods that must never run: the backend says version 1. */
static int never_publish(void *self, const sticky_health_event *ev, int64_t now_ms)
{
    (void)self, (void)ev, (void)now_ms;
    fail_msg("health_publish called on a version-1 backend");
    return STICKY_ESTORE;
}

static int never_poll(void *self, sticky_health_event *out)
{
    (void)self, (void)out;
    fail_msg("health_poll called on a version-1 backend");
    return STICKY_ESTORE;
}

static struct hstore *start(struct harness *h, const sticky_store_vtable *vt)
{
    h_config(h);
    h->cfg.log_level = STICKY_LOG_WARN;
    h->cfg.select_policy = STICKY_POLICY_RENDEZVOUS;
    assert_int_equal(sticky_ctx_new(&h->cfg, &h->ctx), STICKY_OK);
    struct hstore *hs = calloc(1, sizeof(*hs));
    assert_non_null(hs);
    hs->p = calloc(1, sizeof(*hs->p));
    assert_non_null(hs->p);
    hs->p->cap = 256;
    hs->p->m = calloc(hs->p->cap, sizeof(*hs->p->m));
    assert_non_null(hs->p->m);
    assert_int_equal(sticky_store_new(h->ctx, vt, hs, &h->store), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h->ctx, h->store), STICKY_OK);
    static const char *ids[] = {"A", "B", "C"};
    h->n = 3;
    for (size_t i = 0; i < h->n; i++) {
        sticky_channel_init(&h->ch[i]);
        h->ch[i].id = ids[i];
    }
    return hs;
}

static sticky_health_event cooldown(const char *id, int family, int cause, int64_t until,
                                    int64_t at)
{
    sticky_health_event ev;
    sticky_health_event_init(&ev);
    strcpy(ev.channel_id, id);
    ev.family = family;
    ev.cause = cause;
    ev.until_ms = until;
    ev.at_ms = at;
    return ev;
}

static sticky_channel_health health_of(struct harness *h, const char *id)
{
    sticky_channel_health v;
    sticky_channel_health_init(&v);
    assert_int_equal(sticky_ctx_get_channel_health(h->ctx, id, &v), STICKY_OK);
    return v;
}

/* A version-1 vtable whose memory after destroy is not NULL: the core
 * copies only what version 1 defines and never calls past it. */
static void test_v1_backend_health_never_called(void **state)
{
    (void)state;
    sticky_store_vtable vt = hs_vtable;
    vt.version = 1;
    vt.health_publish = never_publish;
    vt.health_poll = never_poll;
    struct harness h;
    start(&h, &vt);
    sticky_decision d = h_turn(&h, 1, 1);
    h_fail(&h, 1, 2, 429, STICKY_ABSENT, h.clk.now_ms / 1000 + 60);
    h_fail(&h, 2, 1, 401, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(sticky_ctx_clear_channel_health(h.ctx, d.channel_id), STICKY_OK);
    h_turn(&h, 1, 3);
    h_stop(&h);
}

/* Version 2: both health methods or neither. */
static void test_v2_pair_rules(void **state)
{
    (void)state;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_store *st = NULL;
    sticky_store_vtable vt = hs_vtable;
    vt.health_poll = NULL;
    assert_int_equal(sticky_store_new(ctx, &vt, (void *)1, &st), STICKY_EINVAL);
    assert_null(st);
    vt = hs_vtable;
    vt.health_publish = NULL;
    assert_int_equal(sticky_store_new(ctx, &vt, (void *)1, &st), STICKY_EINVAL);
    sticky_ctx_free(ctx);

    /* Neither: a version-2 backend that shares nothing works as version 1. */
    struct harness h;
    vt = hs_vtable;
    vt.health_publish = NULL;
    vt.health_poll = NULL;
    struct hstore *hs = start(&h, &vt);
    h_turn(&h, 1, 1);
    h_fail(&h, 1, 2, 401, STICKY_ABSENT, STICKY_ABSENT);
    h_turn(&h, 1, 3);
    assert_int_equal(hs->polls, 0);
    assert_int_equal(hs->n_out, 0);
    h_stop(&h);
}

/* Only account facts are published; noise stays local. */
static void test_publishes_account_facts_only(void **state)
{
    (void)state;
    struct harness h;
    struct hstore *hs = start(&h, &hs_vtable);
    sticky_decision d = h_turn(&h, 1, 1);
    const char *x = d.channel_id[0] == 'A' ? "A" : d.channel_id[0] == 'B' ? "B" : "C";
    static const int noise[] = {529, 503, 500, 504, 429 /* no reset: a guess */};
    for (int i = 0; i < 5; i++) {
        h_fail(&h, 10 + i, 1, noise[i], STICKY_ABSENT, STICKY_ABSENT);
        h.clk.now_ms += 3600 * 1000; /* every cooldown over */
    }
    assert_int_equal(hs->n_out, 0);

    /* A 429 with a reset: the sonnet slot (the body's model), until the reset. */
    assert_int_equal(sticky_ctx_clear_channel_health(h.ctx, x), STICKY_OK);
    hs->n_out = 0; /* the clear above published one; checked below */
    int64_t reset_s = h.clk.now_ms / 1000 + 90;
    sticky_decision f = h_fail(&h, 1, 4, 429, STICKY_ABSENT, reset_s);
    assert_int_equal(hs->n_out, 1);
    assert_string_equal(hs->out[0].channel_id, f.channel_id);
    assert_int_equal(hs->out[0].family, STICKY_MODEL_FAMILY_SONNET);
    assert_int_equal(hs->out[0].cause, STICKY_CAUSE_RATE_LIMIT);
    assert_int_equal(hs->out[0].until_ms, reset_s * 1000);
    assert_int_equal(hs->out[0].at_ms, h.clk.now_ms);

    /* A 401: every model, until cleared. */
    f = h_fail(&h, 5, 1, 401, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(hs->n_out, 2);
    assert_string_equal(hs->out[1].channel_id, f.channel_id);
    assert_int_equal(hs->out[1].family, STICKY_MODEL_FAMILY_ALL);
    assert_int_equal(hs->out[1].cause, STICKY_CAUSE_AUTH);
    assert_true(hs->out[1].until_ms == INT64_MAX);

    /* The host's clear. */
    assert_int_equal(sticky_ctx_clear_channel_health(h.ctx, f.channel_id), STICKY_OK);
    assert_int_equal(hs->n_out, 3);
    assert_int_equal(hs->out[2].cause, STICKY_CAUSE_NONE);
    assert_int_equal(hs->out[2].family, STICKY_MODEL_FAMILY_ALL);
    assert_true(hs->out[2].until_ms == STICKY_HEALTH_CLEARED);

    /* A failed publish is logged; the local state stands. */
    hs->publish_rc = STICKY_ESTORE;
    f = h_fail(&h, 6, 1, 403, STICKY_ABSENT, STICKY_ABSENT);
    assert_non_null(strstr(h.log.all, "sharing its health"));
    assert_int_equal(health_of(&h, f.channel_id).state, STICKY_HEALTH_AUTH);
    h_stop(&h);
}

/* An event from another node is applied right after the store get, before
 * the bound channel is judged: the session fails over once; the event is
 * not published again (no echo); a clear ends it. */
static void test_pulled_event_applies_before_usability(void **state)
{
    (void)state;
    struct harness h;
    struct hstore *hs = start(&h, &hs_vtable);
    sticky_decision d = h_turn(&h, 1, 1);
    char x[STICKY_ID_SIZE];
    strcpy(x, d.channel_id);
    d = h_turn(&h, 1, 2);
    assert_int_equal(d.reason, STICKY_REASON_PROMOTED_HIT);

    hs->inbox[hs->n_in++] = cooldown(x, STICKY_MODEL_FAMILY_SONNET, STICKY_CAUSE_RATE_LIMIT,
                                     h.clk.now_ms + 60000, h.clk.now_ms);
    hs->inbox[hs->n_in++] = cooldown(x, STICKY_MODEL_FAMILY_ALL, STICKY_CAUSE_AUTH, INT64_MAX,
                                     h.clk.now_ms);
    d = h_turn(&h, 1, 3);
    assert_string_not_equal(d.channel_id, x);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.moved_from, x);
    assert_int_equal(health_of(&h, x).state, STICKY_HEALTH_AUTH);
    assert_int_equal(hs->n_out, 0); /* pulled, never published */

    /* Moved once: the next turn hits the new channel. */
    sticky_decision e = h_turn(&h, 1, 4);
    assert_string_equal(e.channel_id, d.channel_id);
    assert_int_equal(e.reason, STICKY_REASON_HIT);

    /* A pulled cooldown that ends before the local one changes nothing. */
    hs->inbox[hs->n_in++] = cooldown(x, STICKY_MODEL_FAMILY_ALL, STICKY_CAUSE_RATE_LIMIT,
                                     h.clk.now_ms + 1000, h.clk.now_ms);
    h_turn(&h, 1, 5);
    assert_int_equal(health_of(&h, x).state, STICKY_HEALTH_AUTH);

    /* A pulled clear ends every slot. */
    sticky_health_event clr = cooldown(x, STICKY_MODEL_FAMILY_ALL, STICKY_CAUSE_NONE,
                                       STICKY_HEALTH_CLEARED, h.clk.now_ms);
    hs->inbox[hs->n_in++] = clr;
    h_turn(&h, 1, 6);
    sticky_channel_health v = health_of(&h, x);
    assert_int_equal(v.state, STICKY_HEALTH_OK);
    assert_int_equal(v.cooling_families, 0);
    assert_int_equal(hs->n_out, 0);
    h_stop(&h);
}

/* A backend's malformed events are logged and dropped, never applied. */
static void test_bad_events_ignored(void **state)
{
    (void)state;
    struct harness h;
    struct hstore *hs = start(&h, &hs_vtable);
    sticky_decision d = h_turn(&h, 1, 1);
    int64_t t = h.clk.now_ms;
    hs->inbox[hs->n_in++] = cooldown(d.channel_id, 9, STICKY_CAUSE_RATE_LIMIT, t + 60000, t);
    hs->inbox[hs->n_in++] = cooldown(d.channel_id, -1, STICKY_CAUSE_RATE_LIMIT, t + 60000, t);
    hs->inbox[hs->n_in++] = cooldown(d.channel_id, 0, 99, t + 60000, t);
    hs->inbox[hs->n_in++] = cooldown("", 0, STICKY_CAUSE_AUTH, INT64_MAX, t);
    /* A clear must be family ALL with until CLEARED; a cooldown must not
     * carry CLEARED. */
    hs->inbox[hs->n_in++] = cooldown(d.channel_id, 2, STICKY_CAUSE_NONE, STICKY_HEALTH_CLEARED, t);
    hs->inbox[hs->n_in++] = cooldown(d.channel_id, 0, STICKY_CAUSE_AUTH, STICKY_HEALTH_CLEARED, t);
    sticky_health_event unterminated = cooldown("A", 0, STICKY_CAUSE_AUTH, INT64_MAX, t);
    memset(unterminated.channel_id, 'x', sizeof(unterminated.channel_id));
    hs->inbox[hs->n_in++] = unterminated;
    sticky_decision e = h_turn(&h, 1, 2);
    assert_int_equal(e.reason, STICKY_REASON_PROMOTED_HIT);
    assert_string_equal(e.channel_id, d.channel_id);
    assert_int_equal(health_of(&h, d.channel_id).state, STICKY_HEALTH_OK);
    assert_true(h.log.count[STICKY_LOG_WARN] >= 6);
    assert_non_null(strstr(h.log.all, "health event ignored"));
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_backend_health_never_called),
        cmocka_unit_test(test_v2_pair_rules),
        cmocka_unit_test(test_publishes_account_facts_only),
        cmocka_unit_test(test_pulled_event_applies_before_usability),
        cmocka_unit_test(test_bad_events_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
