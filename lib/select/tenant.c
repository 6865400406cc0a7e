/*
 * lib/select/tenant.c - the tenant digest stored in mappings (see tenant.h).
 * Uses the context's HMAC states (precomputed from the key secret once), so
 * a digest costs two SHA-256 blocks for a short tenant.
 */
#include "select/tenant.h"

#include <stdint.h>

#include "util/digest.h"

void tenant_digest(const sticky_ctx *ctx, const char *tenant, size_t len,
                   char out[TENANT_DIGEST_HEX + 1])
{
    out[0] = '\0';
    if (tenant == NULL || len == 0)
        return;
    sha256_state s;
    keyed_begin(ctx, &s);
    sha256_update(&s, TENANT_DOMAIN, sizeof(TENANT_DOMAIN)); /* with its NUL */
    sha256_update(&s, tenant, len);
    uint8_t d[STICKY_SHA256_LEN];
    keyed_peek(ctx, &s, d);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < TENANT_DIGEST_BYTES; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[TENANT_DIGEST_HEX] = '\0';
}
