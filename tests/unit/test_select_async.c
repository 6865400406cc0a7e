/*
 * tests/unit/test_select_async.c - sticky_select_start(),
 * sticky_select_cancel() (lib/select/select_async.c) and
 * sticky_report_async() (lib/select/report.c) against the queued
 * version-3 fake store (fake_async_store.c): decisions identical to
 * sticky_select() over many conversations (hits, promotions, new
 * sessions, failovers with chain rewrites, migrations, spills); the inline
 * path of a non-blocking store (final result, no callback, no allocation);
 * STICKY_EWOULDBLOCK and STICKY_ASYNC_MAY_BLOCK; cancel in each phase;
 * injected store errors decided as sticky_select() decides on a failing
 * store; a lost claim race; the caller's channels not read after start;
 * sticky_report_async() (publish not waited for, failures counted, the
 * would-block rule per store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "fake_async_store.h"
#include "select_test_util.h"

/* ---- harness ------------------------------------------------------------- */

struct cb_rec {
    int calls;
    int rc;
    sticky_select_op *op;
    sticky_ctx *ctx;
    int cancel_rc; /* sticky_select_cancel() of its own op from inside */
    int try_cancel;
};

static void on_decision(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    struct cb_rec *r = user;
    (void)d;
    r->calls++;
    r->rc = rc;
    r->op = op;
    if (r->try_cancel)
        r->cancel_rc = sticky_select_cancel(r->ctx, op);
}

static void config(struct harness *h)
{
    h_config(h);
    h->cfg.log_level = STICKY_LOG_WARN;
    h->cfg.migrate_better_tier = 1;
}

/* A context on the fake async store, channels "A".. */
static struct fake_async_store *start_async(struct harness *h, size_t n_channels,
                                            const struct fake_async_options *o)
{
    static const char *ids[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    struct fake_async_store *fs;
    assert_int_equal(sticky_ctx_new(&h->cfg, &h->ctx), STICKY_OK);
    assert_int_equal(fake_async_store_new(h->ctx, o, &fs, &h->store), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h->ctx, h->store), STICKY_OK);
    h->n = n_channels;
    for (size_t i = 0; i < n_channels; i++) {
        sticky_channel_init(&h->ch[i]);
        h->ch[i].id = ids[i];
    }
    return fs;
}

static void req_for(sticky_request *r, const char *tenant, const char *body)
{
    sticky_request_init(r);
    r->tenant = tenant ? tenant : "t1";
    r->tenant_len = strlen(r->tenant);
    r->body = body;
    r->body_len = body ? strlen(body) : 0;
}

/* Start a selection and complete it: pump the fake with @inject until the
 * callback ran. Returns the decision's code. */
static int async_select(struct harness *h, struct fake_async_store *fs, const char *tenant,
                        const char *body, int inject, sticky_decision *d)
{
    sticky_request r;
    req_for(&r, tenant, body);
    sticky_decision_init(d);
    struct cb_rec rec = {0};
    sticky_select_op *op = (sticky_select_op *)&rec; /* must be overwritten */
    int rc = sticky_select_start(h->ctx, &r, h->ch, h->n, d, 0, on_decision, &rec, &op);
    if (rc != STICKY_EINPROGRESS) {
        assert_null(op);
        assert_int_equal(rec.calls, 0);
        return rc;
    }
    assert_non_null(op);
    for (int i = 0; i < 100 && rec.calls == 0; i++)
        assert_int_equal(fake_async_pump(fs, 1, inject), 1);
    assert_int_equal(rec.calls, 1);
    assert_ptr_equal(rec.op, op);
    /* Follow-up writes (promotion, rewrites) run behind the decision. */
    for (int i = 0; i < 100 && fake_async_pending(fs) > 0; i++)
        assert_int_equal(fake_async_pump(fs, 1, inject), 1);
    assert_int_equal(fake_async_pending(fs), 0);
    assert_int_equal(rec.calls, 1);
    return rec.rc;
}

static void assert_same(const sticky_decision *s, const sticky_decision *a, const char *what)
{
    if (s->reason != a->reason || strcmp(s->channel_id, a->channel_id) != 0 ||
        strcmp(s->moved_from, a->moved_from) != 0 || s->store_degraded != a->store_degraded ||
        s->key != a->key || s->channel_index != a->channel_index ||
        s->retry_at_ms != a->retry_at_ms || strcmp(s->model, a->model) != 0)
        fail_msg("%s: sync %s %s (from %s, degraded %d) != async %s %s (from %s, degraded %d)",
                 what, sticky_reason_name(s->reason), s->channel_id, s->moved_from,
                 s->store_degraded, sticky_reason_name(a->reason), a->channel_id,
                 a->moved_from, a->store_degraded);
}

static uint32_t in_flight(struct harness *h, const char *id)
{
    sticky_channel_health v;
    sticky_channel_health_init(&v);
    int rc = sticky_ctx_get_channel_health(h->ctx, id, &v);
    if (rc == STICKY_ENOTFOUND)
        return 0;
    assert_int_equal(rc, STICKY_OK);
    return v.in_flight;
}

static uint64_t requests_of(struct harness *h)
{
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(h->ctx, &s), STICKY_OK);
    return s.requests;
}

static uint64_t store_errors_of(struct harness *h)
{
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(h->ctx, &s), STICKY_OK);
    return s.store_errors;
}

/* ---- parity ---------------------------------------------------------------- */

/* The sync decision of the latest both(). */
static sticky_decision last_sync;

