/*
 * router.c - the native Router: one libsticky context with its store
 * (memory by default, a shared-memory segment, or the async Redis store on
 * Node's own libuv loop), the host's injected clock, and the synchronous
 * calls: select, report, release, key derivation, decision fields, stats,
 * Prometheus text, close.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

static const napi_type_tag ROUTER_TAG = {0x7374636b726f7574ULL, 0x6c69627374636b32ULL};

/* ---- configuration --------------------------------------------------------- */

/* The sticky_config fields a Router takes, by their camelCase names. */
typedef struct config_field {
    const char *name;
    size_t offset;
    int is_signed;
} config_field;

#define CF(js, c, s) {js, offsetof(sticky_config, c), s}
static const config_field CONFIG_FIELDS[] = {
    CF("ttlSeconds", ttl_seconds, 0),
    CF("renewThresholdSeconds", renew_threshold_seconds, 0),
    CF("maxSessions", max_sessions, 0),
    CF("messageCount", message_count, 0),
    CF("includeSystemPrompt", include_system_prompt, 1),
    CF("explicitSources", explicit_sources, 0),
    CF("selectPolicy", select_policy, 1),
    CF("migrateBetterTier", migrate_better_tier, 1),
    CF("leastBad", least_bad, 1),
    CF("boundedLoadPermille", bounded_load_permille, 0),
    CF("cooldown429Seconds", cooldown_429_seconds, 0),
    CF("retryAfterCapSeconds", retry_after_cap_seconds, 0),
    CF("cooldown529Seconds", cooldown_529_seconds, 0),
    CF("cooldown503Seconds", cooldown_503_seconds, 0),
    CF("cooldown5xxSeconds", cooldown_5xx_seconds, 0),
    CF("cooldownAuthSeconds", cooldown_auth_seconds, 0),
    CF("breakerFailures", breaker_failures, 0),
    CF("breakerCooldownSeconds", breaker_cooldown_seconds, 0),
    CF("logLevel", log_level, 1),
};
#undef CF
#define N_CONFIG_FIELDS (sizeof CONFIG_FIELDS / sizeof CONFIG_FIELDS[0])

/* The Redis options a Router takes (strings first). */
#ifdef STICKY_NODE_REDIS_UV
typedef struct redis_field {
    const char *name;
    size_t offset;
    int kind; /* 0 string, 1 uint32, 2 int32 */
} redis_field;
#define RF(js, c, k) {js, offsetof(sticky_redis_store_options, c), k}
static const redis_field REDIS_FIELDS[] = {
    RF("host", host, 0),
    RF("unixPath", unix_path, 0),
    RF("username", username, 0),
    RF("password", password, 0),
    RF("prefix", key_prefix, 0),
    RF("clientName", client_name, 0),
    RF("port", port, 2),
    RF("db", db, 2),
    RF("connectTimeoutMs", connect_timeout_ms, 1),
    RF("commandTimeoutMs", command_timeout_ms, 1),
    RF("poolSize", pool_size, 1),
    RF("ttlSeconds", ttl_seconds, 1),
    RF("backoffMinMs", backoff_min_ms, 1),
    RF("backoffMaxMs", backoff_max_ms, 1),
};
#undef RF
#define N_REDIS_FIELDS (sizeof REDIS_FIELDS / sizeof REDIS_FIELDS[0])
#endif

/* An integer from @v in lo..hi, else a thrown TypeError / RangeError. */
static int get_integer(napi_env env, napi_value v, const char *name, double lo, double hi,
                       int64_t *out)
{
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_boolean) {
        bool b;
        napi_get_value_bool(env, v, &b);
        *out = b;
        return 0;
    }
    double d;
    if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
        throw_type(env, "%s must be a number", name);
        return -1;
    }
    if (!isfinite(d) || d != floor(d) || d < lo || d > hi) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", name);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* Names as a JavaScript array (for the loader's unknown-key check). */
napi_value js_config_keys(napi_env env, napi_callback_info info)
{
    (void)info;
    napi_value arr, s;
    napi_create_array(env, &arr);
    for (uint32_t i = 0; i < N_CONFIG_FIELDS; i++) {
        napi_create_string_utf8(env, CONFIG_FIELDS[i].name, NAPI_AUTO_LENGTH, &s);
        napi_set_element(env, arr, i, s);
    }
    return arr;
}

