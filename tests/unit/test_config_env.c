/*
 * tests/unit/test_config_env.c - sticky_config_from_env(): every variable,
 * STICKY_ aliases winning, and every kind of bad value being an error that
 * names the variable and leaves the config unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "test_helpers.h"

static const char *const all_vars[] = {
    "SESSION_TTL_SECONDS",
    "SESSION_RENEW_THRESHOLD_SECONDS",
    "SESSION_MAX_CACHE_SIZE",
    "SESSION_MESSAGE_COUNT",
    "SESSION_INCLUDE_SYSTEM_PROMPT",
    "STICKY_SESSION_TTL_SECONDS",
    "STICKY_SESSION_RENEW_THRESHOLD_SECONDS",
    "STICKY_SESSION_MAX_CACHE_SIZE",
    "STICKY_SESSION_MESSAGE_COUNT",
    "STICKY_SESSION_INCLUDE_SYSTEM_PROMPT",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
    return 0;
}

static void test_no_env_keeps_config(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.ttl_seconds = 777;
    const char *bad = "x";
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_OK);
    assert_null(bad);
    assert_int_equal(cfg.ttl_seconds, 777);
    assert_int_equal(cfg.message_count, 3);
}

static void test_all_seed_variables(void **state)
{
    (void)state;
    setenv("SESSION_TTL_SECONDS", "7200", 1);
    setenv("SESSION_RENEW_THRESHOLD_SECONDS", "600", 1);
    setenv("SESSION_MAX_CACHE_SIZE", "50000", 1);
    setenv("SESSION_MESSAGE_COUNT", "5", 1);
    setenv("SESSION_INCLUDE_SYSTEM_PROMPT", "true", 1);
    sticky_config cfg;
    sticky_config_init(&cfg);
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.size, sizeof(cfg));
    assert_int_equal(cfg.ttl_seconds, 7200);
    assert_int_equal(cfg.renew_threshold_seconds, 600);
    assert_int_equal(cfg.max_sessions, 50000);
    assert_int_equal(cfg.message_count, 5);
    assert_int_equal(cfg.include_system_prompt, 1);
}

static void test_aliases_win(void **state)
{
    (void)state;
    struct log_recorder rec;
    memset(&rec, 0, sizeof(rec));
    setenv("SESSION_TTL_SECONDS", "7200", 1);
    setenv("STICKY_SESSION_TTL_SECONDS", "900", 1);
    setenv("SESSION_MESSAGE_COUNT", "not-a-number", 1); /* shadowed: unread */
    setenv("STICKY_SESSION_MESSAGE_COUNT", "2", 1);
    setenv("STICKY_SESSION_INCLUDE_SYSTEM_PROMPT", "ON", 1);
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_recorder_cb;
    cfg.log_user = &rec;
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.ttl_seconds, 900);
    assert_int_equal(cfg.message_count, 2);
    assert_int_equal(cfg.include_system_prompt, 1);
    /* Shadowing is reported, once per shadowed variable. */
    assert_int_equal(rec.count[STICKY_LOG_WARN], 2);
    assert_non_null(strstr(rec.all, "SESSION_TTL_SECONDS is shadowed"));
}

static void test_bool_spellings(void **state)
{
    (void)state;
    const char *yes[] = {"1", "true", "TRUE", "Yes", "on", " true "};
    const char *no[] = {"0", "false", "False", "no", "OFF"};
    sticky_config cfg;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        sticky_config_init(&cfg);
        setenv("SESSION_INCLUDE_SYSTEM_PROMPT", yes[i], 1);
        assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
        assert_int_equal(cfg.include_system_prompt, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        sticky_config_init(&cfg);
        cfg.include_system_prompt = 1;
        setenv("SESSION_INCLUDE_SYSTEM_PROMPT", no[i], 1);
        assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
        assert_int_equal(cfg.include_system_prompt, 0);
    }
}

static void test_whitespace_trimmed_and_edges(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    setenv("SESSION_TTL_SECONDS", " 31536000\n", 1);
    setenv("SESSION_RENEW_THRESHOLD_SECONDS", "0", 1);
    setenv("SESSION_MAX_CACHE_SIZE", "1", 1);
    setenv("SESSION_MESSAGE_COUNT", "32", 1);
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.ttl_seconds, 31536000);
    assert_int_equal(cfg.renew_threshold_seconds, 0);
    assert_int_equal(cfg.max_sessions, 1);
    assert_int_equal(cfg.message_count, 32);
}

struct bad_case {
    const char *var;
    const char *value;
};

/* Every kind of bad value: empty, blank, letters, trailing junk, sign,
 * hex, decimal point, negative, overflow, below / above range, bad bool. */
