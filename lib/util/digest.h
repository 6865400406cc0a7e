/*
 * lib/util/digest.h - SHA-256 through the EVP_MD the context fetched once.
 * Session keys (key.c) are built on this.
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

#endif /* STICKY_DIGEST_H */