/* One step of the script, applied to both contexts. */
static void both(struct harness *s, struct harness *a, struct fake_async_store *fs,
                 const char *tenant, int conv, int turn, int report_status, const char *what)
{
    char body[8192];
    conv_body(conv, turn, body, sizeof(body));
    sticky_decision ds, da;
    sticky_request r;
    req_for(&r, tenant, body);
    sticky_decision_init(&ds);
    int rs = sticky_select(s->ctx, &r, s->ch, s->n, &ds);
    int ra = async_select(a, fs, tenant, body, 0, &da);
    assert_int_equal(rs, ra);
    char tag[128];
    snprintf(tag, sizeof(tag), "%s conv %d turn %d", what, conv, turn);
    assert_same(&ds, &da, tag);
    last_sync = ds;
    if (rs != STICKY_OK)
        return;
    if (report_status != 0) {
        h_report(s, &ds, report_status, 600, STICKY_ABSENT);
        h_report(a, &da, report_status, 600, STICKY_ABSENT);
    } else {
        sticky_release(s->ctx, &ds);
        sticky_release(a->ctx, &da);
    }
}

static void tick(struct harness *s, struct harness *a, int64_t ms)
{
    s->clk.now_ms += ms;
    a->clk.now_ms += ms;
}

/* Many conversations through sticky_select() on the memory store and
 * through sticky_select_start() on the async fake: identical decisions
 * (reason, channel, moved_from, degraded, key, retry time) at every step:
 * new sessions, hits, promoted hits of forked turns, failovers after a
 * 429 and after a channel is disabled (chain rewrites), migrations to a
 * better tier, tenants. */
static void test_parity_with_sync(void **state)
{
    (void)state;
    struct harness s, a;
    config(&s);
    config(&a);
    h_start(&s, 4);
    struct fake_async_store *fs = start_async(&a, 4, NULL);
    const char *tenants[] = {"t1", "t2", NULL};
    for (int conv = 1; conv <= 30; conv++) {
        const char *t = tenants[conv % 3];
        for (int turn = 1; turn <= 4; turn++) {
            both(&s, &a, fs, t, conv, turn, 0, "plain");
            tick(&s, &a, 7);
        }
        both(&s, &a, fs, t, conv, 2, 0, "fork"); /* a shallower key */
        both(&s, &a, fs, t, conv, 5, 0, "after fork");
    }
    /* a 429 with retry-after on whatever conversation 4 uses: failover */
    both(&s, &a, fs, tenants[1], 4, 6, 429, "429");
    for (int conv = 1; conv <= 30; conv++)
        both(&s, &a, fs, tenants[conv % 3], conv, 7, 0, "after 429");
    /* a channel disabled: its sessions move, every chain key rewritten */
    s.ch[1].state = STICKY_CHANNEL_DISABLED;
    a.ch[1].state = STICKY_CHANNEL_DISABLED;
    for (int conv = 1; conv <= 30; conv++) {
        both(&s, &a, fs, tenants[conv % 3], conv, 8, 0, "disabled");
        both(&s, &a, fs, tenants[conv % 3], conv, 3, 0, "disabled fork");
    }
    s.ch[1].state = STICKY_CHANNEL_ACTIVE;
    a.ch[1].state = STICKY_CHANNEL_ACTIVE;
    /* a better tier appears: migrations */
    s.ch[3].priority = -1;
    a.ch[3].priority = -1;
    for (int conv = 1; conv <= 30; conv++)
        both(&s, &a, fs, tenants[conv % 3], conv, 9, 0, "migrate");
    tick(&s, &a, 700000);
    for (int conv = 1; conv <= 30; conv++)
        both(&s, &a, fs, tenants[conv % 3], conv, 10, 0, "later");
    /* unkeyed requests: no store call at all, final at once */
    both(&s, &a, fs, "t1", 0, 0, 0, "unkeyed");

    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.sync_calls, 0); /* everything went through the async methods */
    assert_true(c.started[FAKE_OP_LOOKUP] > 150);
    assert_true(c.started[FAKE_OP_PUT] > 60);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(in_flight(&a, a.ch[i].id), 0);
        assert_int_equal(in_flight(&a, a.ch[i].id), in_flight(&s, s.ch[i].id));
    }
    /* the same counters, field by field */
    sticky_ctx_stats ss, sa;
    sticky_ctx_stats_init(&ss);
    sticky_ctx_stats_init(&sa);
    assert_int_equal(sticky_ctx_get_stats(s.ctx, &ss), STICKY_OK);
    assert_int_equal(sticky_ctx_get_stats(a.ctx, &sa), STICKY_OK);
    assert_memory_equal(&ss, &sa, sizeof(ss));
    assert_true(ss.failovers > 0 && ss.migrations > 0 && ss.promoted_hits > 0 &&
                ss.tenant_mismatches == 0 && ss.new_sessions >= 30);
    h_stop(&s);
    h_stop(&a);
}

static sticky_mapping peek(sticky_store *st, uint64_t key)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(st, key, STICKY_STORE_PEEK, &m), STICKY_OK);
    return m;
}

/* A failover rewrites the chain; a shallower key holding this tenant's
 * binding to another channel gets the follow-up plain put (W_SHALLOW), in
 * both paths, with the same result in the store. */
static void test_failover_rewrites_shallow_keys(void **state)
{
    (void)state;
    struct harness s, a;
    config(&s);
    config(&a);
    h_start(&s, 4);
    struct fake_async_store *fs = start_async(&a, 4, NULL);
    sticky_store *stores[2] = {s.store, fake_async_inner(fs)};
    both(&s, &a, fs, NULL, 1, 1, 0, "shallow: turn 1");
    sticky_decision d1 = last_sync;
    both(&s, &a, fs, NULL, 1, 3, 0, "shallow: turn 3");
    /* K1 (turn 1's only key) now bound, for this tenant, elsewhere */
    for (int k = 0; k < 2; k++) {
        sticky_mapping m = peek(stores[k], d1.key);
        strcpy(m.channel_id, "Z");
        assert_int_equal(sticky_store_put(stores[k], &m, 0, NULL), STICKY_OK);
    }
    size_t bound = (size_t)(d1.channel_id[0] - 'A');
    s.ch[bound].state = STICKY_CHANNEL_DISABLED;
    a.ch[bound].state = STICKY_CHANNEL_DISABLED;
    struct fake_async_counts before, after;
    fake_async_counts(fs, &before);
    both(&s, &a, fs, NULL, 1, 3, 0, "shallow: failover");
    fake_async_counts(fs, &after);
    sticky_mapping ms = peek(stores[0], d1.key), ma = peek(stores[1], d1.key);
    assert_string_not_equal(ms.channel_id, "Z");
    assert_string_equal(ms.channel_id, ma.channel_id);
    /* every chain key rewritten, plus the follow-up on K1 */
    char body[8192];
    sticky_request r;
    req_for(&r, NULL, conv_body(1, 3, body, sizeof(body)));
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    assert_int_equal(sticky_key_derive(a.ctx, &r, &chain), STICKY_OK);
    assert_true(chain.n_keys >= 2);
    assert_int_equal(chain.keys[0], d1.key);
    assert_int_equal(after.started[FAKE_OP_PUT] - before.started[FAKE_OP_PUT],
                     chain.n_keys + 1);
    h_stop(&s);
    h_stop(&a);
}

