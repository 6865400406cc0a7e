/*
 * lib/util/context_internal.h - the layout of struct sticky_ctx and the helpers
 * every library file uses through it: allocation, logging and the clock.
 */
#ifndef STICKY_CONTEXT_INTERNAL_H
#define STICKY_CONTEXT_INTERNAL_H

#include <openssl/evp.h>

#include "util/sha256_state.h"
#include "sticky/context.h"
#include "util/log.h"

struct sticky_selector; /* select_internal.h */

struct sticky_ctx {
    sticky_config cfg; /* validated, full-size copy; immutable after new() */
    EVP_MD *sha256;    /* fetched once in sticky_ctx_new() */
    sticky_clock_fn clock_fn; /* cfg.clock_fn or the real clock */
    /* With a key secret: SHA-256 states after absorbing the HMAC key
     * blocks (K ^ ipad, K ^ opad); copied per key, never modified. */
    int has_secret;
    sha256_state hmac_inner;
    sha256_state hmac_outer;
    struct sticky_selector *sel; /* channel health, store, counters */
};

/* Allocation through the context's allocator (libc when none was given). */
void *mem_malloc(const sticky_ctx *ctx, size_t size);
void *mem_calloc(const sticky_ctx *ctx, size_t n, size_t size);
void *mem_realloc(const sticky_ctx *ctx, void *ptr, size_t size);
void mem_free(const sticky_ctx *ctx, void *ptr);

/* Allocation through a bare allocator, for use before a context exists. */
void *allocator_malloc(const sticky_allocator *a, size_t size);
void allocator_free(const sticky_allocator *a, void *ptr);

/* Default clock: CLOCK_REALTIME in milliseconds since the Unix epoch. */
int64_t clock_realtime_ms(void *unused);

#define ctx_log(ctx, level, ...) log_cfg(&(ctx)->cfg, level, __VA_ARGS__)

#endif /* STICKY_CONTEXT_INTERNAL_H */
