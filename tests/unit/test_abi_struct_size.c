/*
 * tests/unit/test_abi_struct_size.c - sticky_struct_size() (sticky/abi.h),
 * what a language binding asks at load time: for every id the library
 * answers the sizeof this test sees through the headers, unknown ids
 * answer 0, and the id values are pinned (append-only, like every public
 * enum; see docs/ABI.md, "For binding authors").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sticky/sticky.h>

/* The ids are ABI: never renumbered, never reused. */
_Static_assert(STICKY_STRUCT_CONFIG == 1 && STICKY_STRUCT_ALLOCATOR == 2 &&
               STICKY_STRUCT_MAPPING == 3 && STICKY_STRUCT_STORE_STATS == 4 &&
               STICKY_STRUCT_STORE_VTABLE == 5 &&
               STICKY_STRUCT_MEMORY_STORE_OPTIONS == 6 &&
               STICKY_STRUCT_CHANNEL == 7 && STICKY_STRUCT_REQUEST == 8 &&
               STICKY_STRUCT_DECISION == 9 && STICKY_STRUCT_OUTCOME == 10 &&
               STICKY_STRUCT_CTX_STATS == 11 && STICKY_STRUCT_KEY_CHAIN == 12 &&
               STICKY_STRUCT_PART == 13 && STICKY_STRUCT_MESSAGE == 14 &&
               STICKY_STRUCT_HEADER == 15 && STICKY_STRUCT_CHANNEL_HEALTH == 16 &&
               STICKY_STRUCT_SHM_OPTIONS == 17 && STICKY_STRUCT_SHM_STATS == 18 &&
               STICKY_STRUCT_HEALTH_EVENT == 19,
               "enum sticky_struct_id");

struct expect {
    int id;
    const char *name;
    size_t size;
};

#define E(id, type) {id, #type, sizeof(type)}
static const struct expect all[] = {
    E(STICKY_STRUCT_CONFIG, sticky_config),
    E(STICKY_STRUCT_ALLOCATOR, sticky_allocator),
    E(STICKY_STRUCT_MAPPING, sticky_mapping),
    E(STICKY_STRUCT_STORE_STATS, sticky_store_stats),
    E(STICKY_STRUCT_STORE_VTABLE, sticky_store_vtable),
    E(STICKY_STRUCT_MEMORY_STORE_OPTIONS, sticky_memory_store_options),
    E(STICKY_STRUCT_CHANNEL, sticky_channel),
    E(STICKY_STRUCT_REQUEST, sticky_request),
    E(STICKY_STRUCT_DECISION, sticky_decision),
    E(STICKY_STRUCT_OUTCOME, sticky_outcome),
    E(STICKY_STRUCT_CTX_STATS, sticky_ctx_stats),
    E(STICKY_STRUCT_KEY_CHAIN, sticky_key_chain),
    E(STICKY_STRUCT_PART, sticky_part),
    E(STICKY_STRUCT_MESSAGE, sticky_message),
    E(STICKY_STRUCT_HEADER, sticky_header),
    E(STICKY_STRUCT_CHANNEL_HEALTH, sticky_channel_health),
    E(STICKY_STRUCT_SHM_OPTIONS, sticky_shm_options),
    E(STICKY_STRUCT_SHM_STATS, sticky_shm_stats),
    E(STICKY_STRUCT_HEALTH_EVENT, sticky_health_event),
};
#undef E
#define N_IDS (sizeof(all) / sizeof(all[0]))

/* Every id answers the size the headers give this test. */
static void test_every_id_matches_headers(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_IDS; i++) {
        size_t got = sticky_struct_size(all[i].id);
        if (got != all[i].size)
            fail_msg("%s (id %d): library says %zu, headers say %zu", all[i].name,
                     all[i].id, got, all[i].size);
        assert_true(got >= sizeof(void *)); /* no struct is empty */
    }
}

/* The table above covers every id from 1 to the last one, each once. */
static void test_ids_dense_and_covered(void **state)
{
    (void)state;
    assert_int_equal(N_IDS, STICKY_STRUCT_HEALTH_EVENT);
    int seen[N_IDS + 1] = {0};
    for (size_t i = 0; i < N_IDS; i++) {
        assert_in_range(all[i].id, 1, (int)N_IDS);
        assert_int_equal(seen[all[i].id]++, 0);
    }
}

/* Unknown ids (0, negative, retired or from a newer header) answer 0. */
static void test_unknown_ids(void **state)
{
    (void)state;
    assert_int_equal(sticky_struct_size(0), 0);
    assert_int_equal(sticky_struct_size(-1), 0);
    assert_int_equal(sticky_struct_size(STICKY_STRUCT_HEALTH_EVENT + 1), 0);
    assert_int_equal(sticky_struct_size(1000), 0);
    assert_int_equal(sticky_struct_size(INT32_MIN), 0);
    assert_int_equal(sticky_struct_size(INT32_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_id_matches_headers),
        cmocka_unit_test(test_ids_dense_and_covered),
        cmocka_unit_test(test_unknown_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
