/*
 * tests/unit/test_config.c - sticky_config defaults, size-prefixed struct
 * handling (old / new callers), validation and sticky_ctx_new / _config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_helpers.h"

static void test_defaults(void **state)
{
    (void)state;
    sticky_config cfg;
    memset(&cfg, 0xAB, sizeof(cfg));
    assert_int_equal(sticky_config_init(&cfg), STICKY_OK);
    assert_int_equal(cfg.size, sizeof(sticky_config));
    assert_int_equal(cfg.ttl_seconds, 3600);
    assert_int_equal(cfg.renew_threshold_seconds, 300);
    assert_int_equal(cfg.max_sessions, 10000);
    assert_int_equal(cfg.message_count, 3);
    assert_int_equal(cfg.include_system_prompt, 0);
    assert_int_equal(cfg.log_level, STICKY_LOG_INFO);
    assert_null(cfg.log_fn);
    assert_null(cfg.clock_fn);
    assert_null(cfg.allocator.malloc_fn);
    assert_null(cfg.allocator.realloc_fn);
    assert_null(cfg.allocator.free_fn);
}

static void test_init_bad_args(void **state)
{
    (void)state;
    sticky_config cfg;
    assert_int_equal(sticky_config_init_sized(NULL, sizeof(cfg)), STICKY_EINVAL);
    assert_int_equal(sticky_config_init_sized(&cfg, 0), STICKY_EABI);
    assert_int_equal(sticky_config_init_sized(&cfg, sizeof(size_t) - 1), STICKY_EABI);
}

/* A size below the first-release size (here: ending before ttl_seconds)
 * is not a libsticky config: init rejects it and writes nothing. (The
 * defaulting of fields past an older caller's size is tested on the
 * mechanism itself, tests/unit/test_struct_size.c: no public struct has
 * grown since its first release yet.) */
static void test_init_below_first_release_size_rejected(void **state)
{
    (void)state;
    unsigned char buf[sizeof(sticky_config) + 16];
    memset(buf, 0x5A, sizeof(buf));
    size_t old = offsetof(sticky_config, ttl_seconds);
    assert_int_equal(sticky_config_init_sized((sticky_config *)(void *)buf, old),
                     STICKY_EABI);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5A);
    assert_int_equal(sticky_config_init_sized((sticky_config *)(void *)buf,
                                              STICKY_MAX_STRUCT_SIZE + 1),
                     STICKY_EABI);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5A);
}

/* A "newer" caller with a bigger struct: its unknown tail is zeroed. */
static void test_init_new_caller_zeroes_tail(void **state)
{
    (void)state;
    unsigned char buf[sizeof(sticky_config) + 32];
    memset(buf, 0x5A, sizeof(buf));
    assert_int_equal(sticky_config_init_sized((sticky_config *)(void *)buf, sizeof(buf)),
                     STICKY_OK);
    sticky_config *cfg = (sticky_config *)(void *)buf;
    assert_int_equal(cfg->size, sizeof(buf));
    assert_int_equal(cfg->ttl_seconds, 3600);
    for (size_t i = sizeof(sticky_config); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(cfg, &ctx), STICKY_OK); /* zero tail ok */
    sticky_ctx_free(ctx);
}

static void test_ctx_new_null_config_gives_defaults(void **state)
{
    (void)state;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    assert_non_null(ctx);
    sticky_config eff;
    sticky_config_init(&eff);
    eff.ttl_seconds = 1;
    assert_int_equal(sticky_ctx_config(ctx, &eff), STICKY_OK);
    assert_int_equal(eff.ttl_seconds, 3600);
    assert_int_equal(eff.message_count, 3);
    sticky_ctx_free(ctx);
    assert_int_equal(sticky_ctx_new(NULL, NULL), STICKY_EINVAL);
    sticky_ctx_free(NULL); /* no-op */
}

/* A config whose size ends before the last first-release field is
 * rejected, whatever its bytes hold. */
static void test_ctx_new_short_size_rejected(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.size = offsetof(sticky_config, message_count);
    sticky_ctx *ctx = (sticky_ctx *)&cfg;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_EABI);
    assert_null(ctx);
    cfg.size = sizeof(cfg) - 1;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_EABI);
    cfg.size = (size_t)1 << 20;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_EABI);
}

static void test_ctx_new_larger_struct_nonzero_tail_rejected(void **state)
{
    (void)state;
    struct {
        sticky_config cfg;
        uint64_t future_field;
    } big;
    memset(&big, 0, sizeof(big));
    sticky_config_init_sized(&big.cfg, sizeof(big));
    big.future_field = 1;
    sticky_ctx *ctx = (sticky_ctx *)&big; /* must be reset to NULL */
    assert_int_equal(sticky_ctx_new(&big.cfg, &ctx), STICKY_EABI);
    assert_null(ctx);
    big.future_field = 0;
    assert_int_equal(sticky_ctx_new(&big.cfg, &ctx), STICKY_OK);
    sticky_ctx_free(ctx);
}

static void test_ctx_new_size_zero_rejected(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.size = 0;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_EABI);
    assert_null(ctx);
}

