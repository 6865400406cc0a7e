"""sticky._ffi - the C declarations libsticky's Python package uses, and
the loading of the shared library with a layout check.

cffi in ABI mode (dlopen): nothing is compiled at install time, so the
package installs with pip from a directory with only Debian's python3-cffi.
The declarations below mirror the public headers; at load time every
struct's size is compared with sticky_struct_size() of the library that
was loaded, and the library's version with the one this package was
written for, so a mismatch is a clear ImportError, not memory corruption.
"""
import ctypes.util
import os
import subprocess

from cffi import FFI

# The library version this package was written for (major.minor must match).
ABI_VERSION = (0, 5)

CDEF = """
typedef struct sticky_ctx sticky_ctx;
typedef struct sticky_store sticky_store;

typedef struct sticky_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} sticky_allocator;

typedef void (*sticky_log_fn)(int level, const char *msg, void *user);
typedef int64_t (*sticky_clock_fn)(void *user);

typedef struct sticky_config {
    size_t size;
    sticky_allocator allocator;
    sticky_log_fn log_fn;
    void *log_user;
    int log_level;
    sticky_clock_fn clock_fn;
    void *clock_user;
    uint32_t ttl_seconds;
    uint32_t renew_threshold_seconds;
    uint32_t max_sessions;
    uint32_t message_count;
    int include_system_prompt;
    uint32_t explicit_sources;
    const void *key_secret;
    size_t key_secret_len;
    int select_policy;
    int migrate_better_tier;
    int least_bad;
    uint32_t bounded_load_permille;
    uint32_t cooldown_429_seconds;
    uint32_t retry_after_cap_seconds;
    uint32_t cooldown_529_seconds;
    uint32_t cooldown_503_seconds;
    uint32_t cooldown_5xx_seconds;
    uint32_t cooldown_auth_seconds;
    uint32_t breaker_failures;
    uint32_t breaker_cooldown_seconds;
} sticky_config;

typedef struct sticky_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sticky_header;

typedef struct sticky_request {
    size_t size;
    const char *tenant;
    size_t tenant_len;
    const char *model;
    size_t model_len;
    unsigned flags;
    const void *chain;
    const char *body;
    size_t body_len;
    int format;
    const void *messages;
    size_t n_messages;
    const void *system;
    size_t n_system;
    const sticky_header *headers;
    size_t n_headers;
    const char *session_id;
    size_t session_id_len;
} sticky_request;

typedef struct sticky_channel {
    size_t size;
    const char *id;
    const char *const *models;
    size_t n_models;
    int priority;
    uint32_t weight;
    int state;
    uint32_t max_inflight;
} sticky_channel;

typedef struct sticky_decision {
    size_t size;
    int reason;
    int channel_index;
    char channel_id[128];
    uint64_t key;
    char key_hex[17];
    int key_source;
    char moved_from[128];
    int store_degraded;
    int model_family;
    int64_t retry_at_ms;
    uint64_t attempt;
    char model[128];
} sticky_decision;

typedef struct sticky_outcome {
    size_t size;
    int kind;
    int status;
    int64_t retry_after_seconds;
    int64_t reset_epoch_seconds;
    const sticky_header *headers;
    size_t n_headers;
} sticky_outcome;

typedef struct sticky_ctx_stats {
    size_t size;
    uint64_t requests;
    uint64_t hits;
    uint64_t promoted_hits;
    uint64_t new_sessions;
    uint64_t failovers;
    uint64_t spills;
    uint64_t migrations;
    uint64_t strict_rejections;
    uint64_t no_channel;
    uint64_t store_errors;
    uint64_t reports;
    uint64_t channels;
    uint64_t tenant_mismatches;
} sticky_ctx_stats;

typedef struct sticky_channel_health {
    size_t size;
    int state;
    int cause;
    int family;
    int64_t until_ms;
    uint32_t in_flight;
    uint32_t consecutive_failures;
    uint32_t cooling_families;
    uint32_t reserved;
    uint64_t selections;
    uint64_t failures;
} sticky_channel_health;
int sticky_channel_health_init_sized(sticky_channel_health *h, size_t size);
int sticky_ctx_get_channel_health(const sticky_ctx *ctx, const char *channel_id,
                                  sticky_channel_health *out);
int sticky_ctx_clear_channel_health(sticky_ctx *ctx, const char *channel_id);

typedef struct sticky_shm sticky_shm;
typedef struct sticky_shm_options {
    size_t size;
    unsigned flags;
    uint32_t file_mode;
    uint32_t max_sessions;
    uint32_t shard_count;
    uint32_t max_channels;
    uint32_t max_tenants;
    uint32_t max_processes;
    uint32_t ttl_seconds;
    int renew_mode;
    int32_t renew_threshold_seconds;
    uint32_t sweep_on_write;
} sticky_shm_options;
int sticky_shm_options_init_sized(sticky_shm_options *o, size_t size);
int sticky_shm_open(sticky_ctx *ctx, const char *path, const sticky_shm_options *opts,
                    sticky_shm **out);
void sticky_shm_close(sticky_shm *shm);
int sticky_ctx_use_shm(sticky_ctx *ctx, sticky_shm *shm);

unsigned sticky_version_number(void);
const char *sticky_version_string(void);
const char *sticky_strerror(int err);
const char *sticky_err_name(int err);
const char *sticky_reason_name(int reason);
const char *sticky_model_family_name(int family);
size_t sticky_struct_size(int id);

int sticky_config_init_sized(sticky_config *cfg, size_t size);
int sticky_config_from_env(sticky_config *cfg, const char **bad_var);
int sticky_ctx_new(const sticky_config *cfg, sticky_ctx **out);
void sticky_ctx_free(sticky_ctx *ctx);
int sticky_ctx_set_store(sticky_ctx *ctx, sticky_store *store);
void sticky_store_free(sticky_store *store);

typedef struct sticky_key_chain {
    size_t size;
    int source;
    unsigned explicit_source;
    int format;
    uint32_t n_keys;
    uint64_t keys[32];
} sticky_key_chain;
int sticky_key_chain_init_sized(sticky_key_chain *chain, size_t size);
int sticky_key_derive(const sticky_ctx *ctx, const sticky_request *req, sticky_key_chain *out);
int sticky_key_to_hex(uint64_t key, char *out);

int sticky_request_init_sized(sticky_request *r, size_t size);
int sticky_channel_init_sized(sticky_channel *c, size_t size);
int sticky_decision_init_sized(sticky_decision *d, size_t size);
int sticky_outcome_init_sized(sticky_outcome *o, size_t size);
int sticky_ctx_stats_init_sized(sticky_ctx_stats *s, size_t size);

int sticky_select(sticky_ctx *ctx, const sticky_request *req,
                  const sticky_channel *channels, size_t n_channels, sticky_decision *out);
int sticky_report(sticky_ctx *ctx, sticky_decision *d, const sticky_outcome *o);
int sticky_release(sticky_ctx *ctx, sticky_decision *d);
int sticky_ctx_get_stats(const sticky_ctx *ctx, sticky_ctx_stats *out);
int sticky_ctx_format_prometheus(const sticky_ctx *ctx, char *buf, size_t cap, size_t *needed);

/* libsticky-redis (loaded on first use: redis_lib()) */
typedef struct sticky_redis_store_options {
    size_t size;
    const char *host;
    const char *unix_path;
    const char *username;
    const char *password;
    const char *key_prefix;
    const char *client_name;
    int32_t port;
    int32_t db;
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    uint32_t pool_size;
    uint32_t ttl_seconds;
    int32_t renew_mode;
    int32_t renew_threshold_seconds;
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    int32_t count_entries;
    int32_t tcp_keepalive;
} sticky_redis_store_options;
typedef struct sticky_redis_store_stats {
    size_t size;
    uint64_t round_trips;
    uint64_t connects;
    uint64_t reconnects;
    uint64_t connect_failures;
    uint64_t timeouts;
    uint64_t io_errors;
    uint64_t server_errors;
    uint64_t protocol_errors;
    uint64_t noscript_reloads;
    uint64_t fast_fails;
    uint64_t pool_waits;
    uint64_t pool_timeouts;
    uint64_t connections_open;
    uint64_t backoff_ms;
    uint64_t health_published;
    uint64_t health_received;
    uint64_t health_ignored;
} sticky_redis_store_stats;
int sticky_redis_store_options_init_sized(sticky_redis_store_options *o, size_t size);
int sticky_redis_store_stats_init_sized(sticky_redis_store_stats *s, size_t size);
int sticky_redis_store_new(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                           sticky_store **out);
int sticky_redis_store_get_stats(sticky_store *store, sticky_redis_store_stats *out);
size_t sticky_redis_store_struct_size(int id);
"""

