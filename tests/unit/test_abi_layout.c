/*
 * tests/unit/test_abi_layout.c - compile-time pins of what abidiff cannot
 * see: enum values (functions take them as int) and the rule that public
 * size-prefixed structs end without tail padding (so a field appended later
 * always grows sizeof and an unknown non-zero tail is always detected).
 * Changing any of these is an ABI change: see docs/ABI.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sticky/sticky.h>

#define END_OF(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

_Static_assert(STICKY_OK == 0, "enum sticky_err");
_Static_assert(STICKY_EINVAL == -1, "enum sticky_err");
_Static_assert(STICKY_ENOMEM == -2, "enum sticky_err");
_Static_assert(STICKY_EPARSE == -3, "enum sticky_err");
_Static_assert(STICKY_ENOTFOUND == -4, "enum sticky_err");
_Static_assert(STICKY_EEXIST == -5, "enum sticky_err");
_Static_assert(STICKY_ESTORE == -6, "enum sticky_err");
_Static_assert(STICKY_ENOCHANNEL == -7, "enum sticky_err");
_Static_assert(STICKY_EABI == -8, "enum sticky_err");
_Static_assert(STICKY_EBUSY == -9, "enum sticky_err");
_Static_assert(STICKY_ECONFIG == -10, "enum sticky_err");
_Static_assert(STICKY_ECRYPTO == -11, "enum sticky_err");
_Static_assert(STICKY_ELIMIT == -12, "enum sticky_err");

_Static_assert(STICKY_LOG_ERROR == 0 && STICKY_LOG_WARN == 1 &&
               STICKY_LOG_INFO == 2 && STICKY_LOG_DEBUG == 3, "log levels");

_Static_assert(STICKY_FORMAT_AUTO == 0 && STICKY_FORMAT_ANTHROPIC == 1 &&
               STICKY_FORMAT_OPENAI_CHAT == 2 &&
               STICKY_FORMAT_OPENAI_RESPONSES == 3 &&
               STICKY_FORMAT_STRUCTURED == 4, "body formats");
_Static_assert(STICKY_KEY_SOURCE_NONE == 0 && STICKY_KEY_SOURCE_CONTENT == 1 &&
               STICKY_KEY_SOURCE_EXPLICIT == 2, "key sources");
_Static_assert(STICKY_EXPLICIT_HOST == 1 && STICKY_EXPLICIT_CLAUDE_CODE_HEADER == 2 &&
               STICKY_EXPLICIT_METADATA_USER_ID == 4 &&
               STICKY_EXPLICIT_PROMPT_CACHE_KEY == 8 &&
               STICKY_EXPLICIT_BODY_SESSION_ID == 16 &&
               STICKY_EXPLICIT_BODY_CONVERSATION_ID == 32 &&
               STICKY_EXPLICIT_SESSION_ID_HEADER == 64 &&
               STICKY_EXPLICIT_X_SESSION_ID_HEADER == 128 &&
               STICKY_EXPLICIT_ALL == 0xff, "explicit sources");
_Static_assert(STICKY_PART_TEXT == 1 && STICKY_PART_IMAGE == 2 &&
               STICKY_PART_DOCUMENT == 3 && STICKY_PART_TOOL_USE == 4 &&
               STICKY_PART_TOOL_RESULT == 5 && STICKY_PART_THINKING == 6,
               "part types");
_Static_assert(STICKY_MAX_MESSAGE_COUNT == 32, "chain bound");

_Static_assert(STICKY_CHANNEL_ACTIVE == 0 && STICKY_CHANNEL_DISABLED == 1 &&
               STICKY_CHANNEL_DRAINING == 2, "channel states");
_Static_assert(STICKY_SELECT_STRICT == 1, "select flags");
_Static_assert(STICKY_REASON_NONE == 0 && STICKY_REASON_HIT == 1 &&
               STICKY_REASON_PROMOTED_HIT == 2 && STICKY_REASON_NEW == 3 &&
               STICKY_REASON_FAILOVER == 4 && STICKY_REASON_SPILL == 5 &&
               STICKY_REASON_EXPLICIT_HIT == 6 && STICKY_REASON_NO_CHANNEL == 7 &&
               STICKY_REASON_MIGRATED == 8 && STICKY_REASON_SIDE == 9, "reasons");
_Static_assert(STICKY_HEALTH_OK == 0 && STICKY_HEALTH_COOLING == 1 &&
                   STICKY_HEALTH_RATE_LIMITED == 2 && STICKY_HEALTH_AUTH == 3,
               "health states");
_Static_assert(STICKY_CAUSE_NONE == 0 && STICKY_CAUSE_RATE_LIMIT == 1 &&
                   STICKY_CAUSE_RATE_LIMIT_GUESS == 2 && STICKY_CAUSE_OVERLOADED == 3 &&
                   STICKY_CAUSE_SERVER == 4 && STICKY_CAUSE_TIMEOUT == 5 &&
                   STICKY_CAUSE_AUTH == 6 && STICKY_CAUSE_BREAKER == 7,
               "health causes");
_Static_assert(STICKY_MODEL_FAMILY_ALL == 0 && STICKY_MODEL_FAMILY_OPUS == 1 &&
               STICKY_MODEL_FAMILY_SONNET == 2 && STICKY_MODEL_FAMILY_HAIKU == 3 &&
               STICKY_MODEL_FAMILY_OTHER == 4, "model families");
_Static_assert(STICKY_ABSENT == -1, "absent outcome fields");
_Static_assert(STICKY_MAX_STRUCT_SIZE == 4096, "largest accepted struct size");
_Static_assert(STICKY_OUTCOME_HTTP == 0 && STICKY_OUTCOME_TIMEOUT == 1 &&
               STICKY_OUTCOME_TRANSPORT == 2, "outcome kinds");
_Static_assert(STICKY_POLICY_LRU == 0 && STICKY_POLICY_RENDEZVOUS == 1 &&
               STICKY_POLICY_RANDOM == 2, "policies");
_Static_assert(STICKY_RENEW_THRESHOLD == 0 && STICKY_RENEW_SLIDING == 1, "renew modes");
_Static_assert(STICKY_STORE_IF_ABSENT == 1 && STICKY_STORE_PEEK == 2 &&
               STICKY_STORE_CAP_THREAD_SAFE == 1 && STICKY_STORE_CAP_NONBLOCKING == 2 &&
               STICKY_STORE_VTABLE_VERSION == 3,
               "store flags");

/* No tail padding in size-prefixed structs. */
_Static_assert(sizeof(sticky_config) == END_OF(sticky_config, breaker_cooldown_seconds),
               "sticky_config has tail padding");
