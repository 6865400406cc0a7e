/*
 * lib/context/config_env.c - sticky_config_from_env(): the seed's SESSION_* variables
 * and their STICKY_SESSION_* aliases (which win), and a STICKY_* variable for
 * every other routing setting (policy, least_bad, cooldowns, breaker, ...),
 * all parsed strictly and applied all or nothing. One table row per setting.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "context/config_internal.h"
#include "util/log.h"
#include "util/struct_min_size.h"
#include "sticky/error.h"
#include "sticky/key.h"

/*
 * The table of variables. To add a setting, add one line: its variable
 * name (STICKY_<FIELD IN CAPITALS>), NULL for the alias (only the seed's
 * SESSION_* variables have one), the kind, the range, the sticky_config
 * field (CFG_U32 / CFG_INT) and the enum sticky_config_field that
 * config_validate() blames for it. docs/selection.md lists them.
 */
enum env_kind {
    ENV_UINT,     /* decimal in [min, max] */
    ENV_UINT_OFF, /* 0 (off), or decimal in [min, max] */
    ENV_BOOL,     /* true/false, 1/0, yes/no, on/off */
    ENV_POLICY,   /* lru | rendezvous | random */
    ENV_SOURCES   /* all | none | comma list of explicit-id source names */
};

struct env_setting {
    const char *name;  /* the variable (the seed's for SESSION_*) */
    const char *alias; /* STICKY_-prefixed alias that wins when set, or NULL */
    enum env_kind kind;
    uint32_t min, max;
    size_t offset;     /* of the field in sticky_config */
    int is_int;        /* the field is an int (else uint32_t) */
    enum sticky_config_field field;
};

#define CFG_U32(f) offsetof(sticky_config, f), 0
#define CFG_INT(f) offsetof(sticky_config, f), 1
#define SECONDS 0, STICKY_MAX_TTL_SECONDS

