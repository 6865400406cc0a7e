/*
 * tests/unit/select_test_util.h - a small harness for selector tests: a
 * context with a fake clock and its own memory store, a channel list, and
 * conversations built turn by turn.
 */
#ifndef STICKY_SELECT_TEST_UTIL_H
#define STICKY_SELECT_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#include "test_helpers.h"

#define T0 1750000000000LL /* some day in 2025, in ms */

struct harness {
    struct fake_clock clk;
    sticky_config cfg;
    sticky_ctx *ctx;
    sticky_store *store;
    sticky_channel ch[8];
    size_t n;
    struct log_recorder log;
};

static inline void h_config(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    h->clk.now_ms = T0;
    sticky_config_init(&h->cfg);
    h->cfg.clock_fn = fake_clock_read;
    h->cfg.clock_user = &h->clk;
    h->cfg.log_fn = log_recorder_cb;
    h->cfg.log_user = &h->log;
    h->cfg.log_level = STICKY_LOG_DEBUG;
}

/* Create the context and store from h->cfg; channels "A", "B", "C"... */
static inline void h_start(struct harness *h, size_t n_channels)
{
    static const char *ids[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    assert_int_equal(sticky_ctx_new(&h->cfg, &h->ctx), STICKY_OK);
    assert_int_equal(sticky_memory_store_new(h->ctx, NULL, &h->store), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h->ctx, h->store), STICKY_OK);
    h->n = n_channels;
    for (size_t i = 0; i < n_channels; i++) {
        sticky_channel_init(&h->ch[i]);
        h->ch[i].id = ids[i];
    }
}

static inline void h_stop(struct harness *h)
{
    sticky_store_free(h->store); /* the store uses its context: free it first */
    sticky_ctx_free(h->ctx);
}

/* Body of turn @turn (1-based) of conversation @conv: 2*turn-1 messages. */
static inline const char *conv_body(int conv, int turn, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "{\"model\":\"claude-sonnet-4-5\",\"messages\":[");
    for (int m = 0; m < 2 * turn - 1; m++)
        o += (size_t)snprintf(buf + o, cap - o, "%s{\"role\":\"%s\",\"content\":\"conv %d msg %d\"}",
                              m ? "," : "", m % 2 ? "assistant" : "user", conv, m);
    snprintf(buf + o, cap - o, "]}");
    return buf;
}

/* Select for @body with @model (NULL: none) and @flags; returns the code. */
static inline int h_select(struct harness *h, const char *tenant, const char *body,
                           const char *model, unsigned flags, sticky_decision *d)
{
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = tenant ? tenant : "t1";
    r.tenant_len = strlen(r.tenant);
    if (model) {
        r.model = model;
        r.model_len = strlen(model);
    }
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.flags = flags;
    sticky_decision_init(d);
    return sticky_select(h->ctx, &r, h->ch, h->n, d);
}

/* Select turn @turn of conversation @conv and release the attempt. */
static inline sticky_decision h_turn(struct harness *h, int conv, int turn)
{
    char body[4096];
    sticky_decision d;
    int rc = h_select(h, NULL, conv_body(conv, turn, body, sizeof(body)), NULL, 0, &d);
    if (rc != STICKY_OK)
        fail_msg("select conv %d turn %d: %s", conv, turn, sticky_err_name(rc));
    sticky_release(h->ctx, &d);
    return d;
}

static inline void h_report(struct harness *h, sticky_decision *d, int status,
                            int64_t retry_after_seconds, int64_t reset_epoch_seconds)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    o.retry_after_seconds = retry_after_seconds;
    o.reset_epoch_seconds = reset_epoch_seconds;
    assert_int_equal(sticky_report(h->ctx, d, &o), STICKY_OK);
}

/* Pick conversation 1 turn 1, report @status (+ times), and return its
 * decision (attempt ended). */
static inline sticky_decision h_fail(struct harness *h, int conv, int turn, int status,
                                     int64_t retry_after_seconds, int64_t reset_epoch_seconds)
{
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(h, NULL, conv_body(conv, turn, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    h_report(h, &d, status, retry_after_seconds, reset_epoch_seconds);
    return d;
}

/*
 * A plain store for selector tests: an array of mappings, no expiry and no
 * time arithmetic at all, so a test with an extreme clock exercises the
 * selector alone. Not thread-safe (the core serialises it). Lookups are
 * linear: for a few thousand mappings.
 */
struct plain_store {
    size_t n, cap;
    sticky_mapping *m;
    long puts, plain_puts;
};

static inline sticky_mapping *plain_find(struct plain_store *p, uint64_t key)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->m[i].key == key)
            return &p->m[i];
    }
    return NULL;
}

