/*
 * tests/unit/test_struct_size.c - the size-prefixed struct rule under
 * hostile sizes: the mechanism itself (util/struct_size.c, with a fake
 * struct that grew between two releases, because no public struct has
 * grown yet), every public entry point given a garbage size with its
 * struct placed right before an unmapped page (a read past the struct
 * would crash the test), and the debug line that names what was rejected.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "select_test_util.h"
#include "util/struct_size.h"

/* ---- the mechanism --------------------------------------------------- */

/* Release 1 of a struct, and release 2 with a field appended. */
struct v1 {
    size_t size;
    uint32_t a, b;
};
struct v2 {
    size_t size;
    uint32_t a, b;
    uint64_t c; /* default 77 */
};

static void test_older_caller_gets_defaults(void **state)
{
    (void)state;
    struct v1 old = {sizeof(struct v1), 1, 2};
    struct v2 full = {sizeof(struct v2), 0, 0, 77};
    assert_int_equal(struct_copy_in(&full, sizeof(full), &old, sizeof(struct v1), NULL),
                     STICKY_OK);
    assert_int_equal(full.size, sizeof(struct v2));
    assert_int_equal(full.a, 1);
    assert_int_equal(full.b, 2);
    assert_int_equal(full.c, 77); /* past the caller's size: default */

    /* Out: an older caller gets only its bytes. */
    struct {
        struct v1 s;
        unsigned char guard[16];
    } out;
    memset(&out, 0xCD, sizeof(out));
    out.s.size = sizeof(struct v1);
    full.a = 5;
    struct_copy_out(&out.s, out.s.size, &full, sizeof(full));
    assert_int_equal(out.s.size, sizeof(struct v1));
    assert_int_equal(out.s.a, 5);
    for (size_t i = 0; i < sizeof(out.guard); i++)
        assert_int_equal(out.guard[i], 0xCD);

    /* init_defaults for an older caller writes only its size. */
    unsigned char buf[sizeof(struct v2)];
    memset(buf, 0xEE, sizeof(buf));
    assert_int_equal(struct_init_defaults(buf, sizeof(struct v1), sizeof(struct v1), &full,
                                          sizeof(full)),
                     STICKY_OK);
    for (size_t i = sizeof(struct v1); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xEE);
}

static void test_three_outcomes(void **state)
{
    (void)state;
    struct v2 full = {sizeof(struct v2), 0, 0, 77};
    const char *why = NULL;
    /* Below the first-release size. */
    struct v1 tiny = {offsetof(struct v1, b), 1, 2};
    assert_int_equal(struct_copy_in(&full, sizeof(full), &tiny, sizeof(struct v1), &why),
                     STICKY_EABI);
    assert_non_null(strstr(why, "first-release"));
    /* Above the maximum: rejected before the tail is read. */
    struct v1 huge = {(size_t)STICKY_MAX_STRUCT_SIZE + 1, 1, 2};
    why = NULL;
    assert_int_equal(struct_copy_in(&full, sizeof(full), &huge, sizeof(struct v1), &why),
                     STICKY_EABI);
    assert_non_null(strstr(why, "STICKY_MAX_STRUCT_SIZE"));
    /* Newer caller: accepted with a zero tail, refused with a set one. */
    struct {
        struct v2 s;
        uint64_t future;
    } newer = {{sizeof(newer), 3, 4, 5}, 0};
    assert_int_equal(struct_copy_in(&full, sizeof(full), &newer, sizeof(struct v1), NULL),
                     STICKY_OK);
    assert_int_equal(full.c, 5);
    newer.future = 1;
    why = NULL;
    assert_int_equal(struct_copy_in(&full, sizeof(full), &newer, sizeof(struct v1), &why),
                     STICKY_EABI);
    assert_non_null(strstr(why, "newer"));
    /* Exactly the maximum is a size (its tail is read and must be zero). */
    assert_int_equal(struct_check_size(STICKY_MAX_STRUCT_SIZE, 8, NULL), STICKY_OK);
    assert_int_equal(struct_check_size(SIZE_MAX, 8, NULL), STICKY_EABI);
}

/* ---- hostile sizes before an unmapped page -------------------------- */

struct guarded {
    unsigned char *base;
    size_t page;
};

/* Two pages, the second PROT_NONE; returns a pointer to @n bytes that end
 * exactly at the unmapped page, copied from @src. */
static void *guard_place(struct guarded *g, const void *src, size_t n)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->base = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(g->base != MAP_FAILED);
    assert_int_equal(mprotect(g->base + g->page, g->page, PROT_NONE), 0);
    /* Keep the alignment of a size_t: n is a multiple of 8 for our structs. */
    assert_int_equal(n % sizeof(size_t), 0);
    void *p = g->base + g->page - n;
    memcpy(p, src, n);
    return p;
}

