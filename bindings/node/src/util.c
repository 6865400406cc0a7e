/*
 * util.c - small helpers of the addon: throwing errors with formatted
 * text, the per-call string arena, reading JavaScript strings, and the
 * per-environment data.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

napi_value throw_type(napi_env env, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
}

napi_value throw_error(napi_env env, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    napi_throw_error(env, code, msg);
    return NULL;
}

/* Heap blocks are chained through their first pointer. */
void arena_init(arena *a, char *stack, size_t cap)
{
    a->buf = stack;
    a->cap = cap;
    a->used = 0;
    a->heap_blocks = NULL;
}

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 7u) & ~(size_t)7u;
    if (n <= a->cap - a->used) {
        void *p = a->buf + a->used;
        a->used += n;
        return p;
    }
    void **blk = malloc(sizeof(void *) + n);
    if (blk == NULL)
        return NULL;
    blk[0] = a->heap_blocks;
    a->heap_blocks = blk;
    return blk + 1;
}

void arena_free(arena *a)
{
    void **blk = a->heap_blocks;
    while (blk != NULL) {
        void **next = blk[0];
        free(blk);
        blk = next;
    }
    a->heap_blocks = NULL;
}

int is_nullish(napi_env env, napi_value v)
{
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok)
        return 0;
    return t == napi_undefined || t == napi_null;
}

int get_string(napi_env env, napi_value v, arena *a, const char *what,
               const char **out, size_t *len)
{
    size_t n;
    /* One pass when the string fits in what is left of the stack block.
     * The copy stops before a character that does not fit whole, so it is
     * complete only if the longest UTF-8 character (4 bytes) would still
     * have fit after it: a copy that ends closer to the end may be cut off
     * (and two strings would become one), so that case measures first. */
    size_t room = a->cap - a->used;
    if (room >= 64) {
        char *s = a->buf + a->used;
        if (napi_get_value_string_utf8(env, v, s, room, &n) != napi_ok) {
            throw_type(env, "%s must be a string", what);
            return -1;
        }
        if (n + 1 + 4 <= room) {
            a->used += (n + 1 + 7u) & ~(size_t)7u;
            if (a->used > a->cap)
                a->used = a->cap;
            *out = s;
            *len = n;
            return 0;
        }
    }
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
        throw_type(env, "%s must be a string", what);
        return -1;
    }
    char *s = arena_alloc(a, n + 1);
    if (s == NULL) {
        throw_error(env, "STICKY_ENOMEM", "%s: out of memory", what);
        return -1;
    }
    napi_get_value_string_utf8(env, v, s, n + 1, &n);
    *out = s;
    *len = n;
    return 0;
}

node_env *get_node_env(napi_env env)
{
    void *d = NULL;
    napi_get_instance_data(env, &d);
    return d;
}

napi_value throw_sticky(napi_env env, int rc, const char *what, int64_t retry_at_ms)
{
    node_env *ne = get_node_env(env);
    napi_value f, argv[3], err, undef;
    if (ne == NULL || ne->error_factory == NULL ||
        napi_get_reference_value(env, ne->error_factory, &f) != napi_ok || f == NULL)
        return throw_error(env, sticky_err_name(rc), "%s: %s: %s", what, sticky_err_name(rc),
                           sticky_strerror(rc));
    napi_create_int32(env, rc, &argv[0]);
    napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_double(env, (double)retry_at_ms, &argv[2]);
    napi_get_undefined(env, &undef);
    if (napi_call_function(env, undef, f, 3, argv, &err) == napi_ok)
        napi_throw(env, err);
    return NULL;
}

/* setErrorFactory(fn): the loader gives its StickyError factory once. */
napi_value js_set_error_factory(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    napi_valuetype t;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
        return throw_type(env, "setErrorFactory(fn)");
    node_env *ne = get_node_env(env);
    if (ne->error_factory != NULL)
        napi_delete_reference(env, ne->error_factory);
    napi_create_reference(env, argv[0], 1, &ne->error_factory);
    return NULL;
}