napi_value js_redis_keys(napi_env env, napi_callback_info info)
{
    (void)info;
    napi_value arr;
    napi_create_array(env, &arr);
#ifdef STICKY_NODE_REDIS_UV
    napi_value s;
    for (uint32_t i = 0; i < N_REDIS_FIELDS; i++) {
        napi_create_string_utf8(env, REDIS_FIELDS[i].name, NAPI_AUTO_LENGTH, &s);
        napi_set_element(env, arr, i, s);
    }
#endif
    return arr;
}

static int apply_config(napi_env env, napi_value obj, sticky_config *cfg)
{
    for (size_t i = 0; i < N_CONFIG_FIELDS; i++) {
        const config_field *f = &CONFIG_FIELDS[i];
        bool has = false;
        napi_value v;
        napi_has_named_property(env, obj, f->name, &has);
        if (!has)
            continue;
        napi_get_named_property(env, obj, f->name, &v);
        if (is_nullish(env, v))
            continue;
        int64_t x;
        if (get_integer(env, v, f->name, f->is_signed ? INT32_MIN : 0,
                        f->is_signed ? INT32_MAX : UINT32_MAX, &x) != 0)
            return -1;
        if (f->is_signed)
            *(int *)(void *)((char *)cfg + f->offset) = (int)x;
        else
            *(uint32_t *)(void *)((char *)cfg + f->offset) = (uint32_t)x;
    }
    return 0;
}

/* ---- the clock --------------------------------------------------------------- */

/* The library's clock: the host's clock() when called on the JavaScript
 * thread (inside a call, or in a loop callback of the Redis store, where
 * Node has entered the context), else its last answer. */
static int64_t node_clock(void *user)
{
    router *r = user;
    if (r->clock_ref == NULL || r->ne->tearing_down || !pthread_equal(pthread_self(), r->thread))
        return r->last_now;
    napi_env env = r->ne->env;
    napi_handle_scope hs;
    if (napi_open_handle_scope(env, &hs) != napi_ok)
        return r->last_now;
    napi_value fn, undef, res;
    double v;
    napi_get_undefined(env, &undef);
    if (napi_get_reference_value(env, r->clock_ref, &fn) == napi_ok &&
        napi_call_function(env, undef, fn, 0, NULL, &res) == napi_ok &&
        napi_get_value_double(env, res, &v) == napi_ok && isfinite(v) && v >= 0 &&
        v < 9.0e15) {
        r->last_now = (int64_t)v;
    } else {
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value exc;
            napi_get_and_clear_last_exception(env, &exc);
        }
        r->clock_failed = 1;
    }
    napi_close_handle_scope(env, hs);
    return r->last_now;
}

/* After a call that may have read the clock: throw if the clock failed. */
static int clock_check(napi_env env, router *r)
{
    if (!r->clock_failed)
        return 0;
    r->clock_failed = 0;
    throw_type(env, "clock() must return a finite number of milliseconds >= 0 (and not throw)");
    return -1;
}

/* ---- lifetime ------------------------------------------------------------------ */

/* Native Routers are listed in their environment until freed (teardown
 * closes those still open). */
static void router_link(router *r)
{
    node_env *ne = r->ne;
    r->env_prev = NULL;
    r->env_next = ne->routers;
    if (ne->routers != NULL)
        ne->routers->env_prev = r;
    ne->routers = r;
}

static void router_destroy(router *r)
{
    node_env *ne = r->ne;
    if (r->env_prev != NULL)
        r->env_prev->env_next = r->env_next;
    else if (ne->routers == r)
        ne->routers = r->env_next;
    if (r->env_next != NULL)
        r->env_next->env_prev = r->env_prev;
    free(r);
}

#ifdef STICKY_NODE_REDIS_UV
#include <uv.h>
/* An async store is freed from a loop idle callback, never inside one of
 * the library's callbacks (a Promise continuation may close the Router
 * while a selection callback is on the stack; docs/async.md forbids
 * freeing the store there). The context is freed three loop iterations
 * later, so the store's handles are closed by then (their last memory goes
 * through the context; the closing phase comes after the idle phase). An
 * idle handle runs exactly once per iteration and keeps the loop from
 * blocking; a 0 ms timer restarted from its own callback may run again in
 * the same timer phase, so counting its runs did not count iterations
 * (the context went before the store's timers were closed). */
