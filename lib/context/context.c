/*
 * lib/context/context.c - sticky_ctx_new / sticky_ctx_free / sticky_ctx_config:
 * validating and copying the config, fetching SHA-256 once.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "context/config_internal.h"
#include "util/context_internal.h"
#include "util/digest.h"
#include "select/select_internal.h"
#include "util/struct_log.h"
#include "sticky/error.h"

#define HMAC_BLOCK 64 /* SHA-256 block size */

/* Precompute HMAC-SHA256 states for @secret (RFC 2104); none without one. */
static int hmac_setup(sticky_ctx *ctx, const void *secret, size_t len)
{
    if (len == 0)
        return STICKY_OK;
    uint8_t k[HMAC_BLOCK] = {0};
    if (len > HMAC_BLOCK) {
        if (sha256_digest(ctx, secret, len, k) != STICKY_OK) /* RFC 2104: K = H(K) */
            return STICKY_ECRYPTO;
    } else {
        memcpy(k, secret, len);
    }
    uint8_t ipad[HMAC_BLOCK], opad[HMAC_BLOCK];
    for (int i = 0; i < HMAC_BLOCK; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    sha256_begin(&ctx->hmac_inner);
    sha256_update(&ctx->hmac_inner, ipad, HMAC_BLOCK);
    sha256_begin(&ctx->hmac_outer);
    sha256_update(&ctx->hmac_outer, opad, HMAC_BLOCK);
    ctx->has_secret = 1;
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    return STICKY_OK;
}

STICKY_API int sticky_ctx_new(const sticky_config *cfg, sticky_ctx **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;

    sticky_config full;
    int rc = config_read(&full, cfg);
    if (rc != STICKY_OK)
        return rc;
    enum sticky_config_field bad;
    rc = config_validate(&full, &bad);
    if (rc != STICKY_OK) {
        log_cfg(&full, STICKY_LOG_ERROR,
                       "config: %s is invalid (ttl_seconds=%u "
                       "renew_threshold_seconds=%u max_sessions=%u "
                       "message_count=%u include_system_prompt=%d log_level=%d)",
                       config_field_name(bad), (unsigned)full.ttl_seconds,
                       (unsigned)full.renew_threshold_seconds,
                       (unsigned)full.max_sessions,
                       (unsigned)full.message_count, full.include_system_prompt,
                       full.log_level);
        return rc;
    }
    sticky_ctx *ctx = allocator_malloc(&full.allocator, sizeof(*ctx));
    if (ctx == NULL)
        return STICKY_ENOMEM;
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = full;
    ctx->clock_fn = full.clock_fn != NULL ? full.clock_fn : clock_realtime_ms;
    ctx->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (ctx->sha256 == NULL) {
        ctx_log(ctx, STICKY_LOG_ERROR, "libcrypto: cannot fetch SHA256");
        sticky_ctx_free(ctx);
        return STICKY_ECRYPTO;
    }
    rc = hmac_setup(ctx, full.key_secret, full.key_secret_len);
    if (rc != STICKY_OK) {
        ctx_log(ctx, STICKY_LOG_ERROR, "libcrypto: cannot set up HMAC");
        sticky_ctx_free(ctx);
        return rc;
    }
    rc = selector_create(ctx);
    if (rc != STICKY_OK) {
        sticky_ctx_free(ctx);
        return rc;
    }
    /* The secret is not kept (only the HMAC states derived from it). */
    ctx->cfg.key_secret = NULL;
    ctx->cfg.key_secret_len = 0;
    ctx_log(ctx, STICKY_LOG_DEBUG,
               "context created: ttl=%us renew_threshold=%us max_sessions=%u "
               "message_count=%u include_system_prompt=%d",
               (unsigned)full.ttl_seconds,
               (unsigned)full.renew_threshold_seconds,
               (unsigned)full.max_sessions, (unsigned)full.message_count,
               full.include_system_prompt);
    *out = ctx;
    return STICKY_OK;
}

STICKY_API void sticky_ctx_free(sticky_ctx *ctx)
{
    if (ctx == NULL)
        return;
    selector_destroy(ctx);
    OPENSSL_cleanse(&ctx->hmac_inner, sizeof(ctx->hmac_inner));
    OPENSSL_cleanse(&ctx->hmac_outer, sizeof(ctx->hmac_outer));
    EVP_MD_free(ctx->sha256);
    sticky_allocator a = ctx->cfg.allocator;
    allocator_free(&a, ctx);
}

STICKY_API int sticky_ctx_config(const sticky_ctx *ctx, sticky_config *out)
{
    if (ctx == NULL || out == NULL)
        return STICKY_EINVAL;
    int rc = struct_size_ok(ctx, "ctx_config", "out", struct_size_of(out), CONFIG_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    struct_copy_out(out, out->size, &ctx->cfg, sizeof(ctx->cfg));
    return STICKY_OK;
}