static void expect_config_error(sticky_config *cfg, int want_rc,
                                const char *field_in_log)
{
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    cfg->log_fn = log_recorder_cb;
    cfg->log_user = &rec;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(cfg, &ctx), want_rc);
    assert_null(ctx);
    assert_int_equal(rec.count[STICKY_LOG_ERROR], 1);
    assert_non_null(strstr(rec.last, field_in_log));
}

static void test_ctx_new_validates(void **state)
{
    (void)state;
    sticky_config cfg;

    sticky_config_init(&cfg);
    cfg.renew_threshold_seconds = cfg.ttl_seconds + 1;
    expect_config_error(&cfg, STICKY_ECONFIG, "renew_threshold_seconds");

    sticky_config_init(&cfg);
    cfg.ttl_seconds = 0;
    cfg.renew_threshold_seconds = 0;
    expect_config_error(&cfg, STICKY_ECONFIG, "ttl_seconds");

    sticky_config_init(&cfg);
    cfg.ttl_seconds = STICKY_MAX_TTL_SECONDS + 1;
    expect_config_error(&cfg, STICKY_ECONFIG, "ttl_seconds");

    sticky_config_init(&cfg);
    cfg.max_sessions = 0;
    expect_config_error(&cfg, STICKY_ECONFIG, "max_sessions");

    sticky_config_init(&cfg);
    cfg.message_count = 0;
    expect_config_error(&cfg, STICKY_ECONFIG, "message_count");

    sticky_config_init(&cfg);
    cfg.message_count = STICKY_MAX_MESSAGE_COUNT + 1;
    expect_config_error(&cfg, STICKY_ECONFIG, "message_count");

    sticky_config_init(&cfg);
    cfg.include_system_prompt = 2;
    expect_config_error(&cfg, STICKY_ECONFIG, "include_system_prompt");

    sticky_config_init(&cfg);
    cfg.log_level = STICKY_LOG_DEBUG + 1;
    {
        /* A bad log level filters nothing reliably; only the code matters. */
        sticky_ctx *ctx = NULL;
        assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_ECONFIG);
    }

    struct counting_alloc a = {0, 0, 0, -1};
    sticky_config_init(&cfg);
    cfg.allocator.malloc_fn = counting_malloc; /* the other two missing */
    cfg.allocator.user = &a;
    expect_config_error(&cfg, STICKY_EINVAL, "allocator");

    /* Edges that are valid. */
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 1;
    cfg.renew_threshold_seconds = 1;
    cfg.max_sessions = 1;
    cfg.message_count = STICKY_MAX_MESSAGE_COUNT;
    cfg.include_system_prompt = 1;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    sticky_ctx_free(ctx);
}

/* The context keeps its own copy: changing the caller's struct afterwards
 * changes nothing. */
static void test_ctx_new_copies_config(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 900;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    cfg.ttl_seconds = 5;
    cfg.message_count = 9;
    sticky_config eff;
    sticky_config_init(&eff);
    assert_int_equal(sticky_ctx_config(ctx, &eff), STICKY_OK);
    assert_int_equal(eff.ttl_seconds, 900);
    assert_int_equal(eff.message_count, 3);
    sticky_ctx_free(ctx);
}

/* sticky_ctx_config writes only out->size bytes. */
static void test_ctx_config_copy_out_respects_size(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 1234;
    cfg.message_count = 5;
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);

    /* A newer caller's bigger struct: our fields written, its tail and
     * size field untouched. */
    unsigned char buf[sizeof(sticky_config) + 16];
    memset(buf, 0x77, sizeof(buf));
    sticky_config *out = (sticky_config *)(void *)buf;
    out->size = sizeof(buf);
    assert_int_equal(sticky_ctx_config(ctx, out), STICKY_OK);
    assert_int_equal(out->size, sizeof(buf));
    assert_int_equal(out->ttl_seconds, 1234);
    assert_int_equal(out->message_count, 5);
    for (size_t i = sizeof(sticky_config); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x77);
    /* Shorter than the first-release size: nothing written. */
    memset(buf, 0x77, sizeof(buf));
    out->size = offsetof(sticky_config, message_count);
    assert_int_equal(sticky_ctx_config(ctx, out), STICKY_EABI);
    assert_int_equal(out->ttl_seconds, 0x77777777);

    out->size = 0;
    assert_int_equal(sticky_ctx_config(ctx, out), STICKY_EABI);
    assert_int_equal(sticky_ctx_config(NULL, out), STICKY_EINVAL);
    assert_int_equal(sticky_ctx_config(ctx, NULL), STICKY_EINVAL);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_init_bad_args),
        cmocka_unit_test(test_init_below_first_release_size_rejected),
        cmocka_unit_test(test_init_new_caller_zeroes_tail),
        cmocka_unit_test(test_ctx_new_null_config_gives_defaults),
        cmocka_unit_test(test_ctx_new_short_size_rejected),
        cmocka_unit_test(test_ctx_new_larger_struct_nonzero_tail_rejected),
        cmocka_unit_test(test_ctx_new_size_zero_rejected),
        cmocka_unit_test(test_ctx_new_validates),
        cmocka_unit_test(test_ctx_new_copies_config),
        cmocka_unit_test(test_ctx_config_copy_out_respects_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
