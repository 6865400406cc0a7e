/*
 * gateway.h - the async gateway example's shared types: the process state
 * (struct gw: loop, context, store, channels, counters), one client
 * connection (struct conn) with its upstream attempt, and the functions
 * each file exports (http.c parser, conn.c client side, upstream.c
 * forward). Public libsticky API only.
 */
#ifndef ASYNC_GATEWAY_H
#define ASYNC_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <sticky/async.h>
#include <sticky/sticky.h>

#define GW_MAX_UPSTREAMS 16
#define GW_MAX_HEADERS 64
#define GW_MAX_REQUEST (8u << 20)  /* request head + body */
#define GW_MAX_RESPONSE (8u << 20) /* upstream response */
#define GW_UPSTREAM_TIMEOUT_MS 30000

/* ---- http.c: a minimal HTTP/1.1 message parser ------------------------- */

/* One parsed request or response. Pointers point into the parsed buffer. */
struct http_msg {
    const char *method; size_t method_len;  /* request */
    const char *path; size_t path_len;      /* request */
    int status;                             /* response */
    sticky_header headers[GW_MAX_HEADERS];
    size_t n_headers;
    size_t head_len;        /* bytes up to and including the blank line */
    int has_length;         /* Content-Length present */
    size_t content_length;
    const char *body; size_t body_len;
};

/* Parse @buf (@len bytes so far). Returns 1 when the message is complete
 * (head and Content-Length bytes of body; a response without Content-Length
 * is complete only at EOF, @eof 1), 0 when more bytes are needed, -1 when
 * it is malformed or too large. */
int http_parse(const char *buf, size_t len, int is_response, int eof, struct http_msg *m);
/* The value of header @name (case-insensitive), or NULL. */
const sticky_header *http_header(const struct http_msg *m, const char *name);

/* ---- process state --------------------------------------------------- */

struct upstream_addr {
    char id[STICKY_ID_SIZE];
    struct sockaddr_in addr;
};

struct gw_counters {
    uint64_t requests;          /* POST /v1/messages received */
    uint64_t answered;          /* answers sent (any status) */
    uint64_t retries;           /* second attempts after a 429/529/5xx */
    uint64_t select_pending;    /* sticky_select_start() returned EINPROGRESS */
    uint64_t cancelled_selects; /* client gone while the selection was pending */
    uint64_t released_inflight; /* client gone while the upstream was in flight */
    uint64_t reports;           /* sticky_report_async() calls that returned 0 */
    uint64_t report_errors;
    uint64_t no_channel;        /* 503s */
};

struct conn;

struct gw {
    uv_loop_t *loop;
    sticky_ctx *ctx;
    sticky_store *store;        /* the Redis store, or NULL (memory) */
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    struct upstream_addr up[GW_MAX_UPSTREAMS];
    sticky_channel channels[GW_MAX_UPSTREAMS];
    size_t n_up;
    const char *tenant;         /* --tenant, or NULL */
    uint64_t max_requests;      /* --requests, 0 = unlimited */
    int shutting_down;
    struct conn *conns;         /* open connections (doubly linked) */
    struct gw_counters n;
};

/* ---- conn.c: one client connection, one request --------------------- */

enum conn_state {
    CS_READING = 0,   /* reading the request */
    CS_SELECTING,     /* sticky_select_start() returned EINPROGRESS */
    CS_FORWARDING,    /* an upstream attempt is in flight */
    CS_ANSWERING,     /* writing the answer */
    CS_CLOSING        /* handles closing */
};

/* The upstream side of one attempt (upstream.c). */
struct upstream_call {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    int tcp_open;             /* tcp initialised, close not yet done */
    char *out; size_t out_len;  /* the forwarded request */
    char *in; size_t in_len, in_cap;  /* the response so far */
    int done;                 /* the result below is final */
    int kind;                 /* enum sticky_outcome_kind */
    struct http_msg resp;     /* valid when done and kind is HTTP */
};

struct conn {
    struct gw *gw;
    struct conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;         /* upstream timeout */
    uv_write_t write;
    uv_shutdown_t shutdown;
    int refs;                 /* open handles; freed at 0 */
    int state;                /* enum conn_state */
    char *in; size_t in_len, in_cap;  /* the request */
    char scratch[256];        /* bytes read after the request (discarded) */
    struct http_msg req;
    sticky_decision decision; /* valid until the callback / cancel (async.h) */
    sticky_select_op *op;     /* while CS_SELECTING */
    int attempt_open;         /* decision holds an open attempt */
    int attempts;             /* upstream attempts made for this request */
    struct upstream_call up;
    char *answer;             /* the response written to the client */
    int is_message;           /* a POST /v1/messages (counts for --requests) */
};

void conn_accept(struct gw *gw);
/* Close a connection at once (shutdown): cancel / abort / release. */
void conn_abort(struct conn *c);
/* An upstream attempt finished (c->up.done; its tcp handle closed). */
void conn_upstream_done(struct conn *c);
/* Answer with @status and @body (Connection: close). */
void conn_answer(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                 const sticky_header *extra, size_t n_extra);
/* A handle of @c closed: drop one reference, free @c at zero. */
void conn_unref(struct conn *c);

/* ---- upstream.c: forward one attempt ---------------------------------- */

/* Start forwarding c->req to the channel of c->decision. Ends in
 * conn_upstream_done() unless aborted first. */
void upstream_start(struct conn *c);
/* Abort an attempt in flight (its completion is never delivered). */
void upstream_abort(struct conn *c);
void upstream_reset(struct upstream_call *u);

/* ---- main.c -------------------------------------------------------------- */

/* One more request answered: stop after --requests N. */
void gw_request_finished(struct gw *gw);
/* Stats text for GET /stats (malloc'd; gateway counters + Prometheus). */
char *gw_stats_text(struct gw *gw, size_t *len);

#endif /* ASYNC_GATEWAY_H */
