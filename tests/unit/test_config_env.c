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
    "STICKY_EXPLICIT_SOURCES",
    "STICKY_POLICY",
    "STICKY_MIGRATE_BETTER_TIER",
    "STICKY_LEAST_BAD",
    "STICKY_BOUNDED_LOAD_PERMILLE",
    "STICKY_COOLDOWN_429_SECONDS",
    "STICKY_RETRY_AFTER_CAP_SECONDS",
    "STICKY_COOLDOWN_529_SECONDS",
    "STICKY_COOLDOWN_503_SECONDS",
    "STICKY_COOLDOWN_5XX_SECONDS",
    "STICKY_COOLDOWN_AUTH_SECONDS",
    "STICKY_BREAKER_FAILURES",
    "STICKY_BREAKER_COOLDOWN_SECONDS",
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


/* Every routing setting has a STICKY_ variable (issue 12, item 8). */
static void test_all_routing_variables(void **state)
{
    (void)state;
    setenv("STICKY_EXPLICIT_SOURCES", "host, claude_code_header,prompt_cache_key", 1);
    setenv("STICKY_POLICY", "Rendezvous", 1);
    setenv("STICKY_MIGRATE_BETTER_TIER", "yes", 1);
    setenv("STICKY_LEAST_BAD", "true", 1);
    setenv("STICKY_BOUNDED_LOAD_PERMILLE", "1250", 1);
    setenv("STICKY_COOLDOWN_429_SECONDS", "11", 1);
    setenv("STICKY_RETRY_AFTER_CAP_SECONDS", "12", 1);
    setenv("STICKY_COOLDOWN_529_SECONDS", "0", 1);
    setenv("STICKY_COOLDOWN_503_SECONDS", "14", 1);
    setenv("STICKY_COOLDOWN_5XX_SECONDS", "15", 1);
    setenv("STICKY_COOLDOWN_AUTH_SECONDS", "31536000", 1);
    setenv("STICKY_BREAKER_FAILURES", "5", 1);
    setenv("STICKY_BREAKER_COOLDOWN_SECONDS", "17", 1);
    sticky_config cfg;
    sticky_config_init(&cfg);
    const char *bad = "x";
    assert_int_equal(sticky_config_from_env(&cfg, &bad), STICKY_OK);
    assert_null(bad);
    assert_int_equal(cfg.explicit_sources, STICKY_EXPLICIT_HOST |
                     STICKY_EXPLICIT_CLAUDE_CODE_HEADER | STICKY_EXPLICIT_PROMPT_CACHE_KEY);
    assert_int_equal(cfg.select_policy, STICKY_POLICY_RENDEZVOUS);
    assert_int_equal(cfg.migrate_better_tier, 1);
    assert_int_equal(cfg.least_bad, 1);
    assert_int_equal(cfg.bounded_load_permille, 1250);
    assert_int_equal(cfg.cooldown_429_seconds, 11);
    assert_int_equal(cfg.retry_after_cap_seconds, 12);
    assert_int_equal(cfg.cooldown_529_seconds, 0);
    assert_int_equal(cfg.cooldown_503_seconds, 14);
    assert_int_equal(cfg.cooldown_5xx_seconds, 15);
    assert_int_equal(cfg.cooldown_auth_seconds, 31536000);
    assert_int_equal(cfg.breaker_failures, 5);
    assert_int_equal(cfg.breaker_cooldown_seconds, 17);
    sticky_ctx *ctx = NULL;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK); /* a valid config */
    sticky_ctx_free(ctx);

    /* The other words. */
    setenv("STICKY_POLICY", " random ", 1);
    setenv("STICKY_EXPLICIT_SOURCES", "NONE", 1);
    setenv("STICKY_BOUNDED_LOAD_PERMILLE", "0", 1);
    setenv("STICKY_LEAST_BAD", "off", 1);
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.select_policy, STICKY_POLICY_RANDOM);
    assert_int_equal(cfg.explicit_sources, 0);
    assert_int_equal(cfg.bounded_load_permille, 0);
    assert_int_equal(cfg.least_bad, 0);
    setenv("STICKY_POLICY", "LRU", 1);
    setenv("STICKY_EXPLICIT_SOURCES", "all", 1);
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.select_policy, STICKY_POLICY_LRU);
    assert_int_equal(cfg.explicit_sources, STICKY_EXPLICIT_ALL);
    setenv("STICKY_EXPLICIT_SOURCES", "metadata_user_id,body_session_id,body_conversation_id,"
           "session_id_header,x_session_id_header", 1);
    assert_int_equal(sticky_config_from_env(&cfg, NULL), STICKY_OK);
    assert_int_equal(cfg.explicit_sources, STICKY_EXPLICIT_METADATA_USER_ID |
                     STICKY_EXPLICIT_BODY_SESSION_ID | STICKY_EXPLICIT_BODY_CONVERSATION_ID |
                     STICKY_EXPLICIT_SESSION_ID_HEADER | STICKY_EXPLICIT_X_SESSION_ID_HEADER);
}

