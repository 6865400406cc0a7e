/*
 * bindings/go/glue.h - the C side of the Go binding, included by the cgo
 * preamble of the package's files: one C function per Go call, so that a
 * select or a report is exactly one cgo call. They build the library's
 * request / outcome structs on the C stack from arguments (cgo forbids
 * Go memory holding Go pointers from reaching C: a sticky_request pointing
 * at a Go body can be neither Go- nor C-allocated, but the body's bytes
 * themselves may be passed as an argument), and keep each open decision
 * in C memory (malloc here, free in gs_report / gs_release).
 */
#ifndef STICKY_GO_GLUE_H
#define STICKY_GO_GLUE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

/* The headers of a request or response, flattened by Go (cgo forbids
 * passing Go memory that holds Go pointers, such as an array of string
 * pointers): all names and values back to back in one byte blob, lens[2i]
 * and lens[2i+1] the lengths of header i's name and value. Up to
 * GS_STACK_HEADERS live on the C stack, more are malloc'ed. */
#define GS_STACK_HEADERS 32

static sticky_header *gs_headers(sticky_header *stack, const char *blob, const size_t *lens,
                                 size_t n)
{
    sticky_header *out = stack;
    size_t off = 0;
    if (n == 0)
        return NULL;
    if (n > GS_STACK_HEADERS) {
        out = malloc(n * sizeof(*out));
        if (out == NULL)
            return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].name = blob + off;
        out[i].name_len = lens[2 * i];
        off += lens[2 * i];
        out[i].value = blob + off;
        out[i].value_len = lens[2 * i + 1];
        off += lens[2 * i + 1];
    }
    return out;
}

static void gs_headers_done(sticky_header *stack, sticky_header *h)
{
    if (h != stack)
        free(h);
}

/* What gs_select returns: the library's code, and the decision (C memory,
 * NULL only on ENOMEM) - kept for report / release when rc is 0, freed by
 * gs_free otherwise. */
typedef struct gs_select_result {
    int rc;
    sticky_decision *d;
} gs_select_result;

/* A request from its parts: strings as _GoString_ (pointer and length of a
 * Go string, read in place), the body as a pointer into a Go []byte. */
static void gs_fill_request(sticky_request *r, _GoString_ tenant, _GoString_ model,
                            int has_model, const char *body, size_t body_len,
                            _GoString_ session_id, int has_session,
                            const sticky_key_chain *chain, unsigned flags, int format,
                            const sticky_header *hdrs, size_t n_headers)
{
    sticky_request_init(r);
    r->tenant = _GoStringLen(tenant) ? _GoStringPtr(tenant) : NULL;
    r->tenant_len = _GoStringLen(tenant);
    if (has_model) {
        r->model = _GoStringLen(model) ? _GoStringPtr(model) : "";
        r->model_len = _GoStringLen(model);
    }
    r->flags = flags;
    r->chain = chain;
    r->body = body;
    r->body_len = body_len;
    r->format = format;
    r->headers = hdrs;
    r->n_headers = hdrs ? n_headers : 0;
    if (has_session) {
        r->session_id = _GoStringLen(session_id) ? _GoStringPtr(session_id) : "";
        r->session_id_len = _GoStringLen(session_id);
    }
}

static gs_select_result gs_select(sticky_ctx *ctx, _GoString_ tenant, _GoString_ model,
                                  int has_model, const char *body, size_t body_len,
                                  _GoString_ session_id, int has_session,
                                  const sticky_key_chain *chain, unsigned flags, int format,
                                  const char *hblob, const size_t *hlens, size_t n_headers,
                                  const sticky_channel *channels, size_t n_channels)
{
    gs_select_result res = { STICKY_ENOMEM, NULL };
    sticky_header stack[GS_STACK_HEADERS];
    sticky_header *hdrs = gs_headers(stack, hblob, hlens, n_headers);
    sticky_request r;
    if (n_headers && hdrs == NULL)
        return res;
    gs_fill_request(&r, tenant, model, has_model, body, body_len, session_id, has_session,
                    chain, flags, format, hdrs, n_headers);
    res.d = malloc(sizeof(sticky_decision));
    if (res.d != NULL) {
        sticky_decision_init(res.d);
        res.rc = sticky_select(ctx, &r, channels, n_channels, res.d);
    }
    gs_headers_done(stack, hdrs);
    return res;
}

static int gs_key(const sticky_ctx *ctx, _GoString_ tenant, const char *body, size_t body_len,
                  _GoString_ session_id, int has_session, int format, const char *hblob,
                  const size_t *hlens, size_t n_headers, sticky_key_chain *out)
{
    sticky_header stack[GS_STACK_HEADERS];
    sticky_header *hdrs = gs_headers(stack, hblob, hlens, n_headers);
    sticky_request r;
    _GoString_ none = { NULL, 0 };
    int rc;
    if (n_headers && hdrs == NULL)
        return STICKY_ENOMEM;
    gs_fill_request(&r, tenant, none, 0, body, body_len, session_id, has_session, NULL, 0,
                    format, hdrs, n_headers);
    sticky_key_chain_init(out);
    rc = sticky_key_derive(ctx, &r, out);
    gs_headers_done(stack, hdrs);
    return rc;
}

/* Report the outcome of @d and free it. kind: enum sticky_outcome_kind. */
static int gs_report(sticky_ctx *ctx, sticky_decision *d, int kind, int status,
                     int64_t retry_after, int64_t reset_epoch, const char *hblob,
                     const size_t *hlens, size_t n_headers)
{
    sticky_header stack[GS_STACK_HEADERS];
    sticky_header *hdrs = gs_headers(stack, hblob, hlens, n_headers);
    sticky_outcome o;
    int rc;
    sticky_outcome_init(&o);
    o.kind = kind;
    o.status = status;
    o.retry_after_seconds = retry_after;
    o.reset_epoch_seconds = reset_epoch;
    o.headers = hdrs; /* NULL also when a large array could not be allocated */
    o.n_headers = hdrs ? n_headers : 0;
    rc = sticky_report(ctx, d, &o);
    gs_headers_done(stack, hdrs);
    if (rc != STICKY_OK)
        sticky_release(ctx, d); /* never leave the slot held by a bad outcome */
    free(d);
    return rc;
}

/* Release @d (idempotent in the library) and free it; @ctx may be NULL
 * (the router is closed: only the memory is freed). */
static int gs_release(sticky_ctx *ctx, sticky_decision *d)
{
    int rc = ctx ? sticky_release(ctx, d) : 0;
    free(d);
    return rc;
}

static void gs_free(void *p)
{
    free(p);
}

/* The clock and log trampolines (callbacks.c) calling into Go. */
int64_t gs_clock_trampoline(void *user);
void gs_log_trampoline(int level, const char *message, void *user);

#endif /* STICKY_GO_GLUE_H */
