/*
 * sticky/async.h - selection for event-loop hosts (nginx, Envoy, HAProxy,
 * h2o, libuv / libevent programs, Node): sticky_select_start() never blocks
 * the calling thread. When the store answers from memory (the memory and
 * shared-memory stores) the decision is final when the call returns, at
 * the cost of sticky_select(); when the store needs I/O (the async Redis
 * store on the host's loop) the call returns STICKY_EINPROGRESS and the
 * decision arrives through a callback on the loop's thread.
 * sticky_select_cancel() abandons a selection whose client went away;
 * sticky_report_async() reports without waiting for the store.
 *
 * Usage:
 *     sticky_select_op *op;
 *     int rc = sticky_select_start(ctx, &req, ch, n, &c->decision, 0,
 *                                  on_decision, c, &op);
 *     if (rc == STICKY_EINPROGRESS)
 *         c->op = op;                 // on_decision() runs later
 *     else
 *         on_decision(NULL, rc, &c->decision, c);   // final now
 *
 * docs/async.md states the lifetime, threading, exactly-once and
 * cancellation rules.
 */
#ifndef STICKY_ASYNC_H
#define STICKY_ASYNC_H

#include "common.h"
#include "context.h"
#include "request.h"
#include "select.h"

STICKY_BEGIN_DECLS

/* Flags of sticky_select_start() / sticky_report_async(). */
enum sticky_async_flag {
    /* Let the call run a store call that may block (a backend that has neither
     * the version-3 async methods nor STICKY_STORE_CAP_NONBLOCKING). Without it
     * such a call returns STICKY_EWOULDBLOCK and does nothing. */
    STICKY_ASYNC_MAY_BLOCK = 1u << 0
};

/* A selection in progress. Opaque; owned by the library. */
typedef struct sticky_select_op sticky_select_op;

/*
 * Called once when a selection that returned STICKY_EINPROGRESS completes, on
 * the thread that runs the store's event loop, as soon as the decision is
 * made (writes it does not depend on, such as a promotion, continue behind
 * it; a failure among them is counted, not reported in @d). @rc and @d are
 * what sticky_select() would have returned and written: 0 (an attempt is
 * open), STICKY_ENOCHANNEL (d->reason NO_CHANNEL), STICKY_ENOMEM. @d is the @out the
 * host passed to sticky_select_start(). @op is dead for the host when the
 * callback returns (the library may keep its memory while follow-up writes
 * run; do not pass it to sticky_select_cancel() then). The callback may call any libsticky function, including
 * sticky_select_start() and sticky_select_cancel() of other selections, but
 * not sticky_store_free() / sticky_ctx_free() (defer them to a later loop turn).
 */
typedef void (*sticky_select_cb)(sticky_select_op *op, int rc, sticky_decision *d, void *user);

/**
 * sticky_select_start - choose a channel without blocking the calling thread.
 *
 * Does everything sticky_select() does. When the store answers from memory
 * (memory or shared-memory store, or a failed/backing-off Redis) the decision
 * is made before it returns, at the cost of sticky_select() and with no
 * allocation: the return value is final and @cb is never called. When the
 * store needs I/O it returns STICKY_EINPROGRESS at once and the decision is
 * delivered later through @cb.
 *
 * @ctx: the context. @req, @channels, @n_channels, @out: as sticky_select().
 * @flags: 0 or STICKY_ASYNC_MAY_BLOCK.
 * @cb: completion callback (required). @user: passed to @cb.
 * @op: receives the handle with STICKY_EINPROGRESS; NULL otherwise.
 * Lifetime: @req (body, headers, strings) and @channels are read only during
 *          this call: the key chain is derived before any store call, and on
 *          STICKY_EINPROGRESS the library copies what the decision still needs
 *          (channel records with their ids and model patterns, the model name,
 *          the chain, the tenant digest). @out must stay valid until @cb runs or
 *          sticky_select_cancel() returns; it is written only before this call
 *          returns (final result) or just before @cb.
 * Returns: the final codes of sticky_select() (0, STICKY_ENOCHANNEL, STICKY_EINVAL,
 *          STICKY_EABI, STICKY_EPARSE, STICKY_ELIMIT, STICKY_ENOMEM; argument and
 *          key errors are always immediate); STICKY_EINPROGRESS; STICKY_EWOULDBLOCK
 *          (the store may block and @flags lacks STICKY_ASYNC_MAY_BLOCK: nothing
 *          was done, nothing counted; use sticky_select() on a worker thread).
 * Thread-safety: with a store that never does I/O, as sticky_select(): any
 *          thread. With a loop-bound store (sticky_redis_store_new_uv() ...):
 *          only on that loop's thread; @cb runs there too.
 * Since: 0.4.0
 */
STICKY_API int sticky_select_start(sticky_ctx *ctx, const sticky_request *req,
                                   const sticky_channel *channels, size_t n_channels,
                                   sticky_decision *out, unsigned flags,
                                   sticky_select_cb cb, void *user, sticky_select_op **op);

/**
 * sticky_select_cancel - abandon a selection in progress (the client went away).
 *
 * After it returns: the callback is never called, the decision (the out
 * argument of sticky_select_start()) is never written, the handle is
 * freed; an in-flight slot the selection had reserved is released and an
 * attempt it had opened is ended (no sticky_release() needed); its
 * pending store operation is cancelled. Writes already sent to the store may still
 * take effect (e.g. the new session's binding); they are as valid as if the
 * request had completed.
 *
 * @ctx: the context. @op: a handle from sticky_select_start() whose callback
 *      has not run.
 * Returns: 0; STICKY_EINVAL if @op is NULL or is completing (called from its own
 *          callback). Calling it after the callback returned is a use after free.
 * Thread-safety: on the loop thread that runs the callbacks.
 * Since: 0.4.0
 */
STICKY_API int sticky_select_cancel(sticky_ctx *ctx, sticky_select_op *op);

/**
 * sticky_report_async - sticky_report() that never waits for the store.
 *
 * Ends the attempt and updates local health exactly as sticky_report(), then,
 * when the outcome is shared with other nodes (a 429 with a reset time,
 * 401/403) and the store shares health, starts the publish on the store's loop
 * and returns without waiting. The publish completes later; a failure is
 * logged and counted (store_errors). Freeing the store completes it;
 * freeing the context first cancels it.
 *
 * @ctx, @d, @o: as sticky_report(). @flags: 0 or STICKY_ASYNC_MAY_BLOCK.
 * Returns: as sticky_report(); STICKY_EWOULDBLOCK when the store shares health
 *          but has no health_publish_async and is not non-blocking (decided per
 *          store, not per outcome, so a host meets it in its first test, not in
 *          its first incident): nothing was done, the attempt is still open.
 * Thread-safety: with a loop-bound store, on the loop thread; otherwise any.
 * Since: 0.4.0
 */
STICKY_API int sticky_report_async(sticky_ctx *ctx, sticky_decision *d,
                                   const sticky_outcome *o, unsigned flags);

STICKY_END_DECLS

#endif /* STICKY_ASYNC_H */
