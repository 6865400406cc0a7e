/*
 * lib/context/config_env.c - sticky_config_from_env(): the seed's SESSION_* variables
 * and their STICKY_SESSION_* aliases (which win), parsed strictly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "context/config_internal.h"
#include "util/log.h"
#include "util/struct_min_size.h"
#include "sticky/error.h"

enum env_kind { ENV_UINT, ENV_BOOL };

struct env_setting {
    const char *name;  /* the seed's variable */
    const char *alias; /* STICKY_-prefixed, wins when set */
    enum env_kind kind;
    uint32_t min, max;
    enum sticky_config_field field;
};

static const struct env_setting env_settings[] = {
    {"SESSION_TTL_SECONDS", "STICKY_SESSION_TTL_SECONDS", ENV_UINT, 1,
     STICKY_MAX_TTL_SECONDS, STICKY_FIELD_TTL},
    {"SESSION_RENEW_THRESHOLD_SECONDS", "STICKY_SESSION_RENEW_THRESHOLD_SECONDS",
     ENV_UINT, 0, STICKY_MAX_TTL_SECONDS, STICKY_FIELD_RENEW_THRESHOLD},
    {"SESSION_MAX_CACHE_SIZE", "STICKY_SESSION_MAX_CACHE_SIZE", ENV_UINT, 1,
     STICKY_MAX_SESSIONS_LIMIT, STICKY_FIELD_MAX_SESSIONS},
    {"SESSION_MESSAGE_COUNT", "STICKY_SESSION_MESSAGE_COUNT", ENV_UINT, 1,
     STICKY_MAX_MESSAGE_COUNT, STICKY_FIELD_MESSAGE_COUNT},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", "STICKY_SESSION_INCLUDE_SYSTEM_PROMPT",
     ENV_BOOL, 0, 1, STICKY_FIELD_INCLUDE_SYSTEM},
};

#define N_SETTINGS (sizeof(env_settings) / sizeof(env_settings[0]))

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trim ASCII whitespace: [*start, *end) is what remains. */
static void trim(const char *s, const char **start, const char **end)
{
    const char *b = s, *e = s + strlen(s);
    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    *start = b;
    *end = e;
}

/* Plain decimal digits only; no sign, no overflow, within [min, max]. */
static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    const char *b, *e;
    trim(s, &b, &e);
    if (b == e)
        return STICKY_ECONFIG;
    uint64_t v = 0;
    for (const char *p = b; p < e; p++) {
        if (*p < '0' || *p > '9')
            return STICKY_ECONFIG;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return STICKY_ECONFIG;
    }
    if (v < min)
        return STICKY_ECONFIG;
    *out = (uint32_t)v;
    return STICKY_OK;
}

static int word_is(const char *b, const char *e, const char *word)
{
    size_t n = (size_t)(e - b);
    return strlen(word) == n && strncasecmp(b, word, n) == 0;
}

static int parse_bool(const char *s, uint32_t *out)
{
    const char *b, *e;
    trim(s, &b, &e);
    if (word_is(b, e, "1") || word_is(b, e, "true") || word_is(b, e, "yes") ||
        word_is(b, e, "on")) {
        *out = 1;
        return STICKY_OK;
    }
    if (word_is(b, e, "0") || word_is(b, e, "false") || word_is(b, e, "no") ||
        word_is(b, e, "off")) {
        *out = 0;
        return STICKY_OK;
    }
    return STICKY_ECONFIG;
}

static void store_field(sticky_config *cfg, enum sticky_config_field f,
                        uint32_t v)
{
    switch (f) {
    case STICKY_FIELD_TTL: cfg->ttl_seconds = v; break;
    case STICKY_FIELD_RENEW_THRESHOLD: cfg->renew_threshold_seconds = v; break;
    case STICKY_FIELD_MAX_SESSIONS: cfg->max_sessions = v; break;
    case STICKY_FIELD_MESSAGE_COUNT: cfg->message_count = v; break;
    case STICKY_FIELD_INCLUDE_SYSTEM: cfg->include_system_prompt = (int)v; break;
    default: break;
    }
}

/* The variable that set @field, or the field's name when the bad value
 * came from the caller's struct rather than the environment. */
static const char *var_for_field(const char *const *used,
                                 enum sticky_config_field f)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (env_settings[i].field == f && used[i] != NULL)
            return used[i];
    }
    return config_field_name(f);
}

static int fail(const sticky_config *cfg, const char **bad_var,
                const char *var, const char *why)
{
    if (bad_var != NULL)
        *bad_var = var;
    log_cfg(cfg, STICKY_LOG_ERROR, "config: %s: %s", var, why);
    return STICKY_ECONFIG;
}

STICKY_API int sticky_config_from_env(sticky_config *cfg, const char **bad_var)
{
    if (bad_var != NULL)
        *bad_var = NULL;
    if (cfg == NULL)
        return STICKY_EINVAL;
    sticky_config work;
    int rc = config_read(&work, cfg);
    if (rc != STICKY_OK)
        return rc;

    const char *used[N_SETTINGS] = {0};
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct env_setting *s = &env_settings[i];
        const char *alias_val = getenv(s->alias);
        const char *name_val = getenv(s->name);
        const char *var = alias_val != NULL ? s->alias : s->name;
        const char *val = alias_val != NULL ? alias_val : name_val;
        if (val == NULL)
            continue;
        if (alias_val != NULL && name_val != NULL &&
            strcmp(alias_val, name_val) != 0)
            log_cfg(&work, STICKY_LOG_WARN,
                           "config: %s is shadowed by %s", s->name, s->alias);
        uint32_t v = 0;
        if (s->kind == ENV_BOOL) {
            if (parse_bool(val, &v) != STICKY_OK)
                return fail(&work, bad_var, var,
                            "expected true/false, 1/0, yes/no or on/off");
        } else if (parse_uint(val, s->min, s->max, &v) != STICKY_OK) {
            char why[96];
            snprintf(why, sizeof(why),
                     "expected a decimal integer in [%u, %u]",
                     (unsigned)s->min, (unsigned)s->max);
            return fail(&work, bad_var, var, why);
        }
        store_field(&work, s->field, v);
        used[i] = var;
    }

    enum sticky_config_field bad;
    rc = config_validate(&work, &bad);
    if (rc == STICKY_ECONFIG) {
        /* Only ranges already checked above or cross-field rules remain. */
        if (bad == STICKY_FIELD_RENEW_THRESHOLD) {
            /* Blame the variable that was set: the threshold, else the TTL. */
            const char *var = used[1] != NULL   ? used[1]
                              : used[0] != NULL ? used[0]
                                                : config_field_name(bad);
            return fail(&work, bad_var, var,
                        "renew threshold is larger than the TTL");
        }
        return fail(&work, bad_var, var_for_field(used, bad),
                    "value out of range");
    }
    if (rc != STICKY_OK)
        return rc;
    struct_copy_out(cfg, cfg->size, &work, sizeof(work));
    return STICKY_OK;
}
