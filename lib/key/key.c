/*
 * lib/key.c - the public session-key API: request/chain init, derivation
 * (explicit ids first, in precedence order, then content), hex helpers.
 */
#include <string.h>

#include "key/key_internal.h"
#include "util/struct_size.h"
#include "sticky/error.h"

STICKY_API int sticky_key_request_init_sized(sticky_key_request *req, size_t size)
{
    return struct_init(req, size);
}

STICKY_API int sticky_key_chain_init_sized(sticky_key_chain *chain, size_t size)
{
    return struct_init(chain, size);
}

/* Scratch space for explicit-id lookups. */
struct explicit_scratch {
    growbuf a, b;
};

/* A string member of the body, decoded into s->a, if it is a valid id. */
static int body_string_id(const json_span *span, struct explicit_scratch *s,
                          const uint8_t **id, size_t *len)
{
    if (json_span_decode_string(span, &s->a) != STICKY_OK ||
        !explicit_id_ok(s->a.data, s->a.len))
        return 0;
    *id = s->a.data;
    *len = s->a.len;
    return 1;
}

/* metadata.user_id in either Claude Code form. */
static int metadata_id(const json_span *meta, struct explicit_scratch *s,
                       const uint8_t **id, size_t *len)
{
    if (meta->start == NULL || *meta->start != '{')
        return 0;
    static const char *const names[] = {"user_id", NULL};
    json_span user;
    json_cur c;
    json_cur_init(&c, meta->start, (size_t)(meta->end - meta->start));
    if (json_scan_members(&c, names, &user, NULL) != STICKY_OK ||
        json_span_decode_string(&user, &s->a) != STICKY_OK)
        return 0;
    return explicit_from_user_id(s->a.data, s->a.len, &s->b, id, len);
}

static int header_id(const sticky_key_request *req, const char *name,
                     const uint8_t **id, size_t *len)
{
    const sticky_header *h = explicit_find_header(req, name);
    if (h == NULL || h->value == NULL)
        return 0;
    const uint8_t *b = (const uint8_t *)h->value, *e = b + h->value_len;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (!explicit_id_ok(b, (size_t)(e - b)))
        return 0;
    *id = b;
    *len = (size_t)(e - b);
    return 1;
}

/* The first honoured explicit id, in precedence order; 0 if none. */
static unsigned find_explicit(const sticky_key_request *req, uint32_t mask,
                              const struct body_fields *f,
                              struct explicit_scratch *s, const uint8_t **id,
                              size_t *len)
{
    if ((mask & STICKY_EXPLICIT_HOST) && req->session_id != NULL &&
        explicit_id_ok((const uint8_t *)req->session_id, req->session_id_len)) {
        *id = (const uint8_t *)req->session_id;
        *len = req->session_id_len;
        return STICKY_EXPLICIT_HOST;
    }
    if ((mask & STICKY_EXPLICIT_CLAUDE_CODE_HEADER) &&
        header_id(req, "x-claude-code-session-id", id, len))
        return STICKY_EXPLICIT_CLAUDE_CODE_HEADER;
    if (f != NULL) {
        if ((mask & STICKY_EXPLICIT_METADATA_USER_ID) && metadata_id(&f->metadata, s, id, len))
            return STICKY_EXPLICIT_METADATA_USER_ID;
        if ((mask & STICKY_EXPLICIT_PROMPT_CACHE_KEY) &&
            body_string_id(&f->prompt_cache_key, s, id, len))
            return STICKY_EXPLICIT_PROMPT_CACHE_KEY;
        if ((mask & STICKY_EXPLICIT_BODY_SESSION_ID) && body_string_id(&f->session_id, s, id, len))
            return STICKY_EXPLICIT_BODY_SESSION_ID;
        if ((mask & STICKY_EXPLICIT_BODY_CONVERSATION_ID) &&
            body_string_id(&f->conversation_id, s, id, len))
            return STICKY_EXPLICIT_BODY_CONVERSATION_ID;
    }
    if ((mask & STICKY_EXPLICIT_SESSION_ID_HEADER) && header_id(req, "session_id", id, len))
        return STICKY_EXPLICIT_SESSION_ID_HEADER;
    if ((mask & STICKY_EXPLICIT_X_SESSION_ID_HEADER) && header_id(req, "x-session-id", id, len))
        return STICKY_EXPLICIT_X_SESSION_ID_HEADER;
    return 0;
}

static int check_request(const sticky_key_request *req)
{
    if ((req->tenant == NULL && req->tenant_len != 0) ||
        (req->body == NULL && req->body_len != 0) ||
        (req->session_id == NULL && req->session_id_len != 0) ||
        (req->headers == NULL && req->n_headers != 0))
        return STICKY_EINVAL;
    if (req->format < STICKY_FORMAT_AUTO || req->format > STICKY_FORMAT_STRUCTURED)
        return STICKY_EINVAL;
    if (req->body != NULL && req->format == STICKY_FORMAT_STRUCTURED)
        return STICKY_EINVAL;
    if (req->body_len > STICKY_MAX_BODY_BYTES)
        return STICKY_ELIMIT;
    return STICKY_OK;
}

static int derive(const sticky_ctx *ctx, const sticky_key_request *req,
                  sticky_key_chain *chain)
{
    int rc = check_request(req);
    if (rc != STICKY_OK)
        return rc;
    struct body_fields f;
    const int have_body = req->body != NULL;
    if (have_body &&
        (rc = body_scan_top((const uint8_t *)req->body, req->body_len, &f)) != STICKY_OK)
        return rc;

    struct explicit_scratch s;
    growbuf_init(&s.a, ctx);
    growbuf_init(&s.b, ctx);
    const uint8_t *id = NULL;
    size_t id_len = 0;
    unsigned which = find_explicit(req, ctx->cfg.explicit_sources,
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
                              ctx->cfg.include_system_prompt, chain};
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

STICKY_API int sticky_key_derive(const sticky_ctx *ctx,
                                 const sticky_key_request *req_in,
                                 sticky_key_chain *out)
{
    if (ctx == NULL || req_in == NULL || out == NULL)
        return STICKY_EINVAL;
    if (out->size < sizeof(size_t))
        return STICKY_EABI;
    sticky_key_request req;
    memset(&req, 0, sizeof(req));
    int rc = struct_copy_in(&req, sizeof(req), req_in, req_in->size);
    sticky_key_chain chain;
    memset(&chain, 0, sizeof(chain));
    chain.size = sizeof(chain);
    if (rc == STICKY_OK)
        rc = derive(ctx, &req, &chain);
    if (rc != STICKY_OK) {
        memset(&chain, 0, sizeof(chain)); /* never a partial key */
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
