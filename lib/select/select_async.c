/*
 * lib/select/select_async.c - sticky_select_start() / sticky_select_cancel()
 * (sticky/async.h): the would-block rule, the inline path (a store that
 * is not asynchronous: sticky_select() itself, nothing allocated), and the
 * asynchronous driver for a version-3 store: the selection lives in one
 * heap block, its phases (select_op.h) advance while the store answers at
 * once, the first STICKY_EINPROGRESS detaches it from the caller's memory
 * (deep copies of the channel ids, model patterns and model name), each
 * completion continues it, and the last one calls the host back.
 */
#include <string.h>

#include "select/health_sync.h"
#include "select/select_op.h"
#include "store/store_async.h"
#include "util/struct_log.h"
#include "sticky/async.h"
#include "sticky/error.h"

struct sticky_select_op {
    struct select_frame f;
    sticky_ctx *ctx;
    sticky_store *store;     /* the version-3 store */
    sticky_decision *out;    /* the host's */
    sticky_select_cb cb;
    void *user;
    void *store_op;          /* the pending store operation, or NULL */
    int completing;          /* inside cb: cancel is refused */
    int background;          /* decision delivered; its follow-up writes go
                              * on without a host (freed when done) */
    uint32_t wi;             /* WRITES: the write in progress */
    int follow;              /* ... is a W_SHALLOW follow-up */
    sticky_mapping wm;       /* ... its record and what it found */
    sticky_mapping wexisting;
    size_t block_size;       /* bytes of this block (op_alloc) */
    char *arena;             /* deep copies made at detach */
    struct sticky_select_op *next, *prev; /* ctx->sel->async_pending */
    int linked;
    size_t n;
    /* then: copies[n], all[n], scratch[n] */
};

static size_t op_size(size_t n)
{
    return sizeof(struct sticky_select_op) + n * sizeof(sticky_channel) +
           2 * n * sizeof(struct cand);
}

static void link_pending(struct sticky_select_op *a)
{
    struct sticky_selector *s = a->ctx->sel;
    a->prev = NULL;
    a->next = s->async_pending;
    if (a->next != NULL)
        a->next->prev = a;
    s->async_pending = a;
    a->linked = 1;
}

static void unlink_pending(struct sticky_select_op *a)
{
    if (!a->linked)
        return;
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        a->ctx->sel->async_pending = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    a->linked = 0;
}

/* Blocks up to this size are kept as the context's spare. */
#define SPARE_MAX_CHANNELS 32

/* A block for a selection over @n channels: the spare when it is large
 * enough (taken atomically: a context may be used from several threads
 * with a store that never waits), else a new one. */
static struct sticky_select_op *op_alloc(sticky_ctx *ctx, size_t n)
{
    size_t size = op_size(n);
    struct sticky_select_op *a =
        atomic_exchange_explicit(&ctx->sel->async_spare, NULL, memory_order_acquire);
    if (a != NULL && a->block_size < size) {
        mem_free(ctx, a);
        a = NULL;
    }
    if (a == NULL) {
        /* at least the spare's size, so that it can be kept */
        if (size < op_size(SPARE_MAX_CHANNELS))
            size = op_size(SPARE_MAX_CHANNELS);
        a = mem_malloc(ctx, size);
        if (a == NULL)
            return NULL;
    } else {
        size = a->block_size;
    }
    memset(a, 0, sizeof(*a));
    a->block_size = size;
    return a;
}

static void op_free(struct sticky_select_op *a)
{
    unlink_pending(a);
    sticky_ctx *ctx = a->ctx;
    if (a->arena != NULL)
        mem_free(ctx, a->arena);
    a->arena = NULL;
    struct sticky_select_op *none = NULL;
    if (a->block_size > op_size(SPARE_MAX_CHANNELS) ||
        !atomic_compare_exchange_strong_explicit(&ctx->sel->async_spare, &none, a,
                                                 memory_order_release, memory_order_relaxed))
        mem_free(ctx, a);
}

void select_async_free_spare(sticky_ctx *ctx)
{
    struct sticky_select_op *a = atomic_exchange(&ctx->sel->async_spare, NULL);
    if (a != NULL)
        mem_free(ctx, a);
}