# libsticky-redis's struct ids (sticky_redis_store_struct_size()).
REDIS_STRUCT_IDS = {
    "sticky_redis_store_options": 1,
    "sticky_redis_store_stats": 2,
}

# enum sticky_struct_id values of the structs declared above.
STRUCT_IDS = {
    "sticky_config": 1,
    "sticky_allocator": 2,
    "sticky_channel": 7,
    "sticky_request": 8,
    "sticky_decision": 9,
    "sticky_outcome": 10,
    "sticky_ctx_stats": 11,
    "sticky_header": 15,
    "sticky_channel_health": 16,
    "sticky_key_chain": 12,
    "sticky_shm_options": 17,
}

ffi = FFI()
ffi.cdef(CDEF)


def _pkg_config_libdir():
    """The libdir of the libsticky pkg-config knows (PKG_CONFIG_PATH), or None."""
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "sticky"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _candidates():
    env = os.environ.get("STICKY_LIBRARY")
    if env:
        return [env]
    names = []
    here = os.path.dirname(os.path.abspath(__file__))
    names.append(os.path.join(here, "libsticky.so.0"))  # a copy next to the package
    libdir = _pkg_config_libdir()
    if libdir:
        names.append(os.path.join(libdir, "libsticky.so.0"))  # an installed prefix
    found = ctypes.util.find_library("sticky")
    if found:
        names.append(found)
    names.append("libsticky.so.0")
    return names