static void guard_free(struct guarded *g)
{
    munmap(g->base, 2 * g->page);
}

static const size_t garbage_sizes[] = {(size_t)1 << 20, STICKY_MAX_STRUCT_SIZE + 8,
                                       SIZE_MAX, 4};

static void test_guard_request_and_channel(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    for (size_t i = 0; i < sizeof(garbage_sizes) / sizeof(garbage_sizes[0]); i++) {
        sticky_request r;
        sticky_request_init(&r);
        r.size = garbage_sizes[i];
        struct guarded g;
        sticky_request *gr = guard_place(&g, &r, sizeof(r));
        sticky_decision d;
        sticky_decision_init(&d);
        assert_int_equal(sticky_select(h.ctx, gr, h.ch, h.n, &d), STICKY_EABI);
        sticky_key_chain chain;
        sticky_key_chain_init(&chain);
        assert_int_equal(sticky_key_derive(h.ctx, gr, &chain), STICKY_EABI);
        assert_int_equal(chain.n_keys, 0);
        guard_free(&g);

        /* One channel whose size (the array's stride) is garbage. */
        sticky_channel c;
        sticky_channel_init(&c);
        c.id = "A";
        c.size = garbage_sizes[i];
        sticky_channel *gc = guard_place(&g, &c, sizeof(c));
        sticky_request_init(&r);
        assert_int_equal(sticky_select(h.ctx, &r, gc, 1, &d), STICKY_EABI);
        guard_free(&g);
    }
    h_stop(&h);
}

static void test_guard_outcome_and_decision(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 2);
    char body[4096];
    for (size_t i = 0; i < sizeof(garbage_sizes) / sizeof(garbage_sizes[0]); i++) {
        sticky_decision d;
        assert_int_equal(h_select(&h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                         STICKY_OK);
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = 429;
        o.size = garbage_sizes[i];
        struct guarded g;
        sticky_outcome *go = guard_place(&g, &o, sizeof(o));
        assert_int_equal(sticky_report(h.ctx, &d, go), STICKY_EABI);
        guard_free(&g);
        assert_int_not_equal(d.attempt, 0); /* nothing was ended */

        /* The decision handed back with a garbage size. */
        sticky_decision bad = d;
        bad.size = garbage_sizes[i];
        sticky_decision *gd = guard_place(&g, &bad, sizeof(bad));
        sticky_outcome_init(&o);
        o.status = 200;
        assert_int_equal(sticky_report(h.ctx, gd, &o), STICKY_EABI);
        assert_int_equal(sticky_release(h.ctx, gd), STICKY_EABI);
        guard_free(&g);
        assert_int_equal(sticky_release(h.ctx, &d), STICKY_OK);

        /* A decision out-struct with a garbage size is not written. */
        sticky_decision_init(&d);
        d.size = garbage_sizes[i];
        gd = guard_place(&g, &d, sizeof(d));
        sticky_request r;
        sticky_request_init(&r);
        r.body = body;
        r.body_len = strlen(body);
        assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, gd), STICKY_EABI);
        guard_free(&g);
    }
    h_stop(&h);
}

static void test_guard_config_and_store_options(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(garbage_sizes) / sizeof(garbage_sizes[0]); i++) {
        sticky_config cfg;
        sticky_config_init(&cfg);
        cfg.size = garbage_sizes[i];
        struct guarded g;
        sticky_config *gcfg = guard_place(&g, &cfg, sizeof(cfg));
        sticky_ctx *ctx = (sticky_ctx *)gcfg;
        assert_int_equal(sticky_ctx_new(gcfg, &ctx), STICKY_EABI);
        assert_null(ctx);
        assert_int_equal(sticky_config_from_env(gcfg, NULL), STICKY_EABI);
        assert_int_equal(sticky_config_init_sized(gcfg, garbage_sizes[i]), STICKY_EABI);
        assert_int_equal(gcfg->size, garbage_sizes[i]); /* nothing written */

        assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
        assert_int_equal(sticky_ctx_config(ctx, gcfg), STICKY_EABI);
        guard_free(&g);

        sticky_memory_store_options o;
        sticky_memory_store_options_init(&o);
        o.size = garbage_sizes[i];
        sticky_memory_store_options *go = guard_place(&g, &o, sizeof(o));
        sticky_store *st = (sticky_store *)go;
        assert_int_equal(sticky_memory_store_new(ctx, go, &st), STICKY_EABI);
        assert_null(st);
        guard_free(&g);

        /* Records and counters of the store API. */
        assert_int_equal(sticky_memory_store_new(ctx, NULL, &st), STICKY_OK);
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = 1;
        strcpy(m.channel_id, "A");
        m.size = garbage_sizes[i];
        sticky_mapping *gm = guard_place(&g, &m, sizeof(m));
        assert_int_equal(sticky_store_put(st, gm, 0, NULL), STICKY_EABI);
        assert_int_equal(sticky_store_get(st, 1, 0, gm), STICKY_EABI);
        guard_free(&g);
        sticky_store_stats s;
        sticky_store_stats_init(&s);
        s.size = garbage_sizes[i];
        sticky_store_stats *gs = guard_place(&g, &s, sizeof(s));
        assert_int_equal(sticky_store_get_stats(st, gs), STICKY_EABI);
        guard_free(&g);
        sticky_ctx_stats cs;
        sticky_ctx_stats_init(&cs);
        cs.size = garbage_sizes[i];
        sticky_ctx_stats *gcs = guard_place(&g, &cs, sizeof(cs));
        assert_int_equal(sticky_ctx_get_stats(ctx, gcs), STICKY_EABI);
        guard_free(&g);
        sticky_store_free(st);
        sticky_ctx_free(ctx);
    }
}

