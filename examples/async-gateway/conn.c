/*
 * conn.c - the async gateway example's client side: accept, read one
 * request, GET /stats, POST /v1/messages through sticky_select_start(),
 * report each upstream attempt with sticky_report_async(), retry once on
 * a 429/529/5xx/transport failure, answer, close. It owns the
 * cancellation rule: a client that goes away while its selection is
 * pending gets sticky_select_cancel(); one that goes away while the
 * upstream is in flight gets the upstream aborted and sticky_release().
 * One request per connection (the answer says Connection: close).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"

static void start_select(struct conn *c);

static void conn_free(struct conn *c)
{
    upstream_reset(&c->up);
    free(c->in);
    free(c->answer);
    free(c);
}

void conn_unref(struct conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void unlink_conn(struct conn *c)
{
    struct gw *gw = c->gw;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (gw->conns == c)
        gw->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_close(struct conn *c)
{
    if (c->state == CS_CLOSING)
        return;
    c->state = CS_CLOSING;
    unlink_conn(c);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    if (c->is_message)
        gw_request_finished(c->gw);
}

/* The client went away (EOF, reset) or the gateway shuts down: the
 * cancellation rule of docs/async.md. */
void conn_abort(struct conn *c)
{
    struct gw *gw = c->gw;
    if (c->state == CS_SELECTING && c->op != NULL) {
        /* The callback has not run: cancel it. The library ends the attempt
         * the selection may have opened; the callback never runs and
         * c->decision is never written. */
        sticky_select_cancel(gw->ctx, c->op);
        c->op = NULL;
        gw->n.cancelled_selects++;
    } else if (c->state == CS_FORWARDING) {
        /* The upstream request is in flight: abort it, and end the attempt
         * without an outcome (the client's disconnect says nothing about the
         * channel's health). */
        upstream_abort(c);
        if (c->attempt_open) {
            sticky_release(gw->ctx, &c->decision);
            c->attempt_open = 0;
            gw->n.released_inflight++;
        }
    }
    conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    if (c->state == CS_CLOSING)
        return;
    if (status < 0 || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

void conn_answer(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                 const sticky_header *extra, size_t n_extra)
{
    size_t cap = 256 + len;
    for (size_t i = 0; i < n_extra; i++)
        cap += extra[i].name_len + extra[i].value_len + 4;
    free(c->answer);
    c->answer = malloc(cap);
    if (c->answer == NULL) {
        conn_close(c);
        return;
    }
    int n = snprintf(c->answer, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n",
                     status, reason_phrase(status), ctype, len);
    size_t off = (size_t)n;
    for (size_t i = 0; i < n_extra; i++) {
        memcpy(c->answer + off, extra[i].name, extra[i].name_len);
        off += extra[i].name_len;
        memcpy(c->answer + off, ": ", 2);
        off += 2;
        memcpy(c->answer + off, extra[i].value, extra[i].value_len);
        off += extra[i].value_len;
        memcpy(c->answer + off, "\r\n", 2);
        off += 2;
    }
    memcpy(c->answer + off, "\r\n", 2);
    off += 2;
    if (len > 0)
        memcpy(c->answer + off, body, len);
    off += len;
    c->state = CS_ANSWERING;
    if (c->is_message)
        c->gw->n.answered++;
    uv_buf_t b = uv_buf_init(c->answer, (unsigned)off);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
        conn_close(c);
}

static void answer_text(struct conn *c, int status, const char *text)
{
    conn_answer(c, status, "text/plain", text, strlen(text), NULL, 0);
}

/* The decision: at once (op NULL) or from the store's callback. */
static void on_decision(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    (void)op;
    struct conn *c = user;
    c->op = NULL;
    if (rc == STICKY_OK) {
        c->attempt_open = 1;
        c->state = CS_FORWARDING;
        upstream_start(c);
        return;
    }
    if (rc == STICKY_ENOCHANNEL) {
        c->gw->n.no_channel++;
        char secs[24];
        int64_t wait_ms = d->retry_at_ms > 0 ? d->retry_at_ms - sticky_ctx_now_ms(c->gw->ctx) : 0;
        int n = snprintf(secs, sizeof(secs), "%" PRId64, wait_ms > 0 ? (wait_ms + 999) / 1000 : 1);
        sticky_header h = {"retry-after", 11, secs, (size_t)n};
        const char *msg = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                          "\"message\":\"no upstream channel is usable\"}}";
        conn_answer(c, 503, "application/json", msg, strlen(msg), &h, 1);
        return;
    }
    answer_text(c, rc == STICKY_EPARSE || rc == STICKY_ELIMIT ? 400 : 500, sticky_strerror(rc));
}

static void start_select(struct conn *c)
{
    struct gw *gw = c->gw;
    sticky_request r;
    sticky_request_init(&r);
    const sticky_header *key = http_header(&c->req, "x-api-key");
    if (key != NULL) {
        r.tenant = key->value;
        r.tenant_len = key->value_len;
    } else if (gw->tenant != NULL) {
        r.tenant = gw->tenant;
        r.tenant_len = strlen(gw->tenant);
    }
    /* The model is left to the library (the body's top-level "model"). */
    r.body = c->req.body;
    r.body_len = c->req.body_len;
    r.headers = c->req.headers;
    r.n_headers = c->req.n_headers;
    sticky_decision_init(&c->decision);
    sticky_select_op *op = NULL;
    /* The request and channel list are only read during this call; the
     * decision stays in c until the callback runs or the cancel returns. */
    int rc = sticky_select_start(gw->ctx, &r, gw->channels, gw->n_up, &c->decision, 0,
                                 on_decision, c, &op);
    if (rc == STICKY_EINPROGRESS) { /* negative, not a failure */
        c->op = op;
        c->state = CS_SELECTING;
        gw->n.select_pending++;
        return;
    }
    on_decision(NULL, rc, &c->decision, c);
}

/* An upstream attempt ended (its connection is closed): report it, then
 * relay the answer or retry once on the channel the library picks next. */
void conn_upstream_done(struct conn *c)
{
    struct gw *gw = c->gw;
    struct upstream_call *u = &c->up;
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.kind = u->kind;
    if (u->kind == STICKY_OUTCOME_HTTP) {
        o.status = u->resp.status;
        o.headers = u->resp.headers; /* the library reads the rate-limit ones */
        o.n_headers = u->resp.n_headers;
    }
    int rc = sticky_report_async(gw->ctx, &c->decision, &o, 0);
    c->attempt_open = 0;
    if (rc == STICKY_OK) {
        gw->n.reports++;
    } else {
        gw->n.report_errors++;
        sticky_release(gw->ctx, &c->decision);
    }
    int failed = u->kind != STICKY_OUTCOME_HTTP || u->resp.status == 429 ||
                 u->resp.status == 529 || u->resp.status >= 500;
    if (failed && c->attempts < 2 && !gw->shutting_down) {
        gw->n.retries++;
        upstream_reset(u);
        start_select(c); /* a new selection: the failed channel is cooling */
        return;
    }
    if (u->kind != STICKY_OUTCOME_HTTP) {
        upstream_reset(u);
        answer_text(c, u->kind == STICKY_OUTCOME_TIMEOUT ? 504 : 502, "upstream failed\n");
        return;
    }
    sticky_header extra[8];
    size_t n_extra = 0;
    for (size_t i = 0; i < u->resp.n_headers && n_extra < 8; i++) {
        const sticky_header *h = &u->resp.headers[i];
        if ((h->name_len == 11 && strncasecmp(h->name, "retry-after", 11) == 0) ||
            (h->name_len > 10 && strncasecmp(h->name, "anthropic-", 10) == 0) ||
            (h->name_len == 10 && strncasecmp(h->name, "request-id", 10) == 0))
            extra[n_extra++] = *h;
    }
    const sticky_header *ct = http_header(&u->resp, "content-type");
    char ctype[128] = "application/json";
    if (ct != NULL && ct->value_len < sizeof(ctype)) {
        memcpy(ctype, ct->value, ct->value_len);
        ctype[ct->value_len] = '\0';
    }
    conn_answer(c, u->resp.status, ctype, u->resp.body, u->resp.body_len, extra, n_extra);
    upstream_reset(u); /* conn_answer copied what it needs */
}

static void handle_request(struct conn *c)
{
    const struct http_msg *m = &c->req;
    if (m->method_len == 3 && memcmp(m->method, "GET", 3) == 0 && m->path_len == 6 &&
        memcmp(m->path, "/stats", 6) == 0) {
        size_t len;
        char *text = gw_stats_text(c->gw, &len);
        if (text == NULL) {
            answer_text(c, 500, "out of memory\n");
            return;
        }
        conn_answer(c, 200, "text/plain; version=0.0.4", text, len, NULL, 0);
        free(text);
        return;
    }
    if (m->method_len == 4 && memcmp(m->method, "POST", 4) == 0 && m->path_len == 12 &&
        memcmp(m->path, "/v1/messages", 12) == 0) {
        c->is_message = 1;
        c->gw->n.requests++;
        start_select(c);
        return;
    }
    answer_text(c, 404, "not found\n");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    if (c->state != CS_READING) {
        /* After the request: read only to notice the client going away. */
        *buf = uv_buf_init(c->scratch, sizeof(c->scratch));
        return;
    }
    if (c->in_cap - c->in_len < 16384) {
        size_t cap = c->in_cap == 0 ? 65536 : c->in_cap * 2;
        char *p = cap <= GW_MAX_REQUEST + 65536 ? realloc(c->in, cap) : NULL;
        if (p == NULL) {
            *buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (c->state == CS_CLOSING)
        return;
    if (nread < 0) {
        uv_read_stop(s);
        if (c->state == CS_ANSWERING && nread == UV_EOF)
            return; /* half-closed after sending: let the answer finish */
        conn_abort(c); /* the client went away */
        return;
    }
    if (nread == 0 || c->state != CS_READING)
        return;
    c->in_len += (size_t)nread;
    int rc = http_parse(c->in, c->in_len, 0, 0, &c->req);
    if (rc < 0)
        answer_text(c, 400, "bad request\n");
    else if (rc > 0)
        handle_request(c);
}

void conn_accept(struct gw *gw)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->gw = gw;
    uv_tcp_init(gw->loop, &c->tcp);
    uv_timer_init(gw->loop, &c->timer);
    c->tcp.data = c->timer.data = c->write.data = c->shutdown.data = c;
    c->refs = 2;
    c->next = gw->conns;
    if (gw->conns != NULL)
        gw->conns->prev = c;
    gw->conns = c;
    if (uv_accept((uv_stream_t *)&gw->listener, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}
