/*
 * tests/unit/test_context.c - the context's plumbing: allocator callbacks,
 * log callback and level filter, injected clock, SHA-256 fetched once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_helpers.h"

#include "util/context_internal.h"
#include "util/digest.h"

static void test_allocator_used_and_balanced(void **state)
{
    (void)state;
    struct counting_alloc a = {0, 0, 0, -1};
    sticky_config cfg;
    sticky_config_init(&cfg);
    counting_alloc_install(&cfg, &a);
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    assert_true(a.mallocs >= 1);
    assert_true(a.live >= 1);
    void *p = mem_malloc(ctx, 64);
    assert_non_null(p);
    p = mem_realloc(ctx, p, 128);
    assert_non_null(p);
    mem_free(ctx, p);
    assert_null(mem_calloc(ctx, SIZE_MAX / 2, 4)); /* overflow refused */
    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    assert_int_equal(a.mallocs, a.frees);
}

static void test_allocator_failure_is_enomem(void **state)
{
    (void)state;
    struct counting_alloc a = {0, 0, 0, 0}; /* first allocation fails */
    sticky_config cfg;
    sticky_config_init(&cfg);
    counting_alloc_install(&cfg, &a);
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_ENOMEM);
    assert_null(ctx);
    assert_int_equal(a.live, 0);
}

static void test_log_callback_and_level(void **state)
{
    (void)state;
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &rec;
    cfg.log_level = STICKY_LOG_DEBUG;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    assert_int_equal(rec.count[STICKY_LOG_DEBUG], 1);
    assert_non_null(strstr(rec.last, "context created"));
    ctx_log(ctx, STICKY_LOG_INFO, "hello %d", 42);
    assert_string_equal(rec.last, "hello 42");
    assert_int_equal(rec.last_level, STICKY_LOG_INFO);
    sticky_ctx_free(ctx);

    /* At INFO, the debug line is filtered out. */
    memset(&rec, 0, sizeof(rec));
    cfg.log_level = STICKY_LOG_INFO;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    assert_int_equal(rec.count[STICKY_LOG_DEBUG], 0);
    ctx_log(ctx, STICKY_LOG_DEBUG, "hidden");
    assert_int_equal(rec.count[STICKY_LOG_DEBUG], 0);
    ctx_log(ctx, STICKY_LOG_WARN, "shown");
    assert_int_equal(rec.count[STICKY_LOG_WARN], 1);
    sticky_ctx_free(ctx);
}

static void test_long_log_line_truncated(void **state)
{
    (void)state;
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &rec;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ctx_log(ctx, STICKY_LOG_ERROR, "%s", big);
    assert_int_equal(strlen(rec.last), STICKY_LOG_LINE_MAX - 1);
    sticky_ctx_free(ctx);
}

static void test_silent_by_default(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    ctx_log(ctx, STICKY_LOG_ERROR, "nobody listens"); /* must not crash */
    sticky_ctx_free(ctx);
}

static void test_injected_clock(void **state)
{
    (void)state;
    struct fake_clock clk = {1700000000000};
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fake_clock_read;
    cfg.clock_user = &clk;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    assert_int_equal(sticky_ctx_now_ms(ctx), 1700000000000);
    clk.now_ms += 3600 * 1000;
    assert_int_equal(sticky_ctx_now_ms(ctx), 1700003600000);
    /* The effective config reports the caller's clock, not an internal one. */
    sticky_config eff;
    sticky_config_init(&eff);
    sticky_ctx_config(ctx, &eff);
    assert_ptr_equal(eff.clock_fn, fake_clock_read);
    sticky_ctx_free(ctx);
    assert_int_equal(sticky_ctx_now_ms(NULL), 0);
}

static void test_default_clock_is_epoch_ms(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    int64_t now = sticky_ctx_now_ms(ctx);
    assert_true(now > 1600000000000LL);   /* after 2020 */
    assert_true(now < 4102444800000LL);   /* before 2100 */
    sticky_ctx_free(ctx);
}

static void test_sha256_fetched_once_and_correct(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    assert_non_null(ctx->sha256);
    uint8_t d[STICKY_SHA256_LEN];
    assert_int_equal(sha256_digest(ctx, "abc", 3, d), STICKY_OK);
    static const uint8_t want[STICKY_SHA256_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    assert_memory_equal(d, want, sizeof(want));
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_used_and_balanced),
        cmocka_unit_test(test_allocator_failure_is_enomem),
        cmocka_unit_test(test_log_callback_and_level),
        cmocka_unit_test(test_long_log_line_truncated),
        cmocka_unit_test(test_silent_by_default),
        cmocka_unit_test(test_injected_clock),
        cmocka_unit_test(test_default_clock_is_epoch_ms),
        cmocka_unit_test(test_sha256_fetched_once_and_correct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
