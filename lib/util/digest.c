/* lib/util/digest.c - SHA-256 using the context's pre-fetched EVP_MD, and the keyed digest (see digest.h). */
#include "util/digest.h"

#include "sticky/error.h"

int sha256_digest(const sticky_ctx *ctx, const void *data, size_t len,
                  uint8_t out[STICKY_SHA256_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, ctx->sha256, NULL) != 1 ||
        n != STICKY_SHA256_LEN)
        return STICKY_ECRYPTO;
    return STICKY_OK;
}

void keyed_begin(const sticky_ctx *ctx, sha256_state *s)
{
    if (ctx->has_secret)
        *s = ctx->hmac_inner;
    else
        sha256_begin(s);
}

void keyed_peek(const sticky_ctx *ctx, const sha256_state *s, uint8_t out[STICKY_SHA256_LEN])
{
    sha256_peek(s, out);
    if (ctx->has_secret) {
        sha256_state outer = ctx->hmac_outer;
        sha256_update(&outer, out, STICKY_SHA256_LEN);
        sha256_peek(&outer, out);
    }
}
