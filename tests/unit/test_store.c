/*
 * tests/unit/test_store.c - the sticky_store handle itself, with a scripted
 * fake backend: vtable validation and versioning, ownership of the
 * backend's state, the clock passed as now_ms, full-size records handed to
 * backends, result codes and ids sanitised on the way back, a backend's
 * state found again by its vtable's address (sticky_store_self()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_helpers.h"

/* A backend that records its calls and returns what the test scripted. */
struct fake {
    int destroyed;
    int calls;
    int rc;              /* what every method returns */
    int64_t last_now;
    size_t rec_size;     /* size field of the record it was handed */
    int tail_zero;       /* record bytes beyond the ids were zero */
    unsigned last_flags;
    int garbage_ids;     /* fill ids without a terminating NUL */
};

static void fill(struct fake *f, sticky_mapping *out, uint64_t key)
{
    f->rec_size = out->size;
    const unsigned char *b = (const unsigned char *)out;
    f->tail_zero = 1;
    for (size_t i = sizeof(size_t); i < sizeof(*out); i++)
        f->tail_zero &= b[i] == 0;
    out->key = key;
    if (f->garbage_ids) {
        memset(out->channel_id, 'x', sizeof(out->channel_id));
        memset(out->tenant_id, 'y', sizeof(out->tenant_id));
    } else {
        strcpy(out->channel_id, "fake");
    }
    out->request_count = 5;
}

static int f_get(void *self, uint64_t key, int64_t now, unsigned flags,
                 sticky_mapping *out)
{
    struct fake *f = self;
    f->calls++;
    f->last_now = now;
    f->last_flags = flags;
    fill(f, out, key);
    return f->rc;
}

static int f_put(void *self, const sticky_mapping *m, int64_t now,
                 unsigned flags, sticky_mapping *existing)
{
    struct fake *f = self;
    f->calls++;
    f->last_now = now;
    f->last_flags = flags;
    f->rec_size = m->size;
    fill(f, existing, m->key);
    return f->rc;
}

static int f_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct fake *f = self;
    f->calls++;
    f->last_now = now;
    if (out != NULL)
        fill(f, out, key);
    return f->rc;
}

static int f_del(void *self, uint64_t key, int64_t now)
{
    (void)key;
    struct fake *f = self;
    f->calls++;
    f->last_now = now;
    return f->rc;
}

static int f_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    struct fake *f = self;
    f->calls++;
    f->last_now = now;
    *reclaimed += budget / 2;
    return f->rc;
}

static int f_stats(void *self, sticky_store_stats *out)
{
    struct fake *f = self;
    f->calls++;
    out->entries = 3;
    out->hits = 4;
    return f->rc;
}

static void f_destroy(void *self)
{
    ((struct fake *)self)->destroyed++;
}

static const sticky_store_vtable fake_vt = {
    .version = 1,
    .flags = 0,
    .name = "fake",
    .get = f_get,
    .put = f_put,
    .touch = f_touch,
    .del = f_del,
    .sweep = f_sweep,
    .stats = f_stats,
    .destroy = f_destroy,
};

struct env {
    struct fake_clock clock;
    sticky_ctx *ctx;
};

static void env_open(struct env *e)
{
    e->clock.now_ms = 1234567;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &e->clock;
    assert_int_equal(sticky_ctx_new(&cfg, &e->ctx), STICKY_OK);
}