/* ---- the inline path --------------------------------------------------- */

/* A memory store answers from memory: the result is final, the callback
 * never runs, @op is NULL, and nothing is allocated beyond sticky_select(). */
static void test_inline_memory_store_no_alloc(void **state)
{
    (void)state;
    struct counting_alloc ca = {0, 0, 0, -1};
    struct harness h;
    config(&h);
    counting_alloc_install(&h.cfg, &ca);
    h_start(&h, 3);
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    struct cb_rec rec = {0};
    sticky_decision d;
    sticky_decision_init(&d);
    sticky_select_op *op = (sticky_select_op *)&rec;
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op),
                     STICKY_OK);
    assert_null(op);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &d);
    /* warm: turn 2 bound at its deepest key by sync selections */
    conv_body(1, 2, body, sizeof(body));
    req_for(&r, NULL, body);
    sticky_decision e;
    for (int i = 0; i < 3; i++) {
        sticky_decision_init(&e);
        assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &e), STICKY_OK);
        sticky_release(h.ctx, &e);
    }
    for (int i = 0; i < 3; i++) {
        long before = ca.mallocs;
        assert_int_equal(
            sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op),
            STICKY_OK);
        long start_allocs = ca.mallocs - before;
        assert_null(op);
        assert_int_equal(d.reason, STICKY_REASON_HIT);
        sticky_release(h.ctx, &d);
        before = ca.mallocs;
        sticky_decision_init(&e);
        assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &e), STICKY_OK);
        sticky_release(h.ctx, &e);
        assert_int_equal(start_allocs, ca.mallocs - before); /* no extra allocation */
    }
    assert_int_equal(rec.calls, 0);
    h_stop(&h);
    assert_int_equal(ca.live, 0);
}

/* The shared-memory store and a version-3 store that answers at once:
 * final results, no callback, no handle, the same decisions as
 * sticky_select() on the same kind of store. */
static void test_inline_shm_and_immediate_v3(void **state)
{
    (void)state;
    /* shm: non-blocking, not asynchronous */
    struct harness h;
    config(&h);
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    char path[] = "/tmp/sticky-async-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.flags = STICKY_SHM_CREATE;
    o.max_sessions = 1000;
    o.max_tenants = 8;
    o.max_channels = 16;
    sticky_shm *shm;
    assert_int_equal(sticky_shm_open(h.ctx, path, &o, &shm), STICKY_OK);
    unlink(path);
    assert_int_equal(sticky_shm_store_new(shm, &h.store), STICKY_OK);
    sticky_shm_close(shm);
    assert_int_equal(sticky_store_nonblocking(h.store), 1);
    assert_int_equal(sticky_ctx_set_store(h.ctx, h.store), STICKY_OK);
    h.n = 2;
    sticky_channel_init(&h.ch[0]);
    sticky_channel_init(&h.ch[1]);
    h.ch[0].id = "A";
    h.ch[1].id = "B";
    char body[4096];
    sticky_decision d, first;
    for (int turn = 1; turn <= 3; turn++) {
        assert_int_equal(async_select(&h, NULL, NULL, conv_body(1, turn, body, sizeof(body)), 0,
                                      &d),
                         STICKY_OK); /* asserts: no handle, no callback */
        if (turn == 1)
            first = d;
        if (turn == 1)
            assert_int_equal(d.reason, STICKY_REASON_NEW);
        else
            assert_true(d.reason == STICKY_REASON_HIT || d.reason == STICKY_REASON_PROMOTED_HIT);
        assert_string_equal(d.channel_id, first.channel_id);
        sticky_release(h.ctx, &d);
    }
    h_stop(&h);

    /* version 3, answering at once: decided inline, through the async methods */
    struct harness s, a;
    config(&s);
    config(&a);
    h_start(&s, 3);
    struct fake_async_options io = {.complete_inline = 1};
    struct fake_async_store *fs = start_async(&a, 3, &io);
    for (int conv = 1; conv <= 10; conv++)
        for (int turn = 1; turn <= 3; turn++)
            both(&s, &a, fs, "t1", conv, turn, 0, "immediate v3");
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.sync_calls, 0);
    assert_true(c.started[FAKE_OP_LOOKUP] >= 30);
    assert_int_equal(c.completed[FAKE_OP_LOOKUP], 0); /* never a done call */
    h_stop(&s);
    h_stop(&a);
}

/* A version-3 store that answers at once (e.g. a Redis store backing off
 * after failures): once warm, a selection allocates nothing more than
 * sticky_select() (the selection block is kept for the next one). */
