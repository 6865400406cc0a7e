/*
 * lib/key_explicit.c - explicit session ids: validity rules, header lookup,
 * and the two forms of Claude Code's metadata.user_id.
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

const sticky_header *explicit_find_header(const sticky_key_request *req,
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
