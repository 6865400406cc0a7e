/*
 * lib/store/store_health.h - the selector's door to a store's optional
 * shared channel health (sticky_store_vtable version 2: health_publish,
 * health_poll). Implemented in store.c, which owns the handle: events are
 * validated in both directions and a backend that is not thread-safe is
 * serialised as for every other method.
 */
#ifndef STICKY_STORE_HEALTH_H
#define STICKY_STORE_HEALTH_H

#include "sticky/store.h"

/* 1 when @store's backend shares channel health (version >= 2 and the
 * methods set); 0 for NULL or any other store. No I/O, no lock. */
int store_shares_health(const sticky_store *store);

/* Publish @ev (full-size) through the backend. STICKY_EINVAL for a store
 * without health sharing or a malformed event; else the backend's code. */
int store_health_publish(sticky_store *store, const sticky_health_event *ev);

/* The next event received from another node into @out: 0, or
 * STICKY_ENOTFOUND when none is waiting. Malformed events from the backend
 * are logged and skipped. No I/O (the backend's contract). */
int store_health_poll(sticky_store *store, sticky_health_event *out);

#endif /* STICKY_STORE_HEALTH_H */