static void test_immediate_v3_no_alloc_when_warm(void **state)
{
    (void)state;
    struct counting_alloc ca = {0, 0, 0, -1};
    struct harness h;
    config(&h);
    counting_alloc_install(&h.cfg, &ca);
    struct fake_async_options io = {.complete_inline = 1};
    start_async(&h, 3, &io);
    char body[4096];
    conv_body(1, 2, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    struct cb_rec rec = {0};
    sticky_decision d, e;
    sticky_select_op *op;
    for (int i = 0; i < 3; i++) { /* bound at the deepest key, block kept */
        sticky_decision_init(&d);
        assert_int_equal(
            sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op), STICKY_OK);
        sticky_release(h.ctx, &d);
    }
    for (int i = 0; i < 3; i++) {
        long before = ca.mallocs;
        assert_int_equal(
            sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op), STICKY_OK);
        long start_allocs = ca.mallocs - before;
        assert_null(op);
        assert_int_equal(d.reason, STICKY_REASON_HIT);
        sticky_release(h.ctx, &d);
        before = ca.mallocs;
        sticky_decision_init(&e);
        assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &e), STICKY_OK);
        sticky_release(h.ctx, &e);
        assert_int_equal(start_allocs, ca.mallocs - before);
    }
    assert_int_equal(rec.calls, 0);
    h_stop(&h);
    assert_int_equal(ca.live, 0);
}

/* ---- would block ----------------------------------------------------------- */

/* A version-1 store without STICKY_STORE_CAP_NONBLOCKING: STICKY_EWOULDBLOCK,
 * nothing done, nothing counted; with STICKY_ASYNC_MAY_BLOCK the selection
 * runs inline. */
static void test_would_block(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct plain_store *p = h_start_plain(&h, 3, 64);
    (void)p;
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    struct cb_rec rec = {0};
    sticky_decision d;
    sticky_decision_init(&d);
    sticky_select_op *op = (sticky_select_op *)&rec;
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op),
                     STICKY_EWOULDBLOCK);
    assert_null(op);
    assert_int_equal(requests_of(&h), 0);
    assert_int_equal(d.channel_id[0], '\0');
    assert_int_equal(in_flight(&h, "A") + in_flight(&h, "B") + in_flight(&h, "C"), 0);
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, STICKY_ASYNC_MAY_BLOCK,
                                         on_decision, &rec, &op),
                     STICKY_OK);
    assert_null(op);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_int_equal(requests_of(&h), 1);
    assert_int_equal(rec.calls, 0);
    sticky_release(h.ctx, &d);
    /* unknown flags, no callback, no op: refused */
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 2, on_decision, &rec, &op),
                     STICKY_EINVAL);
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, NULL, &rec, &op),
                     STICKY_EINVAL);
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, NULL),
                     STICKY_EINVAL);
    h_stop(&h);
}

/* ---- cancel ---------------------------------------------------------------- */

static sticky_select_op *start_conv(struct harness *h, int conv, int turn, sticky_decision *d,
                                    struct cb_rec *rec)
{
    static char body[4096];
    conv_body(conv, turn, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    sticky_decision_init(d);
    sticky_select_op *op = NULL;
    assert_int_equal(sticky_select_start(h->ctx, &r, h->ch, h->n, d, 0, on_decision, rec, &op),
                     STICKY_EINPROGRESS);
    assert_non_null(op);
    return op;
}

/* Cancel in LOOKUP, CLAIM (a slot reserved) and WRITES (an attempt open):
 * the callback never runs, @out is never written, in-flight counts return
 * to 0, the store operation is cancelled. */
static void test_cancel_each_phase(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_store *fs = start_async(&h, 3, NULL);
    for (size_t i = 0; i < 3; i++)
        h.ch[i].max_inflight = 1;
    struct cb_rec rec = {0};
    sticky_decision d;

    /* LOOKUP */
    sticky_select_op *op = start_conv(&h, 1, 1, &d, &rec);
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_LOOKUP);
    d.reason = 77;
    assert_int_equal(sticky_select_cancel(h.ctx, op), STICKY_OK);
    assert_int_equal(fake_async_pending(fs), 0);
    assert_int_equal(d.reason, 77); /* never written */

    /* CLAIM: a new session's channel reserved, its claim pending */
    op = start_conv(&h, 1, 1, &d, &rec);
    d.reason = 77;
    assert_int_equal(fake_async_pump(fs, 1, 0), 1); /* lookup: miss */
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_PUT);
    assert_int_equal(in_flight(&h, "A") + in_flight(&h, "B") + in_flight(&h, "C"), 1);
    assert_int_equal(sticky_select_cancel(h.ctx, op), STICKY_OK);
    assert_int_equal(in_flight(&h, "A") + in_flight(&h, "B") + in_flight(&h, "C"), 0);
    assert_int_equal(d.reason, 77);

    /* WRITES: turn 2 of a bound session is a promoted hit. The decision
     * does not wait for the promotion: it is delivered when the lookup
     * answers, the write runs behind it, and the host's handle is dead
     * (a cancel is refused; the attempt is the host's to report). */
    sticky_decision first;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(2, 1, (char[4096]){0}, 4096), 0,
                                  &first),
                     STICKY_OK);
    sticky_release(h.ctx, &first);
    op = start_conv(&h, 2, 2, &d, &rec);
    d.reason = 77;
    assert_int_equal(fake_async_pump(fs, 1, 0), 1); /* lookup: found at level 0 */
    assert_int_equal(rec.calls, 1);                  /* delivered */
    assert_int_equal(d.reason, STICKY_REASON_PROMOTED_HIT);
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_PUT); /* the promotion, behind */
    assert_int_equal(in_flight(&h, first.channel_id), 1);    /* the host's attempt */
    assert_int_equal(sticky_select_cancel(h.ctx, op), STICKY_EINVAL);
    assert_int_equal(fake_async_pump(fs, 1, 0), 1);  /* the promotion completes */
    assert_int_equal(fake_async_pending(fs), 0);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(in_flight(&h, first.channel_id), 1);
    sticky_release(h.ctx, &d);
    assert_int_equal(in_flight(&h, first.channel_id), 0);

    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.cancelled, 2);
    /* the channel is usable again: a next request gets its slot */
    sticky_decision e;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(2, 3, (char[4096]){0}, 4096), 0, &e),
                     STICKY_OK);
    assert_string_equal(e.channel_id, first.channel_id);
    sticky_release(h.ctx, &e);

    assert_int_equal(sticky_select_cancel(h.ctx, NULL), STICKY_EINVAL);
    h_stop(&h);
}