static void test_vtable_validation(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    struct fake f = {0};
    sticky_store *st = (sticky_store *)&f;
    sticky_store_vtable vt = fake_vt;
    assert_int_equal(sticky_store_new(NULL, &vt, &f, &st), STICKY_EINVAL);
    assert_null(st);
    assert_int_equal(sticky_store_new(e.ctx, NULL, &f, &st), STICKY_EINVAL);
    assert_int_equal(sticky_store_new(e.ctx, &vt, &f, NULL), STICKY_EINVAL);
    vt.version = 0;
    assert_int_equal(sticky_store_new(e.ctx, &vt, &f, &st), STICKY_EABI);
    vt = fake_vt;
    vt.touch = NULL;
    assert_int_equal(sticky_store_new(e.ctx, &vt, &f, &st), STICKY_EINVAL);
    vt = fake_vt;
    vt.destroy = NULL;
    assert_int_equal(sticky_store_new(e.ctx, &vt, &f, &st), STICKY_EINVAL);
    assert_int_equal(f.destroyed, 0); /* failure leaves self to the caller */
    assert_int_equal(f.calls, 0);

    /* A newer backend is accepted; the copy outlives the caller's vtable. */
    vt = fake_vt;
    vt.version = 7;
    vt.name = NULL;
    assert_int_equal(sticky_store_new(e.ctx, &vt, &f, &st), STICKY_OK);
    memset(&vt, 0, sizeof(vt));
    assert_string_equal(sticky_store_name(st), "unnamed");
    assert_int_equal(sticky_store_delete(st, 1), STICKY_OK);
    assert_int_equal(f.calls, 1);
    sticky_store_free(st);
    assert_int_equal(f.destroyed, 1);
    sticky_store_free(NULL);
    assert_string_equal(sticky_store_name(NULL), "");
    sticky_ctx_free(e.ctx);
}

/* The context clock reaches every method; records are full-size and
 * zeroed; the caller's flags pass through. */
static void test_clock_records_and_flags(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    struct fake f = {0};
    sticky_store *st;
    assert_int_equal(sticky_store_new(e.ctx, &fake_vt, &f, &st), STICKY_OK);
    sticky_mapping m;
    /* A record shorter than the first-release mapping is refused before
     * the backend is called. */
    assert_int_equal(sticky_mapping_init_sized(&m, offsetof(sticky_mapping, tenant_id)),
                     STICKY_EABI);
    m.size = offsetof(sticky_mapping, tenant_id);
    int before = f.calls;
    assert_int_equal(sticky_store_get(st, 9, STICKY_STORE_PEEK, &m), STICKY_EABI);
    m.size = (size_t)1 << 20;
    assert_int_equal(sticky_store_get(st, 9, STICKY_STORE_PEEK, &m), STICKY_EABI);
    assert_int_equal(f.calls, before);
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(st, 9, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_int_equal(f.last_now, 1234567);
    assert_int_equal(f.last_flags, STICKY_STORE_PEEK);
    assert_int_equal(f.rec_size, sizeof(sticky_mapping));
    assert_true(f.tail_zero);
    assert_int_equal(m.key, 9);
    assert_string_equal(m.channel_id, "fake");

    e.clock.now_ms = 99;
    sticky_mapping_init(&m);
    m.key = 4;
    strcpy(m.channel_id, "c");
    assert_int_equal(sticky_store_put(st, &m, STICKY_STORE_IF_ABSENT, NULL), STICKY_OK);
    assert_int_equal(f.last_now, 99);
    assert_int_equal(f.last_flags, STICKY_STORE_IF_ABSENT);
    assert_int_equal(f.rec_size, sizeof(sticky_mapping));
    e.clock.now_ms = 100;
    assert_int_equal(sticky_store_touch(st, 1, NULL), STICKY_OK);
    assert_int_equal(f.last_now, 100);
    size_t n = 0;
    assert_int_equal(sticky_store_sweep(st, 10, &n), STICKY_OK);
    assert_int_equal(n, 5);
    int calls = f.calls;
    assert_int_equal(sticky_store_sweep(st, 0, &n), STICKY_OK); /* no call */
    assert_int_equal(f.calls, calls);
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(st, &s), STICKY_OK);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.hits, 4);
    sticky_store_free(st);
    sticky_ctx_free(e.ctx);
}

/* A backend's error codes pass through; unknown codes become ESTORE; on
 * error the caller's record is untouched; ids always come back terminated. */
