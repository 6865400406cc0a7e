/*
 * tests/redis/test_redis_abi.c - sticky_redis_store_struct_size(): the
 * sizes of libsticky-redis's public structs for bindings, by their pinned,
 * append-only ids; unknown ids answer 0. And sticky_redis_store_new_loop()
 * refusing a bad loop description with a clear code (nothing is connected
 * at creation). No server needed (suite unit).
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

static int l_attach(void *loop, void *ac)
{
    (void)loop, (void)ac;
    return -1;
}
static int l_init(void *loop, void *timer, void (*fire)(void *), void *arg)
{
    (void)loop, (void)timer, (void)fire, (void)arg;
    return 0;
}
static void l_start(void *timer, uint64_t ms)
{
    (void)timer, (void)ms;
}
static void l_stop(void *timer)
{
    (void)timer;
}
static void l_close(void *timer, void (*closed)(void *), void *arg)
{
    (void)timer;
    closed(arg);
}

static void bad_loop_descriptions(void **state)
{
    (void)state;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    int loop = 0;
    sticky_store *st = (sticky_store *)&loop;
    const sticky_redis_loop good = {1, "test", l_attach, 16, l_init, l_start, l_stop, l_close};
    sticky_redis_loop v = good;
    v.version = 0;
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &v, &loop, &st), STICKY_EABI);
    assert_null(st);
    v = good;
    v.timer_size = 0;
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &v, &loop, &st), STICKY_EINVAL);
    v = good;
    v.timer_close = NULL;
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &v, &loop, &st), STICKY_EINVAL);
    v = good;
    v.attach = NULL;
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &v, &loop, &st), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &good, NULL, &st), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, NULL, &loop, &st), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_new_loop(NULL, NULL, &good, &loop, &st), STICKY_EINVAL);
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &good, &loop, NULL), STICKY_EINVAL);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.port = 0;
    assert_int_equal(sticky_redis_store_new_loop(ctx, &o, &good, &loop, &st), STICKY_ECONFIG);
    /* A good description makes a store without touching the loop. */
    assert_int_equal(sticky_redis_store_new_loop(ctx, NULL, &good, &loop, &st), STICKY_OK);
    assert_int_equal(sticky_store_nonblocking(st), 1);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(struct_sizes),
        cmocka_unit_test(bad_loop_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