/* Cancel of its own op from inside the callback is refused. */
static void test_cancel_from_own_callback(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_store *fs = start_async(&h, 2, NULL);
    struct cb_rec rec = {0};
    rec.ctx = h.ctx;
    rec.try_cancel = 1;
    rec.cancel_rc = 1;
    sticky_decision d;
    start_conv(&h, 1, 1, &d, &rec);
    fake_async_drain(fs, 10);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.cancel_rc, STICKY_EINVAL);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* From inside a callback: a new selection is started and another pending
 * one is cancelled; both are honoured exactly once. */
struct reentry {
    struct harness *h;
    sticky_select_op *victim;
    struct cb_rec inner;
    sticky_decision inner_d;
    sticky_select_op *inner_op;
    int inner_rc;
    int calls;
};

static void on_reentry(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    struct reentry *e = user;
    (void)op;
    assert_int_equal(rc, STICKY_OK);
    e->calls++;
    sticky_release(e->h->ctx, d);
    assert_int_equal(sticky_select_cancel(e->h->ctx, e->victim), STICKY_OK);
    static char body[4096];
    conv_body(7, 1, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    sticky_decision_init(&e->inner_d);
    e->inner_rc = sticky_select_start(e->h->ctx, &r, e->h->ch, e->h->n, &e->inner_d, 0,
                                      on_decision, &e->inner, &e->inner_op);
}

static void test_callback_reentry(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_store *fs = start_async(&h, 3, NULL);
    struct reentry e = {.h = &h};
    struct cb_rec victim_rec = {0};
    sticky_decision d1, d2;
    char body[4096];
    conv_body(5, 1, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    sticky_decision_init(&d1);
    sticky_select_op *op1;
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d1, 0, on_reentry, &e, &op1),
                     STICKY_EINPROGRESS);
    e.victim = start_conv(&h, 6, 1, &d2, &victim_rec);
    assert_int_equal(fake_async_pending(fs), 2);
    fake_async_drain(fs, 20);
    assert_int_equal(e.calls, 1);
    assert_int_equal(victim_rec.calls, 0);
    assert_int_equal(e.inner_rc, STICKY_EINPROGRESS);
    assert_int_equal(e.inner.calls, 1);
    assert_int_equal(e.inner.rc, STICKY_OK);
    assert_int_equal(e.inner_d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &e.inner_d);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(in_flight(&h, h.ch[i].id), 0);
    h_stop(&h);
}

/* A context freed with selections pending (its store made on another
 * context and still alive): they are cancelled, logged as an error, never
 * called back, their store operations cancelled. */
static void test_ctx_free_cancels_pending(void **state)
{
    (void)state;
    struct harness owner, h;
    config(&owner);
    config(&h);
    assert_int_equal(sticky_ctx_new(&owner.cfg, &owner.ctx), STICKY_OK);
    struct fake_async_store *fs;
    assert_int_equal(fake_async_store_new(owner.ctx, NULL, &fs, &owner.store), STICKY_OK);
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h.ctx, owner.store), STICKY_OK);
    sticky_channel_init(&h.ch[0]);
    h.ch[0].id = "A";
    h.n = 1;
    struct cb_rec rec = {0};
    sticky_decision d1, d2, d3;
    start_conv(&h, 1, 1, &d1, &rec);
    start_conv(&h, 2, 1, &d2, &rec);
    start_conv(&h, 3, 1, &d3, &rec);
    assert_int_equal(fake_async_pump(fs, 1, 0), 1); /* conv 1 now claims: a slot reserved */
    assert_int_equal(fake_async_pending(fs), 3);
    sticky_ctx_free(h.ctx);
    assert_int_equal(rec.calls, 0);
    assert_int_equal(fake_async_pending(fs), 0);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.cancelled, 3);
    assert_true(h.log.count[STICKY_LOG_ERROR] >= 1);
    assert_non_null(strstr(h.log.all, "3 selections in progress"));
    sticky_store_free(owner.store);
    sticky_ctx_free(owner.ctx);
}

/* The store answers the lookup at once and only the promotion write waits:
 * sticky_select_start() returns the final decision (no callback, no
 * handle) and the write goes on behind it. */
static void test_final_when_only_writes_wait(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_options o = {.inline_lookups = 1};
    struct fake_async_store *fs = start_async(&h, 3, &o);
    char body[4096];
    sticky_decision first;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(1, 1, body, sizeof(body)), 0, &first),
                     STICKY_OK); /* the claim waited */
    sticky_release(h.ctx, &first);
    sticky_request r;
    req_for(&r, NULL, conv_body(1, 2, body, sizeof(body)));
    sticky_decision d;
    sticky_decision_init(&d);
    struct cb_rec rec = {0};
    sticky_select_op *op = (sticky_select_op *)&rec;
    assert_int_equal(sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op),
                     STICKY_OK);
    assert_null(op);
    assert_int_equal(d.reason, STICKY_REASON_PROMOTED_HIT);
    assert_string_equal(d.channel_id, first.channel_id);
    assert_int_equal(fake_async_pending(fs), 1); /* the promotion, behind */
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_PUT);
    assert_int_equal(fake_async_pump(fs, 1, 0), 1);
    assert_int_equal(rec.calls, 0);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(fake_async_inner(fs), d.key, STICKY_STORE_PEEK, &m),
                     STICKY_OK); /* written */
    assert_string_equal(m.channel_id, first.channel_id);
    h_report(&h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    h_stop(&h);
}

/* ---- store failures ------------------------------------------------------- */

/* STICKY_ESTORE injected in the lookup, the claim and a write gives the
 * decision sticky_select() makes on a store that fails the same call. */
