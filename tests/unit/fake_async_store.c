/*
 * tests/unit/fake_async_store.c - the queued version-3 test backend of
 * fake_async_store.h: operation records, the FIFO the test pumps, the
 * exactly-once checks, and the sync methods forwarded to a memory store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_async_store.h"

#define INBOX_MAX 32

struct fake_op {
    int kind;              /* enum fake_async_kind */
    int state;             /* OP_PENDING, OP_DONE, OP_CANCELLED */
    int done_calls;
    uint64_t keys[STICKY_MAX_MESSAGE_COUNT];
    uint32_t n_keys;
    uint32_t *level;
    sticky_mapping in;     /* put: the mapping; lookup: unused */
    unsigned flags;
    sticky_mapping *out;   /* lookup: the result; put: existing */
    sticky_health_event ev;
    sticky_store_done_fn done;
    void *arg;
    struct fake_op *all_next; /* every op ever made, freed at destroy */
};

enum { OP_PENDING, OP_DONE, OP_CANCELLED };

struct fake_async_store {
    sticky_ctx *ctx;
    sticky_store *inner;
    struct fake_async_options opts;
    struct fake_op **fifo; /* pending, oldest first */
    size_t n_fifo, cap_fifo;
    struct fake_op *all;
    struct fake_async_counts c;
    char racer_channel[STICKY_ID_SIZE];
    char racer_tenant[STICKY_ID_SIZE];
    sticky_health_event inbox[INBOX_MAX];
    int in_head, in_n;
    int sync_rc; /* not 0: what sync get/put return */
    int sync_put_rc; /* not 0: what sync put returns */
};

/* ---- sync methods: the memory store ------------------------------------- */

static int fa_get(void *self, uint64_t key, int64_t now, unsigned flags, sticky_mapping *out)
{
    struct fake_async_store *fs = self;
    (void)now;
    fs->c.sync_calls++;
    if (fs->sync_rc != 0)
        return fs->sync_rc;
    return sticky_store_get(fs->inner, key, flags, out);
}

static int fa_put(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                  sticky_mapping *existing)
{
    struct fake_async_store *fs = self;
    (void)now;
    fs->c.sync_calls++;
    if (fs->sync_rc != 0)
        return fs->sync_rc;
    if (fs->sync_put_rc != 0)
        return fs->sync_put_rc;
    return sticky_store_put(fs->inner, m, flags, existing);
}

static int fa_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct fake_async_store *fs = self;
    (void)now;
    fs->c.sync_calls++;
    return sticky_store_touch(fs->inner, key, out);
}

static int fa_del(void *self, uint64_t key, int64_t now)
{
    struct fake_async_store *fs = self;
    (void)now;
    fs->c.sync_calls++;
    return sticky_store_delete(fs->inner, key);
}

static int fa_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    struct fake_async_store *fs = self;
    (void)now;
    size_t n = 0;
    int rc = sticky_store_sweep(fs->inner, budget, &n);
    *reclaimed += n;
    return rc;
}

static int fa_stats(void *self, sticky_store_stats *out)
{
    return sticky_store_get_stats(((struct fake_async_store *)self)->inner, out);
}

static void fa_destroy(void *self)
{
    struct fake_async_store *fs = self;
    /* Freeing the store completes what is pending (as the Redis store
     * does), with STICKY_ESTORE. */
    fake_async_pump(fs, fs->n_fifo, STICKY_ESTORE);
    while (fs->all != NULL) {
        struct fake_op *op = fs->all;
        fs->all = op->all_next;
        free(op);
    }
    free(fs->fifo);
    sticky_store_free(fs->inner);
    free(fs);
}

static int fa_publish(void *self, const sticky_health_event *ev, int64_t now)
{
    struct fake_async_store *fs = self;
    (void)ev;
    (void)now;
    fs->c.published++;
    return STICKY_OK;
}

static int fa_poll(void *self, sticky_health_event *out)
{
    struct fake_async_store *fs = self;
    if (fs->in_n == 0)
        return STICKY_ENOTFOUND;
    *out = fs->inbox[fs->in_head];
    fs->in_head = (fs->in_head + 1) % INBOX_MAX;
    fs->in_n--;
    return STICKY_OK;
}

/* ---- the operations ------------------------------------------------------ */

