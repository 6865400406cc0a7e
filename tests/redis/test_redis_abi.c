/*
 * tests/redis/test_redis_abi.c - sticky_redis_store_struct_size(): the
 * sizes of libsticky-redis's public structs for bindings, by their pinned,
 * append-only ids; unknown ids answer 0. No server needed (suite unit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sticky/redis_async.h>
#include <sticky/redis_store.h>
#include <sticky/sticky.h>

_Static_assert(STICKY_REDIS_STORE_STRUCT_OPTIONS == 1 &&
               STICKY_REDIS_STORE_STRUCT_STATS == 2 && STICKY_REDIS_STORE_STRUCT_LOOP == 3,
               "enum sticky_redis_store_struct_id");

static void struct_sizes(void **state)
{
    (void)state;
    assert_int_equal(sticky_redis_store_struct_size(STICKY_REDIS_STORE_STRUCT_OPTIONS),
                     sizeof(sticky_redis_store_options));
    assert_int_equal(sticky_redis_store_struct_size(STICKY_REDIS_STORE_STRUCT_STATS),
                     sizeof(sticky_redis_store_stats));
    assert_int_equal(sticky_redis_store_struct_size(0), 0);
    assert_int_equal(sticky_redis_store_struct_size(-1), 0);
    assert_int_equal(sticky_redis_store_struct_size(STICKY_REDIS_STORE_STRUCT_LOOP),
                     sizeof(sticky_redis_loop));
    assert_int_equal(sticky_redis_store_struct_size(4), 0);
    assert_int_equal(sticky_redis_store_struct_size(INT32_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(struct_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