static void test_injected_errors_match_sync(void **state)
{
    (void)state;
    struct harness s, a;
    config(&s);
    config(&a);
    struct fake_async_store *fss = start_async(&s, 3, NULL);
    struct fake_async_store *fsa = start_async(&a, 3, NULL);
    char body[4096];
    sticky_decision ds, da;
    sticky_request r;

    /* lookup fails */
    conv_body(1, 1, body, sizeof(body));
    req_for(&r, NULL, body);
    fake_async_fail_sync(fss, STICKY_ESTORE);
    sticky_decision_init(&ds);
    assert_int_equal(sticky_select(s.ctx, &r, s.ch, s.n, &ds), STICKY_OK);
    assert_int_equal(async_select(&a, fsa, NULL, body, STICKY_ESTORE, &da), STICKY_OK);
    assert_int_equal(da.store_degraded, 1);
    assert_same(&ds, &da, "lookup fails");
    struct fake_async_counts c;
    fake_async_counts(fsa, &c);
    assert_int_equal(c.started[FAKE_OP_PUT], 0); /* degraded: nothing written */
    sticky_release(s.ctx, &ds);
    sticky_release(a.ctx, &da);

    /* claim fails: the lookup misses, then the put-if-absent fails */
    fake_async_fail_sync(fss, 0);
    fake_async_fail_sync_put(fss, STICKY_ESTORE);
    conv_body(2, 1, body, sizeof(body));
    req_for(&r, NULL, body);
    sticky_decision_init(&ds);
    assert_int_equal(sticky_select(s.ctx, &r, s.ch, s.n, &ds), STICKY_OK);
    sticky_decision_init(&da);
    struct cb_rec rec = {0};
    sticky_select_op *op = NULL;
    assert_int_equal(sticky_select_start(a.ctx, &r, a.ch, a.n, &da, 0, on_decision, &rec, &op),
                     STICKY_EINPROGRESS);
    assert_int_equal(fake_async_pump(fsa, 1, 0), 1);             /* lookup: miss */
    assert_int_equal(fake_async_pump(fsa, 1, STICKY_ESTORE), 1); /* claim fails */
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.rc, STICKY_OK);
    assert_int_equal(da.reason, STICKY_REASON_NEW);
    assert_int_equal(da.store_degraded, 1);
    assert_same(&ds, &da, "claim fails");
    assert_int_equal(fake_async_pending(fsa), 0);
    sticky_release(s.ctx, &ds);
    sticky_release(a.ctx, &da);

    /* a promotion write fails: the hit, degraded; turn 1 bound on both */
    fake_async_fail_sync_put(fss, 0);
    conv_body(3, 1, body, sizeof(body));
    req_for(&r, NULL, body);
    sticky_decision_init(&ds);
    assert_int_equal(sticky_select(s.ctx, &r, s.ch, s.n, &ds), STICKY_OK);
    assert_int_equal(async_select(&a, fsa, NULL, body, 0, &da), STICKY_OK);
    assert_same(&ds, &da, "turn 1");
    sticky_release(s.ctx, &ds);
    sticky_release(a.ctx, &da);
    fake_async_fail_sync_put(fss, STICKY_ESTORE);
    conv_body(3, 2, body, sizeof(body));
    req_for(&r, NULL, body);
    sticky_decision_init(&ds);
    assert_int_equal(sticky_select(s.ctx, &r, s.ch, s.n, &ds), STICKY_OK);
    rec.calls = 0;
    assert_int_equal(sticky_select_start(a.ctx, &r, a.ch, a.n, &da, 0, on_decision, &rec, &op),
                     STICKY_EINPROGRESS);
    assert_int_equal(fake_async_pump(fsa, 1, 0), 1);             /* lookup: level 0 */
    assert_int_equal(rec.calls, 1); /* delivered before the promotion */
    assert_int_equal(fake_async_pump(fsa, 1, STICKY_ESTORE), 1); /* promotion fails */
    assert_int_equal(rec.calls, 1);
    assert_int_equal(da.reason, STICKY_REASON_PROMOTED_HIT);
    /* sticky_select() waited for the write and reports it; the async
     * decision was out before it failed: same choice, counted the same. */
    assert_int_equal(ds.store_degraded, 1);
    assert_int_equal(da.store_degraded, 0);
    da.store_degraded = 1;
    assert_same(&ds, &da, "promotion fails");
    sticky_release(s.ctx, &ds);
    sticky_release(a.ctx, &da);
    assert_int_equal(store_errors_of(&a), 3);
    h_stop(&s);
    h_stop(&a);
}

/* No memory to wait (the copies made at the first STICKY_EINPROGRESS
 * cannot be allocated): the store operation is cancelled and the
 * selection decided at once without the store, as on a store failure. */
static void test_detach_enomem_decides_degraded(void **state)
{
    (void)state;
    struct counting_alloc ca = {0, 0, 0, -1};
    struct harness h;
    config(&h);
    counting_alloc_install(&h.cfg, &ca);
    struct fake_async_store *fs = start_async(&h, 3, NULL);
    char body[4096];
    sticky_decision d;
    struct cb_rec rec = {0};
    /* how many allocations a start that waits makes (the block kept from
     * the one before is reused): the last is the copies */
    long k = 0;
    for (int conv = 1; conv <= 2; conv++) {
        long before = ca.mallocs;
        start_conv(&h, conv + 10, 1, &d, &rec);
        k = ca.mallocs - before;
        fake_async_drain(fs, 10);
        sticky_release(h.ctx, &d);
    }
    assert_true(k >= 1);
    assert_int_equal(rec.calls, 2);

    conv_body(2, 1, body, sizeof(body));
    sticky_request r;
    req_for(&r, NULL, body);
    sticky_decision_init(&d);
    sticky_select_op *op = (sticky_select_op *)&rec;
    ca.fail_after = ca.mallocs + k - 1;
    int rc = sticky_select_start(h.ctx, &r, h.ch, h.n, &d, 0, on_decision, &rec, &op);
    ca.fail_after = -1;
    assert_int_equal(rc, STICKY_OK);
    assert_null(op);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_int_equal(d.store_degraded, 1);
    assert_int_equal(rec.calls, 2); /* only the warm-up selections' */
    assert_int_equal(fake_async_pending(fs), 0);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.cancelled, 1);
    assert_int_equal(store_errors_of(&h), 1);
    sticky_release(h.ctx, &d);
    h_stop(&h);
    assert_int_equal(ca.live, 0);
}