static const struct env_setting env_settings[] = {
    /* The seed's names first (used[0], used[1] name the TTL / threshold). */
    {"SESSION_TTL_SECONDS", "STICKY_SESSION_TTL_SECONDS", ENV_UINT, 1,
     STICKY_MAX_TTL_SECONDS, CFG_U32(ttl_seconds), STICKY_FIELD_TTL},
    {"SESSION_RENEW_THRESHOLD_SECONDS", "STICKY_SESSION_RENEW_THRESHOLD_SECONDS",
     ENV_UINT, SECONDS, CFG_U32(renew_threshold_seconds), STICKY_FIELD_RENEW_THRESHOLD},
    {"SESSION_MAX_CACHE_SIZE", "STICKY_SESSION_MAX_CACHE_SIZE", ENV_UINT, 1,
     STICKY_MAX_SESSIONS_LIMIT, CFG_U32(max_sessions), STICKY_FIELD_MAX_SESSIONS},
    {"SESSION_MESSAGE_COUNT", "STICKY_SESSION_MESSAGE_COUNT", ENV_UINT, 1,
     STICKY_MAX_MESSAGE_COUNT, CFG_U32(message_count), STICKY_FIELD_MESSAGE_COUNT},
    {"SESSION_INCLUDE_SYSTEM_PROMPT", "STICKY_SESSION_INCLUDE_SYSTEM_PROMPT",
     ENV_BOOL, 0, 1, CFG_INT(include_system_prompt), STICKY_FIELD_INCLUDE_SYSTEM},
    /* Session keys and selection (since 0.2.0): STICKY_ names only. */
    {"STICKY_EXPLICIT_SOURCES", NULL, ENV_SOURCES, 0, STICKY_EXPLICIT_ALL,
     CFG_U32(explicit_sources), STICKY_FIELD_SELECT},
    {"STICKY_POLICY", NULL, ENV_POLICY, STICKY_POLICY_LRU, STICKY_POLICY_RANDOM,
     CFG_INT(select_policy), STICKY_FIELD_SELECT},
    {"STICKY_MIGRATE_BETTER_TIER", NULL, ENV_BOOL, 0, 1, CFG_INT(migrate_better_tier),
     STICKY_FIELD_SELECT},
    {"STICKY_LEAST_BAD", NULL, ENV_BOOL, 0, 1, CFG_INT(least_bad), STICKY_FIELD_SELECT},
    {"STICKY_BOUNDED_LOAD_PERMILLE", NULL, ENV_UINT_OFF, 1000, 100000,
     CFG_U32(bounded_load_permille), STICKY_FIELD_SELECT},
    {"STICKY_COOLDOWN_429_SECONDS", NULL, ENV_UINT, SECONDS, CFG_U32(cooldown_429_seconds),
     STICKY_FIELD_SELECT},
    {"STICKY_RETRY_AFTER_CAP_SECONDS", NULL, ENV_UINT, SECONDS,
     CFG_U32(retry_after_cap_seconds), STICKY_FIELD_SELECT},
    {"STICKY_COOLDOWN_529_SECONDS", NULL, ENV_UINT, SECONDS, CFG_U32(cooldown_529_seconds),
     STICKY_FIELD_SELECT},
    {"STICKY_COOLDOWN_503_SECONDS", NULL, ENV_UINT, SECONDS, CFG_U32(cooldown_503_seconds),
     STICKY_FIELD_SELECT},
    {"STICKY_COOLDOWN_5XX_SECONDS", NULL, ENV_UINT, SECONDS, CFG_U32(cooldown_5xx_seconds),
     STICKY_FIELD_SELECT},
    {"STICKY_COOLDOWN_AUTH_SECONDS", NULL, ENV_UINT, SECONDS, CFG_U32(cooldown_auth_seconds),
     STICKY_FIELD_SELECT},
    {"STICKY_BREAKER_FAILURES", NULL, ENV_UINT, 0, 1000000, CFG_U32(breaker_failures),
     STICKY_FIELD_SELECT},
    {"STICKY_BREAKER_COOLDOWN_SECONDS", NULL, ENV_UINT, SECONDS,
     CFG_U32(breaker_cooldown_seconds), STICKY_FIELD_SELECT},
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

static void store_field(sticky_config *cfg, const struct env_setting *e, uint32_t v)
{
    char *at = (char *)cfg + e->offset;
    if (e->is_int) {
        int iv = (int)v; /* every int setting's max fits an int */
        memcpy(at, &iv, sizeof(iv));
    } else {
        memcpy(at, &v, sizeof(v));
    }
}

/* The explicit-id sources by name (enum sticky_explicit_source). */
static const struct {
    const char *name;
    uint32_t bit;
} source_names[] = {
    {"host", STICKY_EXPLICIT_HOST},
    {"claude_code_header", STICKY_EXPLICIT_CLAUDE_CODE_HEADER},
    {"metadata_user_id", STICKY_EXPLICIT_METADATA_USER_ID},
    {"prompt_cache_key", STICKY_EXPLICIT_PROMPT_CACHE_KEY},
    {"body_session_id", STICKY_EXPLICIT_BODY_SESSION_ID},
    {"body_conversation_id", STICKY_EXPLICIT_BODY_CONVERSATION_ID},
    {"session_id_header", STICKY_EXPLICIT_SESSION_ID_HEADER},
    {"x_session_id_header", STICKY_EXPLICIT_X_SESSION_ID_HEADER},
};

/* "all", "none", or names separated by commas (spaces allowed around
 * them); an empty item or an unknown name is an error. */
static int parse_sources(const char *s, uint32_t *out)
{
    const char *b, *e;
    trim(s, &b, &e);
    if (word_is(b, e, "all")) {
        *out = STICKY_EXPLICIT_ALL;
        return STICKY_OK;
    }
    if (word_is(b, e, "none")) {
        *out = 0;
        return STICKY_OK;
    }
    uint32_t bits = 0;
    while (b < e) {
        const char *comma = memchr(b, ',', (size_t)(e - b));
        const char *ie = comma != NULL ? comma : e, *ib = b;
        while (ib < ie && is_space(*ib))
            ib++;
        while (ie > ib && is_space(ie[-1]))
            ie--;
        size_t k = 0, n = sizeof(source_names) / sizeof(source_names[0]);
        while (k < n && !word_is(ib, ie, source_names[k].name))
            k++;
        if (k == n)
            return STICKY_ECONFIG;
        bits |= source_names[k].bit;
        if (comma == NULL)
            break;
        b = comma + 1;
        if (b == e)
            return STICKY_ECONFIG; /* a trailing comma */
    }
    if (bits == 0)
        return STICKY_ECONFIG;
    *out = bits;
    return STICKY_OK;
}

static int parse_policy(const char *s, uint32_t *out)
{
    const char *b, *e;
    trim(s, &b, &e);
    if (word_is(b, e, "lru"))
        *out = STICKY_POLICY_LRU;
    else if (word_is(b, e, "rendezvous"))
        *out = STICKY_POLICY_RENDEZVOUS;
    else if (word_is(b, e, "random"))
        *out = STICKY_POLICY_RANDOM;
    else
        return STICKY_ECONFIG;
    return STICKY_OK;
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
        const char *alias_val = s->alias != NULL ? getenv(s->alias) : NULL;
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
        char why[96];
        switch (s->kind) {
        case ENV_BOOL:
            if (parse_bool(val, &v) != STICKY_OK)
                return fail(&work, bad_var, var,
                            "expected true/false, 1/0, yes/no or on/off");
            break;
        case ENV_POLICY:
            if (parse_policy(val, &v) != STICKY_OK)
                return fail(&work, bad_var, var, "expected lru, rendezvous or random");
            break;
        case ENV_SOURCES:
            if (parse_sources(val, &v) != STICKY_OK)
                return fail(&work, bad_var, var,
                            "expected all, none or a comma list of explicit-id sources");
            break;
        case ENV_UINT_OFF:
            if (parse_uint(val, 0, 0, &v) == STICKY_OK)
                break; /* 0: off */
            /* fall through */
        case ENV_UINT:
            if (parse_uint(val, s->min, s->max, &v) != STICKY_OK) {
                snprintf(why, sizeof(why), "expected %sa decimal integer in [%u, %u]",
                         s->kind == ENV_UINT_OFF ? "0 or " : "", (unsigned)s->min,
                         (unsigned)s->max);
                return fail(&work, bad_var, var, why);
            }
            break;
        }
        store_field(&work, s, v);
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