static inline int plain_get(void *self, uint64_t key, int64_t now, unsigned flags,
                            sticky_mapping *out)
{
    struct plain_store *p = self;
    sticky_mapping *m = plain_find(p, key);
    if (m == NULL)
        return STICKY_ENOTFOUND;
    if (!(flags & STICKY_STORE_PEEK)) {
        m->request_count++;
        m->last_access_ms = now;
    }
    memcpy(out, m, sizeof(*m));
    return STICKY_OK;
}

static inline int plain_put(void *self, const sticky_mapping *in, int64_t now, unsigned flags,
                            sticky_mapping *existing)
{
    struct plain_store *p = self;
    sticky_mapping *m = plain_find(p, in->key);
    p->puts++;
    if (m != NULL && (flags & STICKY_STORE_IF_ABSENT)) {
        if (existing != NULL)
            memcpy(existing, m, sizeof(*m));
        return STICKY_EEXIST;
    }
    if (m == NULL) {
        if (p->n == p->cap)
            return STICKY_ENOMEM;
        m = &p->m[p->n++];
    } else {
        p->plain_puts++;
    }
    memcpy(m, in, sizeof(*m));
    m->request_count = 1;
    m->created_ms = m->last_access_ms = now;
    m->expires_ms = INT64_MAX;
    return STICKY_OK;
}

static inline int plain_touch(void *self, uint64_t key, int64_t now, sticky_mapping *out)
{
    struct plain_store *p = self;
    sticky_mapping *m = plain_find(p, key);
    if (m == NULL)
        return STICKY_ENOTFOUND;
    m->last_access_ms = now;
    if (out != NULL)
        memcpy(out, m, sizeof(*m));
    return STICKY_OK;
}

static inline int plain_del(void *self, uint64_t key, int64_t now)
{
    struct plain_store *p = self;
    (void)now;
    sticky_mapping *m = plain_find(p, key);
    if (m == NULL)
        return STICKY_ENOTFOUND;
    *m = p->m[--p->n];
    return STICKY_OK;
}

static inline int plain_sweep(void *self, int64_t now, size_t budget, size_t *reclaimed)
{
    (void)self, (void)now, (void)budget, (void)reclaimed;
    return STICKY_OK;
}

static inline int plain_stats(void *self, sticky_store_stats *out)
{
    struct plain_store *p = self;
    out->entries = p->n;
    return STICKY_OK;
}

static inline void plain_destroy(void *self)
{
    struct plain_store *p = self;
    free(p->m);
    free(p);
}

static const sticky_store_vtable plain_store_vtable = {
    .version = 1, .flags = 0, .name = "plain", .get = plain_get, .put = plain_put,
    .touch = plain_touch, .del = plain_del, .sweep = plain_sweep, .stats = plain_stats,
    .destroy = plain_destroy};

/* Like h_start(), with a plain store of @cap mappings (h->store is it). */
static inline struct plain_store *h_start_plain(struct harness *h, size_t n_channels,
                                                size_t cap)
{
    static const char *ids[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    assert_int_equal(sticky_ctx_new(&h->cfg, &h->ctx), STICKY_OK);
    struct plain_store *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->cap = cap;
    p->m = calloc(cap, sizeof(*p->m));
    assert_non_null(p->m);
    assert_int_equal(sticky_store_new(h->ctx, &plain_store_vtable, p, &h->store), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(h->ctx, h->store), STICKY_OK);
    h->n = n_channels;
    for (size_t i = 0; i < n_channels; i++) {
        sticky_channel_init(&h->ch[i]);
        h->ch[i].id = ids[i];
    }
    return p;
}

/* Select with a precomputed chain of @n keys for @tenant (NULL: none). */
static inline int h_select_chain(struct harness *h, const char *tenant, const uint64_t *keys,
                                 uint32_t n, const sticky_channel *ch, size_t n_ch,
                                 sticky_decision *d)
{
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    chain.source = STICKY_KEY_SOURCE_CONTENT;
    chain.n_keys = n;
    for (uint32_t i = 0; i < n; i++)
        chain.keys[i] = keys[i];
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    if (tenant != NULL) {
        r.tenant = tenant;
        r.tenant_len = strlen(tenant);
    }
    sticky_decision_init(d);
    return sticky_select(h->ctx, &r, ch ? ch : h->ch, ch ? n_ch : h->n, d);
}

/* Well-formed UTF-8 (RFC 3629), checked independently of the library. */
static inline int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        unsigned cp;
        size_t n;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n;
    }
    return 1;
}

#endif
