/* lib/util/digest.c - SHA-256 using the context's pre-fetched EVP_MD. */
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
