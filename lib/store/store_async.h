/*
 * lib/store/store_async.h - the selector's door to a store's optional
 * non-blocking operations (sticky_store_vtable version 3: lookup_async,
 * put_async, health_publish_async, cancel). Implemented in store.c, which
 * owns the handle: like the synchronous door it passes the context clock,
 * validates inputs, and serialises a backend that is not thread-safe (for
 * the call only, never across the wait).
 *
 * Completion: each function either completes now (any code but
 * STICKY_EINPROGRESS; outputs written; @done never called) or returns
 * STICKY_EINPROGRESS with *@op set, and @done(@arg, rc) runs exactly once
 * later unless store_cancel(@op) is called first. Outputs belong to the
 * caller's op until then; on completion the caller runs
 * store_check_mapping() on the records it reads.
 */
#ifndef STICKY_STORE_ASYNC_H
#define STICKY_STORE_ASYNC_H

#include <stdint.h>

#include "sticky/store.h"

/* 1 when @store's backend has the version-3 methods; 0 for NULL. */
int store_is_async(const sticky_store *store);

/* 1 when the backend has health_publish_async. */
int store_has_publish_async(const sticky_store *store);

/* Terminate the ids of a record a backend wrote and reset its size. */
void store_check_mapping(sticky_mapping *m);

/* The first live mapping along keys[n_keys - 1] .. keys[0] (get's use
 * semantics), into @out (full size) and *@level. 0 / STICKY_ENOTFOUND /
 * STICKY_EINPROGRESS / errors; STICKY_EINVAL for a store without the
 * methods or a NULL argument or an empty chain. */
int store_lookup_async(sticky_store *store, const uint64_t *keys, uint32_t n_keys,
                       uint32_t *level, sticky_mapping *out, sticky_store_done_fn done,
                       void *arg, void **op);

/* put() without waiting. @m is checked and copied as by sticky_store_put();
 * @existing (full size, required) receives the live mapping with
 * STICKY_EEXIST. */
int store_put_async(sticky_store *store, const sticky_mapping *m, unsigned flags,
                    sticky_mapping *existing, sticky_store_done_fn done, void *arg,
                    void **op);

/* health_publish() without waiting; @ev validated as by
 * store_health_publish(). STICKY_EINVAL without health_publish_async. */
int store_health_publish_async(sticky_store *store, const sticky_health_event *ev,
                               sticky_store_done_fn done, void *arg, void **op);

/* Stop delivery of @op (from one of the functions above, not completed).
 * Nothing for NULL. */
void store_cancel(sticky_store *store, void *op);

#endif /* STICKY_STORE_ASYNC_H */
