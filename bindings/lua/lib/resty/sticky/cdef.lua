-- resty/sticky/cdef.lua - owns the C declarations of libsticky that the
-- LuaJIT FFI binding uses (a transcription of include/sticky/*.h, release
-- 0.5), the struct ids of sticky/abi.h for the load-time size check, and
-- the few enum values the binding needs. Checked field by field against
-- the headers by bindings/lua/t/test_layout.py. Since 0.5.0.
local ffi = require "ffi"

local _M = {}

-- The library version this cdef was written for: major.minor must match
-- the loaded library's (resty.sticky.loader checks it).
_M.ABI_MAJOR = 0
_M.ABI_MINOR = 5

-- The C text given to ffi.cdef (kept as a string so the layout test can
-- read the field names out of it).
_M.CDEF = [[
typedef struct sticky_ctx sticky_ctx;
typedef struct sticky_store sticky_store;
typedef struct sticky_shm sticky_shm;

typedef struct sticky_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} sticky_allocator;

typedef struct sticky_config {
    size_t size;
    sticky_allocator allocator;
    void (*log_fn)(int level, const char *message, void *user);
    void *log_user;
    int log_level;
    int64_t (*clock_fn)(void *user);
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

unsigned sticky_version_number(void);
const char *sticky_version_string(void);
size_t sticky_struct_size(int id);
const char *sticky_strerror(int err);
const char *sticky_err_name(int err);
const char *sticky_reason_name(int reason);
const char *sticky_model_family_name(int family);

int sticky_config_init_sized(sticky_config *cfg, size_t size);
int sticky_ctx_new(const sticky_config *cfg, sticky_ctx **out);
void sticky_ctx_free(sticky_ctx *ctx);
int64_t sticky_ctx_now_ms(const sticky_ctx *ctx);
int sticky_ctx_stats_init_sized(sticky_ctx_stats *s, size_t size);
int sticky_ctx_get_stats(const sticky_ctx *ctx, sticky_ctx_stats *out);
int sticky_ctx_format_prometheus(const sticky_ctx *ctx, char *buf, size_t cap, size_t *needed);
int sticky_channel_health_init_sized(sticky_channel_health *h, size_t size);
int sticky_ctx_get_channel_health(const sticky_ctx *ctx, const char *channel_id,
                                  sticky_channel_health *out);
int sticky_ctx_clear_channel_health(sticky_ctx *ctx, const char *channel_id);

int sticky_shm_options_init_sized(sticky_shm_options *o, size_t size);
int sticky_shm_open(sticky_ctx *ctx, const char *path, const sticky_shm_options *opts,
                    sticky_shm **out);
void sticky_shm_close(sticky_shm *shm);
int sticky_ctx_use_shm(sticky_ctx *ctx, sticky_shm *shm);

int sticky_request_init_sized(sticky_request *r, size_t size);
int sticky_channel_init_sized(sticky_channel *c, size_t size);
int sticky_decision_init_sized(sticky_decision *d, size_t size);
int sticky_outcome_init_sized(sticky_outcome *o, size_t size);

int sticky_select(sticky_ctx *ctx, const sticky_request *req,
                  const sticky_channel *channels, size_t n_channels, sticky_decision *out);
int sticky_report(sticky_ctx *ctx, sticky_decision *d, const sticky_outcome *o);
int sticky_release(sticky_ctx *ctx, sticky_decision *d);
]]

-- enum sticky_struct_id of every struct declared above (sticky/abi.h).
_M.STRUCT_IDS = {
    sticky_config = 1,
    sticky_allocator = 2,
    sticky_channel = 7,
    sticky_request = 8,
    sticky_decision = 9,
    sticky_outcome = 10,
    sticky_ctx_stats = 11,
    sticky_header = 15,
    sticky_channel_health = 16,
    sticky_shm_options = 17,
}

-- Enum values used by the binding (sticky/error.h, select.h, config.h).
_M.OK = 0
_M.EINVAL = -1
_M.EPARSE = -3
_M.ENOTFOUND = -4
_M.ENOCHANNEL = -7
_M.ELIMIT = -12
_M.ABSENT = -1                 -- STICKY_ABSENT
_M.OUTCOME_HTTP = 0
_M.OUTCOME_TIMEOUT = 1
_M.OUTCOME_TRANSPORT = 2
_M.SELECT_STRICT = 1
_M.CHANNEL_STATES = { active = 0, disabled = 1, draining = 2 }
_M.POLICIES = { lru = 0, rendezvous = 1, random = 2 }

-- ffi.cdef runs once per Lua VM (a second require returns this table).
ffi.cdef(_M.CDEF)

return _M
