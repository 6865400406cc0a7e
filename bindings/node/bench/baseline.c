/*
 * baseline.c - bench-only addon (sticky_bench.node, built by meson, never
 * shipped): the C baseline of bench/bench.js. run(body, n, useKey) does
 * select + report(200) n times on one request against three channels in
 * a fresh context, all in C, and returns nanoseconds per iteration, so
 * the benchmark compares the Node path with the library's own cost in the
 * same process.
 */
#include <node_api.h>
#include <time.h>

#include <sticky/sticky.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static napi_value run(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3], out;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    void *body = NULL;
    size_t body_len = 0;
    uint32_t n = 0;
    bool use_key = false;
    if (argc < 3 || napi_get_buffer_info(env, argv[0], &body, &body_len) != napi_ok ||
        napi_get_value_uint32(env, argv[1], &n) != napi_ok ||
        napi_get_value_bool(env, argv[2], &use_key) != napi_ok) {
        napi_throw_type_error(env, NULL, "run(buffer, n, useKey)");
        return NULL;
    }
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != 0) {
        napi_throw_error(env, NULL, "sticky_ctx_new failed");
        return NULL;
    }
    static const char *const ids[3] = {"A", "B", "C"};
    sticky_channel ch[3];
    for (int i = 0; i < 3; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
    }
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = "bench";
    req.tenant_len = 5;
    req.body = body;
    req.body_len = body_len;
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    if (use_key) {
        sticky_key_derive(ctx, &req, &chain);
        req.chain = &chain;
        req.body = NULL;
        req.body_len = 0;
    }
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 200;
    sticky_decision d;
    int bad = 0;
    double t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        sticky_decision_init(&d);
        bad |= sticky_select(ctx, &req, ch, 3, &d);
        bad |= sticky_report(ctx, &d, &o);
    }
    double t1 = now_ns();
    sticky_ctx_free(ctx);
    if (bad) {
        napi_throw_error(env, NULL, "select/report failed in the baseline");
        return NULL;
    }
    napi_create_double(env, n ? (t1 - t0) / n : 0, &out);
    return out;
}

NAPI_MODULE_INIT()
{
    napi_value f;
    napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &f);
    napi_set_named_property(env, exports, "run", f);
    return exports;
}
