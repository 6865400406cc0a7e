/*
 * lib/key/key.c - the public session-key API: request and chain init,
 * derivation (an explicit id if one is honoured, else content), hex
 * helpers. key_derive() is what the selector calls on its own copy of the
 * request.
 */
#include <string.h>

#include "key/key_internal.h"
#include "util/struct_log.h"
#include "sticky/error.h"

STICKY_API int sticky_request_init_sized(sticky_request *r, size_t size)
{
    return struct_init(r, size, REQUEST_MIN_SIZE);
}

STICKY_API int sticky_key_chain_init_sized(sticky_key_chain *chain, size_t size)
{
    return struct_init(chain, size, KEY_CHAIN_MIN_SIZE);
}

/* A NULL pointer with a non-zero length: says which field. */
static int null_with_length(const sticky_ctx *ctx, const char *op, const void *p,
                            size_t len, const char *field, const char *len_field)
{
    if (p != NULL || len == 0)
        return 0;
    ctx_log(ctx, STICKY_LOG_DEBUG, "%s: request.%s: NULL with %s %zu", op, field,
            len_field, len);
    return 1;
}

static int check_request(const sticky_ctx *ctx, const sticky_request *req, const char *op)
{
    if (null_with_length(ctx, op, req->tenant, req->tenant_len, "tenant", "tenant_len") ||
        null_with_length(ctx, op, req->body, req->body_len, "body", "body_len") ||
        null_with_length(ctx, op, req->session_id, req->session_id_len, "session_id",
                         "session_id_len") ||
        null_with_length(ctx, op, req->headers, req->n_headers, "headers", "n_headers") ||
        null_with_length(ctx, op, req->messages, req->n_messages, "messages", "n_messages") ||
        null_with_length(ctx, op, req->system, req->n_system, "system", "n_system"))
        return STICKY_EINVAL;
    if (req->format < STICKY_FORMAT_AUTO || req->format > STICKY_FORMAT_STRUCTURED) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: request.format: %d is not an enum sticky_body_format",
                op, req->format);
        return STICKY_EINVAL;
    }
    if (req->body != NULL && req->format == STICKY_FORMAT_STRUCTURED) {
        ctx_log(ctx, STICKY_LOG_DEBUG,
                "%s: request.format: STRUCTURED with a body (set body NULL or another format)", op);
        return STICKY_EINVAL;
    }
    if (req->body_len > STICKY_MAX_BODY_BYTES) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: request.body_len: %zu is over %u bytes", op,
                req->body_len, (unsigned)STICKY_MAX_BODY_BYTES);
        return STICKY_ELIMIT;
    }
    return STICKY_OK;
}

/* The string at @span (a top-level "model") into @out when it fits
 * STICKY_MODEL_SIZE with its NUL and holds no NUL; else "". */
static void model_from_span(const sticky_ctx *ctx, const json_span *span, char *out)
{
    out[0] = '\0';
    if (span->start == NULL)
        return;
    growbuf g;
    growbuf_init(&g, ctx);
    if (json_span_decode_string(span, &g) == STICKY_OK && g.len < STICKY_MODEL_SIZE &&
        (g.len == 0 || memchr(g.data, '\0', g.len) == NULL)) {
        if (g.len > 0)
            memcpy(out, g.data, g.len);
        out[g.len] = '\0';
    }
    growbuf_free(&g);
}

void key_body_model(const sticky_ctx *ctx, const char *body, size_t len, char *out)
{
    struct body_fields f;
    out[0] = '\0';
    if (body != NULL && len <= STICKY_MAX_BODY_BYTES &&
        body_scan_top((const uint8_t *)body, len, &f) == STICKY_OK)
        model_from_span(ctx, &f.model, out);
}

