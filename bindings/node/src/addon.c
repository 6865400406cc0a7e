/*
 * addon.c - the entry point of sticky.node: at load, check that the
 * libsticky the dynamic loader found is the one this addon was compiled
 * for (major.minor version, and the size of every struct the addon
 * passes), then set up the per-environment data and export the native
 * functions that lib/index.js wraps. A mismatch makes require() throw an
 * Error naming the library's path and version and what differs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

/* The structs this addon hands to libsticky, with their compiled sizes. */
static const struct {
    int id;
    const char *name;
    size_t size;
} USED_STRUCTS[] = {
    {STICKY_STRUCT_CONFIG, "sticky_config", sizeof(sticky_config)},
    {STICKY_STRUCT_CHANNEL, "sticky_channel", sizeof(sticky_channel)},
    {STICKY_STRUCT_REQUEST, "sticky_request", sizeof(sticky_request)},
    {STICKY_STRUCT_DECISION, "sticky_decision", sizeof(sticky_decision)},
    {STICKY_STRUCT_OUTCOME, "sticky_outcome", sizeof(sticky_outcome)},
    {STICKY_STRUCT_CTX_STATS, "sticky_ctx_stats", sizeof(sticky_ctx_stats)},
    {STICKY_STRUCT_KEY_CHAIN, "sticky_key_chain", sizeof(sticky_key_chain)},
    {STICKY_STRUCT_HEADER, "sticky_header", sizeof(sticky_header)},
};

/* Where a function was loaded from (for the error text). */
typedef void (*any_fn)(void);
static const char *lib_path(any_fn fn)
{
    Dl_info info;
    void *sym;
    memcpy(&sym, &fn, sizeof sym); /* ISO C has no function-to-object cast */
    if (dladdr(sym, &info) != 0 && info.dli_fname != NULL)
        return info.dli_fname;
    return "(unknown path)";
}

/* Check the loaded libraries; on a mismatch write the reason to @msg and
 * return -1. */
static int abi_check(char *msg, size_t cap)
{
    unsigned v = sticky_version_number();
    unsigned major = (v >> 16) & 0xff, minor = (v >> 8) & 0xff;
    const char *path = lib_path((any_fn)sticky_ctx_new);
    if (major != STICKY_VERSION_MAJOR || minor != STICKY_VERSION_MINOR) {
        snprintf(msg, cap,
                 "libsticky: %s is version %s (%u.%u), but this addon was built with the "
                 "headers of %s: major.minor must be equal (%d.%d); rebuild the addon "
                 "(npm rebuild libsticky) or install the matching libsticky",
                 path, sticky_version_string(), major, minor, STICKY_VERSION_STRING,
                 STICKY_VERSION_MAJOR, STICKY_VERSION_MINOR);
        return -1;
    }
    for (size_t i = 0; i < sizeof USED_STRUCTS / sizeof USED_STRUCTS[0]; i++) {
        size_t lib = sticky_struct_size(USED_STRUCTS[i].id);
        if (lib != USED_STRUCTS[i].size) {
            snprintf(msg, cap,
                     "libsticky: %s (version %s) has sizeof(%s) = %zu, but this addon was "
                     "compiled with %zu (headers %s): the library and the addon disagree on "
                     "the struct layout; rebuild the addon against this library",
                     path, sticky_version_string(), USED_STRUCTS[i].name, lib,
                     USED_STRUCTS[i].size, STICKY_VERSION_STRING);
            return -1;
        }
    }
#ifdef STICKY_NODE_REDIS_UV
    /* libsticky-redis and libsticky-redis-uv export no version function
     * (sticky/redis_store.h, sticky/redis_uv.h): only the size of the one
     * struct the addon passes them can be checked. */
    size_t lib = sticky_redis_store_struct_size(STICKY_REDIS_STORE_STRUCT_OPTIONS);
    if (lib != sizeof(sticky_redis_store_options)) {
        snprintf(msg, cap,
                 "libsticky-redis: %s has sizeof(sticky_redis_store_options) = %zu, but this "
                 "addon was compiled with %zu (headers %s); rebuild the addon",
                 lib_path((any_fn)sticky_redis_store_struct_size), lib,
                 sizeof(sticky_redis_store_options), STICKY_VERSION_STRING);
        return -1;
    }
#endif
    return 0;
}

/* The environment is being torn down (a worker ends, or the process):
 * close the Routers JavaScript never closed. A Redis store's handles close
 * on the loop, which Node keeps running until the hook is removed; before,
 * a worker with an open Redis Router aborted the process
 * (uv_loop_close() while having open handles). */
static void env_cleanup(napi_async_cleanup_hook_handle h, void *arg)
{
    node_env *ne = arg;
    ne->tearing_down = 1;
    ne->cleanup = h;
    routers_teardown(ne);
    if (ne->n_deferred == 0) {
        ne->cleanup = NULL;
        napi_remove_async_cleanup_hook(h);
    }
}