#define DEFERRED_ITERATIONS 4
typedef struct deferred_free {
    uv_idle_t idle;
    router *r;
    node_env *ne;
    sticky_store *store;
    int fires;
} deferred_free;

static void deferred_closed(uv_handle_t *h)
{
    deferred_free *df = h->data;
    node_env *ne = df->ne;
    free(df);
    env_deferred_done(ne);
}

static void deferred_fire(uv_idle_t *h)
{
    deferred_free *df = h->data;
    df->fires++;
    if (df->fires == 1)
        sticky_store_free(df->store);
    if (df->fires < DEFERRED_ITERATIONS)
        return;
    uv_idle_stop(h);
    router *r = df->r;
    sticky_ctx_free(r->deferred_ctx);
    r->deferred_ctx = NULL;
    r->ctx_free_deferred = 0;
    if (r->finalized)
        router_destroy(r);
    uv_close((uv_handle_t *)h, deferred_closed);
}
#endif

void router_free_ctx(router *r)
{
    sticky_ctx *ctx = r->ctx;
    r->ctx = NULL;
    if (ctx == NULL)
        return;
#ifdef STICKY_NODE_REDIS_UV
    if (r->store != NULL) {
        sticky_store *st = r->store;
        r->store = NULL;
        uv_loop_t *loop = NULL;
        deferred_free *df = NULL;
        /* Also during teardown: Node runs the loop until the cleanup hook
         * is removed, which the last deferred free does. */
        if (napi_get_uv_event_loop(r->ne->env, &loop) == napi_ok &&
            (df = calloc(1, sizeof(*df))) != NULL && uv_idle_init(loop, &df->idle) == 0) {
            df->r = r;
            df->ne = r->ne;
            df->store = st;
            df->idle.data = df;
            r->deferred_ctx = ctx;
            r->ctx_free_deferred = 1;
            r->ne->n_deferred++;
            uv_idle_start(&df->idle, deferred_fire);
            return;
        }
        free(df);
        sticky_store_free(st); /* no idle handle: best effort, at once */
    }
#endif
    sticky_ctx_free(ctx);
}

static void router_release_refs(router *r, napi_env env)
{
    if (r->clock_ref != NULL)
        napi_delete_reference(env, r->clock_ref);
    if (r->settle_ref != NULL)
        napi_delete_reference(env, r->settle_ref);
    if (r->resource_ref != NULL)
        napi_delete_reference(env, r->resource_ref);
    if (r->async_ctx != NULL)
        napi_async_destroy(env, r->async_ctx);
    r->clock_ref = r->settle_ref = r->resource_ref = NULL;
    r->async_ctx = NULL;
}

/* Close: cancel selections in progress, free the store and the context. */
static void router_close(router *r, napi_env env)
{
    if (r->ctx == NULL)
        return;
    pending_cancel_all(r);
    router_free_ctx(r);
    router_release_refs(r, env);
}

static void router_finalize(napi_env env, void *data, void *hint)
{
    (void)hint;
    router *r = data;
    router_close(r, env);
    r->finalized = 1;
    if (!r->ctx_free_deferred)
        router_destroy(r);
}

void routers_teardown(node_env *ne)
{
    /* References and the async context go with the environment; only the
     * library's objects are freed here (no JavaScript runs any more). */
    for (router *r = ne->routers; r != NULL; r = r->env_next) {
        if (r->ctx == NULL)
            continue;
        pending_cancel_all(r);
        router_free_ctx(r);
    }
}

router *get_router(napi_env env, napi_value v)
{
    bool ok = false;
    void *p;
    if (napi_check_object_type_tag(env, v, &ROUTER_TAG, &ok) != napi_ok || !ok ||
        napi_get_value_external(env, v, &p) != napi_ok) {
        throw_type(env, "not a Router handle");
        return NULL;
    }
    router *r = p;
    if (r->ctx == NULL || r->close_pending) {
        throw_error(env, "ERR_STICKY_CLOSED", "Router is closed");
        return NULL;
    }
    if (r->busy) {
        throw_error(env, "ERR_STICKY_REENTRANT",
                    "Router: called from inside one of its own calls (its clock)");
        return NULL;
    }
    return r;
}

void router_enter(router *r)
{
    r->busy++;
}

int router_leave(napi_env env, router *r)
{
    if (--r->busy > 0 || !r->close_pending)
        return 0;
    r->close_pending = 0;
    router_close(r, env);
    throw_error(env, "ERR_STICKY_CLOSED", "Router was closed during the call (by its clock)");
    return -1;
}

