/*
 * tests/fuzz/fuzz_select.c - libFuzzer target for sticky_select() and
 * sticky_report(): the first bytes set four channels' states, caps, models
 * and an outcome to report; the rest is the request body. Checks: a
 * decision names a channel of the list, consistently; an error leaves no
 * channel; in-flight counts never leak (every attempt is ended).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sticky_ctx *ctx;
static int64_t fake_now = 1750000000000LL;

static int64_t clock_read(void *user)
{
    (void)user;
    return fake_now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    if (ctx == NULL) {
        sticky_config cfg;
        sticky_config_init(&cfg);
        cfg.clock_fn = clock_read;
        cfg.max_sessions = 1000;
        cfg.breaker_failures = 3;
        if (sticky_ctx_new(&cfg, &ctx) != STICKY_OK)
            abort();
    }
    static const char *ids[] = {"A", "B", "C", "D"};
    static const char *models[] = {"claude-*", "gpt-5"};
    sticky_channel ch[4];
    for (int i = 0; i < 4; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
        ch[i].state = data[i] % 3;
        ch[i].priority = (data[i] >> 2) & 3;
        ch[i].max_inflight = (data[i] >> 4) & 1;
        ch[i].weight = (data[i] >> 5) & 7;
        if (data[i] & 0x80) {
            ch[i].models = &models[(data[i] >> 6) & 1];
            ch[i].n_models = 1;
        }
    }
    size_t n_ch = 1 + data[4] % 4;
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = "t";
    r.tenant_len = 1;
    r.model = (data[5] & 1) ? "claude-opus-4-1" : NULL;
    r.model_len = r.model ? strlen(r.model) : 0;
    r.flags = (data[5] & 2) ? STICKY_SELECT_STRICT : 0;
    r.body = (const char *)data + 6;
    r.body_len = size - 6;
    sticky_decision d;
    sticky_decision_init(&d);
    int rc = sticky_select(ctx, &r, ch, n_ch, &d);
    if (rc == STICKY_OK) {
        if (d.channel_index < 0 || (size_t)d.channel_index >= n_ch ||
            strcmp(d.channel_id, ids[d.channel_index]) != 0 || d.attempt == 0)
            abort();
        static const int statuses[] = {200, 429, 529, 503, 500, 401, 400, 0};
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = statuses[(data[5] >> 2) & 7];
        o.kind = o.status == 0 ? STICKY_OUTCOME_TIMEOUT : STICKY_OUTCOME_HTTP;
        o.retry_after_seconds = (data[5] & 0x20) ? (int64_t)data[4] : STICKY_ABSENT;
        if (sticky_report(ctx, &d, &o) != STICKY_OK || d.attempt != 0)
            abort();
    } else if (d.channel_index != -1 || d.attempt != 0) {
        abort();
    }
    fake_now += 1000 * (data[5] >> 6);
    return 0;
}
