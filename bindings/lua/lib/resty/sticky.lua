-- resty/sticky.lua - owns the nginx (lua-nginx-module / OpenResty) side of
-- libsticky: what runs in each phase. init_worker() makes this worker's
-- router on the shared segment; access() reads the body and selects;
-- balancer() sets the peer and, on a retry, reports the failed attempt
-- and selects again; retry() does the same after an error_page redirect
-- (401, which proxy_next_upstream cannot retry); header_filter() reports
-- a failure with the upstream's status and rate-limit headers at once;
-- log() reports a success when the response has ended, or ends an
-- attempt still open. The per-request state lives in ngx.ctx.sticky.
-- README.md beside lib/ explains the nginx.conf; nginx.conf.example is one.
-- Since 0.5.0.
local router_mod = require "resty.sticky.router"
local cdef = require "resty.sticky.cdef"

local ngx = ngx
local ngx_var = ngx.var
local ngx_log = ngx.log
local ERR, WARN, INFO = ngx.ERR, ngx.WARN, ngx.INFO
local tonumber = tonumber
local gmatch = string.gmatch

local NGX_BUSY = -3

local _M = { _VERSION = "0.5.0" }

local router       -- this worker's router (init_worker)
local settings     -- the phase options given to init_worker
-- request key -> state, for retry() after error_page. Weak values: the
-- state is held by the request's ngx.ctx table, which lua-nginx-module
-- keeps referenced until the request ends, internal redirects included;
-- a request that ends without log() (a redirect to a location without
-- log_by_lua) lets its state be collected, and the decision's finalizer
-- (resty.sticky.router) releases its attempt.
local stash = setmetatable({}, { __mode = "v" })

local ffi = require "ffi"
local get_request = require("resty.core.base").get_request

-- A key for the current request that survives internal redirects (unlike
-- ngx.ctx and $request_id): the address of nginx's request struct, unique
-- while the request lives (log() forgets it).
local function request_key()
    return tonumber(ffi.cast("uintptr_t", get_request()))
end

-- Response headers the library reads on a failed attempt.
local RATE_HEADERS = {
    "retry-after",
    "anthropic-ratelimit-unified-status",
    "anthropic-ratelimit-unified-reset",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
}
-- The same as nginx variables ($upstream_http_...), for the balancer
-- and retry() phases, where the failed response is no longer the
-- current one.
local RATE_VARS = {}
for i, h in ipairs(RATE_HEADERS) do
    RATE_VARS[i] = "upstream_http_" .. h:gsub("-", "_")
end

