/*
 * native.h - what the files of the Node addon (sticky.node) share: the
 * per-environment data, the native Router and ChannelSet records, the
 * scratch slots a select writes for JavaScript, and the helpers that turn
 * JavaScript values into the library's request structs.
 *
 * Everything here runs on the JavaScript thread of one Node environment
 * (the main thread or a worker); the async Redis store's callbacks run on
 * that environment's libuv loop, which is the same thread.
 */
#ifndef STICKY_NODE_NATIVE_H
#define STICKY_NODE_NATIVE_H

#include <node_api.h>
#include <pthread.h>

#include <sticky/sticky.h>
#ifdef STICKY_NODE_REDIS_UV
#include <sticky/redis_uv.h>
#endif

/* Scratch slots (an Int32Array / Float64Array pair over one ArrayBuffer
 * that JavaScript keeps): a select writes the decision's numbers there so
 * that JavaScript reads them without a property lookup. */
enum scratch_slot {
    SCR_CHANNEL_INDEX = 0,
    SCR_REASON = 1,
    SCR_DEGRADED = 2,
    SCR_FAMILY = 3,
    SCR_KEY_SOURCE = 4,
    SCR_INT32_COUNT = 8  /* the Float64 view starts at byte 32 */
};
#define SCR_F64_RETRY_AT 4 /* Float64 index: retry_at_ms */
#define SCR_BYTES 48

/* Per-environment data (napi_set_instance_data). */
typedef struct node_env {
    napi_env env;
    napi_ref scratch_ref;   /* the scratch ArrayBuffer */
    int32_t *scratch;       /* its bytes */
    int tearing_down;       /* the environment is being torn down */
    napi_ref error_factory; /* JS (code, what, retryAtMs) => StickyError */
    struct router *routers; /* every native Router not yet freed */
    size_t n_deferred;      /* stores being freed on loop idle callbacks */
    napi_async_cleanup_hook_handle cleanup; /* teardown waiting for them */
} node_env;

/* One selection in progress on an async store. */
typedef struct pending_op {
    struct pending_op *next, *prev;
    uint32_t id;              /* JavaScript's id for it */
    sticky_select_op *op;     /* the library's handle */
    napi_ref raw_ref;         /* the ArrayBuffer holding the decision */
    struct router *r;
} pending_op;

/* The native side of a Router. */
typedef struct router {
    node_env *ne;
    sticky_ctx *ctx;           /* NULL once closed */
    sticky_store *store;       /* the Redis store, or NULL */
    int async_store;           /* selections may complete later */
    pthread_t thread;          /* the JavaScript thread */
    napi_ref clock_ref;        /* the host's clock(), or NULL (weak) */
    int64_t last_now;          /* its last good answer */
    int clock_failed;          /* it threw / returned a non-number */
    napi_ref settle_ref;       /* JS settle(id, rc) for async completions:
                                * weak, strong while n_pending > 0 */
    napi_ref resource_ref;     /* resource object of the async context */
    napi_async_context async_ctx;
    pending_op *pending;       /* selections in progress */
    size_t n_pending;
    int finalized;             /* JavaScript dropped the handle */
    int ctx_free_deferred;     /* deferred_ctx is freed on a later loop turn */
    sticky_ctx *deferred_ctx;
    struct router *env_next, *env_prev; /* node_env.routers */
    int busy;                  /* inside a library call (it may call the clock) */
    int close_pending;         /* close() came during that call */
} router;

/* A channel list converted once (the library's array and its strings). */
typedef struct channel_set {
    sticky_channel *array;
    size_t n;
    char *strings;            /* one block holding every id and model */
    const char **models;      /* the model pointer arrays, one block */
} channel_set;

/* Bump allocator for one call's strings: a stack block, then the heap. */
typedef struct arena {
    char *buf;
    size_t cap, used;
    void *heap_blocks;        /* linked list of malloc'd blocks */
} arena;

/* A request built from JavaScript arguments (request.c). */
typedef struct js_request {
    sticky_request req;
    sticky_header *headers;
} js_request;

/* ---- helpers (util.c) ---------------------------------------------------- */

/* Throw a TypeError / Error with printf-style text; return NULL for the
 * caller to return from its napi_callback. */
napi_value throw_type(napi_env env, const char *fmt, ...) STICKY_PRINTF(2, 3);
napi_value throw_error(napi_env env, const char *code, const char *fmt, ...)
    STICKY_PRINTF(3, 4);

