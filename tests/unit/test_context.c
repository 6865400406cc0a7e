/*
 * tests/unit/test_context.c - the context's plumbing: allocator callbacks,
 * log callback and level filter (internal and through the public
 * sticky_ctx_mem_*() / sticky_ctx_log() for backends), injected clock,
 * SHA-256 fetched once.
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

/* An allocator that counts each entry point and, like some hosts' realloc
 * functions, refuses a NULL pointer. */
struct strict_alloc {
    long mallocs, reallocs, frees, live, null_reallocs;
};

static void *strict_malloc(size_t n, void *user)
{
    struct strict_alloc *a = user;
    a->mallocs++;
    a->live++;
    return malloc(n);
}

static void *strict_realloc(void *p, size_t n, void *user)
{
    struct strict_alloc *a = user;
    if (p == NULL) {
        a->null_reallocs++;
        return NULL;
    }
    a->reallocs++;
    return realloc(p, n);
}

static void strict_free(void *p, void *user)
{
    struct strict_alloc *a = user;
    if (p == NULL)
        return;
    a->frees++;
    a->live--;
    free(p);
}

/* The public sticky_ctx_mem_*() go through the host's allocator. */
static void test_public_allocator(void **state)
{
    (void)state;
    struct strict_alloc a = {0};
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.allocator.malloc_fn = strict_malloc;
    cfg.allocator.realloc_fn = strict_realloc;
    cfg.allocator.free_fn = strict_free;
    cfg.allocator.user = &a;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    long m0 = a.mallocs, live0 = a.live;

    char *p = sticky_ctx_mem_alloc(ctx, 16);
    assert_non_null(p);
    assert_int_equal(a.mallocs, m0 + 1);
    memcpy(p, "0123456789abcde", 16);
    p = sticky_ctx_mem_realloc(ctx, p, 4096);
    assert_non_null(p);
    assert_int_equal(a.reallocs, 1);
    assert_string_equal(p, "0123456789abcde"); /* contents kept */

    unsigned char *z = sticky_ctx_mem_calloc(ctx, 10, 8);
    assert_non_null(z);
    assert_int_equal(a.mallocs, m0 + 2);
    for (size_t i = 0; i < 80; i++)
        assert_int_equal(z[i], 0);
    assert_null(sticky_ctx_mem_calloc(ctx, SIZE_MAX / 2, 4)); /* overflow */
    assert_int_equal(a.mallocs, m0 + 2);

    /* realloc(NULL) is an allocation: malloc_fn, never realloc_fn(NULL). */
    void *q = sticky_ctx_mem_realloc(ctx, NULL, 32);
    assert_non_null(q);
    assert_int_equal(a.mallocs, m0 + 3);
    assert_int_equal(a.null_reallocs, 0);
    assert_int_equal(a.live, live0 + 3);

    sticky_ctx_mem_free(ctx, q);
    sticky_ctx_mem_free(ctx, z);
    sticky_ctx_mem_free(ctx, p);
    sticky_ctx_mem_free(ctx, NULL);
    assert_int_equal(a.live, live0);

    /* No context: nothing allocated, nothing freed, no crash. */
    assert_null(sticky_ctx_mem_alloc(NULL, 8));
    assert_null(sticky_ctx_mem_calloc(NULL, 1, 8));
    assert_null(sticky_ctx_mem_realloc(NULL, NULL, 8));
    sticky_ctx_mem_free(NULL, NULL);
    assert_int_equal(a.mallocs, m0 + 3);

    sticky_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    assert_int_equal(a.mallocs, a.frees);
}

/* Without an allocator in the config, libc serves the public calls. */
static void test_public_allocator_libc(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    void *p = sticky_ctx_mem_realloc(ctx, NULL, 8);
    assert_non_null(p);
    p = sticky_ctx_mem_realloc(ctx, p, 64);
    assert_non_null(p);
    sticky_ctx_mem_free(ctx, p);
    sticky_ctx_free(ctx);
}

static void vlog_helper(sticky_ctx *ctx, int level, const char *fmt, ...)
    STICKY_PRINTF(3, 4);
static void vlog_helper(sticky_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sticky_ctx_vlog(ctx, level, fmt, ap);
    va_end(ap);
}

/* The public sticky_ctx_log() takes the same path as internal logging:
 * the callback, its user pointer, the level filter, the line limit. */
static void test_public_log(void **state)
{
    (void)state;
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &rec;
    cfg.log_level = STICKY_LOG_WARN;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    memset(&rec, 0, sizeof(rec));

    sticky_ctx_log(ctx, STICKY_LOG_WARN, "backend %s: %d", "mine", 7);
    assert_int_equal(rec.count[STICKY_LOG_WARN], 1);
    assert_int_equal(rec.last_level, STICKY_LOG_WARN);
    assert_string_equal(rec.last, "backend mine: 7");
    sticky_ctx_log(ctx, STICKY_LOG_ERROR, "bad");
    assert_int_equal(rec.count[STICKY_LOG_ERROR], 1);
    /* Above the configured level: filtered. */
    sticky_ctx_log(ctx, STICKY_LOG_INFO, "info");
    sticky_ctx_log(ctx, STICKY_LOG_DEBUG, "debug");
    assert_int_equal(rec.count[STICKY_LOG_INFO] + rec.count[STICKY_LOG_DEBUG], 0);
    assert_string_equal(rec.last, "bad");
    /* Not a level: nothing. NULL context or format: nothing, no crash. */
    sticky_ctx_log(ctx, -1, "negative");
    sticky_ctx_log(ctx, 99, "too big");
    sticky_ctx_log(NULL, STICKY_LOG_ERROR, "no ctx");
    vlog_helper(ctx, STICKY_LOG_ERROR, NULL);
    assert_string_equal(rec.last, "bad");
    assert_int_equal(rec.count[STICKY_LOG_ERROR], 1);

    /* The va_list form, and the same truncation as internal lines. */
    vlog_helper(ctx, STICKY_LOG_WARN, "v%s%d", "log", 2);
    assert_string_equal(rec.last, "vlog2");
    vlog_helper(ctx, STICKY_LOG_INFO, "filtered %d", 3);
    assert_string_equal(rec.last, "vlog2");
    char big[2000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sticky_ctx_log(ctx, STICKY_LOG_ERROR, "%s", big);
    assert_int_equal(strlen(rec.last), STICKY_LOG_LINE_MAX - 1);
    sticky_ctx_free(ctx);

    /* No callback configured: silent. */
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_ctx_log(ctx, STICKY_LOG_ERROR, "nobody listens");
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
        cmocka_unit_test(test_public_allocator),
        cmocka_unit_test(test_public_allocator_libc),
        cmocka_unit_test(test_public_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