def _load():
    errors = []
    for name in _candidates():
        try:
            return ffi.dlopen(name), name
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise ImportError("sticky: cannot load libsticky (set STICKY_LIBRARY to its path, or "
                      "install it where the loader finds it): " + "; ".join(errors))


def check_layout(lib, where):
    """Refuse a library whose version or struct layout differs from this
    package's declarations. Returns the library's version string."""
    version = ffi.string(lib.sticky_version_string()).decode()
    number = lib.sticky_version_number()
    major, minor = number >> 16, (number >> 8) & 0xFF
    if (major, minor) != ABI_VERSION:
        raise ImportError(f"sticky: {where} is libsticky {version}; this package is for "
                          f"{ABI_VERSION[0]}.{ABI_VERSION[1]}.x")
    for struct, sid in STRUCT_IDS.items():
        theirs = lib.sticky_struct_size(sid)
        ours = ffi.sizeof(struct)
        if theirs != ours:
            raise ImportError(f"sticky: {where} (libsticky {version}) has sizeof({struct}) = "
                              f"{theirs}, this package declares {ours}: rebuild or reinstall "
                              "the package for that library")
    return version


lib, LIBRARY_PATH = _load()
LIBRARY_VERSION = check_layout(lib, LIBRARY_PATH)

_redis = None


def redis_lib():
    """libsticky-redis, loaded and checked on first use: STICKY_REDIS_LIBRARY,
    else beside the libsticky that was loaded, else the loader's path.
    Raises ImportError when it is missing or its layout differs."""
    global _redis
    if _redis is not None:
        return _redis
    env = os.environ.get("STICKY_REDIS_LIBRARY")
    names = [env] if env else []
    if os.path.sep in LIBRARY_PATH:
        names.append(os.path.join(os.path.dirname(LIBRARY_PATH), "libsticky-redis.so.0"))
    names.append("libsticky-redis.so.0")
    errors = []
    for name in names:
        try:
            rl = ffi.dlopen(name)
        except OSError as e:
            errors.append(f"{name}: {e}")
            continue
        for struct, sid in REDIS_STRUCT_IDS.items():
            theirs = rl.sticky_redis_store_struct_size(sid)
            if theirs != ffi.sizeof(struct):
                raise ImportError(f"sticky: {name} has sizeof({struct}) = {theirs}, this "
                                  f"package declares {ffi.sizeof(struct)}")
        _redis = rl
        return rl
    raise ImportError("sticky: the Redis store needs libsticky-redis (set "
                      "STICKY_REDIS_LIBRARY to its path): " + "; ".join(errors))
