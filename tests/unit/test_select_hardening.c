/*
 * tests/unit/test_select_hardening.c - regression tests for the selector's
 * items of issue 11 ("Hardening"), one test per item:
 *   2  the channel health registry: memory O(distinct ids), bounded, ids
 *      beyond the bound routed untracked; report creates no health;
 *   5  extreme clocks (INT64_MAX, INT64_MIN and around): saturated times,
 *      no overflow (run under UBSan in CI), LRU at negative clocks;
 *   7  sticky_report() contract: no channel -> EINVAL, an attempt ends once
 *      (a copy reported twice is STICKY_ENOTFOUND), forged decisions;
 *   8  duplicate channel ids -> EINVAL with a log line naming both;
 *   9  Prometheus output is valid UTF-8 whatever the channel ids hold;
 *  10  mappings store a digest of the tenant, never the tenant;
 *  11  a lookup that finds another tenant's binding is a miss for this
 *      tenant: counted, never followed, never rewritten.
 * Item 3 (max_inflight under threads) is in tests/threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "select_test_util.h"
#include "select/select_internal.h"
#include "select/tenant.h"

/* ---- a byte-counting allocator ------------------------------------------ */

struct byte_alloc {
    size_t live, peak;
};

static void *ba_malloc(size_t n, void *user)
{
    struct byte_alloc *a = user;
    size_t *p = malloc(n + 16);
    if (p == NULL)
        return NULL;
    p[0] = n;
    a->live += n;
    if (a->live > a->peak)
        a->peak = a->live;
    return (char *)p + 16;
}

static void ba_free(void *q, void *user)
{
    struct byte_alloc *a = user;
    if (q == NULL)
        return;
    size_t *p = (size_t *)(void *)((char *)q - 16);
    a->live -= p[0];
    free(p);
}

static void *ba_realloc(void *q, size_t n, void *user)
{
    if (q == NULL)
        return ba_malloc(n, user);
    struct byte_alloc *a = user;
    size_t *p = (size_t *)(void *)((char *)q - 16);
    size_t old = p[0];
    p = realloc(p, n + 16);
    if (p == NULL)
        return NULL;
    p[0] = n;
    a->live = a->live - old + n;
    if (a->live > a->peak)
        a->peak = a->live;
    return (char *)p + 16;
}

/* An unkeyed select over the one channel @id, released. */
static int select_one(sticky_ctx *ctx, const char *id, uint32_t cap, sticky_decision *d)
{
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    sticky_channel c;
    sticky_channel_init(&c);
    c.id = id;
    c.max_inflight = cap;
    sticky_decision_init(d);
    return sticky_select(ctx, &r, &c, 1, d);
}

/* ---- item 2: the registry ------------------------------------------------ */

/* 0.2.0 before the fix: each new id copied the whole table and kept the
 * old one: 5,000 ids held 299 MB, 10,000 held 1.19 GB (7 s). Now memory
 * grows with the number of ids and stops at STICKY_MAX_CHANNEL_IDS. */
