/*
 * lib/select/tenant.h - what a mapping stores about its tenant: never the
 * tenant string (the host's API key or group id), but a digest of it,
 * HMAC-SHA256 keyed with the deployment secret when the context has one
 * (cfg.key_secret), plain SHA-256 otherwise, over a domain tag and the
 * tenant bytes; 128 bits as 32 lowercase hex characters. An empty tenant
 * stays "" (nothing to hide). docs/storage.md, "Tenants".
 */
#ifndef STICKY_TENANT_H
#define STICKY_TENANT_H

#include <stddef.h>

#include "util/context_internal.h"

#define TENANT_DOMAIN "sticky-tenant/1" /* followed by its NUL */
#define TENANT_DIGEST_BYTES 16
#define TENANT_DIGEST_HEX (2 * TENANT_DIGEST_BYTES)

/* @out receives the digest of @tenant[0..@len) as hex and a NUL, or "" when
 * @len is 0. */
void tenant_digest(const sticky_ctx *ctx, const char *tenant, size_t len,
                   char out[TENANT_DIGEST_HEX + 1]);

#endif /* STICKY_TENANT_H */