void arena_init(arena *a, char *stack, size_t cap);
void *arena_alloc(arena *a, size_t n);
void arena_free(arena *a);

/* Read a string argument into the arena (UTF-8, NUL-terminated). Returns
 * 0, or -1 with a TypeError thrown naming @what. */
int get_string(napi_env env, napi_value v, arena *a, const char *what,
               const char **out, size_t *len);
/* Whether @v is undefined or null. */
int is_nullish(napi_env env, napi_value v);

/* Per-environment data. */
node_env *get_node_env(napi_env env);

/* Throw the StickyError (NoChannelError for STICKY_ENOCHANNEL) that the
 * JavaScript error factory makes for @rc; @what names the operation.
 * Returns NULL. */
napi_value throw_sticky(napi_env env, int rc, const char *what, int64_t retry_at_ms);
napi_value js_set_error_factory(napi_env env, napi_callback_info info);

/* ---- handles (router.c, channels.c) ---------------------------------------- */

/* The live router behind argument @v; throws and returns NULL if it is not
 * a Router handle or the Router is closed. */
router *get_router(napi_env env, napi_value v);
/* The channel set behind @v; throws and returns NULL if it is not one. */
channel_set *get_channels(napi_env env, napi_value v);
/* The sticky_decision at byte offset @off of ArrayBuffer @v (decisions
 * live in slabs that JavaScript allocates: one ArrayBuffer per decision
 * would cost more than the select); throws and returns NULL if @v is not
 * an ArrayBuffer or the offset is misaligned or out of bounds. */
sticky_decision *get_raw_decision(napi_env env, napi_value v, napi_value off);

/* ---- requests (request.c) ---------------------------------------------------- */

/* Build a request from argv[0..5]: body, tenant, model, headers (flat array
 * [name, value, ...] or undefined), session id, flags; and argv[6]: a key
 * chain ArrayBuffer or undefined. Strings go to @a; a Buffer / Uint8Array
 * body is used in place. Returns 0, or -1 with an exception thrown. */
int build_request(napi_env env, napi_value *argv, arena *a, js_request *out);
/* Fill headers from a flat [name, value, ...] array; 0 or -1 (thrown). */
int build_headers(napi_env env, napi_value arr, arena *a, const sticky_header **out,
                  size_t *n);

/* Write the decision's numbers to the scratch slots. */
void write_scratch(node_env *ne, const sticky_decision *d);

/* ---- exported functions, by file ------------------------------------------ */
napi_value js_router_new(napi_env env, napi_callback_info info);
napi_value js_router_close(napi_env env, napi_callback_info info);
napi_value js_select(napi_env env, napi_callback_info info);
napi_value js_report(napi_env env, napi_callback_info info);
napi_value js_release(napi_env env, napi_callback_info info);
napi_value js_decision_string(napi_env env, napi_callback_info info);
napi_value js_decision_open(napi_env env, napi_callback_info info);
napi_value js_decision_fill(napi_env env, napi_callback_info info);
napi_value js_key_derive(napi_env env, napi_callback_info info);
napi_value js_stats(napi_env env, napi_callback_info info);
napi_value js_prometheus(napi_env env, napi_callback_info info);
napi_value js_channels_new(napi_env env, napi_callback_info info);
napi_value js_select_start(napi_env env, napi_callback_info info);
napi_value js_select_cancel(napi_env env, napi_callback_info info);

/* Around a library call that may run JavaScript (the host's clock): a
 * close() meanwhile is deferred until the call returns (freeing the
 * context under the library crashed), and any other call on the Router
 * throws. router_leave() returns 0, or -1 with ERR_STICKY_CLOSED thrown
 * when the Router was closed during the call (it is closed now). */
void router_enter(router *r);
int router_leave(napi_env env, router *r);

/* Cancel every selection in progress (close; no callback to JavaScript). */
void pending_cancel_all(router *r);
/* Free the context now, or (async store) after the loop has closed the
 * store's handles. */
void router_free_ctx(router *r);
/* Environment teardown (the async cleanup hook): close every Router still
 * open, so that no handle of a Redis store is left on the loop. */
void routers_teardown(node_env *ne);
/* A deferred store free has closed its last handle: ends the teardown
 * when it was the last one. */
void env_deferred_done(node_env *ne);

/* Names of the configuration / Redis option keys (router.c). */
napi_value js_config_keys(napi_env env, napi_callback_info info);
napi_value js_redis_keys(napi_env env, napi_callback_info info);

#endif /* STICKY_NODE_NATIVE_H */