void env_deferred_done(node_env *ne)
{
    if (ne->n_deferred > 0)
        ne->n_deferred--;
    if (ne->n_deferred == 0 && ne->cleanup != NULL) {
        napi_async_cleanup_hook_handle h = ne->cleanup;
        ne->cleanup = NULL;
        napi_remove_async_cleanup_hook(h);
    }
}

static void env_finalize(napi_env env, void *data, void *hint)
{
    (void)hint;
    node_env *ne = data;
    (void)env;
    free(ne);
}

/* info() -> {version, headersVersion, path, redis, decisionSize} */
static napi_value js_info(napi_env env, napi_callback_info cbinfo)
{
    (void)cbinfo;
    napi_value obj, v;
    napi_create_object(env, &obj);
    napi_create_string_utf8(env, sticky_version_string(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "version", v);
    napi_create_string_utf8(env, STICKY_VERSION_STRING, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "headersVersion", v);
    napi_create_string_utf8(env, lib_path((any_fn)sticky_ctx_new),
                            NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "path", v);
#ifdef STICKY_NODE_REDIS_UV
    napi_get_boolean(env, true, &v);
#else
    napi_get_boolean(env, false, &v);
#endif
    napi_set_named_property(env, obj, "redis", v);
    napi_create_uint32(env, (uint32_t)sizeof(sticky_decision), &v);
    napi_set_named_property(env, obj, "decisionSize", v);
    napi_create_uint32(env, (uint32_t)sizeof(sticky_key_chain), &v);
    napi_set_named_property(env, obj, "keyChainSize", v);
    return obj;
}

/* errName(code), strerror(code) */
static napi_value js_err_name(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], out;
    int32_t code = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc > 0)
        napi_get_value_int32(env, argv[0], &code);
    napi_create_string_utf8(env, sticky_err_name(code), NAPI_AUTO_LENGTH, &out);
    return out;
}

static napi_value js_strerror(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], out;
    int32_t code = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc > 0)
        napi_get_value_int32(env, argv[0], &code);
    napi_create_string_utf8(env, sticky_strerror(code), NAPI_AUTO_LENGTH, &out);
    return out;
}

static napi_value js_reason_name(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], out;
    int32_t code = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc > 0)
        napi_get_value_int32(env, argv[0], &code);
    napi_create_string_utf8(env, sticky_reason_name(code), NAPI_AUTO_LENGTH, &out);
    return out;
}

static napi_value init(napi_env env, napi_value exports)
{
    char msg[1024];
    if (abi_check(msg, sizeof msg) != 0) {
        napi_throw_error(env, "ERR_STICKY_ABI", msg);
        return NULL;
    }
    node_env *ne = calloc(1, sizeof(*ne));
    if (ne == NULL) {
        napi_throw_error(env, "STICKY_ENOMEM", "libsticky: out of memory");
        return NULL;
    }
    ne->env = env;
    napi_set_instance_data(env, ne, env_finalize, NULL);
    if (napi_add_async_cleanup_hook(env, env_cleanup, ne, NULL) != napi_ok) {
        napi_throw_error(env, "ERR_STICKY_ENV", "libsticky: napi_add_async_cleanup_hook failed");
        return NULL;
    }

    napi_value scratch;
    void *bytes;
    napi_create_arraybuffer(env, SCR_BYTES, &bytes, &scratch);
    memset(bytes, 0, SCR_BYTES);
    ne->scratch = bytes;
    napi_create_reference(env, scratch, 1, &ne->scratch_ref);

    static const struct {
        const char *name;
        napi_callback fn;
    } FNS[] = {
        {"info", js_info},
        {"errName", js_err_name},
        {"strerror", js_strerror},
        {"reasonName", js_reason_name},
        {"setErrorFactory", js_set_error_factory},
        {"configKeys", js_config_keys},
        {"redisKeys", js_redis_keys},
        {"routerNew", js_router_new},
        {"routerClose", js_router_close},
        {"channelsNew", js_channels_new},
        {"select", js_select},
        {"selectStart", js_select_start},
        {"selectCancel", js_select_cancel},
        {"report", js_report},
        {"release", js_release},
        {"decisionString", js_decision_string},
        {"decisionOpen", js_decision_open},
        {"decisionFill", js_decision_fill},
        {"keyDerive", js_key_derive},
        {"stats", js_stats},
        {"prometheus", js_prometheus},
    };
    for (size_t i = 0; i < sizeof FNS / sizeof FNS[0]; i++) {
        napi_value f;
        napi_create_function(env, FNS[i].name, NAPI_AUTO_LENGTH, FNS[i].fn, NULL, &f);
        napi_set_named_property(env, exports, FNS[i].name, f);
    }
    napi_set_named_property(env, exports, "scratch", scratch);
    return exports;
}

NAPI_MODULE_INIT()
{
    return init(env, exports);
}
