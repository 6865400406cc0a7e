/*
 * tests/redis/test_redis_record.c - the record codec of the Redis backend
 * (lib/redis/redis_record.c) without a server: round trips of every field
 * at the limits, the documented example, and strict rejection of anything
 * that is not exactly a record (truncated, overlong ids, bad digits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "redis_internal.h"
#include "sticky/error.h"

static void documented_example(void **state)
{
    (void)state;
    char buf[RRECORD_MAX];
    int n = rrecord_encode(buf, sizeof(buf), 1767225600000LL, 1767225600000LL,
                           1767225600000LL + 3600000, 1, "tenant-1", "chan-a");
    assert_string_equal(buf, "1,1767225600000,0,3600000,1,8,tenant-1chan-a");
    assert_int_equal(n, 44);
    sticky_mapping m;
    memset(&m, 0, sizeof(m));
    assert_int_equal(rrecord_decode(buf, (size_t)n, &m), STICKY_OK);
    assert_string_equal(m.channel_id, "chan-a");
    assert_string_equal(m.tenant_id, "tenant-1");
    assert_int_equal(m.request_count, 1);
    assert_int_equal(m.created_ms, 1767225600000LL);
    assert_int_equal(m.last_access_ms, 1767225600000LL);
    assert_int_equal(m.expires_ms, 1767225600000LL + 3600000);
}

static void limits_round_trip(void **state)
{
    (void)state;
    char longest[STICKY_ID_SIZE];
    memset(longest, 'x', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    char buf[RRECORD_MAX];
    /* Longest ids, commas inside ids, a large count and a year of TTL. */
    int n = rrecord_encode(buf, sizeof(buf), 4102444800000LL, 4102444800000LL + 5,
                           4102444800000LL + 31536000000LL, 999999999999ULL, longest, longest);
    assert_true(n > 0);
    sticky_mapping m;
    memset(&m, 0, sizeof(m));
    assert_int_equal(rrecord_decode(buf, (size_t)n, &m), STICKY_OK);
    assert_string_equal(m.channel_id, longest);
    assert_string_equal(m.tenant_id, longest);
    assert_int_equal(m.request_count, 999999999999ULL);
    assert_int_equal(m.last_access_ms, 4102444800000LL + 5);
    n = rrecord_encode(buf, sizeof(buf), 5, 5, 10, 2, "", ",1,2,");
    assert_int_equal(rrecord_decode(buf, (size_t)n, &m), STICKY_OK);
    assert_string_equal(m.tenant_id, "");
    assert_string_equal(m.channel_id, ",1,2,");
    /* Too small a buffer is refused, not truncated. */
    assert_int_equal(rrecord_encode(buf, 14, 5, 5, 10, 1, "t", "c"), -1); /* needs 15 */
    assert_int_equal(rrecord_encode(buf, 15, 5, 5, 10, 1, "t", "c"), 14);
}

static void strict_rejections(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "1", "1,", "garbage", "2,5,0,10,1,0,c", "1,5,0,10,1,0,",
        "1,5,0,10,1,2,c", "1,5,0,10,x,0,c", "1,5,0,10,0,0,c", "1,-5,0,10,1,0,c",
        "1,5,0,10,1,0", "1,5,0,10,1,,c", "1,1234567890123456789,0,10,1,0,c",
        "1,5,0,10,1,128,c",
    };
    sticky_mapping m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&m, 0, sizeof(m));
        assert_int_equal(rrecord_decode(bad[i], strlen(bad[i]), &m), STICKY_ESTORE);
    }
    /* A channel longer than 127 bytes. */
    char buf[400];
    int n = snprintf(buf, sizeof(buf), "1,5,0,10,1,0,");
    memset(buf + n, 'c', 128);
    assert_int_equal(rrecord_decode(buf, (size_t)n + 128, &m), STICKY_ESTORE);
    assert_int_equal(rrecord_decode(buf, (size_t)n + 127, &m), STICKY_OK);
    /* An embedded NUL is not an id byte. */
    memcpy(buf, "1,5,0,10,1,0,a\0b", 16);
    assert_int_equal(rrecord_decode(buf, 16, &m), STICKY_ESTORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(documented_example),
        cmocka_unit_test(limits_round_trip),
        cmocka_unit_test(strict_rejections),
    };
    return cmocka_run_group_tests_name("redis record codec", tests, NULL, NULL);
}
