/*
 * select_async.c - selectAsync's native half: sticky_select_start() on the
 * Router's store. With the memory or shared-memory store the result is
 * final at once (same as select); with the async Redis store on Node's
 * libuv loop the selection completes in a loop callback, which hands the
 * result to JavaScript's settle(id, rc). Selections in progress are kept
 * in a list so that cancel (AbortSignal) and close can end them.
 */
#include <stdlib.h>

#include "native.h"

/* settle() is held strongly only while selections are in flight: then the
 * Router must live to settle them; otherwise the reference is weak, so an
 * unclosed Router can be collected (the JavaScript Router keeps settle). */
static void pending_link(napi_env env, router *r, pending_op *p)
{
    p->prev = NULL;
    p->next = r->pending;
    if (r->pending != NULL)
        r->pending->prev = p;
    r->pending = p;
    if (r->n_pending++ == 0 && r->settle_ref != NULL)
        napi_reference_ref(env, r->settle_ref, NULL);
}

static void pending_unlink(router *r, pending_op *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        r->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    if (--r->n_pending == 0 && r->settle_ref != NULL && !r->ne->tearing_down)
        napi_reference_unref(r->ne->env, r->settle_ref, NULL);
}

static void pending_free(napi_env env, pending_op *p)
{
    if (p->raw_ref != NULL)
        napi_delete_reference(env, p->raw_ref);
    free(p);
}

/* The library's completion callback, on the loop thread. */
static void on_decision(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    (void)op;
    (void)d;
    pending_op *p = user;
    router *r = p->r;
    node_env *ne = r->ne;
    napi_env env = ne->env;
    uint32_t id = p->id;
    if (ne->tearing_down) {
        pending_unlink(r, p);
        free(p); /* references die with the environment */
        return;
    }
    napi_handle_scope hs;
    int scoped = napi_open_handle_scope(env, &hs) == napi_ok;
    napi_value fn = NULL, recv = NULL, argv[2], res;
    /* settle() into the handle scope before the last unlink makes its
     * reference weak. */
    if (scoped && r->settle_ref != NULL && r->resource_ref != NULL) {
        napi_get_reference_value(env, r->settle_ref, &fn);
        napi_get_reference_value(env, r->resource_ref, &recv);
    }
    pending_unlink(r, p);
    pending_free(env, p);
    if (!scoped)
        return;
    if (fn == NULL || recv == NULL || r->async_ctx == NULL) {
        napi_close_handle_scope(env, hs);
        return;
    }
    napi_create_uint32(env, id, &argv[0]);
    napi_create_int32(env, rc, &argv[1]);
    /* make_callback: a callback scope, so Promise continuations run now. */
    if (napi_make_callback(env, r->async_ctx, recv, fn, 2, argv, &res) != napi_ok) {
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value exc;
            napi_get_and_clear_last_exception(env, &exc);
            napi_fatal_exception(env, exc);
        }
    }
    napi_close_handle_scope(env, hs);
}

/* selectStart(h, channels, raw, off, body, tenant, model, headers,
 * sessionId, flags, chain, id) -> 0 (final: numbers in the scratch slots) or
 * STICKY_EINPROGRESS (settle(id, rc) comes later); errors are thrown. */
napi_value js_select_start(napi_env env, napi_callback_info info)
{
    size_t argc = 12;
    napi_value argv[12], out;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 12)
        return throw_type(env, "selectStart: 12 arguments");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    channel_set *cs = get_channels(env, argv[1]);
    if (cs == NULL)
        return NULL;
    sticky_decision *d = get_raw_decision(env, argv[2], argv[3]);
    if (d == NULL)
        return NULL;
    uint32_t id;
    if (napi_get_value_uint32(env, argv[11], &id) != napi_ok)
        return throw_type(env, "selectStart: bad id");
    pending_op *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return throw_error(env, "STICKY_ENOMEM", "selectAsync: out of memory");
    char stack[8192];
    arena a;
    arena_init(&a, stack, sizeof stack);
    js_request jr;
    if (build_request(env, argv + 4, &a, &jr) != 0) {
        arena_free(&a);
        free(p);
        return NULL;
    }
    sticky_decision_init(d);
    p->r = r;
    p->id = id;
    sticky_select_op *op = NULL;
    /* The library reads the request and channels only during this call
     * (docs/async.md): the arena can go right after it. */
    router_enter(r);
    int rc = sticky_select_start(r->ctx, &jr.req, cs->array, cs->n, d, 0, on_decision, p, &op);
    arena_free(&a);
    if (r->close_pending) { /* closed by the clock: nothing to hand back */
        if (rc == STICKY_EINPROGRESS)
            sticky_select_cancel(r->ctx, op);
        else if (rc == 0)
            sticky_release(r->ctx, d);
        free(p);
        router_leave(env, r);
        return NULL;
    }
    router_leave(env, r);
    if (rc == STICKY_EINPROGRESS) {
        p->op = op;
        /* The decision lives in the slab ArrayBuffer: keep it until the end. */
        napi_create_reference(env, argv[2], 1, &p->raw_ref);
        pending_link(env, r, p);
        napi_create_int32(env, rc, &out);
        return out;
    }
    free(p);
    if (rc != 0)
        return throw_sticky(env, rc, "select", d->retry_at_ms);
    write_scratch(r->ne, d);
    napi_create_int32(env, 0, &out);
    return out;
}

/* selectCancel(h, id) -> whether a selection was cancelled. */
napi_value js_select_cancel(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], out;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 2)
        return throw_type(env, "selectCancel: 2 arguments");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    uint32_t id;
    if (napi_get_value_uint32(env, argv[1], &id) != napi_ok)
        return throw_type(env, "selectCancel: bad id");
    pending_op *p = r->pending;
    while (p != NULL && p->id != id)
        p = p->next;
    int done = 0;
    router_enter(r);
    if (p != NULL && sticky_select_cancel(r->ctx, p->op) == 0) {
        pending_unlink(r, p);
        pending_free(env, p);
        done = 1;
    }
    if (router_leave(env, r) != 0)
        return NULL;
    napi_get_boolean(env, done, &out);
    return out;
}

void pending_cancel_all(router *r)
{
    napi_env env = r->ne->env;
    while (r->pending != NULL) {
        pending_op *p = r->pending;
        pending_unlink(r, p);
        sticky_select_cancel(r->ctx, p->op);
        pending_free(env, p);
    }
}