/* Run @op on the memory store now; its result code. */
static int run_op(struct fake_async_store *fs, struct fake_op *op)
{
    switch (op->kind) {
    case FAKE_OP_LOOKUP:
        for (uint32_t i = op->n_keys; i-- > 0;) {
            int rc = sticky_store_get(fs->inner, op->keys[i], 0, op->out);
            if (rc == STICKY_ENOTFOUND)
                continue;
            if (rc == STICKY_OK)
                *op->level = i;
            return rc;
        }
        return STICKY_ENOTFOUND;
    case FAKE_OP_PUT:
        return sticky_store_put(fs->inner, &op->in, op->flags, op->out);
    default:
        fs->c.published++;
        return STICKY_OK;
    }
}

static struct fake_op *new_op(struct fake_async_store *fs, int kind, sticky_store_done_fn done,
                              void *arg)
{
    struct fake_op *op = calloc(1, sizeof(*op));
    assert_non_null(op);
    op->kind = kind;
    op->state = OP_PENDING;
    op->done = done;
    op->arg = arg;
    op->all_next = fs->all;
    fs->all = op;
    fs->c.started[kind]++;
    return op;
}

/* Queue @op (EINPROGRESS) or, inline, run it now. */
static int submit(struct fake_async_store *fs, struct fake_op *op, void **handle)
{
    if (fs->opts.complete_inline || (fs->opts.inline_lookups && op->kind == FAKE_OP_LOOKUP)) {
        op->state = OP_DONE;
        return run_op(fs, op);
    }
    if (fs->n_fifo == fs->cap_fifo) {
        fs->cap_fifo = fs->cap_fifo ? 2 * fs->cap_fifo : 16;
        fs->fifo = realloc(fs->fifo, fs->cap_fifo * sizeof(*fs->fifo));
        assert_non_null(fs->fifo);
    }
    fs->fifo[fs->n_fifo++] = op;
    *handle = op;
    return STICKY_EINPROGRESS;
}

static int fa_lookup_async(void *self, const uint64_t *keys, uint32_t n_keys, int64_t now,
                           unsigned flags, uint32_t *level, sticky_mapping *out,
                           sticky_store_done_fn done, void *arg, void **handle)
{
    struct fake_async_store *fs = self;
    fs->c.last_now_ms = now;
    assert_int_equal(flags, 0);
    assert_true(n_keys >= 1 && n_keys <= STICKY_MAX_MESSAGE_COUNT);
    assert_int_equal(out->size, sizeof(*out));
    struct fake_op *op = new_op(fs, FAKE_OP_LOOKUP, done, arg);
    memcpy(op->keys, keys, n_keys * sizeof(*keys)); /* inputs are copied */
    op->n_keys = n_keys;
    op->level = level;
    op->out = out;
    return submit(fs, op, handle);
}

static int fa_put_async(void *self, const sticky_mapping *m, int64_t now, unsigned flags,
                        sticky_mapping *existing, sticky_store_done_fn done, void *arg,
                        void **handle)
{
    struct fake_async_store *fs = self;
    fs->c.last_now_ms = now;
    struct fake_op *op = new_op(fs, FAKE_OP_PUT, done, arg);
    op->in = *m;
    op->flags = flags;
    op->out = existing;
    return submit(fs, op, handle);
}

static int fa_publish_async(void *self, const sticky_health_event *ev, int64_t now,
                            sticky_store_done_fn done, void *arg, void **handle)
{
    struct fake_async_store *fs = self;
    fs->c.last_now_ms = now;
    struct fake_op *op = new_op(fs, FAKE_OP_PUBLISH, done, arg);
    op->ev = *ev;
    return submit(fs, op, handle);
}

static void fa_cancel(void *self, void *handle)
{
    struct fake_async_store *fs = self;
    struct fake_op *op = handle;
    for (size_t i = 0; i < fs->n_fifo; i++) {
        if (fs->fifo[i] != op)
            continue;
        memmove(&fs->fifo[i], &fs->fifo[i + 1], (fs->n_fifo - i - 1) * sizeof(*fs->fifo));
        fs->n_fifo--;
        op->state = OP_CANCELLED;
        fs->c.cancelled++;
        return;
    }
    fail_msg("fake_async_store: cancel of an operation that is not pending (state %d)",
             op->state);
}

static const sticky_store_vtable fa_vtable = {
    .version = 3,
    .flags = 0, /* serialised: one test thread anyway */
    .name = "fake-async",
    .get = fa_get, .put = fa_put, .touch = fa_touch, .del = fa_del,
    .sweep = fa_sweep, .stats = fa_stats, .destroy = fa_destroy,
    .lookup_async = fa_lookup_async, .put_async = fa_put_async, .cancel = fa_cancel,
};