/* Two first requests race: the claim finds the other's binding and the
 * selection becomes a hit on it; the slot it had reserved is given back. */
static void test_claim_race_becomes_hit(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_store *fs = start_async(&h, 3, NULL);
    char body[4096];
    sticky_decision d;
    struct cb_rec rec = {0};
    /* the winner is a binding of this tenant (its digest, as stored) */
    sticky_decision probe;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(99, 1, body, sizeof(body)), 0,
                                  &probe),
                     STICKY_OK);
    sticky_release(h.ctx, &probe);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(fake_async_inner(fs), probe.key, STICKY_STORE_PEEK, &m),
                     STICKY_OK);
    sticky_select_op *op = start_conv(&h, 1, 1, &d, &rec);
    (void)op;
    assert_int_equal(fake_async_pump(fs, 1, 0), 1); /* miss */
    /* the claim reserved a channel, not yet known to the test: the winner
     * is one the host would not pick first (any other than A works: the
     * reserved slot is checked through the totals) */
    const char *winner = "C";
    fake_async_set_racer(fs, winner, m.tenant_id);
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_PUT);
    assert_int_equal(fake_async_pump(fs, 1, FAKE_ASYNC_RACE), 1);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, winner);
    assert_int_equal(in_flight(&h, winner), 1);
    sticky_release(h.ctx, &d);
    assert_int_equal(in_flight(&h, "A") + in_flight(&h, "B") + in_flight(&h, "C"), 0);
    h_stop(&h);
}

/* The caller's request and channels (ids, model patterns) may be gone as
 * soon as start returns STICKY_EINPROGRESS. */
static void test_caller_memory_not_read_later(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_store *fs = start_async(&h, 0, NULL);
    sticky_channel *ch = calloc(40, sizeof(*ch)); /* > 32: the large-list path */
    char **ids = calloc(40, sizeof(char *));
    const char **models = calloc(1, sizeof(char *));
    models[0] = strdup("claude-*");
    for (int i = 0; i < 40; i++) {
        sticky_channel_init(&ch[i]);
        ids[i] = malloc(16);
        snprintf(ids[i], 16, "chan-%02d", i);
        ch[i].id = ids[i];
        ch[i].models = models;
        ch[i].n_models = 1;
    }
    char *body = malloc(4096);
    conv_body(1, 1, body, 4096);
    char *model = strdup("claude-sonnet-4-5");
    sticky_request r;
    req_for(&r, NULL, body);
    r.model = model;
    r.model_len = strlen(model);
    sticky_decision d;
    sticky_decision_init(&d);
    struct cb_rec rec = {0};
    sticky_select_op *op = NULL;
    assert_int_equal(sticky_select_start(h.ctx, &r, ch, 40, &d, 0, on_decision, &rec, &op),
                     STICKY_EINPROGRESS);
    /* gone */
    for (int i = 0; i < 40; i++) {
        memset(ids[i], 'x', 15);
        free(ids[i]);
    }
    memset(ch, 0xee, 40 * sizeof(*ch));
    free(ch);
    free(ids);
    free((void *)models[0]);
    free(models);
    memset(body, 0, 4096);
    free(body);
    memset(model, 'z', strlen(model));
    free(model);
    fake_async_drain(fs, 10);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.rc, STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_memory_equal(d.channel_id, "chan-", 5);
    assert_string_equal(d.model, "claude-sonnet-4-5");
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* ---- sticky_report_async -------------------------------------------------- */

static sticky_outcome rate_limited(struct harness *h)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 429;
    o.reset_epoch_seconds = h->clk.now_ms / 1000 + 60;
    return o;
}

/* An account fact (a 429 with a reset) is published through
 * health_publish_async without waiting: the report returns with the
 * attempt ended and local health updated, the publish completes later; a
 * failed publish is counted. */
static void test_report_async_publishes_without_waiting(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    struct fake_async_options o = {.share_health = 1};
    struct fake_async_store *fs = start_async(&h, 3, &o);
    char body[4096];
    sticky_decision d;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(1, 1, body, sizeof(body)), 0, &d),
                     STICKY_OK);
    assert_int_equal(in_flight(&h, d.channel_id), 1);
    sticky_outcome out = rate_limited(&h);
    assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_OK);
    assert_int_equal(in_flight(&h, d.channel_id), 0);
    sticky_channel_health v;
    sticky_channel_health_init(&v);
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, d.channel_id, &v), STICKY_OK);
    assert_int_equal(v.state, STICKY_HEALTH_RATE_LIMITED);
    assert_int_equal(fake_async_pending(fs), 1);
    assert_int_equal(fake_async_head_kind(fs), FAKE_OP_PUBLISH);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.published, 0); /* not yet */
    assert_int_equal(fake_async_pump(fs, 1, 0), 1);
    fake_async_counts(fs, &c);
    assert_int_equal(c.published, 1);
    assert_int_equal(store_errors_of(&h), 0);

    /* a publish that fails later: logged and counted */
    sticky_decision e;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(2, 1, body, sizeof(body)), 0, &e),
                     STICKY_OK);
    out = rate_limited(&h);
    assert_int_equal(sticky_report_async(h.ctx, &e, &out, 0), STICKY_OK);
    assert_int_equal(fake_async_pump(fs, 1, STICKY_ESTORE), 1);
    assert_int_equal(store_errors_of(&h), 1);
    /* unknown flags */
    assert_int_equal(sticky_report_async(h.ctx, &e, &out, 4), STICKY_EINVAL);
    h_stop(&h);
}

/* A publish sticky_report_async() started is cancelled when its context is
 * freed first (the store is shared with another context): the store never
 * completes into the freed context. */
