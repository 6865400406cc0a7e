/*
 * sticky/config.h - the caller-filled configuration of a libsticky context:
 * allocator, log callback, clock, the session settings (TTL, renewal
 * threshold, cache size, hashed message count, system prompt), session-key
 * options and the selection policy with its cooldowns.
 *
 * Usage:
 *     sticky_config cfg;
 *     sticky_config_init(&cfg);              // defaults, sets cfg.size
 *     cfg.ttl_seconds = 1800;                // override what you need
 *     sticky_config_from_env(&cfg, &bad);    // optional: environment wins
 */
#ifndef STICKY_CONFIG_H
#define STICKY_CONFIG_H

#include "common.h"

STICKY_BEGIN_DECLS

/* Session defaults (also the defaults of the SESSION_* environment variables). */
#define STICKY_DEFAULT_TTL_SECONDS 3600u
#define STICKY_DEFAULT_RENEW_THRESHOLD_SECONDS 300u
#define STICKY_DEFAULT_MAX_SESSIONS 10000u
#define STICKY_DEFAULT_MESSAGE_COUNT 3u

/* Accepted ranges (inclusive). */
#define STICKY_MAX_TTL_SECONDS 31536000u /* one year */
#define STICKY_MAX_SESSIONS_LIMIT 1000000000u
#define STICKY_MAX_MESSAGE_COUNT 32u
#define STICKY_MAX_KEY_SECRET_BYTES 1024u

/* New-session placement policies (docs/selection.md). */
enum sticky_policy {
    STICKY_POLICY_LRU = 0,        /* least recently used channel (default) */
    STICKY_POLICY_RENDEZVOUS = 1, /* weighted rendezvous hashing by key */
    STICKY_POLICY_RANDOM = 2      /* weighted random */
};

/* Selection defaults (seconds). */
#define STICKY_DEFAULT_COOLDOWN_429_SECONDS 60u
#define STICKY_DEFAULT_RETRY_AFTER_CAP_SECONDS 1800u
#define STICKY_DEFAULT_COOLDOWN_529_SECONDS 0u   /* isolated 529: none (0.2.0; was 600) */
#define STICKY_DEFAULT_COOLDOWN_503_SECONDS 30u  /* was 60 */
#define STICKY_DEFAULT_COOLDOWN_5XX_SECONDS 30u  /* was 300 */
#define STICKY_DEFAULT_COOLDOWN_AUTH_SECONDS 0u  /* 0 = until the host clears it
                                                  * (was 1800) */
#define STICKY_DEFAULT_BREAKER_FAILURES 5u       /* was 0 = off */
#define STICKY_DEFAULT_BREAKER_COOLDOWN_SECONDS 30u /* was 60 */

/* Log levels, most severe first. A callback receives levels <= log_level. */
enum sticky_log_level {
    STICKY_LOG_ERROR = 0,
    STICKY_LOG_WARN = 1,
    STICKY_LOG_INFO = 2,
    STICKY_LOG_DEBUG = 3
};

/*
 * Memory functions used for every allocation libsticky makes itself
 * (libcrypto's internal allocations are not routed through them). Either all
 * three are set or all three are NULL (then libc malloc/realloc/free).
 * This struct is frozen: it will never grow.
 */
typedef struct sticky_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} sticky_allocator;

/* Receives one formatted line (no trailing newline). May be called from any
 * thread that calls into the context; must not call back into it. */
typedef void (*sticky_log_fn)(int level, const char *message, void *user);

/* Returns the current time in milliseconds since the Unix epoch. Must be
 * safe to call from any thread. Tests inject a fake clock here. */
typedef int64_t (*sticky_clock_fn)(void *user);

/*
 * Caller-filled, size-prefixed: always start with sticky_config_init().
 * Fields are only ever appended. The library reads only the first `size`
 * bytes; fields beyond that take their defaults.
 */
