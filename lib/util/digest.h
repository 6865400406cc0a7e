/*
 * lib/util/digest.h - SHA-256 through the EVP_MD the context fetched once,
 * and the context's keyed digest: HMAC-SHA256 with the deployment secret
 * when one is set, plain SHA-256 otherwise, on a copyable state. Session
 * keys (key/canon.c) and tenant digests (select/tenant.c) are built on it.
 */
#ifndef STICKY_DIGEST_H
#define STICKY_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/context_internal.h"

#define STICKY_SHA256_LEN 32

/* One-shot SHA-256 of @len bytes. Returns 0 or STICKY_ECRYPTO. */
int sha256_digest(const sticky_ctx *ctx, const void *data, size_t len,
                  uint8_t out[STICKY_SHA256_LEN]);

/* Start a keyed digest: a copy of the context's HMAC inner state, or a
 * fresh SHA-256. Absorb with sha256_update(). */
void keyed_begin(const sticky_ctx *ctx, sha256_state *s);

/* The keyed digest of what @s absorbed (@s itself is left unchanged). */
void keyed_peek(const sticky_ctx *ctx, const sha256_state *s,
                uint8_t out[STICKY_SHA256_LEN]);

#endif /* STICKY_DIGEST_H */
