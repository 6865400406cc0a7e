/*
 * lib/context/config.c - sticky_config defaults, size-aware initialisation and
 * validation of ranges and consistency.
 */
#include <string.h>

#include "context/config_internal.h"
#include "util/struct_min_size.h"
#include "sticky/error.h"

void config_defaults(sticky_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->log_level = STICKY_LOG_INFO;
    cfg->ttl_seconds = STICKY_DEFAULT_TTL_SECONDS;
    cfg->renew_threshold_seconds = STICKY_DEFAULT_RENEW_THRESHOLD_SECONDS;
    cfg->max_sessions = STICKY_DEFAULT_MAX_SESSIONS;
    cfg->message_count = STICKY_DEFAULT_MESSAGE_COUNT;
    cfg->include_system_prompt = 0;
    cfg->explicit_sources = 0xffu; /* STICKY_EXPLICIT_ALL */
    cfg->select_policy = STICKY_POLICY_LRU;
    cfg->cooldown_429_seconds = STICKY_DEFAULT_COOLDOWN_429_SECONDS;
    cfg->retry_after_cap_seconds = STICKY_DEFAULT_RETRY_AFTER_CAP_SECONDS;
    cfg->cooldown_529_seconds = STICKY_DEFAULT_COOLDOWN_529_SECONDS;
    cfg->cooldown_503_seconds = STICKY_DEFAULT_COOLDOWN_503_SECONDS;
    cfg->cooldown_5xx_seconds = STICKY_DEFAULT_COOLDOWN_5XX_SECONDS;
    cfg->cooldown_auth_seconds = STICKY_DEFAULT_COOLDOWN_AUTH_SECONDS;
    cfg->breaker_failures = STICKY_DEFAULT_BREAKER_FAILURES;
    cfg->breaker_cooldown_seconds = STICKY_DEFAULT_BREAKER_COOLDOWN_SECONDS;
}

STICKY_API int sticky_config_init_sized(sticky_config *cfg, size_t size)
{
    sticky_config defaults;
    config_defaults(&defaults);
    return struct_init_defaults(cfg, size, CONFIG_MIN_SIZE, &defaults, sizeof(defaults));
}

const char *config_field_name(enum sticky_config_field field)
{
    switch (field) {
    case STICKY_FIELD_ALLOCATOR: return "allocator";
    case STICKY_FIELD_LOG_LEVEL: return "log_level";
    case STICKY_FIELD_TTL: return "ttl_seconds";
    case STICKY_FIELD_RENEW_THRESHOLD: return "renew_threshold_seconds";
    case STICKY_FIELD_MAX_SESSIONS: return "max_sessions";
    case STICKY_FIELD_MESSAGE_COUNT: return "message_count";
    case STICKY_FIELD_INCLUDE_SYSTEM: return "include_system_prompt";
    case STICKY_FIELD_KEY_SECRET: return "key_secret";
    case STICKY_FIELD_SELECT: return "select_policy / selection options";
    case STICKY_FIELD_NONE: break;
    }
    return "none";
}

int config_validate(const sticky_config *cfg,
                           enum sticky_config_field *bad_field)
{
    enum sticky_config_field bad = STICKY_FIELD_NONE;
    int rc = STICKY_ECONFIG;
    const sticky_allocator *a = &cfg->allocator;
    int n_alloc = (a->malloc_fn != NULL) + (a->realloc_fn != NULL) +
                  (a->free_fn != NULL);

    if (n_alloc != 0 && n_alloc != 3) {
        bad = STICKY_FIELD_ALLOCATOR;
        rc = STICKY_EINVAL;
    } else if (cfg->log_level < STICKY_LOG_ERROR ||
               cfg->log_level > STICKY_LOG_DEBUG) {
        bad = STICKY_FIELD_LOG_LEVEL;
    } else if (cfg->ttl_seconds < 1 ||
               cfg->ttl_seconds > STICKY_MAX_TTL_SECONDS) {
        bad = STICKY_FIELD_TTL;
    } else if (cfg->renew_threshold_seconds > cfg->ttl_seconds) {
        bad = STICKY_FIELD_RENEW_THRESHOLD;
    } else if (cfg->max_sessions < 1 ||
               cfg->max_sessions > STICKY_MAX_SESSIONS_LIMIT) {
        bad = STICKY_FIELD_MAX_SESSIONS;
    } else if (cfg->message_count < 1 ||
               cfg->message_count > STICKY_MAX_MESSAGE_COUNT) {
        bad = STICKY_FIELD_MESSAGE_COUNT;
    } else if (cfg->include_system_prompt != 0 &&
               cfg->include_system_prompt != 1) {
        bad = STICKY_FIELD_INCLUDE_SYSTEM;
    } else if ((cfg->key_secret == NULL && cfg->key_secret_len != 0) ||
               cfg->key_secret_len > STICKY_MAX_KEY_SECRET_BYTES) {
        bad = STICKY_FIELD_KEY_SECRET;
    } else if (cfg->select_policy < STICKY_POLICY_LRU ||
               cfg->select_policy > STICKY_POLICY_RANDOM ||
               (cfg->migrate_better_tier != 0 && cfg->migrate_better_tier != 1) ||
               (cfg->least_bad != 0 && cfg->least_bad != 1) ||
               (cfg->bounded_load_permille != 0 && cfg->bounded_load_permille < 1000) ||
               cfg->bounded_load_permille > 100000 ||
               cfg->retry_after_cap_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->cooldown_429_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->cooldown_529_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->cooldown_503_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->cooldown_5xx_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->cooldown_auth_seconds > STICKY_MAX_TTL_SECONDS ||
               cfg->breaker_cooldown_seconds > STICKY_MAX_TTL_SECONDS) {
        bad = STICKY_FIELD_SELECT;
    }
    if (bad_field != NULL)
        *bad_field = bad;
    return bad == STICKY_FIELD_NONE ? STICKY_OK : rc;
}

int config_read(sticky_config *full, const sticky_config *caller)
{
    config_defaults(full);
    if (caller == NULL)
        return STICKY_OK;
    return struct_copy_in(full, sizeof(*full), caller, CONFIG_MIN_SIZE, NULL);
}