/* ---- why did it fail? ------------------------------------------------ */

static void test_rejections_are_named(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h_start(&h, 4);
    char body[4096];
    conv_body(1, 1, body, sizeof(body));
    sticky_decision d;

    /* A channel id over 127 bytes. */
    char long_id[200];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    h.ch[3].id = long_id;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: channels[3].id: longer than 127 bytes");
    h.ch[3].id = "D";

    /* A request whose size is garbage. */
    sticky_request r;
    sticky_request_init(&r);
    r.size = (size_t)1 << 20;
    sticky_decision_init(&d);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &d), STICKY_EABI);
    assert_string_equal(h.log.last, "select: request.size 1048576: above STICKY_MAX_STRUCT_SIZE "
                                    "(uninitialised or corrupt)");

    /* A NULL body with a length. */
    sticky_request_init(&r);
    r.body_len = 10;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: request.body: NULL with body_len 10");

    /* Channels of different sizes in one array. */
    h.ch[2].size = sizeof(sticky_channel) + 8;
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_EABI);
    char want[160];
    snprintf(want, sizeof(want),
             "select: channels[2].size %zu: differs from channels[0].size %zu (the array's "
             "stride)", sizeof(sticky_channel) + 8, sizeof(sticky_channel));
    assert_string_equal(h.log.last, want);
    h.ch[2].size = sizeof(sticky_channel);

    /* An outcome kind that is not a value. */
    assert_int_equal(h_select(&h, NULL, body, NULL, 0, &d), STICKY_OK);
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.kind = 7;
    assert_int_equal(sticky_report(h.ctx, &d, &o), STICKY_EINVAL);
    assert_string_equal(h.log.last, "report: outcome.kind: 7 is not an enum sticky_outcome_kind");
    sticky_release(h.ctx, &d);

    /* key_derive speaks in its own name. */
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    sticky_request_init(&r);
    r.format = 42;
    assert_int_equal(sticky_key_derive(h.ctx, &r, &chain), STICKY_EINVAL);
    assert_string_equal(h.log.last, "key_derive: request.format: 42 is not an enum "
                                    "sticky_body_format");

    /* Structured input: an unknown part type, and a NULL string with a
     * length inside a tool result. */
    sticky_part parts[2];
    memset(parts, 0, sizeof(parts));
    parts[0].type = STICKY_PART_TEXT;
    parts[0].text = "hi";
    parts[0].text_len = 2;
    parts[1].type = 99;
    sticky_message msg = {"user", 4, parts, 2};
    sticky_request_init(&r);
    r.messages = &msg;
    r.n_messages = 1;
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, h.n, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: request.messages[0].parts[1].type: 99 is not an "
                                    "enum sticky_part_type");
    sticky_part inner = {0};
    inner.type = STICKY_PART_TEXT;
    inner.text_len = 3; /* text NULL */
    parts[1].type = STICKY_PART_TOOL_RESULT;
    parts[1].parts = &inner;
    parts[1].n_parts = 1;
    assert_int_equal(sticky_key_derive(h.ctx, &r, &chain), STICKY_EINVAL);
    assert_string_equal(h.log.last, "key_derive: request.messages[0].parts[1].parts[0].text: "
                                    "NULL with a non-zero length");

    /* n_channels out of range. */
    sticky_request_init(&r);
    assert_int_equal(sticky_select(h.ctx, &r, h.ch, 0, &d), STICKY_EINVAL);
    assert_string_equal(h.log.last, "select: n_channels: 0 is not in 1..1024");
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_older_caller_gets_defaults),
        cmocka_unit_test(test_three_outcomes),
        cmocka_unit_test(test_guard_request_and_channel),
        cmocka_unit_test(test_guard_outcome_and_decision),
        cmocka_unit_test(test_guard_config_and_store_options),
        cmocka_unit_test(test_rejections_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