static void test_registry_memory_bounded(void **state)
{
    (void)state;
    struct byte_alloc a = {0, 0};
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.allocator.malloc_fn = ba_malloc;
    cfg.allocator.realloc_fn = ba_realloc;
    cfg.allocator.free_fn = ba_free;
    cfg.allocator.user = &a;
    struct log_recorder log;
    memset(&log, 0, sizeof(log));
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &log;
    cfg.log_level = STICKY_LOG_WARN;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_decision d;
    assert_int_equal(select_one(ctx, "warm-up", 0, &d), STICKY_OK); /* default store etc. */
    sticky_release(ctx, &d);
    size_t base = a.live;
    size_t at_1000 = 0, at_max = 0;
    char id[32];
    for (int i = 1; i <= 3 * STICKY_MAX_CHANNEL_IDS; i++) {
        snprintf(id, sizeof(id), "ch-%d", i);
        /* ids beyond the bound are still routed (untracked) */
        assert_int_equal(select_one(ctx, id, 0, &d), STICKY_OK);
        assert_int_equal(sticky_release(ctx, &d), STICKY_OK);
        if (i == 1000) {
            at_1000 = a.live - base;
            assert_true(at_1000 < 1000 * 1024); /* linear: ~300 B per id */
        }
        if (i == STICKY_MAX_CHANNEL_IDS - 1)
            at_max = a.live - base;
    }
    size_t at_3x = a.live - base;
    print_message("registry bytes: 1000 ids %zu, %d ids %zu, %d ids %zu\n", at_1000,
                  STICKY_MAX_CHANNEL_IDS, at_max, 3 * STICKY_MAX_CHANNEL_IDS, at_3x);
    /* Linear: well under 1 KB per id at both sizes (an entry is ~300 B). */
    assert_true(at_max < (size_t)STICKY_MAX_CHANNEL_IDS * 1024);
    /* Bounded: nothing more beyond the bound. */
    assert_true(at_3x >= at_max && at_3x - at_max < 1024);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(ctx, &s), STICKY_OK);
    assert_int_equal(s.channels, STICKY_MAX_CHANNEL_IDS);
    assert_non_null(strstr(log.all, "channel health registry full (4096 ids)"));
    assert_int_equal(log.count[STICKY_LOG_WARN], 1); /* logged once */

    /* An untracked channel is a last resort: a tracked usable one wins,
     * whatever the list order; a capped untracked one is never used. */
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    sticky_channel two[2];
    sticky_channel_init(&two[0]);
    sticky_channel_init(&two[1]);
    two[0].id = "untracked-1";
    two[1].id = "ch-7";
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(ctx, &r, two, 2, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "ch-7");
    sticky_release(ctx, &d);
    assert_int_equal(select_one(ctx, "untracked-2", 5, &d), STICKY_ENOCHANNEL);
    /* Reporting on an untracked channel ends the attempt, cools nothing. */
    assert_int_equal(select_one(ctx, "untracked-3", 0, &d), STICKY_OK);
    sticky_decision copy = d;
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 500;
    assert_int_equal(sticky_report(ctx, &d, &o), STICKY_OK);
    assert_int_equal(sticky_report(ctx, &copy, &o), STICKY_ENOTFOUND);
    assert_int_equal(select_one(ctx, "untracked-3", 0, &d), STICKY_OK);
    sticky_release(ctx, &d);
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0); /* nothing leaked */
}

/* The registry on its own, with a small bound: ids beyond it get no entry,
 * lookups never create, the table keeps every entry across growth. */
static void test_registry_unit(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    struct health_registry r;
    assert_int_equal(health_init(&r, ctx, 40), STICKY_OK);
    char id[16];
    struct channel_health *first[40];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        assert_null(health_find(&r, id, fnv1a64(id)));
        first[i] = health_get(&r, id, fnv1a64(id));
        assert_non_null(first[i]);
        assert_string_equal(first[i]->id, id);
    }
    assert_int_equal(health_count(&r), 40);
    /* Every entry is still found, at the same address, after 2 growths. */
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        assert_ptr_equal(health_get(&r, id, fnv1a64(id)), first[i]);
        assert_ptr_equal(health_find(&r, id, fnv1a64(id)), first[i]);
    }
    assert_null(health_get(&r, "c40", fnv1a64("c40")));
    assert_null(health_find(&r, "c40", fnv1a64("c40")));
    assert_int_equal(health_count(&r), 40);
    /* A fresh entry: never used, no cooldown whatever the clock. */
    int64_t end;
    assert_int_equal(health_cooling(first[0], STICKY_MODEL_FAMILY_ALL, INT64_MIN, &end), 0);
    assert_true(atomic_load(&first[0]->last_used_ms) == INT64_MIN);
    health_destroy(&r);
    sticky_ctx_free(ctx);
}