static const struct bad_case bad_cases[] = {
    {"SESSION_TTL_SECONDS", ""},
    {"SESSION_TTL_SECONDS", "   "},
    {"SESSION_TTL_SECONDS", "abc"},
    {"SESSION_TTL_SECONDS", "60s"},
    {"SESSION_TTL_SECONDS", "+60"},
    {"SESSION_TTL_SECONDS", "-1"},
    {"SESSION_TTL_SECONDS", "0x10"},
    {"SESSION_TTL_SECONDS", "1.5"},
    {"SESSION_TTL_SECONDS", "0"},
    {"SESSION_TTL_SECONDS", "31536001"},
    {"SESSION_TTL_SECONDS", "99999999999999999999999999"},
    {"SESSION_TTL_SECONDS", "1 2"},
    {"SESSION_RENEW_THRESHOLD_SECONDS", "-5"},
    {"SESSION_RENEW_THRESHOLD_SECONDS", "4000"}, /* above default TTL 3600 */
    {"SESSION_MAX_CACHE_SIZE", "0"},
    {"SESSION_MAX_CACHE_SIZE", "1000000001"},
    {"SESSION_MAX_CACHE_SIZE", "ten"},
    {"SESSION_MESSAGE_COUNT", "0"},
    {"SESSION_MESSAGE_COUNT", "33"},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", ""},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", "2"},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", "maybe"},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", "truee"},
    {"STICKY_SESSION_TTL_SECONDS", "nope"},
    {"STICKY_SESSION_MESSAGE_COUNT", "100"},
};

static void test_bad_values_are_errors(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        clear_env(state);
        setenv("SESSION_MESSAGE_COUNT", "4", 1); /* a good one alongside */
        if (strcmp(bad_cases[i].var, "SESSION_MESSAGE_COUNT") == 0)
            unsetenv("SESSION_MESSAGE_COUNT");
        setenv(bad_cases[i].var, bad_cases[i].value, 1);

        struct log_recorder rec;
        memset(&rec, 0, sizeof(rec));
        sticky_config cfg, before;
        sticky_config_init(&cfg);
        cfg.log_fn = log_recorder_cb;
        cfg.log_user = &rec;
        before = cfg;
        const char *bad = NULL;
        int rc = sticky_config_from_env(&cfg, &bad);
        if (rc != STICKY_ECONFIG)
            fail_msg("%s=\"%s\": rc %d, want STICKY_ECONFIG", bad_cases[i].var,
                     bad_cases[i].value, rc);
        assert_non_null(bad);
        assert_string_equal(bad, bad_cases[i].var);
        assert_int_equal(rec.count[STICKY_LOG_ERROR], 1);
        assert_non_null(strstr(rec.last, bad_cases[i].var));
        /* All or nothing: the good variable was not applied either. */
        assert_memory_equal(&cfg, &before, sizeof(cfg));
    }
}

/* The cross-field rule names the variable that was set. */
static void test_threshold_above_env_ttl(void **state)
{
    (void)state;
    setenv("SESSION_TTL_SECONDS", "100", 1); /* default threshold 300 > 100 */
    sticky_config cfg;
    sticky_config_init(&cfg);
    const char *bad = NULL;
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_ECONFIG);
    assert_string_equal(bad, "SESSION_TTL_SECONDS");
    assert_int_equal(cfg.ttl_seconds, 3600);

    setenv("SESSION_RENEW_THRESHOLD_SECONDS", "50", 1);
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_OK);
    assert_null(bad);
    assert_int_equal(cfg.ttl_seconds, 100);
    assert_int_equal(cfg.renew_threshold_seconds, 50);
}

/* A struct shorter than the first-release config is not read or written. */
static void test_short_struct_rejected(void **state)
{
    (void)state;
    setenv("SESSION_TTL_SECONDS", "1800", 1);
    unsigned char buf[sizeof(sticky_config)];
    memset(buf, 0x33, sizeof(buf));
    sticky_config *cfg = (sticky_config *)(void *)buf;
    cfg->size = offsetof(sticky_config, message_count);
    assert_int_equal(sticky_config_from_env(cfg, NULL), STICKY_EABI);
    for (size_t i = sizeof(size_t); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x33);
}

/* A bad value that did not come from the environment is named by its
 * field, never by a variable that is not set. */
static void test_bad_value_from_struct_named_by_field(void **state)
{
    (void)state;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.max_sessions = 0;
    const char *bad = NULL;
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_ECONFIG);
    assert_string_equal(bad, "max_sessions");

    sticky_config_init(&cfg);
    cfg.renew_threshold_seconds = cfg.ttl_seconds + 1;
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_ECONFIG);
    assert_string_equal(bad, "renew_threshold_seconds");
}

static void test_bad_args(void **state)
{
    (void)state;
    const char *bad = "x";
    assert_int_equal(sticky_config_from_env(NULL, &bad), STICKY_EINVAL);
    assert_null(bad);
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.size = 1;
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_EABI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_env_keeps_config, clear_env),
        cmocka_unit_test_setup(test_all_seed_variables, clear_env),
        cmocka_unit_test_setup(test_aliases_win, clear_env),
        cmocka_unit_test_setup(test_bool_spellings, clear_env),
        cmocka_unit_test_setup(test_whitespace_trimmed_and_edges, clear_env),
        cmocka_unit_test_setup(test_bad_values_are_errors, clear_env),
        cmocka_unit_test_setup(test_threshold_above_env_ttl, clear_env),
        cmocka_unit_test_setup(test_short_struct_rejected, clear_env),
        cmocka_unit_test_setup(test_bad_value_from_struct_named_by_field, clear_env),
        cmocka_unit_test_setup(test_bad_args, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
