/*
 * tests/fuzz/fuzz_select_async.c - libFuzzer target for sticky_select_start(),
 * sticky_select_cancel() and sticky_report_async() on a version-3 store
 * (the queued fake backend of tests/unit/fake_async_store.c): the first
 * bytes set four channels, then a script of steps - start a selection on
 * the body, complete the store's oldest operations with success, an error
 * or a lost race, cancel a pending selection, report a decided one - runs
 * against up to four selections in flight. Checks: every selection that
 * returned STICKY_EINPROGRESS ends exactly once (callback or cancel; the
 * fake itself fails on a double completion or a cancel of nothing), a
 * decision names a channel of the list with an open attempt, a cancelled
 * selection's decision is never written, and once everything is drained
 * and reported no in-flight count is left on any channel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

#include "../unit/fake_async_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 4
#define HEADER 6
#define SCRIPT 12

static int64_t fake_now = 1750000000000LL;
static const char *ids[] = {"A", "B", "C", "D"};

static int64_t clock_read(void *user)
{
    (void)user;
    return fake_now;
}

struct slot {
    sticky_decision d;
    sticky_select_op *op; /* pending */
    int calls;
    int rc;
    int decided;          /* d holds an open attempt */
    int used;
};

static struct slot slots[SLOTS];
static size_t n_ch;

static void on_decision(sticky_select_op *op, int rc, sticky_decision *d, void *user)
{
    struct slot *s = user;
    if (s->calls != 0 || s->op != op || d != &s->d)
        abort();
    s->calls++;
    s->rc = rc;
    s->op = NULL;
    if (rc == STICKY_OK) {
        if (d->channel_index < 0 || (size_t)d->channel_index >= n_ch ||
            strcmp(d->channel_id, ids[d->channel_index]) != 0 || d->attempt == 0)
            abort();
        s->decided = 1;
    } else if (d->channel_index != -1 || d->attempt != 0) {
        abort();
    }
}

static void report(sticky_ctx *ctx, struct slot *s, uint8_t b)
{
    static const int statuses[] = {200, 429, 529, 401, 500, 200, 200, 0};
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = statuses[b & 7];
    o.kind = o.status == 0 ? STICKY_OUTCOME_TIMEOUT : STICKY_OUTCOME_HTTP;
    o.reset_epoch_seconds = (b & 8) ? fake_now / 1000 + 60 : STICKY_ABSENT;
    if (sticky_report_async(ctx, &s->d, &o, 0) != STICKY_OK || s->d.attempt != 0)
        abort();
    s->decided = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER + SCRIPT)
        return 0;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = clock_read;
    cfg.max_sessions = 1000;
    sticky_ctx *ctx;
    if (sticky_ctx_new(&cfg, &ctx) != STICKY_OK)
        abort();
    struct fake_async_options fo = {.share_health = data[5] & 1};
    struct fake_async_store *fs;
    sticky_store *st;
    if (fake_async_store_new(ctx, &fo, &fs, &st) != STICKY_OK ||
        sticky_ctx_set_store(ctx, st) != STICKY_OK)
        abort();
    fake_async_set_racer(fs, ids[data[5] >> 6], NULL);
    sticky_channel ch[4];
    for (int i = 0; i < 4; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
        ch[i].state = data[i] % 3;
        ch[i].priority = (data[i] >> 2) & 3;
        ch[i].max_inflight = (data[i] >> 4) & 3;
        if (data[i] & 0x80) {
            static const char *models[] = {"claude-*"};
            ch[i].models = models;
            ch[i].n_models = 1;
        }
    }
    n_ch = 1 + data[4] % 4;
    memset(slots, 0, sizeof(slots));
    const uint8_t *script = data + HEADER;
    const char *body = (const char *)data + HEADER + SCRIPT;
    size_t body_len = size - HEADER - SCRIPT;

    for (int k = 0; k < SCRIPT; k++) {
        uint8_t b = script[k];
        struct slot *s = &slots[(b >> 2) & 3];
        switch (b & 3) {
        case 0: /* start a selection in a free slot (its body: a prefix) */
            if (s->op != NULL || s->decided)
                break;
            {
                sticky_request r;
                sticky_request_init(&r);
                r.tenant = "t";
                r.tenant_len = 1;
                r.body = body;
                r.body_len = body_len - (body_len > 0 ? (b >> 4) % (body_len + 1) : 0);
                memset(s, 0, sizeof(*s));
                sticky_decision_init(&s->d);
                s->used = 1;
                int rc = sticky_select_start(ctx, &r, ch, n_ch, &s->d, 0, on_decision, s,
                                             &s->op);
                if (rc == STICKY_EINPROGRESS) {
                    if (s->op == NULL)
                        abort();
                } else {
                    if (s->op != NULL)
                        abort();
                    s->rc = rc;
                    s->decided = rc == STICKY_OK;
                    if (rc == STICKY_OK && (s->d.channel_index < 0 ||
                                            (size_t)s->d.channel_index >= n_ch))
                        abort();
                }
            }
            break;
        case 1: { /* complete store operations */
            static const int inject[] = {0, 0, STICKY_ESTORE, FAKE_ASYNC_RACE};
            int code = inject[(b >> 4) & 3];
            size_t n = 1 + (b >> 6);
            if (code == FAKE_ASYNC_RACE) { /* the racer wins one put */
                n = 1;
                if (fake_async_head_kind(fs) != FAKE_OP_PUT)
                    code = 0;
            }
            fake_async_pump(fs, n, code);
            break;
        }
        case 2: /* the client goes away */
            if (s->op != NULL) {
                sticky_decision before = s->d;
                if (sticky_select_cancel(ctx, s->op) != STICKY_OK)
                    abort();
                s->op = NULL;
                if (memcmp(&before, &s->d, sizeof(before)) != 0)
                    abort(); /* a cancelled decision is never written */
            }
            break;
        default: /* the upstream answered */
            if (s->decided)
                report(ctx, s, b >> 4);
            break;
        }
        fake_now += b & 0x40 ? 1000 : 0;
    }
    /* Drain: everything completes, every decision is reported. */
    fake_async_drain(fs, 64);
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].op != NULL)
            abort(); /* pending after the store answered everything */
        if (slots[i].decided)
            report(ctx, &slots[i], 0);
    }
    fake_async_drain(fs, 64); /* publishes */
    for (size_t i = 0; i < n_ch; i++) {
        sticky_channel_health h;
        sticky_channel_health_init(&h);
        if (sticky_ctx_get_channel_health(ctx, ids[i], &h) == STICKY_OK && h.in_flight != 0)
            abort();
    }
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    fake_now += 10000;
    return 0;
}
