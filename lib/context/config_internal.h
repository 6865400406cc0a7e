/*
 * lib/context/config_internal.h - config defaults and validation shared by
 * sticky_config_init(), sticky_config_from_env() and sticky_ctx_new().
 */
#ifndef STICKY_CONFIG_INTERNAL_H
#define STICKY_CONFIG_INTERNAL_H

#include "sticky/config.h"

/* Settings that can be wrong; used to name the culprit in errors. */
enum sticky_config_field {
    STICKY_FIELD_NONE = 0,
    STICKY_FIELD_ALLOCATOR,
    STICKY_FIELD_LOG_LEVEL,
    STICKY_FIELD_TTL,
    STICKY_FIELD_RENEW_THRESHOLD,
    STICKY_FIELD_MAX_SESSIONS,
    STICKY_FIELD_MESSAGE_COUNT,
    STICKY_FIELD_INCLUDE_SYSTEM,
    STICKY_FIELD_KEY_SECRET,
    STICKY_FIELD_SELECT
};

/* Fill a full-size struct with the defaults (size = sizeof(sticky_config)). */
void config_defaults(sticky_config *cfg);

/* The field's name as written in sticky_config, e.g. "ttl_seconds". */
const char *config_field_name(enum sticky_config_field field);

/*
 * Check a full-size config. Returns 0, or STICKY_EINVAL (half-set allocator)
 * / STICKY_ECONFIG (value out of range or inconsistent) with *bad_field set.
 */
int config_validate(const sticky_config *cfg,
                           enum sticky_config_field *bad_field);

/*
 * Read a caller's size-prefixed config into a full-size struct, defaulting
 * what the caller's size does not cover. Returns 0, STICKY_EINVAL or STICKY_EABI.
 */
int config_read(sticky_config *full, const sticky_config *caller);

#endif /* STICKY_CONFIG_INTERNAL_H */
