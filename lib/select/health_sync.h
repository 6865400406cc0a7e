/*
 * lib/select/health_sync.h - channel health shared across gateway nodes
 * through the store (sticky_store_vtable version 2): what a node learns
 * about an account (a 429 with an announced reset, refused credentials, a
 * clear by the host) is published through the store, and what other nodes
 * published is applied to this context's health registry right after each
 * store get of a selection. With a store that does not share health every
 * call here is a no-op costing one pointer test.
 */
#ifndef STICKY_HEALTH_SYNC_H
#define STICKY_HEALTH_SYNC_H

#include "select/health.h"
#include "sticky/context.h"
#include "sticky/store.h"

/* Apply every health event @st received from other nodes (no I/O). Called
 * by sticky_select() after each store get, before the bound channel's
 * usability is judged. Events applied here are never published again. */
void health_sync_pull(sticky_ctx *ctx, sticky_store *st);

/* After sticky_report() wrote a cooldown of @cause into slot @family of
 * @h: publish the slot's state (its end after the merge) when the cause
 * is an account fact other nodes should respect (STICKY_CAUSE_RATE_LIMIT,
 * STICKY_CAUSE_AUTH). Transient noise (5xx, 529, timeouts, a 429 without
 * a reset, the breaker) stays local. One store round trip, on the failure
 * path only. With @async (sticky_report_async()) and a store that has
 * health_publish_async, the publish is started and not waited for; its
 * failure is logged and counted (store_errors) when it completes. */
void health_sync_push(sticky_ctx *ctx, struct channel_health *h, int family, int cause,
                      int async);

/* Would sticky_report_async() have to wait for @st (it shares health, has
 * no health_publish_async and is not non-blocking)? */
int health_sync_would_block(const sticky_store *st);

/* After sticky_ctx_clear_channel_health() cleared @h: publish the clear. */
void health_sync_push_clear(sticky_ctx *ctx, struct channel_health *h);

/* Cancel the publishes sticky_report_async() started and that have not
 * completed (selector_destroy(): the context goes away first). */
void health_sync_cancel_all(sticky_ctx *ctx);

#endif /* STICKY_HEALTH_SYNC_H */