/* routerNew(config, fromEnv, clock|null, shmPath|null, redis|null, settle) */
napi_value js_router_new(napi_env env, napi_callback_info info)
{
    size_t argc = 6;
    napi_value argv[6];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 6)
        return throw_type(env, "routerNew: 6 arguments");
    sticky_config cfg;
    sticky_config_init(&cfg);
    bool from_env = false;
    napi_get_value_bool(env, argv[1], &from_env);
    if (from_env) {
        const char *bad = NULL;
        int rc = sticky_config_from_env(&cfg, &bad);
        if (rc != 0) {
            char what[160];
            snprintf(what, sizeof what, "configuration from the environment (%s)",
                     bad ? bad : "?");
            return throw_sticky(env, rc, what, 0);
        }
    }
    if (!is_nullish(env, argv[0]) && apply_config(env, argv[0], &cfg) != 0)
        return NULL;

    router *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return throw_error(env, "STICKY_ENOMEM", "Router: out of memory");
    r->ne = get_node_env(env);
    r->thread = pthread_self();
    router_link(r);
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    /* The clock and settle() are held weakly: the JavaScript Router keeps
     * them (they may capture it; a strong reference here would keep the
     * Router alive forever and its finalizer would never run). settle() is
     * held strongly only while selections are in flight (select_async.c). */
    if (t == napi_function) {
        napi_create_reference(env, argv[2], 0, &r->clock_ref);
        cfg.clock_fn = node_clock;
        cfg.clock_user = r;
        node_clock(r); /* a first reading, and a check */
        if (r->clock_failed) {
            router_release_refs(r, env);
            router_destroy(r);
            return throw_type(env, "clock() must return a finite number of milliseconds >= 0");
        }
    } else if (t != napi_undefined && t != napi_null) {
        router_destroy(r);
        return throw_type(env, "clock must be a function returning milliseconds");
    }
    napi_typeof(env, argv[5], &t);
    if (t == napi_function)
        napi_create_reference(env, argv[5], 0, &r->settle_ref);

    char stack[1024];
    arena a;
    arena_init(&a, stack, sizeof stack);
    sticky_ctx *ctx = NULL;
    int rc = sticky_ctx_new(&cfg, &ctx);
    if (rc != 0) {
        router_release_refs(r, env);
        router_destroy(r);
        return throw_sticky(env, rc, "Router configuration", 0);
    }
    r->ctx = ctx;
    napi_value result = NULL;

    if (!is_nullish(env, argv[3])) { /* shared memory */
        const char *path;
        size_t len;
        if (get_string(env, argv[3], &a, "shm", &path, &len) != 0)
            goto fail;
        sticky_shm *seg = NULL;
        rc = sticky_shm_open(ctx, path, NULL, &seg);
        if (rc != 0) {
            char what[300];
            snprintf(what, sizeof what, "shared memory %.256s", path);
            throw_sticky(env, rc, what, 0);
            goto fail;
        }
        rc = sticky_ctx_use_shm(ctx, seg);
        sticky_shm_close(seg); /* the context keeps it open */
        if (rc != 0) {
            throw_sticky(env, rc, "use shared memory", 0);
            goto fail;
        }
    }

    if (!is_nullish(env, argv[4])) { /* Redis on Node's loop */
#ifdef STICKY_NODE_REDIS_UV
        sticky_redis_store_options o;
        sticky_redis_store_options_init(&o);
        for (size_t i = 0; i < N_REDIS_FIELDS; i++) {
            const redis_field *f = &REDIS_FIELDS[i];
            bool has = false;
            napi_value v;
            napi_has_named_property(env, argv[4], f->name, &has);
            if (!has)
                continue;
            napi_get_named_property(env, argv[4], f->name, &v);
            if (is_nullish(env, v))
                continue;
            void *field = (char *)&o + f->offset;
            if (f->kind == 0) {
                const char *s;
                size_t len;
                if (get_string(env, v, &a, f->name, &s, &len) != 0)
                    goto fail;
                *(const char **)field = s;
            } else {
                int64_t x;
                if (get_integer(env, v, f->name, f->kind == 1 ? 0 : INT32_MIN,
                                f->kind == 1 ? UINT32_MAX : INT32_MAX, &x) != 0)
                    goto fail;
                if (f->kind == 1)
                    *(uint32_t *)field = (uint32_t)x;
                else
                    *(int32_t *)field = (int32_t)x;
            }
        }
        uv_loop_t *loop = NULL;
        if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
            throw_error(env, "ERR_STICKY_LOOP", "redis: no libuv loop in this environment");
            goto fail;
        }
        rc = sticky_redis_store_new_uv(ctx, &o, loop, &r->store);
        if (rc != 0) {
            throw_sticky(env, rc, "redis store", 0);
            goto fail;
        }
        rc = sticky_ctx_set_store(ctx, r->store);
        if (rc != 0) {
            throw_sticky(env, rc, "redis store", 0);
            goto fail;
        }
        r->async_store = 1;
        napi_value res_obj, name;
        napi_create_object(env, &res_obj);
        napi_create_reference(env, res_obj, 1, &r->resource_ref);
        napi_create_string_utf8(env, "libsticky.select", NAPI_AUTO_LENGTH, &name);
        if (napi_async_init(env, res_obj, name, &r->async_ctx) != napi_ok) {
            throw_error(env, "ERR_STICKY_ASYNC", "redis: napi_async_init failed");
            goto fail;
        }
