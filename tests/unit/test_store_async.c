/*
 * tests/unit/test_store_async.c - the store handle's version-3 part
 * (lib/store/store.c, store_async.h): the all-or-none rule for the async
 * methods, a version-2 backend's slots beyond health_poll never read,
 * sticky_store_nonblocking() for every kind of store, and the internal
 * door: the context clock passed, inputs validated like the sync door,
 * bad backend answers turned into STICKY_ESTORE, queued and inline
 * completion, lost races and cancel (with fake_async_store.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "fake_async_store.h"
#include "select_test_util.h"
#include "store/store_async.h"

/* ---- a backend whose async answers the test scripts --------------------- */

static int bad_rc;          /* what the scripted async methods return */
static uint32_t bad_level;  /* the level a lookup reports */
static int bad_set_op;      /* whether they set *op */
static int bad_calls;

static int s_get(void *s, uint64_t k, int64_t n, unsigned f, sticky_mapping *o)
{
    (void)s, (void)k, (void)n, (void)f, (void)o;
    return STICKY_ENOTFOUND;
}
static int s_put(void *s, const sticky_mapping *m, int64_t n, unsigned f, sticky_mapping *e)
{
    (void)s, (void)m, (void)n, (void)f, (void)e;
    return STICKY_OK;
}
static int s_touch(void *s, uint64_t k, int64_t n, sticky_mapping *o)
{
    (void)s, (void)k, (void)n, (void)o;
    return STICKY_ENOTFOUND;
}
static int s_del(void *s, uint64_t k, int64_t n)
{
    (void)s, (void)k, (void)n;
    return STICKY_ENOTFOUND;
}
static int s_sweep(void *s, int64_t n, size_t b, size_t *r)
{
    (void)s, (void)n, (void)b, (void)r;
    return STICKY_OK;
}
static int s_stats(void *s, sticky_store_stats *o)
{
    (void)s, (void)o;
    return STICKY_OK;
}
static void s_destroy(void *s)
{
    (void)s;
}
static int s_publish(void *s, const sticky_health_event *ev, int64_t n)
{
    (void)s, (void)ev, (void)n;
    return STICKY_OK;
}
static int s_poll(void *s, sticky_health_event *o)
{
    (void)s, (void)o;
    return STICKY_ENOTFOUND;
}
static int s_lookup_async(void *s, const uint64_t *keys, uint32_t n, int64_t now, unsigned f,
                          uint32_t *level, sticky_mapping *out, sticky_store_done_fn done,
                          void *arg, void **op)
{
    (void)s, (void)keys, (void)n, (void)now, (void)f, (void)done, (void)arg;
    bad_calls++;
    *level = bad_level;
    strcpy(out->channel_id, "A");
    memset(out->tenant_id, 'x', sizeof(out->tenant_id)); /* unterminated */
    if (bad_set_op)
        *op = &bad_calls;
    return bad_rc;
}
static int s_put_async(void *s, const sticky_mapping *m, int64_t now, unsigned f,
                       sticky_mapping *e, sticky_store_done_fn done, void *arg, void **op)
{
    (void)s, (void)m, (void)now, (void)f, (void)e, (void)done, (void)arg;
    bad_calls++;
    if (bad_set_op)
        *op = &bad_calls;
    return bad_rc;
}
static int s_publish_async(void *s, const sticky_health_event *ev, int64_t now,
                           sticky_store_done_fn done, void *arg, void **op)
{
    (void)s, (void)ev, (void)now, (void)done, (void)arg;
    bad_calls++;
    if (bad_set_op)
        *op = &bad_calls;
    return bad_rc;
}
static void s_cancel(void *s, void *op)
{
    (void)s, (void)op;
    bad_calls++;
}

#define V1_METHODS                                                                   \
    .get = s_get, .put = s_put, .touch = s_touch, .del = s_del, .sweep = s_sweep,   \
    .stats = s_stats, .destroy = s_destroy