static void test_ctx_free_cancels_pending_publish(void **state)
{
    (void)state;
    struct harness owner, h;
    config(&owner);
    config(&h);
    assert_int_equal(sticky_ctx_new(&owner.cfg, &owner.ctx), STICKY_OK);
    struct fake_async_options o = {.share_health = 1};
    struct fake_async_store *fs;
    assert_int_equal(fake_async_store_new(owner.ctx, &o, &fs, &owner.store), STICKY_OK);
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h.ctx, owner.store), STICKY_OK);
    sticky_channel_init(&h.ch[0]);
    h.ch[0].id = "A";
    h.n = 1;
    char body[4096];
    sticky_decision d;
    assert_int_equal(async_select(&h, fs, NULL, conv_body(1, 1, body, sizeof(body)), 0, &d),
                     STICKY_OK);
    sticky_outcome out = rate_limited(&h);
    assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_OK);
    assert_int_equal(fake_async_pending(fs), 1); /* the publish */
    sticky_ctx_free(h.ctx);
    assert_int_equal(fake_async_pending(fs), 0);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.cancelled, 1);
    assert_null(strstr(h.log.all, "selections in progress")); /* not the host's */
    sticky_store_free(owner.store);
    sticky_ctx_free(owner.ctx);
}

static int hp_publish_calls;
static int hp_publish(void *self, const sticky_health_event *ev, int64_t now)
{
    (void)self, (void)ev, (void)now;
    hp_publish_calls++;
    return STICKY_OK;
}
static int hp_poll(void *self, sticky_health_event *out)
{
    (void)self, (void)out;
    return STICKY_ENOTFOUND;
}
static const sticky_store_vtable health_plain_vtable = {
    .version = 2, .flags = STICKY_STORE_CAP_NONBLOCKING, .name = "plain-health",
    .get = plain_get, .put = plain_put, .touch = plain_touch, .del = plain_del,
    .sweep = plain_sweep, .stats = plain_stats, .destroy = plain_destroy,
    .health_publish = hp_publish, .health_poll = hp_poll};

/* A store that shares health, has no health_publish_async and may block:
 * STICKY_EWOULDBLOCK for every outcome (even a success), nothing done, the
 * attempt still open; with STICKY_ASYNC_MAY_BLOCK it publishes inline. The
 * same store declaring STICKY_STORE_CAP_NONBLOCKING is accepted. */
static void test_report_async_would_block(void **state)
{
    (void)state;
    for (int nonblocking = 0; nonblocking <= 1; nonblocking++) {
        struct harness h;
        config(&h);
        assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
        struct plain_store *p = calloc(1, sizeof(*p));
        p->cap = 64;
        p->m = calloc(p->cap, sizeof(*p->m));
        sticky_store_vtable vt = health_plain_vtable;
        if (!nonblocking)
            vt.flags = 0;
        static sticky_store_vtable vts[2];
        vts[nonblocking] = vt;
        assert_int_equal(sticky_store_new(h.ctx, &vts[nonblocking], p, &h.store), STICKY_OK);
        assert_int_equal(sticky_ctx_set_store(h.ctx, h.store), STICKY_OK);
        sticky_channel_init(&h.ch[0]);
        h.ch[0].id = "A";
        h.n = 1;
        char body[4096];
        sticky_decision d;
        assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                         STICKY_OK);
        sticky_outcome ok;
        sticky_outcome_init(&ok);
        ok.status = 200;
        sticky_outcome out = rate_limited(&h);
        hp_publish_calls = 0;
        if (!nonblocking) {
            assert_int_equal(sticky_report_async(h.ctx, &d, &ok, 0), STICKY_EWOULDBLOCK);
            assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_EWOULDBLOCK);
            assert_int_equal(in_flight(&h, "A"), 1); /* still open */
            assert_int_equal(hp_publish_calls, 0);
            assert_int_equal(sticky_report_async(h.ctx, &d, &out, STICKY_ASYNC_MAY_BLOCK),
                             STICKY_OK);
        } else {
            assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_OK);
        }
        assert_int_equal(in_flight(&h, "A"), 0);
        assert_int_equal(hp_publish_calls, 1);
        h_stop(&h);
    }
}

/* The memory store shares nothing: sticky_report_async() is sticky_report(). */
static void test_report_async_memory_store(void **state)
{
    (void)state;
    struct harness h;
    config(&h);
    h_start(&h, 2);
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    sticky_outcome out = rate_limited(&h);
    assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_OK);
    assert_int_equal(in_flight(&h, d.channel_id), 0);
    assert_int_equal(sticky_report_async(h.ctx, &d, &out, 0), STICKY_ENOTFOUND); /* ended */
    assert_int_equal(sticky_report_async(NULL, &d, &out, 0), STICKY_EINVAL);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_with_sync),
        cmocka_unit_test(test_failover_rewrites_shallow_keys),
        cmocka_unit_test(test_inline_memory_store_no_alloc),
        cmocka_unit_test(test_inline_shm_and_immediate_v3),
        cmocka_unit_test(test_immediate_v3_no_alloc_when_warm),
        cmocka_unit_test(test_would_block),
        cmocka_unit_test(test_cancel_each_phase),
        cmocka_unit_test(test_cancel_from_own_callback),
        cmocka_unit_test(test_callback_reentry),
        cmocka_unit_test(test_ctx_free_cancels_pending),
        cmocka_unit_test(test_ctx_free_cancels_pending_publish),
        cmocka_unit_test(test_final_when_only_writes_wait),
        cmocka_unit_test(test_injected_errors_match_sync),
        cmocka_unit_test(test_detach_enomem_decides_degraded),
        cmocka_unit_test(test_claim_race_becomes_hit),
        cmocka_unit_test(test_caller_memory_not_read_later),
        cmocka_unit_test(test_report_async_publishes_without_waiting),
        cmocka_unit_test(test_report_async_would_block),
        cmocka_unit_test(test_report_async_memory_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