/* The decision moves to the next phase after a result of the decision. */
static void decided(struct sticky_select_op *a, int rc)
{
    struct select_op *op = &a->f.op;
    op->rc = rc;
    op->phase = rc == SEL_CLAIM ? OP_CLAIM : OP_WRITES;
    a->wi = 0;
    a->follow = 0;
}

static void lookup_result(struct sticky_select_op *a, int rc)
{
    struct select_op *op = &a->f.op;
    health_sync_pull(a->ctx, a->store); /* news carried by the reply */
    decided(a, sel_after_lookup(&op->st, op->v, op->scratch, rc, op->level, &op->found));
}

static void claim_result(struct sticky_select_op *a, int rc)
{
    struct select_op *op = &a->f.op;
    decided(a, sel_new_claimed(&op->st, op->v, op->scratch, rc, &op->existing));
}

static void write_result(struct sticky_select_op *a, int rc)
{
    struct select_op *op = &a->f.op;
    if (sel_write_end(&op->st, op->v, a->wi, a->follow, rc, &a->wexisting)) {
        a->follow = 1;
    } else {
        a->follow = 0;
        a->wi++;
    }
}

static void lookup_done(void *arg, int rc);
static void claim_done(void *arg, int rc);
static void write_done(void *arg, int rc);
static void deliver(struct sticky_select_op *a, int rc);

/* Advance until a store operation is pending (STICKY_EINPROGRESS) or the
 * decision is complete (its result: 0 or STICKY_ENOCHANNEL). */
static int op_step(struct sticky_select_op *a)
{
    struct select_op *op = &a->f.op;
    struct select_state *st = &op->st;
    for (;;) {
        int rc;
        switch (op->phase) {
        case OP_LOOKUP:
            if (st->store == NULL || st->chain->n_keys == 0) {
                decided(a, sel_new(st, op->v, op->scratch));
                break;
            }
            rc = store_lookup_async(st->store, st->chain->keys, st->chain->n_keys, &op->level,
                                    &op->found, lookup_done, a, &a->store_op);
            if (rc == STICKY_EINPROGRESS)
                return rc;
            lookup_result(a, rc);
            break;
        case OP_CLAIM:
            sel_claim_mapping(st, op->v, &op->claim);
            rc = store_put_async(st->store, &op->claim, STICKY_STORE_IF_ABSENT, &op->existing,
                                 claim_done, a, &a->store_op);
            if (rc == STICKY_EINPROGRESS)
                return rc;
            claim_result(a, rc);
            break;
        case OP_WRITES:
            if (a->wi >= st->n_writes || st->store == NULL) {
                st->n_writes = 0;
                op->phase = OP_DONE;
                break;
            }
            /* Waiting already (the host has STICKY_EINPROGRESS): the
             * decision does not depend on these writes (promotion, chain
             * rewrites after a move), so the host gets it now and they go
             * on behind it; a failure is counted in store_errors. */
            if (a->linked && !a->background)
                deliver(a, op->rc);
            {
                unsigned flags = sel_write_begin(st, op->v, a->wi, a->follow, &a->wm);
                rc = store_put_async(st->store, &a->wm, flags, &a->wexisting, write_done, a,
                                     &a->store_op);
            }
            if (rc == STICKY_EINPROGRESS)
                return rc;
            write_result(a, rc);
            break;
        default:
            return op->rc;
        }
    }
}

/* The decision is made: written to the host's @out, which is the last the
 * selection touches of the host's. The host's part ends here (its handle
 * is dead; a cancel of it is refused); with follow-up writes still to run
 * the op stays linked until they end. Returns the host's @out. */
static sticky_decision *hand_over(struct sticky_select_op *a)
{
    sticky_decision *out = a->out;
    struct_copy_out(out, out->size, &a->f.d, sizeof(a->f.d));
    a->completing = 1;
    a->background = 1;
    a->out = NULL;
    return out;
}

static void deliver(struct sticky_select_op *a, int rc)
{
    sticky_decision *out = hand_over(a);
    a->cb(a, rc, out, a->user);
}

/* The selection has nothing left to do: deliver (unless done already) and
 * free. */
static void finish_op(struct sticky_select_op *a, int rc)
{
    unlink_pending(a);
    if (!a->background)
        deliver(a, rc);
    op_free(a);
}