/* A forged decision (made-up channel id and attempt) creates nothing. */
static void test_report_creates_no_health(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    sticky_decision d = h_turn(&h, 1, 1);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(h.ctx, &s);
    uint64_t before = s.channels;
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 500;
    for (int i = 0; i < 2000; i++) {
        sticky_decision f;
        sticky_decision_init(&f);
        snprintf(f.channel_id, sizeof(f.channel_id), "forged-%d", i);
        f.channel_index = 0;
        f.attempt = d.attempt + (uint64_t)i * 977;
        assert_int_equal(sticky_report(h.ctx, &f, &o), STICKY_ENOTFOUND);
    }
    sticky_ctx_get_stats(h.ctx, &s);
    assert_int_equal(s.channels, before);
    assert_int_equal(s.reports, 0);
    assert_null(health_find(&h.ctx->sel->health, "forged-7", fnv1a64("forged-7")));
    h_stop(&h);
}

/* ---- item 7: report's contract -------------------------------------------- */

static void test_report_contract(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    h.ch[0].max_inflight = 1;
    h.ch[1].state = STICKY_CHANNEL_DISABLED;
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 500;

    /* A decision without a channel: EINVAL, as the header says. */
    sticky_decision none;
    sticky_decision_init(&none);
    assert_int_equal(sticky_report(h.ctx, &none, &o), STICKY_EINVAL);
    assert_string_equal(h.log.last, "report: decision.channel_id: empty (the decision carries no channel)");
    assert_int_equal(sticky_release(h.ctx, &none), STICKY_OK);

    /* A copy reported after the original: refused, no second outcome. */
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    sticky_decision copy = d;
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_OK);
    assert_true(d.attempt == 0);
    assert_int_equal(sticky_report(h.ctx, &copy, &o), STICKY_ENOTFOUND);
    assert_non_null(strstr(h.log.last, "report: decision.attempt: not an open attempt"));
    /* The same struct again: refused too. */
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_ENOTFOUND);
    assert_string_equal(h.log.last, "report: decision.attempt: 0 (already ended)");
    struct channel_health *a = health_find(&h.ctx->sel->health, "A", fnv1a64("A"));
    assert_int_equal(atomic_load(&a->failures), 1);
    assert_int_equal(atomic_load(&a->in_flight), 0);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(h.ctx, &s);
    assert_int_equal(s.reports, 1);

    /* A NO_CHANNEL decision (A cooling, B disabled): EINVAL. */
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_ENOCHANNEL);
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_EINVAL);
    h.clk.now_ms += 3600 * 1000;

    /* A released copy frees the slot once: with a cap of 1, the slot a
     * second attempt holds is not freed by a stale copy of the first. */
    sticky_decision d1, d2, d3;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d1), STICKY_OK);
    sticky_decision c1 = d1;
    assert_int_equal(sticky_release(h.ctx, &d1), STICKY_OK);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d2), STICKY_OK);
    assert_int_equal(sticky_release(h.ctx, &c1), STICKY_OK); /* idempotent: nothing */
    assert_int_equal(sticky_report(h.ctx, &c1, &o), STICKY_ENOTFOUND);
    assert_int_equal(atomic_load(&a->in_flight), 1);
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d3), STICKY_ENOCHANNEL); /* still capped */

    /* A copy whose channel id was changed: refused, the attempt stays open. */
    sticky_decision tampered = d2;
    strcpy(tampered.channel_id, "B");
    assert_int_equal(sticky_report(h.ctx, &tampered, &o), STICKY_EINVAL);
    assert_int_equal(sticky_release(h.ctx, &tampered), STICKY_EINVAL);
    assert_int_equal(atomic_load(&a->in_flight), 1);
    o.status = 200;
    assert_int_equal(sticky_report(h.ctx, &d2, &o), STICKY_OK);
    assert_int_equal(atomic_load(&a->in_flight), 0);

    /* A decision from another context is not an attempt of this one. */
    struct harness other;
    h_config(&other);
    h_start(&other, 2);
    sticky_decision foreign;
    assert_int_equal(h_select(&other, NULL, body, NULL, 0, &foreign), STICKY_OK);
    assert_int_equal(sticky_report(h.ctx, &foreign, &o), STICKY_ENOTFOUND);
    assert_int_equal(sticky_report(other.ctx, &foreign, &o), STICKY_OK);
    h_stop(&other);
    h_stop(&h);
}

