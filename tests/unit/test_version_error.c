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

static void test_strerror_every_code(void **state)
{
    (void)state;
    const char *seen[64] = {0};
    int n = 0;
    for (int code = STICKY_OK; code >= STICKY_ELIMIT; code--) {
        const char *text = sticky_strerror(code);
        const char *name = sticky_errname(code);
        assert_non_null(text);
        assert_non_null(name);
        assert_string_not_equal(text, "unknown error");
        assert_string_not_equal(name, "STICKY_EUNKNOWN");
        assert_int_equal(strncmp(name, "STICKY_", 7), 0);
        for (int i = 0; i < n; i++)
            assert_string_not_equal(seen[i], text); /* distinct texts */
        seen[n++] = text;
    }
    assert_string_equal(sticky_errname(STICKY_EINVAL), "STICKY_EINVAL");
    assert_string_equal(sticky_errname(STICKY_ELIMIT), "STICKY_ELIMIT");
    assert_string_equal(sticky_strerror(STICKY_ENOMEM), "out of memory");
}

static void test_strerror_unknown_codes(void **state)
{
    (void)state;
    const int unknown[] = {1, 42, STICKY_ELIMIT - 1, -1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(sticky_strerror(unknown[i]), "unknown error");
        assert_string_equal(sticky_errname(unknown[i]), "STICKY_EUNKNOWN");
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