static const sticky_store_vtable full_v3 = {
    .version = 3, .name = "scripted", V1_METHODS,
    .health_publish = s_publish, .health_poll = s_poll,
    .lookup_async = s_lookup_async, .put_async = s_put_async,
    .health_publish_async = s_publish_async, .cancel = s_cancel};

static sticky_ctx *new_ctx(struct fake_clock *clk)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    clk->now_ms = T0;
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = clk;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    return ctx;
}

static int try_new(sticky_ctx *ctx, const sticky_store_vtable *vt)
{
    sticky_store *st = NULL;
    int rc = sticky_store_new(ctx, vt, NULL, &st);
    sticky_store_free(st);
    return rc;
}

/* lookup_async, put_async and cancel together; health_publish_async only
 * with them and with health_publish. */
static void test_v3_all_or_none(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    sticky_store_vtable vt = full_v3;
    assert_int_equal(try_new(ctx, &vt), STICKY_OK);

    vt = full_v3;
    vt.cancel = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_EINVAL);
    vt = full_v3;
    vt.put_async = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_EINVAL);
    vt = full_v3;
    vt.lookup_async = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_EINVAL);
    /* publish_async without the core three */
    vt = full_v3;
    vt.lookup_async = NULL;
    vt.put_async = NULL;
    vt.cancel = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_EINVAL);
    /* publish_async without health_publish */
    vt = full_v3;
    vt.health_publish = NULL;
    vt.health_poll = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_EINVAL);
    /* without publish_async: fine (health published synchronously) */
    vt = full_v3;
    vt.health_publish_async = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_OK);
    /* none of them: a version-3 backend that is only version 2 in effect */
    vt = full_v3;
    vt.lookup_async = NULL;
    vt.put_async = NULL;
    vt.cancel = NULL;
    vt.health_publish_async = NULL;
    assert_int_equal(try_new(ctx, &vt), STICKY_OK);
    sticky_ctx_free(ctx);
}

/* A version-2 backend's memory after health_poll is never read: garbage
 * there (here: a complete half-valid set) makes no async store. */