/* The ledger on its own: tokens are never reused, a full ledger still
 * hands out (untracked) tokens, every slot is freed once. */
static void test_attempt_ledger(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    struct attempt_ledger l;
    assert_int_equal(attempt_init(&l, ctx, 12345), STICKY_OK);
    enum { N = ATTEMPT_MAX_SLOTS + 10 };
    uint64_t *tok = calloc(N, sizeof(*tok));
    assert_non_null(tok);
    for (int i = 0; i < N; i++) {
        tok[i] = attempt_open(&l, NULL);
        assert_true(tok[i] != 0);
    }
    int untracked = 0;
    struct channel_health *h;
    for (int i = 0; i < N; i++) {
        enum attempt_end_result r = attempt_end(&l, tok[i], "x", &h);
        if (r == ATTEMPT_UNCHECKED)
            untracked++;
        else
            assert_int_equal(r, ATTEMPT_ENDED);
        if (r == ATTEMPT_ENDED)
            assert_int_equal(attempt_end(&l, tok[i], "x", &h), ATTEMPT_NOT_OPEN);
    }
    assert_int_equal(untracked, 10);
    /* A freed slot's old token does not match its next attempt. */
    uint64_t t1 = attempt_open(&l, NULL);
    assert_int_equal(attempt_end(&l, t1, "x", &h), ATTEMPT_ENDED);
    uint64_t t2 = attempt_open(&l, NULL);
    assert_true(t1 != t2);
    assert_int_equal(attempt_end(&l, t1, "x", &h), ATTEMPT_NOT_OPEN);
    assert_int_equal(attempt_end(&l, t2, "x", &h), ATTEMPT_ENDED);
    assert_int_equal(attempt_end(&l, 0, "x", &h), ATTEMPT_NOT_OPEN);
    free(tok);
    attempt_destroy(&l);
    sticky_ctx_free(ctx);
}

/* Many attempts open at once on one thread (an event-loop host with
 * 20,000 requests in flight): the ledger grows by the pages it needs, not
 * to its bound, and a slot is found without scanning every busy one (each
 * open costs O(1), not O(open attempts)). */
static void test_attempt_ledger_many_open(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    struct attempt_ledger l;
    assert_int_equal(attempt_init(&l, ctx, 99), STICKY_OK);
    enum { N = 20000 };
    uint64_t *tok = calloc(N, sizeof(*tok));
    assert_non_null(tok);
    const uint32_t need = (N + ATTEMPT_PAGE_SLOTS - 1) / ATTEMPT_PAGE_SLOTS;
    for (int i = 0; i < N; i++)
        tok[i] = attempt_open(&l, NULL);
    assert_true(atomic_load(&l.n_pages) <= need + 1);
    /* Half end, as many open again: the freed slots are reused. */
    struct channel_health *h;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i += 2) {
            assert_int_equal(attempt_end(&l, tok[i], "x", &h), ATTEMPT_ENDED);
            tok[i] = attempt_open(&l, NULL);
        }
    }
    assert_true(atomic_load(&l.n_pages) <= need + 1);
    assert_int_equal(atomic_load(&l.untracked), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(attempt_end(&l, tok[i], "x", &h), ATTEMPT_ENDED);
    free(tok);
    attempt_destroy(&l);
    sticky_ctx_free(ctx);
}

/* ---- item 8: duplicate ids --------------------------------------------------- */