static int derive(const sticky_ctx *ctx, const sticky_request *req,
                  sticky_key_chain *chain, const char *op, char *model_out)
{
    int rc = check_request(ctx, req, op);
    if (rc != STICKY_OK)
        return rc;
    struct body_fields f;
    const int have_body = req->body != NULL;
    if (have_body &&
        (rc = body_scan_top((const uint8_t *)req->body, req->body_len, &f)) != STICKY_OK)
        return rc;
    if (have_body && model_out != NULL)
        model_from_span(ctx, &f.model, model_out);

    struct explicit_scratch s;
    growbuf_init(&s.a, ctx);
    growbuf_init(&s.b, ctx);
    const uint8_t *id = NULL;
    size_t id_len = 0;
    unsigned which = explicit_find(req, ctx->cfg.explicit_sources,
                                   have_body ? &f : NULL, &s, &id, &id_len);
    canon k;
    rc = canon_begin(&k, ctx, req->tenant ? req->tenant : "", req->tenant_len);
    if (rc != STICKY_OK)
        goto out;
    if (which != 0) {
        canon_tag(&k, TAG_EXPLICIT);
        canon_str(&k, id, id_len);
        chain->source = STICKY_KEY_SOURCE_EXPLICIT;
        chain->explicit_source = which;
        chain->format = have_body ? body_detect_format(&f, req->format) : STICKY_FORMAT_STRUCTURED;
        rc = canon_key(&k, &chain->keys[0]);
        if (rc == STICKY_OK)
            chain->n_keys = 1;
        goto out;
    }
    struct content_job job = {&k, ctx->cfg.message_count,
                              ctx->cfg.include_system_prompt, chain, op};
    if (have_body) {
        chain->format = body_detect_format(&f, req->format);
        rc = body_encode_content(&job, &f, chain->format);
    } else {
        chain->format = STICKY_FORMAT_STRUCTURED;
        rc = structured_encode_content(&job, req);
    }
    if (rc == STICKY_OK && k.err != STICKY_OK)
        rc = k.err;
    if (rc == STICKY_OK)
        chain->source = chain->n_keys ? STICKY_KEY_SOURCE_CONTENT : STICKY_KEY_SOURCE_NONE;
out:
    canon_end(&k);
    growbuf_free(&s.a);
    growbuf_free(&s.b);
    return rc;
}

int key_derive(const sticky_ctx *ctx, const sticky_request *req, sticky_key_chain *chain,
               const char *op, char *model_out)
{
    memset(chain, 0, sizeof(*chain));
    chain->size = sizeof(*chain);
    if (model_out != NULL)
        model_out[0] = '\0';
    int rc = derive(ctx, req, chain, op, model_out);
    if (rc != STICKY_OK) {
        memset(chain, 0, sizeof(*chain)); /* never a partial key */
        chain->size = sizeof(*chain);
    }
    return rc;
}

STICKY_API int sticky_key_derive(const sticky_ctx *ctx, const sticky_request *req_in,
                                 sticky_key_chain *out)
{
    if (ctx == NULL || req_in == NULL || out == NULL)
        return STICKY_EINVAL;
    int rc = struct_size_ok(ctx, "key_derive", "chain", out->size, KEY_CHAIN_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    sticky_request req;
    sticky_request_init(&req);
    rc = struct_in(ctx, "key_derive", "request", &req, sizeof(req), req_in, REQUEST_MIN_SIZE);
    sticky_key_chain chain;
    if (rc == STICKY_OK) {
        rc = key_derive(ctx, &req, &chain, "key_derive", NULL);
    } else {
        memset(&chain, 0, sizeof(chain));
        chain.size = sizeof(chain);
    }
    struct_copy_out(out, out->size, &chain, sizeof(chain));
    return rc;
}

STICKY_API int sticky_key_to_hex(uint64_t key, char *out)
{
    static const char digits[] = "0123456789abcdef";
    if (out == NULL)
        return STICKY_EINVAL;
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[key & 0xf];
        key >>= 4;
    }
    out[16] = '\0';
    return STICKY_OK;
}

STICKY_API int sticky_key_from_hex(const char *hex, uint64_t *out)
{
    if (hex == NULL || out == NULL)
        return STICKY_EINVAL;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = hex[i];
        int d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return STICKY_EPARSE;
        v = (v << 4) | (uint64_t)d;
    }
    if (hex[16] != '\0')
        return STICKY_EPARSE;
    *out = v;
    return STICKY_OK;
}
