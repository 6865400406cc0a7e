/*
 * examples/custom-store/array_store.h - a complete custom storage backend
 * written only against libsticky's public headers: a fixed-size array of
 * mappings with linear search, TTL, threshold/sliding renewal and LRU
 * eviction when full. It is deliberately simple (O(n) lookups) and not
 * thread-safe: it does not declare STICKY_STORE_CAP_THREAD_SAFE, so
 * libsticky serialises calls to it. Its memory comes from the host's
 * allocator through the context (sticky_ctx_mem_calloc() / _free()).
 */
#ifndef ARRAY_STORE_H
#define ARRAY_STORE_H

#include <sticky/sticky.h>

struct array_store_config {
    size_t capacity;          /* slots; the size cap */
    uint32_t ttl_seconds;
    uint32_t renew_threshold_seconds;
    int renew_mode;           /* enum sticky_renew_mode */
};

/* Create the backend and wrap it in a sticky_store handle; @ctx must
 * outlive it. Returns 0, STICKY_EINVAL (bad config) or STICKY_ENOMEM. */
int array_store_new(sticky_ctx *ctx, const struct array_store_config *cfg,
                    sticky_store **out);

#endif /* ARRAY_STORE_H */