_Static_assert(sizeof(sticky_request) == END_OF(sticky_request, session_id_len),
               "sticky_request has tail padding");
_Static_assert(sizeof(sticky_key_chain) == END_OF(sticky_key_chain, keys),
               "sticky_key_chain has tail padding");
_Static_assert(sizeof(sticky_mapping) == END_OF(sticky_mapping, expires_ms),
               "sticky_mapping has tail padding");
_Static_assert(sizeof(sticky_store_stats) == END_OF(sticky_store_stats, deletes),
               "sticky_store_stats has tail padding");
_Static_assert(sizeof(sticky_memory_store_options) ==
                   END_OF(sticky_memory_store_options, sweep_on_write),
               "sticky_memory_store_options has tail padding");
_Static_assert(sizeof(sticky_channel) == END_OF(sticky_channel, max_inflight),
               "sticky_channel has tail padding");
_Static_assert(sizeof(sticky_decision) == END_OF(sticky_decision, model),
               "sticky_decision has tail padding");
_Static_assert(sizeof(sticky_outcome) == END_OF(sticky_outcome, n_headers),
               "sticky_outcome has tail padding");
_Static_assert(sizeof(sticky_ctx_stats) == END_OF(sticky_ctx_stats, tenant_mismatches),
               "sticky_ctx_stats has tail padding");
_Static_assert(sizeof(sticky_channel_health) == END_OF(sticky_channel_health, failures),
               "sticky_channel_health has tail padding");
_Static_assert(sizeof(sticky_health_event) == END_OF(sticky_health_event, at_ms),
               "sticky_health_event has tail padding");
_Static_assert(STICKY_HEALTH_CLEARED == INT64_MIN, "a clear's until_ms");
/* Version-1 methods keep their places; version 2 appends after destroy. */
_Static_assert(offsetof(sticky_store_vtable, health_publish) >
                   offsetof(sticky_store_vtable, destroy) &&
               offsetof(sticky_store_vtable, health_poll) >
                   offsetof(sticky_store_vtable, health_publish),
               "vtable version 2 is appended");
/* Version 3 appends after health_poll, in this order. */
_Static_assert(offsetof(sticky_store_vtable, lookup_async) >
                   offsetof(sticky_store_vtable, health_poll) &&
               offsetof(sticky_store_vtable, put_async) >
                   offsetof(sticky_store_vtable, lookup_async) &&
               offsetof(sticky_store_vtable, health_publish_async) >
                   offsetof(sticky_store_vtable, put_async) &&
               offsetof(sticky_store_vtable, cancel) >
                   offsetof(sticky_store_vtable, health_publish_async),
               "vtable version 3 is appended");
_Static_assert(STICKY_EINPROGRESS == -14 && STICKY_EWOULDBLOCK == -15,
               "async error codes");

static void test_layout_pins_compile(void **state)
{
    (void)state;
    /* The checks above are compile-time; this records the sizes in the log. */
    print_message("sizeof config=%zu request=%zu key_chain=%zu part=%zu\n",
                  sizeof(sticky_config), sizeof(sticky_request),
                  sizeof(sticky_key_chain), sizeof(sticky_part));
    assert_true(sizeof(sticky_config) % sizeof(void *) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_pins_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