static void test_duplicate_ids(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    h.ch[2].id = "A";
    char body[4096];
    sticky_decision d;
    assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: channels[2].id: \"A\" duplicates channels[0].id");
    assert_int_equal(d.channel_index, -1);
    /* Equal bytes in different buffers are one id. */
    static char copy_b[] = "B";
    h.ch[2].id = copy_b;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: channels[2].id: \"B\" duplicates channels[1].id");
    h.ch[2].id = "C";
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    sticky_release(h.ctx, &d);

    /* A long list (the heap path, hashed). */
    enum { N = 300 };
    static char names[N][16];
    sticky_channel *ch = calloc(N, sizeof(*ch));
    assert_non_null(ch);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "acct-%d", i);
        sticky_channel_init(&ch[i]);
        ch[i].id = names[i];
    }
    uint64_t key = 77;
    assert_int_equal(h_select_chain(&h, NULL, &key, 1, ch, N, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    ch[250].id = names[17];
    assert_int_equal(h_select_chain(&h, NULL, &key, 1, ch, N, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last,
                        "select: channels[250].id: \"acct-17\" duplicates channels[17].id");
    free(ch);
    h_stop(&h);
}

/* ---- item 9: Prometheus text is valid UTF-8 ----------------------------------- */

static void test_prometheus_utf8(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 1);
    static const char *ids[] = {
        "ok-\xc3\xa9",            /* é: kept */
        "\xe6\x97\xa5\xe6\x9c\xac", /* 日本: kept */
        "bad-\xff",               /* never valid */
        "trunc-\xc3",             /* a lead byte at the end */
        "sur-\xed\xa0\x80",       /* a surrogate */
        "over-\xc0\xaf",          /* an overlong '/' */
        "big-\xf4\x90\x80\x80",   /* above U+10FFFF */
        "cont-\x80x",             /* a lone continuation byte */
        "q\"b\\s\nn",             /* the three escapes */
    };
    sticky_decision d;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        assert_int_equal(select_one(h.ctx, ids[i], 0, &d), STICKY_OK);
        sticky_release(h.ctx, &d);
    }
    size_t need = 0;
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, NULL, 0, &need), STICKY_ELIMIT);
    char *buf = malloc(need + 1);
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, buf, need + 1, &need), STICKY_OK);
    assert_int_equal(strlen(buf), need);
    assert_true(utf8_valid((const unsigned char *)buf, need));
    assert_non_null(strstr(buf, "{channel=\"ok-\xc3\xa9\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"\xe6\x97\xa5\xe6\x9c\xac\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"bad-\xef\xbf\xbd\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"trunc-\xef\xbf\xbd\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"sur-\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"over-\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"cont-\xef\xbf\xbdx\"} 1\n"));
    assert_non_null(strstr(buf, "{channel=\"q\\\"b\\\\s\\nn\"} 1\n"));
    /* A buffer one byte short: STICKY_ELIMIT, still NUL-terminated. */
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, buf, need, &need), STICKY_ELIMIT);
    assert_int_equal(buf[need - 1], '\0');
    free(buf);
    h_stop(&h);
}

/* ---- item 5: extreme clocks ------------------------------------------------------ */

/* At clock @now: a session placed, a 429 (Retry-After 60) reported; the
 * next select is refused until min(now + 60 s, INT64_MAX), exactly. */
