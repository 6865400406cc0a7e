/*
 * http.c - the async gateway example's minimal HTTP/1.1 parser: a request
 * line or a status line, headers, and a body delimited by Content-Length
 * (or, for a response, by EOF). No chunked encoding, no pipelining: enough
 * for a loopback example, not for the Internet.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

static int name_eq(const sticky_header *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

const sticky_header *http_header(const struct http_msg *m, const char *name)
{
    for (size_t i = 0; i < m->n_headers; i++)
        if (name_eq(&m->headers[i], name))
            return &m->headers[i];
    return NULL;
}

/* "GET /path HTTP/1.1" or "HTTP/1.1 200 OK". */
static int parse_first_line(const char *p, const char *eol, int is_response, struct http_msg *m)
{
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (sp1 == NULL)
        return -1;
    if (is_response) {
        if (eol - sp1 < 4 || !isdigit((unsigned char)sp1[1]) || !isdigit((unsigned char)sp1[2]) ||
            !isdigit((unsigned char)sp1[3]))
            return -1;
        m->status = (sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0');
        return 0;
    }
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (sp2 == NULL || sp1 == p || sp2 == sp1 + 1)
        return -1;
    m->method = p;
    m->method_len = (size_t)(sp1 - p);
    m->path = sp1 + 1;
    m->path_len = (size_t)(sp2 - sp1 - 1);
    return 0;
}

static int parse_header(const char *p, const char *eol, struct http_msg *m)
{
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon == NULL || colon == p || m->n_headers == GW_MAX_HEADERS)
        return -1;
    const char *v = colon + 1, *ve = eol;
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    sticky_header *h = &m->headers[m->n_headers++];
    h->name = p;
    h->name_len = (size_t)(colon - p);
    h->value = v;
    h->value_len = (size_t)(ve - v);
    if (name_eq(h, "content-length")) {
        size_t n = 0;
        if (h->value_len == 0 || h->value_len > 10)
            return -1;
        for (size_t i = 0; i < h->value_len; i++) {
            if (!isdigit((unsigned char)v[i]))
                return -1;
            n = n * 10 + (size_t)(v[i] - '0');
        }
        m->has_length = 1;
        m->content_length = n;
    } else if (name_eq(h, "transfer-encoding")) {
        return -1; /* chunked is not supported by this example */
    }
    return 0;
}

int http_parse(const char *buf, size_t len, int is_response, int eof, struct http_msg *m)
{
    memset(m, 0, sizeof(*m));
    const char *p = buf, *end = buf + len;
    const char *eol = find_crlf(p, end);
    if (eol == NULL)
        return len > 8192 ? -1 : 0;
    if (parse_first_line(p, eol, is_response, m) != 0)
        return -1;
    p = eol + 2;
    for (;;) {
        eol = find_crlf(p, end);
        if (eol == NULL)
            return len > 65536 ? -1 : 0;
        if (eol == p)
            break; /* the blank line */
        if (parse_header(p, eol, m) != 0)
            return -1;
        p = eol + 2;
    }
    m->head_len = (size_t)(eol + 2 - buf);
    m->body = buf + m->head_len;
    size_t have = len - m->head_len;
    if (m->has_length) {
        if (m->content_length > GW_MAX_REQUEST)
            return -1;
        if (have < m->content_length)
            return 0;
        m->body_len = m->content_length;
        return 1;
    }
    if (!is_response) {
        m->body_len = 0; /* a request without Content-Length has no body */
        return 1;
    }
    if (m->status == 204 || m->status == 304 || (m->status >= 100 && m->status < 200)) {
        m->body_len = 0;
        return 1;
    }
    m->body_len = have;
    return eof ? 1 : 0;
}
