/*
 * lib/select/tenant.c - the tenant digest stored in mappings (see tenant.h).
 * Uses the context's HMAC states (precomputed from the key secret once), so
 * a digest costs two SHA-256 blocks for a short tenant.
 */
#include "select/tenant.h"

#include <stdint.h>

#include "util/sha256_state.h"

void tenant_digest(const sticky_ctx *ctx, const char *tenant, size_t len,
                   char out[TENANT_DIGEST_HEX + 1])
{
    out[0] = '\0';
    if (tenant == NULL || len == 0)
        return;
    sha256_state s;
    if (ctx->has_secret)
        s = ctx->hmac_inner;
    else
        sha256_begin(&s);
    sha256_update(&s, TENANT_DOMAIN, sizeof(TENANT_DOMAIN)); /* with its NUL */
    sha256_update(&s, tenant, len);
    uint8_t d[32];
    sha256_peek(&s, d);
    if (ctx->has_secret) {
        sha256_state outer = ctx->hmac_outer;
        sha256_update(&outer, d, sizeof(d));
        sha256_peek(&outer, d);
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < TENANT_DIGEST_BYTES; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[TENANT_DIGEST_HEX] = '\0';
}
