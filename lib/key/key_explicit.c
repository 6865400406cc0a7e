/*
 * lib/key/key_explicit.c - explicit session ids: which one wins (the
 * precedence of enum sticky_explicit_source, in explicit_find()), validity
 * rules, header lookup, and the two forms of Claude Code's metadata.user_id.
 */
#include <string.h>
#include <strings.h>

#include "key/key_internal.h"
#include "sticky/error.h"

int explicit_id_ok(const uint8_t *id, size_t len)
{
    if (len == 0 || len > STICKY_MAX_SESSION_ID_BYTES)
        return 0;
    json_str s = {id, len, 0};
    if (json_check_plain_string(&s) != STICKY_OK) /* UTF-8, no C0 controls */
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (id[i] == 0x7f)
            return 0;
    }
    /* All-whitespace ids are not ids. */
    for (size_t i = 0; i < len; i++) {
        if (id[i] != ' ')
            return 1;
    }
    return 0;
}

const sticky_header *explicit_find_header(const sticky_request *req,
                                          const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        const sticky_header *h = &req->headers[i];
        if (h->name != NULL && h->name_len == n &&
            strncasecmp(h->name, name, n) == 0)
            return h;
    }
    return NULL;
}

static int is_hex(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* 8-4-4-4-12 hex digits. */
static int is_uuid(const uint8_t *p, size_t len)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i] != '-')
                return 0;
        } else if (!is_hex(p[i])) {
            return 0;
        }
    }
    return 1;
}

/* user_<64 hex>_account_<anything>_session_<uuid> */
static int legacy_user_id(const uint8_t *v, size_t len, const uint8_t **id,
                          size_t *id_len)
{
    static const char pre[] = "user_", acc[] = "_account_", ses[] = "_session_";
    const size_t pre_n = 5, acc_n = 9, ses_n = 9;
    if (len < pre_n + 64 + acc_n + ses_n + 36 || memcmp(v, pre, pre_n) != 0)
        return 0;
    for (size_t i = 0; i < 64; i++) {
        if (!is_hex(v[pre_n + i]))
            return 0;
    }
    if (memcmp(v + pre_n + 64, acc, acc_n) != 0)
        return 0;
    const uint8_t *uuid = v + len - 36;
    if (memcmp(uuid - ses_n, ses, ses_n) != 0 || !is_uuid(uuid, 36))
        return 0;
    *id = uuid;
    *id_len = 36;
    return 1;
}

/* {"device_id": "...", "account_uuid": "...", "session_id": "<id>"} */
static int json_user_id(const uint8_t *v, size_t len, growbuf *scratch,
                        const uint8_t **id, size_t *id_len)
{
    static const char *const names[] = {"session_id", NULL};
    json_span sid;
    json_cur c;
    json_cur_init(&c, v, len);
    if (json_peek(&c) != '{' || json_scan_members(&c, names, &sid, NULL) != STICKY_OK ||
        json_peek(&c) != -1 || json_span_decode_string(&sid, scratch) != STICKY_OK ||
        !explicit_id_ok(scratch->data, scratch->len))
        return 0;
    *id = scratch->data;
    *id_len = scratch->len;
    return 1;
}

int explicit_from_user_id(const uint8_t *v, size_t len, growbuf *scratch,
                          const uint8_t **id, size_t *id_len)
{
    if (legacy_user_id(v, len, id, id_len))
        return 1;
    return json_user_id(v, len, scratch, id, id_len);
}

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

static int header_id(const sticky_request *req, const char *name,
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

unsigned explicit_find(const sticky_request *req, uint32_t mask,
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
