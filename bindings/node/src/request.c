/*
 * request.c - JavaScript arguments to the library's request structs: the
 * body (a Buffer / Uint8Array / ArrayBuffer used in place, or a string
 * copied as UTF-8), tenant, model, headers, session id, flags and a
 * precomputed key chain; and the decision's numbers to the scratch slots.
 */
#include <string.h>

#include "native.h"

/* Most headers a request or response may carry (a guard against a huge
 * array, not a library limit). */
#define MAX_HEADERS 4096

static int get_bytes(napi_env env, napi_value v, arena *a, const char *what,
                     const char **out, size_t *len)
{
    bool is;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
        napi_typedarray_type t;
        size_t n;
        void *data;
        napi_get_typedarray_info(env, v, &t, &n, &data, NULL, NULL);
        if (t != napi_uint8_array && t != napi_int8_array && t != napi_uint8_clamped_array) {
            throw_type(env, "%s must be a string, Buffer, Uint8Array or ArrayBuffer", what);
            return -1;
        }
        *out = data != NULL ? data : "";
        *len = n;
        return 0;
    }
    if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
        void *data;
        size_t n;
        napi_get_arraybuffer_info(env, v, &data, &n);
        *out = data != NULL ? data : "";
        *len = n;
        return 0;
    }
    napi_valuetype vt;
    napi_typeof(env, v, &vt);
    if (vt != napi_string) {
        throw_type(env, "%s must be a string, Buffer, Uint8Array or ArrayBuffer", what);
        return -1;
    }
    return get_string(env, v, a, what, out, len);
}

int build_headers(napi_env env, napi_value arr, arena *a, const sticky_header **out,
                  size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (is_nullish(env, arr))
        return 0;
    bool is;
    uint32_t len;
    if (napi_is_array(env, arr, &is) != napi_ok || !is ||
        napi_get_array_length(env, arr, &len) != napi_ok || len % 2 != 0) {
        throw_type(env, "headers (native) must be a flat [name, value, ...] array");
        return -1;
    }
    size_t n = len / 2;
    if (n == 0)
        return 0;
    if (n > MAX_HEADERS) {
        throw_error(env, "STICKY_ELIMIT", "headers: more than %d", MAX_HEADERS);
        return -1;
    }
    sticky_header *h = arena_alloc(a, n * sizeof(*h));
    if (h == NULL) {
        throw_error(env, "STICKY_ENOMEM", "headers: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        napi_value nv, vv;
        napi_get_element(env, arr, (uint32_t)(2 * i), &nv);
        napi_get_element(env, arr, (uint32_t)(2 * i + 1), &vv);
        if (get_string(env, nv, a, "header name", &h[i].name, &h[i].name_len) != 0 ||
            get_string(env, vv, a, "header value", &h[i].value, &h[i].value_len) != 0)
            return -1;
    }
    *out = h;
    *n_out = n;
    return 0;
}

int build_request(napi_env env, napi_value *argv, arena *a, js_request *out)
{
    sticky_request *r = &out->req;
    sticky_request_init(r);
    if (!is_nullish(env, argv[0]) &&
        get_bytes(env, argv[0], a, "body", &r->body, &r->body_len) != 0)
        return -1;
    if (!is_nullish(env, argv[1]) &&
        get_string(env, argv[1], a, "tenant", &r->tenant, &r->tenant_len) != 0)
        return -1;
    if (!is_nullish(env, argv[2]) &&
        get_string(env, argv[2], a, "model", &r->model, &r->model_len) != 0)
        return -1;
    const sticky_header *h;
    size_t nh;
    if (build_headers(env, argv[3], a, &h, &nh) != 0)
        return -1;
    r->headers = h;
    r->n_headers = nh;
    if (!is_nullish(env, argv[4]) &&
        get_string(env, argv[4], a, "sessionId", &r->session_id, &r->session_id_len) != 0)
        return -1;
    uint32_t flags = 0;
    if (!is_nullish(env, argv[5]) && napi_get_value_uint32(env, argv[5], &flags) != napi_ok) {
        throw_type(env, "flags must be a number");
        return -1;
    }
    r->flags = flags;
    if (!is_nullish(env, argv[6])) {
        bool is;
        void *data;
        size_t n;
        if (napi_is_arraybuffer(env, argv[6], &is) != napi_ok || !is ||
            napi_get_arraybuffer_info(env, argv[6], &data, &n) != napi_ok ||
            n != sizeof(sticky_key_chain)) {
            throw_type(env, "key must be a Key from router.key()");
            return -1;
        }
        sticky_key_chain *c = data;
        if (c->size != sizeof(sticky_key_chain) || c->n_keys > STICKY_MAX_MESSAGE_COUNT) {
            throw_type(env, "key: not a derived key chain");
            return -1;
        }
        r->chain = c;
    }
    return 0;
}

sticky_decision *get_raw_decision(napi_env env, napi_value v, napi_value off_v)
{
    bool is;
    void *data;
    size_t n;
    uint32_t off = 0;
    if (napi_is_arraybuffer(env, v, &is) != napi_ok || !is ||
        napi_get_arraybuffer_info(env, v, &data, &n) != napi_ok ||
        napi_get_value_uint32(env, off_v, &off) != napi_ok || off % 8u != 0 ||
        n < sizeof(sticky_decision) || off > n - sizeof(sticky_decision) ||
        ((uintptr_t)data % 8u) != 0) {
        throw_type(env, "not a Decision of this Router");
        return NULL;
    }
    sticky_decision *d = (sticky_decision *)(void *)((char *)data + off);
    /* Only this addon writes it, but keep every string terminated. */
    d->channel_id[STICKY_ID_SIZE - 1] = '\0';
    d->moved_from[STICKY_ID_SIZE - 1] = '\0';
    d->key_hex[STICKY_KEY_HEX_SIZE - 1] = '\0';
    d->model[STICKY_MODEL_SIZE - 1] = '\0';
    return d;
}

void write_scratch(node_env *ne, const sticky_decision *d)
{
    int32_t *s = ne->scratch;
    s[SCR_CHANNEL_INDEX] = d->channel_index;
    s[SCR_REASON] = d->reason;
    s[SCR_DEGRADED] = d->store_degraded;
    s[SCR_FAMILY] = d->model_family;
    s[SCR_KEY_SOURCE] = d->key_source;
    ((double *)(void *)ne->scratch)[SCR_F64_RETRY_AT] = (double)d->retry_at_ms;
}