static void resume(struct sticky_select_op *a)
{
    int rc = op_step(a);
    if (rc != STICKY_EINPROGRESS)
        finish_op(a, rc);
}

static void lookup_done(void *arg, int rc)
{
    struct sticky_select_op *a = arg;
    struct select_op *op = &a->f.op;
    a->store_op = NULL;
    if (rc == STICKY_OK) {
        store_check_mapping(&op->found);
        if (op->level >= op->st.chain->n_keys)
            rc = STICKY_ESTORE; /* a level outside the chain: a bad reply */
    }
    lookup_result(a, rc);
    resume(a);
}

static void claim_done(void *arg, int rc)
{
    struct sticky_select_op *a = arg;
    a->store_op = NULL;
    if (rc == STICKY_EEXIST)
        store_check_mapping(&a->f.op.existing);
    claim_result(a, rc);
    resume(a);
}

static void write_done(void *arg, int rc)
{
    struct sticky_select_op *a = arg;
    a->store_op = NULL;
    if (rc == STICKY_EEXIST)
        store_check_mapping(&a->wexisting);
    write_result(a, rc);
    resume(a);
}

/* The caller's memory the selection still reads after this call: the
 * channels' ids and model patterns, the model name. Copied into one arena
 * (pointer arrays first, then strings); the request's other pointers are
 * cleared (the key chain and the tenant digest are already derived). */
static int detach(struct sticky_select_op *a)
{
    struct request_view *v = &a->f.v;
    size_t n_ptrs = 0, n_chars = 0;
    for (size_t i = 0; i < a->n; i++) {
        const sticky_channel *c = &a->f.copies[i];
        n_chars += strlen(c->id) + 1;
        if (c->models != NULL) {
            n_ptrs += c->n_models;
            for (size_t k = 0; k < c->n_models; k++)
                n_chars += c->models[k] != NULL ? strlen(c->models[k]) + 1 : 0;
        }
    }
    int own_model = v->req.model != NULL && v->req.model != v->body_model;
    if (own_model)
        n_chars += v->req.model_len + 1;
    a->arena = mem_malloc(a->ctx, n_ptrs * sizeof(char *) + n_chars + 1);
    if (a->arena == NULL)
        return STICKY_ENOMEM;
    const char **ptrs = (const char **)(void *)a->arena;
    char *chars = a->arena + n_ptrs * sizeof(char *);
    for (size_t i = 0; i < a->n; i++) {
        sticky_channel *c = &a->f.copies[i];
        size_t len = strlen(c->id) + 1;
        memcpy(chars, c->id, len);
        c->id = chars;
        chars += len;
        if (c->models == NULL)
            continue;
        const char **models = ptrs;
        for (size_t k = 0; k < c->n_models; k++) {
            if (c->models[k] == NULL) {
                models[k] = NULL;
                continue;
            }
            len = strlen(c->models[k]) + 1;
            memcpy(chars, c->models[k], len);
            models[k] = chars;
            chars += len;
        }
        c->models = models;
        ptrs += c->n_models;
    }
    if (own_model) {
        memcpy(chars, v->req.model, v->req.model_len);
        chars[v->req.model_len] = '\0';
        v->req.model = chars;
    }
    v->req.tenant = NULL;
    v->req.tenant_len = 0;
    v->req.chain = NULL;
    v->req.body = NULL;
    v->req.body_len = 0;
    v->req.messages = NULL;
    v->req.n_messages = 0;
    v->req.system = NULL;
    v->req.n_system = 0;
    v->req.headers = NULL;
    v->req.n_headers = 0;
    v->req.session_id = NULL;
    v->req.session_id_len = 0;
    return STICKY_OK;
}

/* The store operation just started cannot be waited for (no memory to
 * detach): cancel it and continue as if the store had failed. */
static void fail_pending(struct sticky_select_op *a)
{
    store_cancel(a->store, a->store_op);
    a->store_op = NULL;
    switch (a->f.op.phase) {
    case OP_LOOKUP: lookup_result(a, STICKY_ENOMEM); break;
    case OP_CLAIM: claim_result(a, STICKY_ENOMEM); break;
    default: write_result(a, STICKY_ENOMEM); break;
    }
}