--- init_worker(opts): create this worker's router.
-- @opts: resty.sticky.router.new()'s options (shm = PATH or memory = true,
--   channels, config, shm_options, library), where each channel also has
--   host (an IP address: the balancer does no DNS) and port; plus
-- @opts.max_tries: attempts per request through the balancer (default
--   min(#channels, 3)); @opts.tenant: function() returning the request's
--   tenant string (the client's API key id / team), default none;
-- @opts.body_file: what access() does with a body nginx buffered to a
--   file: "read" (default: read the file, blocking disk I/O; avoid it with
--   client_body_buffer_size = client_max_body_size) or "ignore" (select
--   without the body: the request is placed as a new session);
-- @opts.expose_headers: add x-sticky-channel / x-sticky-reason to
--   responses (default false).
-- Returns: the router (nil in a cache loader / manager or privileged
--   agent process: they route nothing). Raises on a bad option or library
--   mismatch (nginx logs it; the worker then answers 500 from access()).
-- Phase: init_worker_by_lua*. Since 0.5.0.
function _M.init_worker(opts)
    -- cache loader / manager and privileged agent processes route nothing:
    -- they take no process slot in the segment
    local ok, process = pcall(require, "ngx.process")
    if ok then
        local t = process.type()
        if t ~= "worker" and t ~= "single" then
            return nil
        end
    end
    local ropts = {}
    for k, v in pairs(opts) do
        if k ~= "max_tries" and k ~= "tenant" and k ~= "body_file"
                and k ~= "expose_headers" then
            ropts[k] = v
        end
    end
    for i, c in ipairs(opts.channels or {}) do
        if type(c) ~= "table" or type(c.host) ~= "string" or type(c.port) ~= "number" then
            error("resty.sticky: channel " .. i .. ": host (an IP address) and port "
                  .. "are required", 0)
        end
    end
    local r = router_mod.new(ropts)
    local n = #opts.channels
    settings = {
        max_tries = opts.max_tries or (n < 3 and n or 3),
        tenant = opts.tenant,
        body_file = opts.body_file or "read",
        expose_headers = opts.expose_headers,
    }
    if settings.body_file ~= "read" and settings.body_file ~= "ignore" then
        error("resty.sticky: body_file must be \"read\" or \"ignore\"", 0)
    end
    router = r
    return r
end

--- router(): this worker's router (nil before init_worker()). Since 0.5.0.
function _M.router()
    return router
end

local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        return body
    end
    local file = ngx.req.get_body_file()
    if not file then
        return nil
    end
    if settings.body_file ~= "read" then
        return nil
    end
    ngx_log(WARN, "sticky: request body buffered to a file; reading it (blocking disk ",
            "I/O): raise client_body_buffer_size to client_max_body_size")
    local f, err = io.open(file, "rb")
    if not f then
        ngx_log(ERR, "sticky: cannot read the body file: ", err)
        return nil
    end
    body = f:read("*a")
    f:close()
    return body
end

-- The request headers that carry explicit session ids, as a flat list.
local function session_headers()
    local list
    local v = ngx_var.http_x_claude_code_session_id
    if v then
        list = { "x-claude-code-session-id", v }
    end
    v = ngx_var.http_x_session_id
    if v then
        list = list or {}
        list[#list + 1] = "x-session-id"
        list[#list + 1] = v
    end
    v = ngx_var.http_session_id
    if v then
        list = list or {}
        list[#list + 1] = "session_id"
        list[#list + 1] = v
    end
    return list
end

-- Select for @state.req; on a body the library cannot parse, select
-- without it (the upstream will answer the malformed request itself).
local function do_select(state)
    local d, err, rc, nd = router:select(state.req)
    if not d and (rc == cdef.EPARSE or rc == cdef.ELIMIT) and state.req.body then
        ngx_log(INFO, "sticky: ", err, ": selecting without the body")
        state.req.body = nil
        d, err, rc, nd = router:select(state.req)
    end
    return d, err, rc, nd
end

local function no_channel(nd)
    local retry = 1
    if nd and nd.retry_at_ms > 0 then
        local wait = tonumber(nd.retry_at_ms) - router:now_ms()
        retry = wait > 0 and math.ceil(wait / 1000) or 1
    end
    ngx.header["retry-after"] = retry
    ngx.header["content-type"] = "application/json"
    ngx.status = 503
    ngx.say('{"type":"error","error":{"type":"overloaded_error",',
            '"message":"no upstream channel is available"}}')
    return ngx.exit(503)
end

--- access(): read the body, select a channel, keep the decision.
-- Stores ngx.ctx.sticky = { req, decision, channel, ... }. Answers 503
-- (with retry-after) itself when no channel is usable, 500 when the
-- worker has no router or in a subrequest (no log phase would end its
-- attempt: use it in main requests only).
-- Run twice in one request (an internal redirect to a location with
-- access() again), it releases the first attempt before selecting.
-- Phase: access_by_lua*. Non-blocking except a body buffered to a file
-- with body_file = "read". Since 0.5.0.
function _M.access()
    if not router then
        ngx_log(ERR, "sticky: no router in this worker (init_worker failed: see the log)")
        return ngx.exit(500)
    end
    if ngx.is_subrequest then
        -- no log phase would end the attempt
        ngx_log(ERR, "sticky: access() in a subrequest; use it in the main request")
        return ngx.exit(500)
    end
    -- access() again in this request (ngx.exec / a rewrite to a location
    -- with access() again): end the previous, never reported attempt
    local key = request_key()
    local prev = stash[key] or ngx.ctx.sticky
    if prev then
        stash[key] = nil
        if prev.decision and not prev.reported then
            prev.reported = true
            router:release(prev.decision)
            prev.decision = nil
        end
    end
    local tenant = settings.tenant and settings.tenant() or nil
    local state = {
        req = {
            body = read_body(),  -- the Lua string itself: no copy
            tenant = tenant,
            headers = session_headers(),
        },
        tries = 0,
        attempts = 0,
    }
    local d, err, rc, nd = do_select(state)
    if not d then
        if rc == cdef.ENOCHANNEL then
            return no_channel(nd)
        end
        ngx_log(ERR, "sticky: ", err)
        return ngx.exit(500)
    end
    state.decision = d
    state.channel = router:channel(d)
    state.first_reason = router:reason(d)
    ngx.ctx.sticky = state
    stash[key] = state
end

-- The last value of an $upstream_* list ("a, b : c"; in the balancer the
-- attempt being set up has no value yet).
local function last_of(list)
    local last
    if list then
        for v in gmatch(list, "[^%s,:]+") do
            last = v
        end
    end
    return last
end

-- The failed attempt's rate-limit headers, from $upstream_http_*.
local function failed_headers()
    local list
    for i, var in ipairs(RATE_VARS) do
        local v = ngx_var[var]
        if v then
            list = list or {}
            list[#list + 1] = RATE_HEADERS[i]
            list[#list + 1] = v
        end
    end
    return list
end

-- End the open attempt of @state with @status (nil: transport / timeout)
-- and select again. Returns true, or false when no channel is left.
local function report_and_reselect(state, status, kind, headers)
    local d = state.decision
    if d then
        local ok, err = router:report(d, status, headers, kind)
        if not ok then
            ngx_log(WARN, "sticky: ", err)
        end
        state.decision = nil
    end
    local nd, err, rc = do_select(state)
    if not nd then
        if rc ~= cdef.ENOCHANNEL then
            ngx_log(ERR, "sticky: ", err)
        end
        return false
    end
    state.decision = nd
    state.channel = router:channel(nd)
    return true
end

--- balancer(): set the upstream peer from the decision; on a retry report
-- the failed attempt (the upstream status and $upstream_http_* rate-limit
-- headers for proxy_next_upstream http_429 / http_5xx, transport or
-- timeout for an error) and select again, so the library picks the next
-- channel. The upstream block's `server` line is a placeholder.
-- Phase: balancer_by_lua*. Since 0.5.0.
function _M.balancer()
    local balancer = require "ngx.balancer"
    local state = ngx.ctx.sticky
    if not state or not state.channel then
        ngx_log(ERR, "sticky: balancer without a decision (access() must run first)")
        return ngx.exit(500)
    end
    if state.tries == 0 then
        if settings.max_tries > 1 then
            local ok, err = balancer.set_more_tries(settings.max_tries - 1)
            if not ok then
                ngx_log(WARN, "sticky: set_more_tries: ", err)
            end
        end
    else
        -- nginx says "failed" for 429 / 5xx too: whether the upstream
        -- answered is told by the attempt's header time
        local _, code = balancer.get_last_failure()
        local status, kind, headers
        local htime = last_of(ngx_var.upstream_header_time)
        if code and htime and htime ~= "-" then
            status, headers = code, failed_headers()
        elseif code == 504 then
            kind = "timeout"
        else
            kind = "transport"
        end
        if not report_and_reselect(state, status, kind, headers) then
            -- NGX_BUSY: nginx ends the request with 502 "no live upstreams"
            -- (an error status would make it a 500); checked with
            -- lua-nginx-module 0.10.23 by t/test_nginx.py
            return ngx.exit(NGX_BUSY)
        end
    end
    state.tries = state.tries + 1
    state.attempts = state.attempts + 1
    local c = state.channel
    local ok, err = balancer.set_current_peer(c.host, c.port)
    if not ok then
        ngx_log(ERR, "sticky: set_current_peer ", c.host, ":", c.port, ": ", err)
        return ngx.exit(500)
    end
end

--- retry(): in the named location an `error_page 401 403 = @...` leads to
-- (nginx cannot retry a 401 through proxy_next_upstream): report the
-- intercepted answer (the channel's key is refused; every worker stops
-- using it) and select again, then proxy_pass as before. ngx.ctx does not
-- survive the redirect; the state is found by the request's address.
-- Phase: access_by_lua* of the named location. Since 0.5.0.
function _M.retry()
    local state = stash[request_key()]
    if not state then
        ngx_log(ERR, "sticky: retry() without a request from access()")
        return ngx.exit(502)
    end
    local status = tonumber(last_of(ngx_var.upstream_status))
    if not report_and_reselect(state, status, nil, failed_headers()) then
        return no_channel(nil)
    end
    state.tries = 0          -- a new upstream round in this location
    state.reported = nil
    state.success = nil
    ngx.ctx.sticky = state
end

--- header_filter(): take the attempt's outcome when the upstream's headers
-- arrive. A failure (status >= 400, or nginx answering itself after a
-- connect error / timeout) is reported at once, with the rate-limit
-- headers (retry-after, anthropic-ratelimit-unified-status / -reset, ...),
-- so every worker stops choosing that channel now; a success is reported
-- by log() when the response (a stream, maybe minutes long) ends, so the
-- attempt holds its in-flight slot (max_inflight) while it streams.
-- With expose_headers, adds x-sticky-channel, x-sticky-reason and
-- x-sticky-attempts.
-- Phase: header_filter_by_lua* (non-blocking). Since 0.5.0.
function _M.header_filter()
    local state = ngx.ctx.sticky
    if not state then
        return
    end
    local d = state.decision
    if settings.expose_headers and state.channel then
        ngx.header["x-sticky-channel"] = state.channel.id
        ngx.header["x-sticky-reason"] = state.first_reason
        ngx.header["x-sticky-attempts"] = state.attempts
    end
    if not d or state.reported then
        return
    end
    local htime = last_of(ngx_var.upstream_header_time)
    local status = tonumber(last_of(ngx_var.upstream_status))
    local kind, headers
    if not htime or htime == "-" or not status then
        kind = (status == 504) and "timeout" or "transport"
        status = nil
    elseif status < 400 then
        state.success = status   -- reported by log()
        return
    else
        local h = ngx.header
        for _, name in ipairs(RATE_HEADERS) do
            local v = h[name]
            if v then
                headers = headers or {}
                headers[#headers + 1] = name
                headers[#headers + 1] = type(v) == "table" and v[1] or v
            end
        end
    end
    local ok, err = router:report(d, status, headers, kind)
    if not ok then
        ngx_log(WARN, "sticky: ", err)
    end
    state.reported = true
end

--- log(): report a success when its response has ended; end an attempt
-- still open otherwise (the client went away before the upstream
-- answered); forget the request.
-- Phase: log_by_lua*. Since 0.5.0.
function _M.log()
    local state = ngx.ctx.sticky
    local key = request_key()
    if not state then
        state = stash[key]
    end
    stash[key] = nil
    if not state or not state.decision or state.reported then
        return
    end
    state.reported = true
    if state.success then
        local ok, err = router:report(state.decision, state.success)
        if not ok then
            ngx_log(WARN, "sticky: ", err)
        end
    else
        router:release(state.decision)
    end
end

--- prometheus(): answer a metrics request with the router's Prometheus
-- text (this worker's counters; health is the segment's).
-- Phase: content_by_lua*. Since 0.5.0.
function _M.prometheus()
    local text, err = router:prometheus()
    if not text then
        ngx_log(ERR, "sticky: ", err)
        return ngx.exit(500)
    end
    ngx.header["content-type"] = "text/plain; version=0.0.4"
    ngx.print(text)
end

return _M