/* A bad routing value: an error naming it, the config untouched (even
 * the settings read before it). */
static void test_bad_routing_values(void **state)
{
    (void)state;
    static const struct {
        const char *var, *value;
    } cases[] = {
        {"STICKY_POLICY", "lru2"},
        {"STICKY_POLICY", ""},
        {"STICKY_POLICY", "1"},
        {"STICKY_EXPLICIT_SOURCES", "host,"},
        {"STICKY_EXPLICIT_SOURCES", ",host"},
        {"STICKY_EXPLICIT_SOURCES", "host,,prompt_cache_key"},
        {"STICKY_EXPLICIT_SOURCES", "hostname"},
        {"STICKY_EXPLICIT_SOURCES", ""},
        {"STICKY_EXPLICIT_SOURCES", "all,host"},
        {"STICKY_LEAST_BAD", "2"},
        {"STICKY_MIGRATE_BETTER_TIER", "maybe"},
        {"STICKY_BOUNDED_LOAD_PERMILLE", "999"},
        {"STICKY_BOUNDED_LOAD_PERMILLE", "100001"},
        {"STICKY_BOUNDED_LOAD_PERMILLE", "1.25"},
        {"STICKY_COOLDOWN_429_SECONDS", "-1"},
        {"STICKY_COOLDOWN_529_SECONDS", "31536001"},
        {"STICKY_COOLDOWN_503_SECONDS", "60s"},
        {"STICKY_COOLDOWN_5XX_SECONDS", "99999999999999999999"},
        {"STICKY_COOLDOWN_AUTH_SECONDS", " "},
        {"STICKY_RETRY_AFTER_CAP_SECONDS", "0x10"},
        {"STICKY_BREAKER_FAILURES", "1000001"},
        {"STICKY_BREAKER_COOLDOWN_SECONDS", "+5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clear_env(NULL);
        setenv("STICKY_COOLDOWN_429_SECONDS", "5", 1); /* a good one, read first */
        setenv("SESSION_TTL_SECONDS", "99", 1);
        setenv(cases[i].var, cases[i].value, 1);
        struct log_recorder rec;
        memset(&rec, 0, sizeof(rec));
        sticky_config cfg;
        sticky_config_init(&cfg);
        cfg.log_fn = log_recorder_cb;
        cfg.log_user = &rec;
        sticky_config before = cfg;
        const char *bad = NULL;
        if (sticky_config_from_env(&cfg, &bad) != STICKY_ECONFIG)
            fail_msg("%s=\"%s\" accepted", cases[i].var, cases[i].value);
        assert_non_null(bad);
        assert_string_equal(bad, cases[i].var);
        assert_memory_equal(&cfg, &before, sizeof(cfg));
        assert_non_null(strstr(rec.last, cases[i].var));
    }
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
        cmocka_unit_test_setup(test_all_routing_variables, clear_env),
        cmocka_unit_test_setup(test_bad_routing_values, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