static void clock_case(int64_t now)
{
    struct harness h;
    h_config(&h);
    h.clk.now_ms = now;
    h.cfg.breaker_failures = 1;
    h.cfg.breaker_cooldown_seconds = STICKY_MAX_TTL_SECONDS; /* the longest breaker */
    h.cfg.log_level = STICKY_LOG_ERROR;
    h_start_plain(&h, 1, 64);
    uint64_t key = 0x5eed;
    sticky_decision d;
    assert_int_equal(h_select_chain(&h, "t", &key, 1, NULL, 0, &d), STICKY_OK);
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = 500; /* the breaker counts 5xx, 529 and timeouts */
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_OK);
    int rc = h_select_chain(&h, "t", &key, 1, NULL, 0, &d);
    if (now == INT64_MAX) {
        /* No later instant exists: nothing can cool. */
        assert_int_equal(rc, STICKY_OK);
        sticky_release(h.ctx, &d);
    } else {
        assert_int_equal(rc, STICKY_ENOCHANNEL);
        assert_true(d.retry_at_ms > now);
        /* The breaker (a year) saturates at INT64_MAX when it must. */
        const int64_t year = (int64_t)STICKY_MAX_TTL_SECONDS * 1000;
        int64_t want = now > INT64_MAX - year ? INT64_MAX : now + year;
        assert_true(d.retry_at_ms == want);
    }
    /* Every outcome class and a reset far in the future, at this clock. */
    static const int statuses[] = {429, 529, 503, 500, 401, 200};
    h.cfg.breaker_failures = 0;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        struct harness g;
        h_config(&g);
        g.clk.now_ms = now;
        g.cfg.log_level = STICKY_LOG_ERROR;
        h_start_plain(&g, 2, 64);
        assert_int_equal(h_select_chain(&g, "t", &key, 1, NULL, 0, &d), STICKY_OK);
        sticky_outcome_init(&o);
        o.status = statuses[i];
        o.reset_epoch_seconds = statuses[i] == 429 ? INT64_MAX : STICKY_ABSENT;
        assert_int_equal(sticky_report(g.ctx, &d, &o), STICKY_OK);
        assert_int_equal(h_select_chain(&g, "t", &key, 1, NULL, 0, &d), STICKY_OK);
        sticky_release(g.ctx, &d);
        sticky_outcome_init(&o);
        o.kind = STICKY_OUTCOME_TIMEOUT;
        assert_int_equal(h_select_chain(&g, "t", &key, 1, NULL, 0, &d), STICKY_OK);
        assert_int_equal(sticky_report(g.ctx, &d, &o), STICKY_OK);
        h_stop(&g);
    }
    /* The clock jumps from here to the other end: cooldowns read sanely
     * (a breaker set at a positive time still holds at INT64_MIN; one set
     * at a negative time is over at INT64_MAX - 1), and Prometheus prints
     * the seconds left without overflow. */
    h.clk.now_ms = now > 0 ? INT64_MIN : INT64_MAX - 1;
    size_t need = 0;
    char buf[8192];
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, buf, sizeof(buf), &need), STICKY_OK);
    assert_null(strstr(buf, " nan\n"));
    assert_null(strstr(buf, "-0.000"));
    assert_int_equal(h_select_chain(&h, "t", &key, 1, NULL, 0, &d),
                     now > 0 ? STICKY_ENOCHANNEL : STICKY_OK);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

static void test_extreme_clocks(void **state)
{
    (void)state;
    static const int64_t clocks[] = {
        INT64_MAX, INT64_MAX - 1, INT64_MAX - 1000, INT64_MAX - 60000, INT64_MAX - 60001,
        INT64_MIN, INT64_MIN + 1, INT64_MIN + 60000, -1, 0, 1, T0,
    };
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
        clock_case(clocks[i]);
}

/* LRU at negative clocks: a channel used at a negative time is still more
 * recent than one never used. */