STICKY_API int sticky_select_start(sticky_ctx *ctx, const sticky_request *req,
                                   const sticky_channel *channels, size_t n_channels,
                                   sticky_decision *out, unsigned flags,
                                   sticky_select_cb cb, void *user, sticky_select_op **op)
{
    if (op != NULL)
        *op = NULL;
    int rc = sel_check_args(ctx, req, channels, n_channels, out);
    if (rc != STICKY_OK)
        return rc;
    if (cb == NULL || op == NULL || (flags & ~(unsigned)STICKY_ASYNC_MAY_BLOCK)) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select_start: %s",
                cb == NULL ? "cb: NULL" : op == NULL ? "op: NULL" : "flags: unknown bits");
        return STICKY_EINVAL;
    }
    sticky_store *store = sel_store_configured(ctx); /* NULL: the memory store */
    if (store != NULL && !sticky_store_nonblocking(store) &&
        !(flags & STICKY_ASYNC_MAY_BLOCK)) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select_start: store %s may block "
                "(STICKY_EWOULDBLOCK; STICKY_ASYNC_MAY_BLOCK or sticky_select())",
                sticky_store_name(store));
        return STICKY_EWOULDBLOCK;
    }
    if (!store_is_async(store))
        return sticky_select(ctx, req, channels, n_channels, out); /* final, inline */

    struct sticky_select_op *a = op_alloc(ctx, n_channels);
    if (a == NULL)
        return STICKY_ENOMEM;
    a->ctx = ctx;
    a->store = store;
    a->out = out;
    a->cb = cb;
    a->user = user;
    a->n = n_channels;
    a->f.copies = (sticky_channel *)(void *)(a + 1);
    a->f.all = (struct cand *)(void *)(a->f.copies + n_channels);
    a->f.scratch = a->f.all + n_channels;
    sticky_mapping_init(&a->wm);
    sticky_mapping_init(&a->wexisting);
    rc = sel_frame_start(ctx, req, channels, n_channels, &a->f);
    if (rc == STICKY_OK) {
        rc = op_step(a);
        if (rc == STICKY_EINPROGRESS) {
            if (detach(a) == STICKY_OK) {
                link_pending(a);
                if (a->f.op.phase == OP_WRITES) {
                    /* Decided already (the store answered at once); only
                     * follow-up writes wait: final now, they go on behind. */
                    hand_over(a);
                    return a->f.op.rc;
                }
                *op = a;
                return STICKY_EINPROGRESS;
            }
            /* No memory to wait: decided now, without the store. */
            fail_pending(a);
            rc = op_step(a);
        }
    }
    if (rc != STICKY_OK && a->f.d.reason != STICKY_REASON_NO_CHANNEL)
        sticky_decision_init(&a->f.d); /* argument / key errors: no partial decision */
    struct_copy_out(out, out->size, &a->f.d, sizeof(a->f.d));
    op_free(a);
    return rc;
}

/* Stop @op: its store operation, what it holds, its memory. */
static void op_cancel(sticky_ctx *ctx, struct sticky_select_op *op)
{
    store_cancel(op->store, op->store_op);
    op->store_op = NULL;
    switch (op->f.op.phase) {
    case OP_CLAIM:
        sel_claim_abandon(&op->f.op.st, &op->f.v); /* its reserved slot */
        break;
    case OP_WRITES:
        if (op->f.op.rc == STICKY_OK && !op->background)
            sticky_release(ctx, &op->f.d); /* the attempt it opened */
        break;
    default:
        break; /* LOOKUP: nothing taken yet */
    }
    op_free(op);
}

STICKY_API int sticky_select_cancel(sticky_ctx *ctx, sticky_select_op *op)
{
    if (ctx == NULL || op == NULL || op->completing || op->ctx != ctx)
        return STICKY_EINVAL;
    op_cancel(ctx, op);
    return STICKY_OK;
}

void select_async_cancel_all(sticky_ctx *ctx)
{
    size_t n = 0;
    while (ctx->sel->async_pending != NULL) {
        n += !ctx->sel->async_pending->background; /* follow-up writes: not the host's */
        op_cancel(ctx, ctx->sel->async_pending);
    }
    if (n > 0)
        ctx_log(ctx, STICKY_LOG_ERROR, "context freed with %zu selections in progress: "
                "cancelled (free the store first, or cancel them)", n);
}
