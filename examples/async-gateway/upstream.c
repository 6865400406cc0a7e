/*
 * upstream.c - the async gateway example's upstream side: one attempt
 * forwards the client's request to the chosen channel over a fresh libuv
 * TCP connection (plain HTTP on loopback, Connection: close), reads the
 * whole response, and hands the result to conn_upstream_done() once the
 * connection is closed. A timer bounds the attempt (STICKY_OUTCOME_TIMEOUT);
 * a refused or reset connection is STICKY_OUTCOME_TRANSPORT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

void upstream_reset(struct upstream_call *u)
{
    free(u->out);
    free(u->in);
    u->out = u->in = NULL;
    u->out_len = u->in_len = u->in_cap = 0;
    u->done = 0;
    u->kind = STICKY_OUTCOME_HTTP;
    memset(&u->resp, 0, sizeof(u->resp));
}

static void on_up_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->up.tcp_open = 0;
    if (c->state == CS_FORWARDING && c->up.done)
        conn_upstream_done(c);
    conn_unref(c);
}

/* The attempt's result is known: close the connection; the result is
 * delivered from the close callback (the handle can then be reused). */
static void finish(struct conn *c, int kind)
{
    struct upstream_call *u = &c->up;
    if (u->done)
        return;
    u->done = 1;
    u->kind = kind;
    uv_timer_stop(&c->timer);
    if (u->tcp_open && !uv_is_closing((uv_handle_t *)&u->tcp))
        uv_close((uv_handle_t *)&u->tcp, on_up_closed);
}

void upstream_abort(struct conn *c)
{
    struct upstream_call *u = &c->up;
    u->done = 1; /* on_up_closed() delivers nothing: c is closing */
    uv_timer_stop(&c->timer);
    if (u->tcp_open && !uv_is_closing((uv_handle_t *)&u->tcp))
        uv_close((uv_handle_t *)&u->tcp, on_up_closed);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, STICKY_OUTCOME_TIMEOUT);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    struct upstream_call *u = &c->up;
    (void)suggested;
    if (u->in_cap - u->in_len < 16384) {
        size_t cap = u->in_cap == 0 ? 65536 : u->in_cap * 2;
        char *p = cap <= GW_MAX_RESPONSE + 65536 ? realloc(u->in, cap) : NULL;
        if (p == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        u->in = p;
        u->in_cap = cap;
    }
    *buf = uv_buf_init(u->in + u->in_len, (unsigned)(u->in_cap - u->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct upstream_call *u = &c->up;
    (void)buf;
    if (u->done)
        return;
    if (nread > 0)
        u->in_len += (size_t)nread;
    else if (nread == 0)
        return;
    int eof = nread == UV_EOF;
    if (nread < 0 && !eof) {
        finish(c, STICKY_OUTCOME_TRANSPORT);
        return;
    }
    int rc = http_parse(u->in, u->in_len, 1, eof, &u->resp);
    if (rc > 0)
        finish(c, STICKY_OUTCOME_HTTP);
    else if (rc < 0 || eof)
        finish(c, STICKY_OUTCOME_TRANSPORT); /* malformed or cut short */
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    if (status < 0 && !c->up.done)
        finish(c, STICKY_OUTCOME_TRANSPORT);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct upstream_call *u = &c->up;
    if (u->done)
        return; /* aborted or timed out */
    if (status < 0) {
        finish(c, STICKY_OUTCOME_TRANSPORT);
        return;
    }
    uv_buf_t b = uv_buf_init(u->out, (unsigned)u->out_len);
    if (uv_write(&u->write, (uv_stream_t *)&u->tcp, &b, 1, on_write) != 0 ||
        uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_read) != 0)
        finish(c, STICKY_OUTCOME_TRANSPORT);
}

/* The request as sent upstream: the client's body, its API headers. */
static int build_request(struct conn *c, const struct upstream_addr *a)
{
    static const char *const pass[] = {"anthropic-version", "anthropic-beta", "x-api-key"};
    const struct http_msg *m = &c->req;
    size_t cap = 512 + m->body_len;
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
        const sticky_header *h = http_header(m, pass[i]);
        if (h != NULL)
            cap += h->name_len + h->value_len + 4;
    }
    char *out = malloc(cap);
    if (out == NULL)
        return -1;
    char host[64];
    uv_ip4_name(&a->addr, host, sizeof(host));
    int n = snprintf(out, cap,
                     "POST /v1/messages HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n",
                     host, ntohs(a->addr.sin_port), m->body_len);
    size_t off = (size_t)n;
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
        const sticky_header *h = http_header(m, pass[i]);
        if (h == NULL)
            continue;
        off += (size_t)snprintf(out + off, cap - off, "%.*s: %.*s\r\n", (int)h->name_len,
                                h->name, (int)h->value_len, h->value);
    }
    memcpy(out + off, "\r\n", 2);
    off += 2;
    memcpy(out + off, m->body, m->body_len);
    c->up.out = out;
    c->up.out_len = off + m->body_len;
    return 0;
}

void upstream_start(struct conn *c)
{
    struct gw *gw = c->gw;
    struct upstream_call *u = &c->up;
    const struct upstream_addr *a = &gw->up[c->decision.channel_index];
    upstream_reset(u);
    c->attempts++;
    u->tcp.data = u->connect.data = u->write.data = c;
    if (build_request(c, a) != 0 || uv_tcp_init(gw->loop, &u->tcp) != 0) {
        u->done = 1;
        u->kind = STICKY_OUTCOME_TRANSPORT;
        conn_upstream_done(c);
        return;
    }
    u->tcp.data = c;
    u->tcp_open = 1;
    c->refs++;
    uv_timer_start(&c->timer, on_timeout, GW_UPSTREAM_TIMEOUT_MS, 0);
    if (uv_tcp_connect(&u->connect, &u->tcp, (const struct sockaddr *)&a->addr, on_connect) != 0)
        finish(c, STICKY_OUTCOME_TRANSPORT);
}