static const sticky_store_vtable fa_health_vtable = {
    .version = 3,
    .flags = 0,
    .name = "fake-async-health",
    .get = fa_get, .put = fa_put, .touch = fa_touch, .del = fa_del,
    .sweep = fa_sweep, .stats = fa_stats, .destroy = fa_destroy,
    .health_publish = fa_publish, .health_poll = fa_poll,
    .lookup_async = fa_lookup_async, .put_async = fa_put_async,
    .health_publish_async = fa_publish_async, .cancel = fa_cancel,
};

/* ---- the test's side ----------------------------------------------------- */

int fake_async_store_new(sticky_ctx *ctx, const struct fake_async_options *opts,
                         struct fake_async_store **fs_out, sticky_store **out)
{
    struct fake_async_store *fs = calloc(1, sizeof(*fs));
    assert_non_null(fs);
    fs->ctx = ctx;
    if (opts != NULL)
        fs->opts = *opts;
    strcpy(fs->racer_channel, "racer");
    int rc = sticky_memory_store_new(ctx, NULL, &fs->inner);
    if (rc != STICKY_OK) {
        free(fs);
        return rc;
    }
    rc = sticky_store_new(ctx, fs->opts.share_health ? &fa_health_vtable : &fa_vtable, fs,
                          out);
    if (rc != STICKY_OK) {
        sticky_store_free(fs->inner);
        free(fs);
        return rc;
    }
    *fs_out = fs;
    return STICKY_OK;
}

size_t fake_async_pending(const struct fake_async_store *fs)
{
    return fs->n_fifo;
}

int fake_async_head_kind(const struct fake_async_store *fs)
{
    return fs->n_fifo == 0 ? -1 : fs->fifo[0]->kind;
}

size_t fake_async_pump(struct fake_async_store *fs, size_t n, int inject_rc)
{
    /* Only what waits now: completions may queue more. */
    size_t todo = n < fs->n_fifo ? n : fs->n_fifo;
    size_t done = 0;
    while (done < todo && fs->n_fifo > 0) {
        struct fake_op *op = fs->fifo[0];
        memmove(&fs->fifo[0], &fs->fifo[1], (fs->n_fifo - 1) * sizeof(*fs->fifo));
        fs->n_fifo--;
        if (op->state != OP_PENDING || op->done_calls != 0)
            fail_msg("fake_async_store: operation completed twice");
        int rc;
        if (inject_rc == FAKE_ASYNC_RACE) {
            assert_int_equal(op->kind, FAKE_OP_PUT);
            sticky_mapping r;
            sticky_mapping_init(&r);
            r.key = op->in.key;
            strcpy(r.channel_id, fs->racer_channel);
            strcpy(r.tenant_id, fs->racer_tenant);
            assert_int_equal(sticky_store_put(fs->inner, &r, 0, NULL), STICKY_OK);
            rc = run_op(fs, op);
        } else if (inject_rc != 0) {
            rc = inject_rc;
        } else {
            rc = run_op(fs, op);
        }
        op->state = OP_DONE;
        op->done_calls++;
        fs->c.completed[op->kind]++;
        op->done(op->arg, rc);
        done++;
    }
    return done;
}

size_t fake_async_drain(struct fake_async_store *fs, int max_rounds)
{
    size_t total = 0;
    for (int i = 0; i < max_rounds && fs->n_fifo > 0; i++)
        total += fake_async_pump(fs, fs->n_fifo, 0);
    return total;
}

void fake_async_set_racer(struct fake_async_store *fs, const char *channel_id,
                          const char *tenant_id)
{
    strncpy(fs->racer_channel, channel_id, STICKY_ID_SIZE - 1);
    strncpy(fs->racer_tenant, tenant_id != NULL ? tenant_id : "", STICKY_ID_SIZE - 1);
}

void fake_async_counts(const struct fake_async_store *fs, struct fake_async_counts *out)
{
    *out = fs->c;
}

sticky_store *fake_async_inner(struct fake_async_store *fs)
{
    return fs->inner;
}

void fake_async_inbox(struct fake_async_store *fs, const sticky_health_event *ev)
{
    assert_true(fs->in_n < INBOX_MAX);
    fs->inbox[(fs->in_head + fs->in_n) % INBOX_MAX] = *ev;
    fs->in_n++;
}

void fake_async_fail_sync(struct fake_async_store *fs, int rc)
{
    fs->sync_rc = rc;
}

void fake_async_fail_sync_put(struct fake_async_store *fs, int rc)
{
    fs->sync_put_rc = rc;
}
