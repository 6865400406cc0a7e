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
        fail_msg("select conv %d turn %d: %s", conv, turn, sticky_errname(rc));
    sticky_release(h->ctx, &d);
    return d;
}

static inline void h_report(struct harness *h, sticky_decision *d, int status,
                            int64_t retry_after_s, int64_t reset_epoch_s)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    o.retry_after_s = retry_after_s;
    o.reset_epoch_s = reset_epoch_s;
    assert_int_equal(sticky_report(h->ctx, d, &o), STICKY_OK);
}

/* Pick conversation 1 turn 1, report @status (+ times), and return its
 * decision (attempt ended). */
static inline sticky_decision h_fail(struct harness *h, int conv, int turn, int status,
                                     int64_t retry_after_s, int64_t reset_epoch_s)
{
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(h, NULL, conv_body(conv, turn, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    h_report(h, &d, status, retry_after_s, reset_epoch_s);
    return d;
}

#endif