#else
        throw_error(env, "ERR_STICKY_NO_REDIS",
                    "redis: this build of the addon has no Redis support "
                    "(libsticky-redis-uv was not found when it was built)");
        goto fail;
#endif
    }
    if (napi_create_external(env, r, router_finalize, NULL, &result) != napi_ok ||
        napi_type_tag_object(env, result, &ROUTER_TAG) != napi_ok) {
        /* the finalizer (if the External exists) frees r after close */
        if (result == NULL) {
            throw_error(env, "STICKY_ENOMEM", "Router: out of memory");
            goto fail;
        }
        router_close(r, env);
        result = NULL;
        throw_error(env, "STICKY_ENOMEM", "Router: out of memory");
    }
    arena_free(&a);
    return result;
fail:
    arena_free(&a);
    router_close(r, env);
    router_release_refs(r, env);
    if (!r->ctx_free_deferred)
        router_destroy(r);
    else
        r->finalized = 1;
    return NULL;
}

/* routerClose(h): idempotent. */
napi_value js_router_close(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    bool ok = false;
    void *p;
    if (argc < 1 || napi_check_object_type_tag(env, argv[0], &ROUTER_TAG, &ok) != napi_ok ||
        !ok || napi_get_value_external(env, argv[0], &p) != napi_ok)
        return throw_type(env, "not a Router handle");
    router *r = p;
    if (r->busy) {
        r->close_pending = 1; /* the library is on the stack: at router_leave */
        return NULL;
    }
    router_close(r, env);
    return NULL;
}

/* ---- routing --------------------------------------------------------------------- */

/* select(h, channels, raw, off, body, tenant, model, headers, sessionId,
 * flags, chain) -> undefined; the decision's numbers in the scratch slots. */
napi_value js_select(napi_env env, napi_callback_info info)
{
    size_t argc = 11;
    napi_value argv[11];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 11)
        return throw_type(env, "select: 11 arguments");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    channel_set *cs = get_channels(env, argv[1]);
    if (cs == NULL)
        return NULL;
    sticky_decision *d = get_raw_decision(env, argv[2], argv[3]);
    if (d == NULL)
        return NULL;
    if (r->async_store)
        return throw_sticky(env, STICKY_EWOULDBLOCK,
                            "select: the Redis store answers asynchronously; use selectAsync()", 0);
    char stack[8192];
    arena a;
    arena_init(&a, stack, sizeof stack);
    js_request jr;
    if (build_request(env, argv + 4, &a, &jr) != 0) {
        arena_free(&a);
        return NULL;
    }
    sticky_decision_init(d);
    router_enter(r);
    int rc = sticky_select(r->ctx, &jr.req, cs->array, cs->n, d);
    if (rc == 0 && r->close_pending)
        sticky_release(r->ctx, d); /* no Decision will be returned */
    arena_free(&a);
    if (router_leave(env, r) != 0)
        return NULL;
    if (clock_check(env, r) != 0) {
        if (rc == 0)
            sticky_release(r->ctx, d);
        return NULL;
    }
    if (rc != 0)
        return throw_sticky(env, rc, "select", d->retry_at_ms);
    write_scratch(r->ne, d);
    return NULL;
}

/* report(h, raw, off, kind, status, retryAfterSeconds, resetEpochSeconds,
 * headers) */