static void test_v2_tail_never_read(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    sticky_store_vtable vt = full_v3;
    vt.version = 2;
    vt.cancel = NULL; /* would be refused at version 3 */
    sticky_store *st;
    assert_int_equal(sticky_store_new(ctx, &vt, NULL, &st), STICKY_OK);
    assert_int_equal(store_is_async(st), 0);
    assert_int_equal(sticky_store_nonblocking(st), 0);
    uint64_t k = 1;
    uint32_t level;
    sticky_mapping m;
    void *op;
    bad_calls = 0;
    assert_int_equal(store_lookup_async(st, &k, 1, &level, &m, (sticky_store_done_fn)abort,
                                        NULL, &op),
                     STICKY_EINVAL);
    store_cancel(st, &k);
    assert_int_equal(bad_calls, 0);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

static void test_nonblocking(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    assert_int_equal(sticky_store_nonblocking(NULL), 0);

    sticky_store *mem;
    assert_int_equal(sticky_memory_store_new(ctx, NULL, &mem), STICKY_OK);
    assert_int_equal(sticky_store_nonblocking(mem), 1);
    assert_int_equal(store_is_async(mem), 0);
    sticky_store_free(mem);

    sticky_store_vtable vt = {.version = 1, .name = "v1", V1_METHODS};
    sticky_store *st;
    assert_int_equal(sticky_store_new(ctx, &vt, NULL, &st), STICKY_OK);
    assert_int_equal(sticky_store_nonblocking(st), 0);
    sticky_store_free(st);
    vt.flags = STICKY_STORE_CAP_NONBLOCKING; /* valid from version 1 */
    assert_int_equal(sticky_store_new(ctx, &vt, NULL, &st), STICKY_OK);
    assert_int_equal(sticky_store_nonblocking(st), 1);
    assert_int_equal(store_is_async(st), 0);
    sticky_store_free(st);

    struct fake_async_store *fs;
    assert_int_equal(fake_async_store_new(ctx, NULL, &fs, &st), STICKY_OK);
    assert_int_equal(sticky_store_nonblocking(st), 1);
    assert_int_equal(store_is_async(st), 1);
    assert_int_equal(store_has_publish_async(st), 0);
    sticky_store_free(st);
    struct fake_async_options o = {.share_health = 1};
    assert_int_equal(fake_async_store_new(ctx, &o, &fs, &st), STICKY_OK);
    assert_int_equal(store_has_publish_async(st), 1);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

struct done_rec {
    int calls;
    int rc;
};

static void on_done(void *arg, int rc)
{
    struct done_rec *d = arg;
    d->calls++;
    d->rc = rc;
}

static sticky_mapping mapping(uint64_t key, const char *ch, const char *tenant)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = key;
    strcpy(m.channel_id, ch);
    strcpy(m.tenant_id, tenant);
    return m;
}

/* Queued operations: EINPROGRESS with an op, the context clock passed,
 * outputs written before done, done once; the walk is deepest first and
 * a use (count + 1). */
static void test_door_queued(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    struct fake_async_store *fs;
    sticky_store *st;
    assert_int_equal(fake_async_store_new(ctx, NULL, &fs, &st), STICKY_OK);
    sticky_mapping m = mapping(11, "A", "t1");
    assert_int_equal(sticky_store_put(fake_async_inner(fs), &m, 0, NULL), STICKY_OK);
    m = mapping(33, "C", "");
    assert_int_equal(sticky_store_put(fake_async_inner(fs), &m, 0, NULL), STICKY_OK);

    clk.now_ms = T0 + 5;
    uint64_t keys[4] = {11, 22, 33, 44};
    uint32_t level = 99;
    sticky_mapping out;
    void *op = NULL;
    struct done_rec d = {0, 1};
    assert_int_equal(store_lookup_async(st, keys, 4, &level, &out, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    assert_non_null(op);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.last_now_ms, T0 + 5);
    assert_int_equal(d.calls, 0);
    assert_int_equal(fake_async_pending(fs), 1);
    assert_int_equal(fake_async_pump(fs, 5, 0), 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.rc, STICKY_OK);
    assert_int_equal(level, 2); /* keys[2] = 33 is the deepest live one */
    assert_string_equal(out.channel_id, "C");
    assert_int_equal(out.request_count, 2);

    /* a miss along the whole chain */
    uint64_t none[2] = {5, 6};
    assert_int_equal(store_lookup_async(st, none, 2, &level, &out, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    fake_async_pump(fs, 1, 0);
    assert_int_equal(d.calls, 2);
    assert_int_equal(d.rc, STICKY_ENOTFOUND);

    /* put-if-absent, then a lost race: EEXIST with the winner */
    sticky_mapping ex;
    m = mapping(50, "B", "t1");
    assert_int_equal(store_put_async(st, &m, STICKY_STORE_IF_ABSENT, &ex, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    fake_async_pump(fs, 1, 0);
    assert_int_equal(d.rc, STICKY_OK);
    m = mapping(51, "B", "t1");
    fake_async_set_racer(fs, "D", "t1");
    assert_int_equal(store_put_async(st, &m, STICKY_STORE_IF_ABSENT, &ex, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    fake_async_pump(fs, 1, FAKE_ASYNC_RACE);
    assert_int_equal(d.rc, STICKY_EEXIST);
    assert_string_equal(ex.channel_id, "D");

    /* an injected error */
    assert_int_equal(store_lookup_async(st, keys, 4, &level, &out, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    fake_async_pump(fs, 1, STICKY_ESTORE);
    assert_int_equal(d.rc, STICKY_ESTORE);
    assert_int_equal(d.calls, 5);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

/* A backend that completes at once: the result is returned, done is not
 * called. */
static void test_door_inline(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    struct fake_async_store *fs;
    sticky_store *st;
    struct fake_async_options o = {.complete_inline = 1};
    assert_int_equal(fake_async_store_new(ctx, &o, &fs, &st), STICKY_OK);
    sticky_mapping m = mapping(7, "A", "");
    struct done_rec d = {0, 1};
    sticky_mapping ex;
    void *op = NULL;
    assert_int_equal(store_put_async(st, &m, STICKY_STORE_IF_ABSENT, &ex, on_done, &d, &op),
                     STICKY_OK);
    assert_null(op);
    m = mapping(7, "B", "");
    assert_int_equal(store_put_async(st, &m, STICKY_STORE_IF_ABSENT, &ex, on_done, &d, &op),
                     STICKY_EEXIST);
    assert_string_equal(ex.channel_id, "A");
    uint64_t k = 7;
    uint32_t level = 9;
    sticky_mapping out;
    assert_int_equal(store_lookup_async(st, &k, 1, &level, &out, on_done, &d, &op), STICKY_OK);
    assert_int_equal(level, 0);
    assert_string_equal(out.channel_id, "A");
    assert_int_equal(d.calls, 0);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

/* Inputs are checked as by the sync door before the backend sees them. */
static void test_door_validates(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    sticky_store *st;
    assert_int_equal(sticky_store_new(ctx, &full_v3, NULL, &st), STICKY_OK);
    bad_calls = 0;
    uint64_t k = 1;
    uint32_t level;
    sticky_mapping out, ex;
    void *op;
    struct done_rec d = {0, 0};
    assert_int_equal(store_lookup_async(NULL, &k, 1, &level, &out, on_done, &d, &op),
                     STICKY_EINVAL);
    assert_int_equal(store_lookup_async(st, NULL, 1, &level, &out, on_done, &d, &op),
                     STICKY_EINVAL);
    assert_int_equal(store_lookup_async(st, &k, 0, &level, &out, on_done, &d, &op),
                     STICKY_EINVAL);
    assert_int_equal(store_lookup_async(st, &k, 1, &level, &out, NULL, &d, &op),
                     STICKY_EINVAL);
    sticky_mapping m = mapping(1, "A", "");
    assert_int_equal(store_put_async(st, &m, 4, &ex, on_done, &d, &op), STICKY_EINVAL);
    assert_int_equal(store_put_async(st, &m, 0, NULL, on_done, &d, &op), STICKY_EINVAL);
    m.channel_id[0] = '\0';
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_EINVAL);
    memset(m.channel_id, 'a', sizeof(m.channel_id));
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_ELIMIT);
    m = mapping(1, "A", "");
    m.size = 8;
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_EABI);
    sticky_health_event ev;
    sticky_health_event_init(&ev);
    strcpy(ev.channel_id, "A");
    ev.cause = 99;
    assert_int_equal(store_health_publish_async(st, &ev, on_done, &d, &op), STICKY_EINVAL);
    assert_int_equal(bad_calls, 0);
    ev.cause = STICKY_CAUSE_AUTH;
    ev.until_ms = INT64_MAX;
    bad_rc = STICKY_OK;
    assert_int_equal(store_health_publish_async(st, &ev, on_done, &d, &op), STICKY_OK);
    assert_int_equal(bad_calls, 1);

    /* no publish_async: refused, nothing called */
    sticky_store_vtable vt = full_v3;
    vt.health_publish_async = NULL;
    sticky_store *st2;
    assert_int_equal(sticky_store_new(ctx, &vt, NULL, &st2), STICKY_OK);
    assert_int_equal(store_health_publish_async(st2, &ev, on_done, &d, &op), STICKY_EINVAL);
    assert_int_equal(bad_calls, 1);
    sticky_store_free(st2);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

/* A backend's bad answers: EINPROGRESS without an op, an unknown code, a
 * positive code, a level outside the chain: all STICKY_ESTORE; ids it
 * left unterminated come back terminated. */
static void test_door_bad_backend(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    sticky_store *st;
    assert_int_equal(sticky_store_new(ctx, &full_v3, NULL, &st), STICKY_OK);
    uint64_t k[2] = {1, 2};
    uint32_t level;
    sticky_mapping out, ex;
    void *op;
    struct done_rec d = {0, 0};
    sticky_mapping m = mapping(1, "A", "");

    bad_rc = STICKY_EINPROGRESS;
    bad_set_op = 0;
    assert_int_equal(store_lookup_async(st, k, 2, &level, &out, on_done, &d, &op), STICKY_ESTORE);
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_ESTORE);
    bad_set_op = 1;
    assert_int_equal(store_lookup_async(st, k, 2, &level, &out, on_done, &d, &op),
                     STICKY_EINPROGRESS);
    assert_ptr_equal(op, &bad_calls);
    bad_rc = -999;
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_ESTORE);
    bad_rc = 7;
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d, &op), STICKY_ESTORE);
    bad_rc = STICKY_OK;
    bad_level = 2;
    assert_int_equal(store_lookup_async(st, k, 2, &level, &out, on_done, &d, &op), STICKY_ESTORE);
    bad_level = 1;
    assert_int_equal(store_lookup_async(st, k, 2, &level, &out, on_done, &d, &op), STICKY_OK);
    assert_int_equal(level, 1);
    assert_int_equal(strlen(out.tenant_id), STICKY_ID_SIZE - 1);
    assert_int_equal(out.size, sizeof(out));
    assert_int_equal(d.calls, 0);
    bad_rc = 0;
    bad_level = 0;
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

/* Cancel: done never runs, the backend saw the cancel; NULL and a store
 * without the methods do nothing. */
static void test_door_cancel(void **state)
{
    (void)state;
    struct fake_clock clk;
    sticky_ctx *ctx = new_ctx(&clk);
    struct fake_async_store *fs;
    sticky_store *st;
    assert_int_equal(fake_async_store_new(ctx, NULL, &fs, &st), STICKY_OK);
    uint64_t k = 3;
    uint32_t level;
    sticky_mapping out, ex;
    void *op1, *op2;
    struct done_rec d1 = {0, 0}, d2 = {0, 0};
    assert_int_equal(store_lookup_async(st, &k, 1, &level, &out, on_done, &d1, &op1),
                     STICKY_EINPROGRESS);
    sticky_mapping m = mapping(3, "A", "");
    assert_int_equal(store_put_async(st, &m, 0, &ex, on_done, &d2, &op2), STICKY_EINPROGRESS);
    store_cancel(st, op1);
    store_cancel(st, NULL);
    assert_int_equal(fake_async_pending(fs), 1);
    assert_int_equal(fake_async_pump(fs, 10, 0), 1);
    assert_int_equal(d1.calls, 0);
    assert_int_equal(d2.calls, 1);
    struct fake_async_counts c;
    fake_async_counts(fs, &c);
    assert_int_equal(c.cancelled, 1);
    assert_int_equal(c.completed[FAKE_OP_LOOKUP], 0);
    assert_int_equal(c.completed[FAKE_OP_PUT], 1);

    /* freeing the store completes what is still pending, once */
    assert_int_equal(store_lookup_async(st, &k, 1, &level, &out, on_done, &d1, &op1),
                     STICKY_EINPROGRESS);
    sticky_store_free(st);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d1.rc, STICKY_ESTORE);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3_all_or_none),
        cmocka_unit_test(test_v2_tail_never_read),
        cmocka_unit_test(test_nonblocking),
        cmocka_unit_test(test_door_queued),
        cmocka_unit_test(test_door_inline),
        cmocka_unit_test(test_door_validates),
        cmocka_unit_test(test_door_bad_backend),
        cmocka_unit_test(test_door_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