static void test_lru_negative_clock(void **state)
{
    (void)state;
    static const int64_t clocks[] = {-1000000000000LL, INT64_MIN + 1, INT64_MIN};
    for (size_t i = 0; i < 3; i++) {
        struct harness h;
        h_config(&h);
        h.clk.now_ms = clocks[i];
        h_start_plain(&h, 2, 64);
        sticky_decision d;
        uint64_t k1 = 1, k2 = 2;
        assert_int_equal(h_select_chain(&h, NULL, &k1, 1, NULL, 0, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "A");
        sticky_release(h.ctx, &d);
        assert_int_equal(h_select_chain(&h, NULL, &k2, 1, NULL, 0, &d), STICKY_OK);
        assert_string_equal(d.channel_id, "B");
        sticky_release(h.ctx, &d);
        h_stop(&h);
    }
}

/* ---- item 10: the tenant digest ---------------------------------------------- */

/* 128 bits of SHA-256 or HMAC-SHA256(@secret) over "sticky-tenant/1\0" ||
 * @tenant, as hex. */
static void ref_digest(const char *secret, const char *tenant, char out[33])
{
    unsigned char msg[256];
    size_t n = sizeof("sticky-tenant/1");
    memcpy(msg, "sticky-tenant/1", n);
    memcpy(msg + n, tenant, strlen(tenant));
    n += strlen(tenant);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (secret != NULL)
        assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, n, md, &len));
    else
        assert_int_equal(EVP_Digest(msg, n, md, &len, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void stored_tenant(const char *secret, const char *tenant, char out[STICKY_ID_SIZE])
{
    struct harness h;
    h_config(&h);
    if (secret != NULL) {
        h.cfg.key_secret = secret;
        h.cfg.key_secret_len = strlen(secret);
    }
    h_start(&h, 2);
    uint64_t key = 99;
    sticky_decision d;
    assert_int_equal(h_select_chain(&h, tenant, &key, 1, NULL, 0, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(h.store, key, STICKY_STORE_PEEK, &m), STICKY_OK);
    strcpy(out, m.tenant_id);
    h_stop(&h);
}

static void test_tenant_digest_stored(void **state)
{
    (void)state;
    const char *api_key = "sk-ant-api03-SECRETSECRETSECRET";
    char plain[STICKY_ID_SIZE], keyed[STICKY_ID_SIZE], keyed2[STICKY_ID_SIZE],
        other[STICKY_ID_SIZE], none[STICKY_ID_SIZE], again[STICKY_ID_SIZE];
    stored_tenant(NULL, api_key, plain);
    stored_tenant("deployment-secret-1", api_key, keyed);
    stored_tenant("deployment-secret-1", api_key, again);
    stored_tenant("deployment-secret-2", api_key, keyed2);
    stored_tenant("deployment-secret-1", "another-tenant", other);
    stored_tenant("deployment-secret-1", NULL, none);
    const char *all[] = {plain, keyed, keyed2, other};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(strlen(all[i]), 32);
        assert_int_equal(strspn(all[i], "0123456789abcdef"), 32);
        assert_null(strstr(all[i], "SECRET"));
        assert_null(strstr(all[i], "sk-ant"));
    }
    assert_string_equal(keyed, again);      /* stable for one secret */
    assert_string_not_equal(plain, keyed);  /* keyed with the secret */
    assert_string_not_equal(keyed, keyed2);
    assert_string_not_equal(keyed, other);
    assert_string_equal(none, "");          /* no tenant: nothing stored */
    /* The definition (tenant.h), computed here with OpenSSL's one-shots. */
    char want[33];
    ref_digest(NULL, api_key, want);
    assert_string_equal(plain, want);
    ref_digest("deployment-secret-1", api_key, want);
    assert_string_equal(keyed, want);
}

/* Tenants longer than the mapping's 127 bytes are still told apart (0.2.0
 * stored "" for both, so one tenant's binding served the other). */
static void test_long_tenants_distinct(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char t1[300], t2[300];
    memset(t1, 'x', sizeof(t1) - 1);
    t1[sizeof(t1) - 1] = '\0';
    memcpy(t2, t1, sizeof(t2));
    t2[250] = 'y';
    uint64_t key = 5;
    sticky_decision d;
    assert_int_equal(h_select_chain(&h, t1, &key, 1, NULL, 0, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    assert_int_equal(h_select_chain(&h, t2, &key, 1, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW); /* not t1's binding */
    sticky_release(h.ctx, &d);
    assert_int_equal(h_select_chain(&h, t1, &key, 1, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    sticky_release(h.ctx, &d);
    h_stop(&h);
}

/* ---- item 11: a foreign binding is a miss --------------------------------------- */

static void expect_binding(struct harness *h, uint64_t key, const char *channel,
                           const char *tenant)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(h->store, key, STICKY_STORE_PEEK, &m), STICKY_OK);
    assert_string_equal(m.channel_id, channel);
    char want[33];
    tenant_digest(h->ctx, tenant, strlen(tenant), want);
    assert_string_equal(m.tenant_id, want);
}

static void test_tenant_mismatch(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    uint64_t chain[3] = {0x11, 0x22, 0x33};
    sticky_decision d;
    /* Tenant A's session: K1 -> A. */
    assert_int_equal(h_select_chain(&h, "tenant-a", chain, 1, NULL, 0, &d), STICKY_OK);
    assert_string_equal(d.channel_id, "A");
    sticky_release(h.ctx, &d);

    /* Tenant B passes A's chain and is offered only B: 0.2.0 called this a
     * failover from A (moved_from "A", A's channel leaked) and rewrote A's
     * binding to B. Now: a miss for B, counted, nothing written. */
    assert_int_equal(h_select_chain(&h, "tenant-b", chain, 1, &h.ch[1], 1, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    assert_string_equal(d.channel_id, "B");
    assert_string_equal(d.moved_from, "");
    sticky_release(h.ctx, &d);
    expect_binding(&h, chain[0], "A", "tenant-a");
    /* Offered both: does not follow A's binding either (0.2.0: HIT on A). */
    h.clk.now_ms += 1000;
    assert_int_equal(h_select_chain(&h, "tenant-b", chain, 1, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &d);
    expect_binding(&h, chain[0], "A", "tenant-a");
    /* A deeper chain over A's key: nothing written at the deeper keys. */
    assert_int_equal(h_select_chain(&h, "tenant-b", chain, 3, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_NEW);
    sticky_release(h.ctx, &d);
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(h.store, chain[2], STICKY_STORE_PEEK, &m),
                     STICKY_ENOTFOUND);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    sticky_ctx_get_stats(h.ctx, &s);
    assert_int_equal(s.tenant_mismatches, 3);
    assert_int_equal(s.failovers, 0);
    /* A is untouched and still A's. */
    assert_int_equal(h_select_chain(&h, "tenant-a", chain, 1, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "A");
    sticky_release(h.ctx, &d);
    /* In Prometheus too. */
    char buf[8192];
    size_t need;
    assert_int_equal(sticky_ctx_format_prometheus(h.ctx, buf, sizeof(buf), &need), STICKY_OK);
    assert_non_null(strstr(buf, "# TYPE sticky_tenant_mismatches_total counter\n"
                                "sticky_tenant_mismatches_total 3\n"));
    h_stop(&h);
}

/* A failover of tenant B's own binding rewrites B's keys only: a shallower
 * key of the chain that holds A's binding stays A's (0.2.0 rewrote every
 * key of the chain). */
static void test_failover_spares_foreign_keys(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 3);
    uint64_t chain[3] = {0x11, 0x22, 0x33};
    sticky_decision d;
    /* A's K1 -> A. */
    assert_int_equal(h_select_chain(&h, "tenant-a", chain, 1, NULL, 0, &d), STICKY_OK);
    sticky_release(h.ctx, &d);
    /* B's own K3 (its deepest) -> B, written directly by the host. */
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = chain[2];
    strcpy(m.channel_id, "B");
    tenant_digest(h.ctx, "tenant-b", 8, m.tenant_id);
    assert_int_equal(sticky_store_put(h.store, &m, 0, NULL), STICKY_OK);
    /* B hits its own binding; then B's channel cools and it moves. */
    assert_int_equal(h_select_chain(&h, "tenant-b", chain, 3, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_HIT);
    assert_string_equal(d.channel_id, "B");
    h_report(&h, &d, 500, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(h_select_chain(&h, "tenant-b", chain, 3, NULL, 0, &d), STICKY_OK);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.moved_from, "B");
    char moved_to[STICKY_ID_SIZE];
    strcpy(moved_to, d.channel_id);
    sticky_release(h.ctx, &d);
    expect_binding(&h, chain[0], "A", "tenant-a"); /* spared */
    expect_binding(&h, chain[1], moved_to, "tenant-b");
    expect_binding(&h, chain[2], moved_to, "tenant-b");
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_memory_bounded),
        cmocka_unit_test(test_registry_unit),
        cmocka_unit_test(test_report_creates_no_health),
        cmocka_unit_test(test_report_contract),
        cmocka_unit_test(test_attempt_ledger),
        cmocka_unit_test(test_attempt_ledger_many_open),
        cmocka_unit_test(test_duplicate_ids),
        cmocka_unit_test(test_prometheus_utf8),
        cmocka_unit_test(test_extreme_clocks),
        cmocka_unit_test(test_lru_negative_clock),
        cmocka_unit_test(test_tenant_digest_stored),
        cmocka_unit_test(test_long_tenants_distinct),
        cmocka_unit_test(test_tenant_mismatch),
        cmocka_unit_test(test_failover_spares_foreign_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