napi_value js_report(napi_env env, napi_callback_info info)
{
    size_t argc = 8;
    napi_value argv0[8];
    napi_get_cb_info(env, info, &argc, argv0, NULL, NULL);
    if (argc < 8)
        return throw_type(env, "report: 8 arguments");
    router *r = get_router(env, argv0[0]);
    if (r == NULL)
        return NULL;
    sticky_decision *d = get_raw_decision(env, argv0[1], argv0[2]);
    napi_value *argv = argv0 + 1; /* argv[2..6]: kind, status, retry, reset, headers */
    if (d == NULL)
        return NULL;
    sticky_outcome o;
    sticky_outcome_init(&o);
    int32_t kind = 0, status = 0;
    if (napi_get_value_int32(env, argv[2], &kind) != napi_ok || kind < 0 || kind > 2)
        return throw_type(env, "report: bad outcome kind");
    o.kind = kind;
    if (kind == STICKY_OUTCOME_HTTP) {
        double s;
        if (napi_get_value_double(env, argv[3], &s) != napi_ok || s != floor(s) || s < 100 ||
            s > 999)
            return throw_type(env, "report: status must be an integer HTTP status (100..999)");
        status = (int32_t)s;
    }
    o.status = status;
    int64_t x;
    if (!is_nullish(env, argv[4])) {
        if (get_integer(env, argv[4], "retryAfterSeconds", 0, 9.0e15, &x) != 0)
            return NULL;
        o.retry_after_seconds = x;
    }
    if (!is_nullish(env, argv[5])) {
        if (get_integer(env, argv[5], "resetEpochSeconds", 0, 9.0e15, &x) != 0)
            return NULL;
        o.reset_epoch_seconds = x;
    }
    char stack[4096];
    arena a;
    arena_init(&a, stack, sizeof stack);
    if (build_headers(env, argv[6], &a, &o.headers, &o.n_headers) != 0) {
        arena_free(&a);
        return NULL;
    }
    router_enter(r);
    int rc = r->async_store ? sticky_report_async(r->ctx, d, &o, 0) : sticky_report(r->ctx, d, &o);
    arena_free(&a);
    if (router_leave(env, r) != 0)
        return NULL;
    if (clock_check(env, r) != 0)
        return NULL;
    if (rc != 0)
        return throw_sticky(env, rc, "report", 0);
    return NULL;
}

/* release(h, raw, off) */
napi_value js_release(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 3)
        return throw_type(env, "release: 3 arguments");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    sticky_decision *d = get_raw_decision(env, argv[1], argv[2]);
    if (d == NULL)
        return NULL;
    router_enter(r);
    int rc = sticky_release(r->ctx, d);
    if (router_leave(env, r) != 0)
        return NULL;
    if (rc != 0)
        return throw_sticky(env, rc, "release", 0);
    return NULL;
}

/* decisionString(raw, off, which): 0 key_hex, 1 model, 2 moved_from,
 * 3 channel_id */
napi_value js_decision_string(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3], out;
    int32_t which = -1;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 3)
        return throw_type(env, "decisionString: 3 arguments");
    sticky_decision *d = get_raw_decision(env, argv[0], argv[1]);
    if (d == NULL)
        return NULL;
    napi_get_value_int32(env, argv[2], &which);
    const char *s;
    switch (which) {
    case 0: s = d->key_hex; break;
    case 1: s = d->model; break;
    case 2: s = d->moved_from; break;
    case 3: s = d->channel_id; break;
    default: return throw_type(env, "decisionString: bad field");
    }
    napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
    return out;
}

/* decisionOpen(raw, off) -> whether the attempt is open. */
napi_value js_decision_open(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], out;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 2)
        return throw_type(env, "decisionOpen: 2 arguments");
    sticky_decision *d = get_raw_decision(env, argv[0], argv[1]);
    if (d == NULL)
        return NULL;
    napi_get_boolean(env, d->attempt != 0, &out);
    return out;
}

/* decisionFill(raw, off): its numbers to the scratch slots (async results). */
napi_value js_decision_fill(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 2)
        return throw_type(env, "decisionFill: 2 arguments");
    sticky_decision *d = get_raw_decision(env, argv[0], argv[1]);
    if (d == NULL)
        return NULL;
    write_scratch(get_node_env(env), d);
    return NULL;
}

