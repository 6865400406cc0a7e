/* tests/unit/test_version_error.c - version macros/functions and error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sticky/sticky.h>

static void test_version_matches_build(void **state)
{
    (void)state;
    /* EXPECTED_VERSION comes from meson's project(version:). */
    assert_string_equal(STICKY_VERSION_STRING, EXPECTED_VERSION);
    assert_string_equal(sticky_version_string(), STICKY_VERSION_STRING);
    assert_int_equal(sticky_version_number(), STICKY_VERSION_HEX);
    char buf[32];
    snprintf(buf, sizeof(buf), "%u.%u.%u", (sticky_version_number() >> 16) & 0xff,
             (sticky_version_number() >> 8) & 0xff, sticky_version_number() & 0xff);
    assert_string_equal(buf, STICKY_VERSION_STRING);
}

/* Every code of the list, from the list itself: adding a code is one line
 * in sticky/error.h and this test covers it. */
struct listed {
    int code;
    const char *name;
    const char *text;
};
#define LISTED(name, value, text) {STICKY_##name, "STICKY_" #name, text},
static const struct listed listed[] = {STICKY_ERROR_LIST(LISTED)};
#undef LISTED
#define N_LISTED (sizeof(listed) / sizeof(listed[0]))

static void test_strerror_every_code(void **state)
{
    (void)state;
    assert_true(N_LISTED >= 13);
    for (size_t i = 0; i < N_LISTED; i++) {
        const char *text = sticky_strerror(listed[i].code);
        const char *name = sticky_err_name(listed[i].code);
        assert_string_equal(text, listed[i].text);
        assert_string_equal(name, listed[i].name);
        /* Values: 0 first, then -1, -2, ... without gaps (append-only). */
        assert_int_equal(listed[i].code, -(int)i);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(listed[j].text, text); /* distinct texts */
    }
    assert_string_equal(sticky_err_name(STICKY_EINVAL), "STICKY_EINVAL");
    assert_string_equal(sticky_err_name(STICKY_ELIMIT), "STICKY_ELIMIT");
    assert_string_equal(sticky_strerror(STICKY_ENOMEM), "out of memory");
}

static void test_strerror_unknown_codes(void **state)
{
    (void)state;
    const int past_last = -(int)N_LISTED;
    const int unknown[] = {1, 42, past_last, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(sticky_strerror(unknown[i]), "unknown error");
        assert_string_equal(sticky_err_name(unknown[i]), "STICKY_EUNKNOWN");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matches_build),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_strerror_unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