static void test_results_sanitised(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    struct fake f = {0};
    sticky_store *st;
    assert_int_equal(sticky_store_new(e.ctx, &fake_vt, &f, &st), STICKY_OK);
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 77;
    f.rc = STICKY_ENOTFOUND;
    assert_int_equal(sticky_store_get(st, 1, 0, &m), STICKY_ENOTFOUND);
    assert_int_equal(m.key, 77);
    f.rc = 5;
    assert_int_equal(sticky_store_get(st, 1, 0, &m), STICKY_ESTORE);
    assert_int_equal(sticky_store_delete(st, 1), STICKY_ESTORE);
    f.rc = -1000;
    assert_int_equal(sticky_store_touch(st, 1, NULL), STICKY_ESTORE);
    size_t n = 0;
    assert_int_equal(sticky_store_sweep(st, 2, &n), STICKY_ESTORE);
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(st, &s), STICKY_ESTORE);
    assert_int_equal(s.entries, 0);
    f.rc = STICKY_ENOMEM;
    strcpy(m.channel_id, "c");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_ENOMEM);

    f.rc = STICKY_OK;
    f.garbage_ids = 1;
    assert_int_equal(sticky_store_get(st, 1, 0, &m), STICKY_OK);
    assert_int_equal(strlen(m.channel_id), STICKY_ID_SIZE - 1);
    assert_int_equal(strlen(m.tenant_id), STICKY_ID_SIZE - 1);
    f.rc = STICKY_EEXIST;
    sticky_mapping old;
    sticky_mapping_init(&old);
    assert_int_equal(sticky_store_put(st, &m, STICKY_STORE_IF_ABSENT, &old),
                     STICKY_EEXIST);
    assert_int_equal(strlen(old.channel_id), STICKY_ID_SIZE - 1);
    assert_int_equal(old.request_count, 5);
    sticky_store_free(st);
    sticky_ctx_free(e.ctx);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    struct counting_alloc a = {0, 0, 0, -1};
    sticky_config cfg;
    sticky_config_init(&cfg);
    counting_alloc_install(&cfg, &a);
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    a.fail_after = a.mallocs;
    struct fake f = {0};
    sticky_store *st;
    assert_int_equal(sticky_store_new(ctx, &fake_vt, &f, &st), STICKY_ENOMEM);
    assert_null(st);
    assert_int_equal(f.destroyed, 0);
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

/* sticky_store_self() answers by the vtable's address, not its contents. */
static void test_store_self(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    struct fake f = {0};
    sticky_store *st;
    assert_int_equal(sticky_store_new(e.ctx, &fake_vt, &f, &st), STICKY_OK);
    assert_ptr_equal(sticky_store_self(st, &fake_vt), &f);

    /* The same methods at another address are another backend. */
    sticky_store_vtable twin = fake_vt;
    assert_memory_equal(&twin, &fake_vt, sizeof(twin));
    assert_null(sticky_store_self(st, &twin));
    assert_null(sticky_store_self(st, NULL));
    assert_null(sticky_store_self(NULL, &fake_vt));
    assert_null(sticky_store_self(NULL, NULL));

    /* The twin's own store answers to the twin only. */
    struct fake g = {0};
    sticky_store *st2;
    assert_int_equal(sticky_store_new(e.ctx, &twin, &g, &st2), STICKY_OK);
    assert_ptr_equal(sticky_store_self(st2, &twin), &g);
    assert_null(sticky_store_self(st2, &fake_vt));

    /* A built-in store is nobody else's. */
    sticky_store *mem;
    assert_int_equal(sticky_memory_store_new(e.ctx, NULL, &mem), STICKY_OK);
    assert_null(sticky_store_self(mem, &fake_vt));
    assert_int_equal(f.calls + g.calls, 0); /* no method was called */
    sticky_store_free(mem);
    sticky_store_free(st2);
    sticky_store_free(st);
    sticky_ctx_free(e.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vtable_validation),
        cmocka_unit_test(test_clock_records_and_flags),
        cmocka_unit_test(test_results_sanitised),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_store_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