/* keyDerive(h, rawChain, body, tenant, headers, sessionId) */
napi_value js_key_derive(napi_env env, napi_callback_info info)
{
    size_t argc = 6;
    napi_value argv[6];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 6)
        return throw_type(env, "keyDerive: 6 arguments");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    bool is;
    void *data;
    size_t n;
    if (napi_is_arraybuffer(env, argv[1], &is) != napi_ok || !is ||
        napi_get_arraybuffer_info(env, argv[1], &data, &n) != napi_ok ||
        n != sizeof(sticky_key_chain))
        return throw_type(env, "keyDerive: bad chain buffer");
    napi_value rargs[7], undef;
    napi_get_undefined(env, &undef);
    rargs[0] = argv[2];
    rargs[1] = argv[3];
    rargs[2] = undef;
    rargs[3] = argv[4];
    rargs[4] = argv[5];
    rargs[5] = undef;
    rargs[6] = undef;
    char stack[8192];
    arena a;
    arena_init(&a, stack, sizeof stack);
    js_request jr;
    if (build_request(env, rargs, &a, &jr) != 0) {
        arena_free(&a);
        return NULL;
    }
    sticky_key_chain *c = data;
    sticky_key_chain_init(c);
    router_enter(r);
    int rc = sticky_key_derive(r->ctx, &jr.req, c);
    arena_free(&a);
    if (router_leave(env, r) != 0)
        return NULL;
    if (rc != 0)
        return throw_sticky(env, rc, "key", 0);
    napi_value out;
    char hex[STICKY_KEY_HEX_SIZE] = "";
    if (c->n_keys > 0)
        sticky_key_to_hex(c->keys[c->n_keys - 1], hex);
    napi_create_string_utf8(env, hex, NAPI_AUTO_LENGTH, &out);
    return out;
}

/* ---- observability ----------------------------------------------------------------- */

static void set_u64(napi_env env, napi_value obj, const char *name, uint64_t v)
{
    napi_value n;
    napi_create_double(env, (double)v, &n);
    napi_set_named_property(env, obj, name, n);
}

/* stats(h) -> {requests, hits, ...} (camelCase of sticky_ctx_stats) */
napi_value js_stats(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], obj;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1)
        return throw_type(env, "stats: 1 argument");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    router_enter(r);
    int rc = sticky_ctx_get_stats(r->ctx, &s);
    if (router_leave(env, r) != 0)
        return NULL;
    if (rc != 0)
        return throw_sticky(env, rc, "stats", 0);
    napi_create_object(env, &obj);
    set_u64(env, obj, "requests", s.requests);
    set_u64(env, obj, "hits", s.hits);
    set_u64(env, obj, "promotedHits", s.promoted_hits);
    set_u64(env, obj, "newSessions", s.new_sessions);
    set_u64(env, obj, "failovers", s.failovers);
    set_u64(env, obj, "spills", s.spills);
    set_u64(env, obj, "migrations", s.migrations);
    set_u64(env, obj, "strictRejections", s.strict_rejections);
    set_u64(env, obj, "noChannel", s.no_channel);
    set_u64(env, obj, "storeErrors", s.store_errors);
    set_u64(env, obj, "reports", s.reports);
    set_u64(env, obj, "channels", s.channels);
    set_u64(env, obj, "tenantMismatches", s.tenant_mismatches);
    return obj;
}

/* prometheus(h) -> text */
napi_value js_prometheus(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], out;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1)
        return throw_type(env, "prometheus: 1 argument");
    router *r = get_router(env, argv[0]);
    if (r == NULL)
        return NULL;
    size_t cap = 8192, needed = 0;
    for (int tries = 0; tries < 4; tries++) {
        char *buf = malloc(cap);
        if (buf == NULL)
            return throw_error(env, "STICKY_ENOMEM", "prometheus: out of memory");
        router_enter(r);
        int rc = sticky_ctx_format_prometheus(r->ctx, buf, cap, &needed);
        if (router_leave(env, r) != 0) {
            free(buf);
            return NULL;
        }
        if (rc == 0) {
            napi_create_string_utf8(env, buf, needed, &out);
            free(buf);
            return out;
        }
        free(buf);
        if (rc != STICKY_ELIMIT)
            return throw_sticky(env, rc, "prometheus", 0);
        cap = needed + 1;
    }
    return throw_sticky(env, STICKY_ELIMIT, "prometheus", 0);
}
