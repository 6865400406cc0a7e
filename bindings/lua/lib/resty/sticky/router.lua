-- resty/sticky/router.lua - owns one libsticky context in a LuaJIT VM: its
-- creation on a shared-memory segment (or the memory store, and nothing
-- else: no store that could block the event loop), the channel list as a
-- C array built once, and select / report / release / stats. Knows nothing
-- of nginx phases (resty.sticky does). One router per nginx worker; the
-- workers share sessions and channel health through the segment.
-- Since 0.5.0.
local ffi = require "ffi"
local cdef = require "resty.sticky.cdef"
local loader = require "resty.sticky.loader"

local C_NULL = nil
local ffi_new = ffi.new
local ffi_string = ffi.string
local ffi_sizeof = ffi.sizeof
local tonumber = tonumber
local type = type
local format = string.format

local REQUEST_SIZE = ffi_sizeof("sticky_request")
local DECISION_SIZE = ffi_sizeof("sticky_decision")
local OUTCOME_SIZE = ffi_sizeof("sticky_outcome")
-- Header pairs one select() / report() passes (resty.sticky passes at most
-- 3 / 9); more is an error, not a silent cut.
local MAX_HEADERS = 32

local _M = {}
local Router = {}
Router.__index = Router

local CONFIG_FIELDS = {
    ttl_seconds = true, renew_threshold_seconds = true, max_sessions = true,
    message_count = true, include_system_prompt = true, explicit_sources = true,
    select_policy = true, migrate_better_tier = true, least_bad = true,
    bounded_load_permille = true, cooldown_429_seconds = true,
    retry_after_cap_seconds = true, cooldown_529_seconds = true,
    cooldown_503_seconds = true, cooldown_5xx_seconds = true,
    cooldown_auth_seconds = true, breaker_failures = true,
    breaker_cooldown_seconds = true,
}
local SHM_FIELDS = {
    max_sessions = true, shard_count = true, max_channels = true, max_tenants = true,
    max_processes = true, ttl_seconds = true, file_mode = true, sweep_on_write = true,
}
local OPTIONS = {
    library = true, shm = true, memory = true, shm_options = true, config = true,
    channels = true,
}

local function errmsg(lib, rc, what)
    return format("%s: %s (%s)", what, ffi_string(lib.sticky_strerror(rc)),
                  ffi_string(lib.sticky_err_name(rc)))
end