typedef struct sticky_config {
    size_t size; /* set by sticky_config_init() to sizeof(sticky_config) */

    sticky_allocator allocator; /* default: all NULL = libc */

    sticky_log_fn log_fn; /* default NULL: silent */
    void *log_user;
    int log_level; /* enum sticky_log_level; default STICKY_LOG_INFO */

    sticky_clock_fn clock_fn; /* default NULL: CLOCK_REALTIME */
    void *clock_user;

    uint32_t ttl_seconds;             /* SESSION_TTL_SECONDS, 1..1 year, 3600 */
    uint32_t renew_threshold_seconds; /* SESSION_RENEW_THRESHOLD_SECONDS, 0..ttl, 300 */
    uint32_t max_sessions;            /* SESSION_MAX_CACHE_SIZE, 1..1e9, 10000 */
    uint32_t message_count;           /* SESSION_MESSAGE_COUNT, 1..32, 3 */
    int include_system_prompt;        /* SESSION_INCLUDE_SYSTEM_PROMPT, 0/1, 0 */

    /* Session keys (sticky/key.h). */
    uint32_t explicit_sources; /* STICKY_EXPLICIT_* bits honoured; default all */
    const void *key_secret;    /* deployment secret: keys become HMAC-SHA256; */
    size_t key_secret_len;     /* absorbed by sticky_ctx_new(), not kept; none */

    /* Selection (sticky/select.h, docs/selection.md). */
    int select_policy;          /* enum sticky_policy; default LRU */
    int migrate_better_tier;    /* move sessions to a strictly better priority
                                 * tier when one is usable; default 0 */
    int least_bad;              /* nothing usable: pick the channel that
                                 * recovers first instead of failing; 0 */
    uint32_t bounded_load_permille; /* new placements avoid channels above
                                 * factor x average in-flight; 1250 = 1.25;
                                 * 0 = off (default) */
    uint32_t cooldown_429_seconds;    /* 429 without reset / Retry-After: 60 */
    uint32_t retry_after_cap_seconds; /* longest honoured Retry-After: 1800 */
    uint32_t cooldown_529_seconds;    /* 529 overloaded, per family: 0 (an
                                       * isolated 529 cools nothing) */
    uint32_t cooldown_503_seconds;    /* 503: 30 */
    uint32_t cooldown_5xx_seconds;    /* other 5xx, timeouts, transport: 30 */
    uint32_t cooldown_auth_seconds;   /* 401 / 403: 0 = the channel stays in
                                       * the auth state until the host calls
                                       * sticky_ctx_clear_channel_health() */
    uint32_t breaker_failures;  /* consecutive 5xx / 529 / timeout / transport
                                 * failures (no success between) that open
                                 * the circuit breaker; 5; 0 = off */
    uint32_t breaker_cooldown_seconds; /* breaker open time: 30 */
} sticky_config;

/**
 * sticky_config_init_sized - fill @cfg with defaults and set cfg->size.
 *
 * Prefer the sticky_config_init() wrapper, which passes sizeof(*cfg) of the
 * header you compiled against. Bindings from other languages call this
 * directly with the size of their struct.
 *
 * @cfg: the struct to fill.
 * @size: the caller's sizeof(sticky_config).
 * Returns: 0; STICKY_EINVAL if @cfg is NULL; STICKY_EABI if @size is outside the
 *          accepted sizes (below the first-release size or above
 *          STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: safe from any thread (touches only @cfg).
 * Since: 0.1.0
 */
STICKY_API int sticky_config_init_sized(sticky_config *cfg, size_t size);

/* Fill @cfg with defaults; see sticky_config_init_sized(). Since: 0.1.0 */
static inline int sticky_config_init(sticky_config *cfg)
{
    return sticky_config_init_sized(cfg, sizeof(*cfg));
}

/**
 * sticky_config_from_env - override @cfg's session settings from the
 * environment.
 *
 * Reads SESSION_TTL_SECONDS, SESSION_RENEW_THRESHOLD_SECONDS,
 * SESSION_MAX_CACHE_SIZE, SESSION_MESSAGE_COUNT and
 * SESSION_INCLUDE_SYSTEM_PROMPT, and the same names prefixed with STICKY_
 * (e.g. STICKY_SESSION_TTL_SECONDS), which win when both are set. Since
 * 0.2.0 also one STICKY_ variable per routing setting: STICKY_POLICY
 * (lru, rendezvous, random), STICKY_LEAST_BAD, STICKY_MIGRATE_BETTER_TIER,
 * STICKY_BOUNDED_LOAD_PERMILLE (0 or 1000..100000),
 * STICKY_COOLDOWN_{429,529,503,5XX,AUTH}_SECONDS,
 * STICKY_RETRY_AFTER_CAP_SECONDS, STICKY_BREAKER_FAILURES,
 * STICKY_BREAKER_COOLDOWN_SECONDS and STICKY_EXPLICIT_SOURCES ("all",
 * "none" or a comma list: host, claude_code_header, metadata_user_id,
 * prompt_cache_key, body_session_id, body_conversation_id,
 * session_id_header, x_session_id_header); docs/selection.md,
 * "Environment variables". Integers are plain decimal digits; booleans
 * are true/false, 1/0, yes/no, on/off (any case); words any case. Unset
 * variables leave the field as it is.
 *
 * All or nothing: on error @cfg is left unchanged, the offending variable's
 * name is stored in *@bad_var (if @bad_var is not NULL) and logged through
 * cfg->log_fn at STICKY_LOG_ERROR.
 *
 * @cfg: an initialised config (cfg->size set).
 * @bad_var: optional; receives a static string naming the bad variable
 *           (or the sticky_config field name, e.g. "max_sessions", when the
 *           bad value was already in @cfg), or NULL on success.
 * Returns: 0; STICKY_ECONFIG if a value is empty, malformed or out of range,
 *          or the result is inconsistent (threshold above TTL);
 *          STICKY_EINVAL if @cfg is NULL; STICKY_EABI if cfg->size is not
 *          understood.
 * Thread-safety: reads the process environment with getenv(); do not call
 *          while another thread modifies the environment.
 * Since: 0.1.0
 */
STICKY_API int sticky_config_from_env(sticky_config *cfg, const char **bad_var);

STICKY_END_DECLS

#endif /* STICKY_CONFIG_H */