-- The channel list as one sticky_channel array; the id and model strings
-- it points to are anchored in the returned table.
local function build_channels(lib, list)
    if type(list) ~= "table" or #list == 0 then
        error("resty.sticky: channels: a non-empty list is required", 0)
    end
    local n = #list
    local arr = ffi_new("sticky_channel[?]", n)
    local anchor = {}
    local size = ffi_sizeof("sticky_channel")
    local seen = {}
    for i = 1, n do
        local c = list[i]
        if type(c) == "string" then
            c = { id = c }
            list[i] = c
        end
        local id = c.id
        if type(id) ~= "string" or #id == 0 or #id > 127 or id:find("\0", 1, true) then
            error(format("resty.sticky: channel %d: id must be a string of 1..127 bytes", i), 0)
        end
        if seen[id] then
            error("resty.sticky: channel " .. id .. " is listed twice", 0)
        end
        seen[id] = true
        local ch = arr[i - 1]
        local rc = lib.sticky_channel_init_sized(ch, size)
        if rc ~= 0 then
            error(errmsg(lib, rc, "resty.sticky: channel " .. id), 0)
        end
        anchor[#anchor + 1] = id
        ch.id = id
        if c.models ~= nil then
            if type(c.models) ~= "table" then
                error("resty.sticky: channel " .. id .. ": models must be a list", 0)
            end
            local m = ffi_new("const char *[?]", #c.models)
            for j, name in ipairs(c.models) do
                -- C sees a NUL-terminated pattern: a NUL would cut it short
                if type(name) ~= "string" or #name == 0 or name:find("\0", 1, true) then
                    error(format("resty.sticky: channel %s: model %d must be a non-empty "
                                 .. "string without NUL bytes", id, j), 0)
                end
                anchor[#anchor + 1] = name
                m[j - 1] = name
            end
            anchor[#anchor + 1] = m
            ch.models = m
            ch.n_models = #c.models
        end
        ch.priority = c.priority or 0
        ch.weight = c.weight or 0
        ch.max_inflight = c.max_inflight or 0
        local state = cdef.CHANNEL_STATES[c.state or "active"]
        if not state then
            error("resty.sticky: channel " .. id .. ": state must be active, disabled or draining", 0)
        end
        ch.state = state
    end
    return arr, n, anchor
end

local function build_config(lib, settings)
    local cfg = ffi_new("sticky_config")
    local rc = lib.sticky_config_init_sized(cfg, ffi_sizeof("sticky_config"))
    if rc ~= 0 then
        error(errmsg(lib, rc, "resty.sticky: config"), 0)
    end
    for k, v in pairs(settings or {}) do
        if not CONFIG_FIELDS[k] then
            error("resty.sticky: config: unknown setting " .. tostring(k), 0)
        end
        if k == "select_policy" and type(v) == "string" then
            local p = cdef.POLICIES[v]
            if not p then
                error("resty.sticky: config: select_policy must be lru, rendezvous or random", 0)
            end
            v = p
        elseif v == true or v == false then
            v = v and 1 or 0
        end
        if type(v) ~= "number" then
            error("resty.sticky: config: " .. k .. " must be a number", 0)
        end
        cfg[k] = v
    end
    return cfg
end

local function use_shm(lib, ctx, path, options)
    local o = ffi_new("sticky_shm_options")
    local rc = lib.sticky_shm_options_init_sized(o, ffi_sizeof("sticky_shm_options"))
    if rc ~= 0 then
        error(errmsg(lib, rc, "resty.sticky: shm options"), 0)
    end
    for k, v in pairs(options or {}) do
        if not SHM_FIELDS[k] then
            error("resty.sticky: shm_options: unknown option " .. tostring(k), 0)
        end
        o[k] = v
    end
    local out = ffi_new("sticky_shm *[1]")
    rc = lib.sticky_shm_open(ctx, path, o, out)
    if rc ~= 0 then
        error(errmsg(lib, rc, "resty.sticky: shared memory " .. path), 0)
    end
    rc = lib.sticky_ctx_use_shm(ctx, out[0])
    lib.sticky_shm_close(out[0]) -- the context keeps its reference
    if rc ~= 0 then
        error(errmsg(lib, rc, "resty.sticky: use shared memory " .. path), 0)
    end
end

--- new(opts): a router (one libsticky context) for this process.
-- @opts.shm: path of the shared-memory segment every worker opens (e.g.
--   "/dev/shm/gateway.sticky"); created when missing. Or
-- @opts.memory = true: a per-worker memory store (sessions are then NOT
--   shared between workers: for tests and single-worker nginx).
-- Any other store (Redis, a custom one) is refused: its calls would block
--   the worker's event loop.
-- @opts.channels: list of { id=, models=, priority=, weight=, state=,
--   max_inflight= } (other keys, e.g. host/port, are kept for the caller).
-- @opts.config: sticky_config settings by name (ttl_seconds,
--   cooldown_429_seconds, select_policy = "lru"|"rendezvous"|"random", ...).
-- @opts.shm_options: sticky_shm_options sizes (max_sessions, ...), used
--   when the segment file is created.
-- @opts.library: libsticky path (else $STICKY_LIBRARY, else the loader's).
-- Returns: the router. Raises: a string error on any bad option, a
--   library mismatch or a failing call (message names the cause).
-- Phase: init_worker_by_lua* (each worker its own; opening a segment
--   does file I/O once). Since 0.5.0.
function _M.new(opts)
    if type(opts) ~= "table" then
        error("resty.sticky: new: an options table is required", 0)
    end
    for k in pairs(opts) do
        if not OPTIONS[k] then
            error("resty.sticky: unknown option " .. tostring(k)
                  .. ((k == "redis" or k == "store")
                      and " (only the shared-memory or memory store: any other store would "
                          .. "block the nginx event loop)" or ""), 0)
        end
    end
    if (opts.shm == nil) == (opts.memory ~= true) then
        error("resty.sticky: give exactly one of shm = PATH (shared by the workers) "
              .. "or memory = true", 0)
    end
    local lib, where, version = loader.load(opts.library)
    local arr, n, anchor = build_channels(lib, opts.channels)
    local cfg = build_config(lib, opts.config)
    local out = ffi_new("sticky_ctx *[1]")
    local rc = lib.sticky_ctx_new(cfg, out)
    if rc ~= 0 then
        error(errmsg(lib, rc, "resty.sticky: context"), 0)
    end
    -- alive[1]: the context is not freed yet. Finalizers run in any order
    -- when the VM closes: a decision's (below) must not touch a freed one.
    local alive = { true }
    local ctx = ffi.gc(out[0], function(c)
        alive[1] = false
        lib.sticky_ctx_free(c)
    end)
    if opts.shm then
        if type(opts.shm) ~= "string" or opts.shm == "" then
            error("resty.sticky: shm must be a path", 0)
        end
        use_shm(lib, ctx, opts.shm, opts.shm_options)
    end
    local index = {}
    for i, c in ipairs(opts.channels) do
        index[c.id] = i
    end
    local self = setmetatable({
        lib = lib,
        library = where,
        version = version,
        ctx = ctx,
        channels = opts.channels,   -- Lua list, 1-based, as given
        by_id = index,
        c_channels = arr,
        n_channels = n,
        anchor = anchor,
        req = ffi_new("sticky_request"),
        hdrs = ffi_new("sticky_header[?]", MAX_HEADERS),
        outcome = ffi_new("sticky_outcome"),
        shared = opts.shm ~= nil,
        -- the safety net of an open decision: collected (its request gone)
        -- without report() or release(), its attempt and in-flight slot
        -- are released, while the context lives
        release_gc = function(d)
            if alive[1] then
                lib.sticky_release(ctx, d)
            end
        end,
    }, Router)
    return self
end

-- Point the reusable header array at @list ({name, value, name, value...}).
-- Returns the count, or nil and a message (more than MAX_HEADERS pairs, a
-- name without a value).
local function fill_headers(hdrs, list, n)
    if n > 2 * MAX_HEADERS then
        return nil, format("too many headers: %d pairs (at most %d)", (n + 1) / 2, MAX_HEADERS)
    end
    if n % 2 ~= 0 then
        return nil, "headers: a flat list of name, value pairs is required"
    end
    local k = 0
    for i = 1, n, 2 do
        local name, value = list[i], list[i + 1]
        local h = hdrs[k]
        h.name = name
        h.name_len = #name
        h.value = value
        h.value_len = #value
        k = k + 1
    end
    return k
end

--- router:select(r): choose a channel for one request.
-- @r.body: the raw JSON body as a Lua string, passed to C without a copy
--   (the caller keeps the string referenced while it may select again);
--   nil: no content key (explicit ids only, else placed as new).
-- @r.tenant, @r.model, @r.session_id: strings or nil. @r.headers: a flat
--   list {name, value, ...} of request headers carrying session ids
--   (x-claude-code-session-id, session_id, x-session-id), or nil; at
--   most 32 pairs (more: nil, message, cdef.EINVAL - never cut short).
-- @r.strict: true = never move a bound session.
-- Returns: the decision (a sticky_decision cdata; .channel_index is
--   0-based, router.channels[d.channel_index + 1] the channel); or nil,
--   message, rc, decision (rc = cdef.ENOCHANNEL: decision.retry_at_ms).
--   End its attempt with report() or release(); a decision collected
--   with its attempt still open is released by its finalizer (a safety
--   net for a lost request, at an unpredictable time: not a substitute).
-- Phase: any request phase (access, balancer); never blocks (shm or
--   memory store only); no yield. Since 0.5.0.
function Router:select(r)
    local req = self.req
    local lib = self.lib
    req.size = REQUEST_SIZE
    local body = r.body
    if body then
        req.body = body
        req.body_len = #body
    else
        req.body = C_NULL
        req.body_len = 0
    end
    local tenant = r.tenant
    if tenant then
        req.tenant = tenant
        req.tenant_len = #tenant
    else
        req.tenant = C_NULL
        req.tenant_len = 0
    end
    local model = r.model
    if model then
        req.model = model
        req.model_len = #model
    else
        req.model = C_NULL
        req.model_len = 0
    end
    local sid = r.session_id
    if sid then
        req.session_id = sid
        req.session_id_len = #sid
    else
        req.session_id = C_NULL
        req.session_id_len = 0
    end
    local headers = r.headers
    if headers and #headers > 0 then
        local nh, herr = fill_headers(self.hdrs, headers, #headers)
        if not nh then
            req.body = C_NULL
            return nil, "select: " .. herr, cdef.EINVAL
        end
        req.headers = self.hdrs
        req.n_headers = nh
    else
        req.headers = C_NULL
        req.n_headers = 0
    end
    req.flags = r.strict and cdef.SELECT_STRICT or 0
    local d = ffi_new("sticky_decision")
    d.size = DECISION_SIZE
    d.channel_index = -1
    local rc = lib.sticky_select(self.ctx, req, self.c_channels, self.n_channels, d)
    -- drop the pointers into Lua strings: the library keeps none
    req.body = C_NULL
    req.headers = C_NULL
    if rc ~= 0 then
        return nil, errmsg(lib, rc, "select"), rc, d
    end
    -- the attempt is open until report() / release(); if the decision is
    -- dropped before, the garbage collector releases it
    return ffi.gc(d, self.release_gc)
end

--- router:report(d, status, headers, kind): how the attempt ended; ends it.
-- @d: a decision from select(). @status: the upstream's HTTP status (for
--   kind "http"). @headers: flat list {name, value, ...} of the upstream's
--   response headers (retry-after, anthropic-ratelimit-unified-status,
--   anthropic-ratelimit-unified-reset, ...) or nil; at most 32 pairs
--   (more: nil, message, cdef.EINVAL; the attempt stays open). @kind: "http"
--   (default), "timeout" or "transport".
-- Returns: true; or nil, message, rc (ENOTFOUND: already ended).
-- Phase: any request phase; no I/O with the shm store. Since 0.5.0.
function Router:report(d, status, headers, kind)
    local o = self.outcome
    o.size = OUTCOME_SIZE
    o.kind = kind == "timeout" and cdef.OUTCOME_TIMEOUT
        or kind == "transport" and cdef.OUTCOME_TRANSPORT or cdef.OUTCOME_HTTP
    o.status = status or 0
    o.retry_after_seconds = cdef.ABSENT
    o.reset_epoch_seconds = cdef.ABSENT
    if headers and #headers > 0 then
        local nh, herr = fill_headers(self.hdrs, headers, #headers)
        if not nh then
            return nil, "report: " .. herr, cdef.EINVAL
        end
        o.headers = self.hdrs
        o.n_headers = nh
    else
        o.headers = C_NULL
        o.n_headers = 0
    end
    local rc = self.lib.sticky_report(self.ctx, d, o)
    o.headers = C_NULL
    if rc == 0 or rc == cdef.ENOTFOUND then
        ffi.gc(d, nil)   -- the attempt has ended: nothing left to release
    end
    if rc ~= 0 then
        return nil, errmsg(self.lib, rc, "report"), rc
    end
    return true
end

--- router:release(d): end an attempt without an outcome (client gone).
-- Idempotent. Returns: true, or nil, message, rc. Phase: any. Since 0.5.0.
function Router:release(d)
    local rc = self.lib.sticky_release(self.ctx, d)
    if rc == 0 or rc == cdef.ENOTFOUND then
        ffi.gc(d, nil)
    end
    if rc ~= 0 then
        return nil, errmsg(self.lib, rc, "release"), rc
    end
    return true
end

--- router:channel(d): the channel table (as given to new()) a decision
-- chose, or nil. Since 0.5.0.
function Router:channel(d)
    local i = d.channel_index
    if i < 0 then
        return nil
    end
    return self.channels[i + 1]
end

--- router:reason(d): the decision's reason as text ("hit", "new",
-- "failover", ...). Since 0.5.0.
function Router:reason(d)
    return ffi_string(self.lib.sticky_reason_name(d.reason))
end

--- router:stats(): the context's counters (sticky_ctx_stats) as a table
-- of numbers. Phase: any. Since 0.5.0.
function Router:stats()
    local s = ffi_new("sticky_ctx_stats")
    local lib = self.lib
    local rc = lib.sticky_ctx_stats_init_sized(s, ffi_sizeof("sticky_ctx_stats"))
    if rc == 0 then
        rc = lib.sticky_ctx_get_stats(self.ctx, s)
    end
    if rc ~= 0 then
        return nil, errmsg(lib, rc, "stats"), rc
    end
    local t = {}
    for _, f in ipairs({ "requests", "hits", "promoted_hits", "new_sessions", "failovers",
                         "spills", "migrations", "strict_rejections", "no_channel",
                         "store_errors", "reports", "channels", "tenant_mismatches" }) do
        t[f] = tonumber(s[f])
    end
    return t
end

--- router:health(id): one channel's health as the segment sees it:
-- { state = 0 ok | 1 cooling | 2 rate_limited | 3 auth, cause, until_ms,
-- in_flight, selections, failures }, or nil, message, rc. Since 0.5.0.
function Router:health(id)
    local h = ffi_new("sticky_channel_health")
    local lib = self.lib
    local rc = lib.sticky_channel_health_init_sized(h, ffi_sizeof("sticky_channel_health"))
    if rc == 0 then
        rc = lib.sticky_ctx_get_channel_health(self.ctx, id, h)
    end
    if rc ~= 0 then
        return nil, errmsg(lib, rc, "health " .. id), rc
    end
    return { state = h.state, cause = h.cause, until_ms = tonumber(h.until_ms),
             in_flight = h.in_flight, selections = tonumber(h.selections),
             failures = tonumber(h.failures) }
end

--- router:clear_health(id): end every cooldown of a channel (e.g. after
-- its key was replaced); shared with every worker through the segment.
-- Returns: true, or nil, message, rc. Since 0.5.0.
function Router:clear_health(id)
    local rc = self.lib.sticky_ctx_clear_channel_health(self.ctx, id)
    if rc ~= 0 then
        return nil, errmsg(self.lib, rc, "clear health " .. id), rc
    end
    return true
end

--- router:prometheus(): the Prometheus text of the context's metrics.
-- Phase: content_by_lua* of a metrics location. Since 0.5.0.
function Router:prometheus()
    local lib = self.lib
    local needed = ffi_new("size_t[1]")
    local cap = 8192
    while true do
        local buf = ffi_new("char[?]", cap)
        local rc = lib.sticky_ctx_format_prometheus(self.ctx, buf, cap, needed)
        if rc == 0 then
            return ffi_string(buf)
        end
        if tonumber(needed[0]) + 1 <= cap then
            return nil, errmsg(lib, rc, "prometheus"), rc
        end
        cap = tonumber(needed[0]) + 1
    end
end

--- router:now_ms(): the context's clock (Unix ms). Since 0.5.0.
function Router:now_ms()
    return tonumber(self.lib.sticky_ctx_now_ms(self.ctx))
end

return _M
