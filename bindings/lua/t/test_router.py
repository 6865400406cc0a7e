"""bindings/lua/t/test_router.py - resty.sticky.router (the libsticky
context in LuaJIT, no nginx phases) run inside a one-shot nginx: select /
report / release, options refused with clear messages, channel states and
model lists, errors returned as (nil, message, rc). Needs STICKY_LIBRARY
(set by meson)."""
import os

import pytest

from luarun import run_lua

PRELUDE = """
local router = require "resty.sticky.router"
local LIB = %r
local function body(first, n)
    local msgs = { string.format('{"role":"user","content":%%q}', first) }
    for i = 2, n or 1 do
        msgs[#msgs + 1] = string.format('{"role":"assistant","content":"a%%d"}', i)
        msgs[#msgs + 1] = string.format('{"role":"user","content":"q%%d"}', i)
    end
    return '{"model":"claude-sonnet-4-5","messages":[' .. table.concat(msgs, ",") .. ']}'
end
"""


def lua(tmp_path, code):
    lib = os.environ.get("STICKY_LIBRARY")
    if not lib:
        pytest.skip("needs STICKY_LIBRARY")
    out = run_lua(str(tmp_path), PRELUDE % lib + code)
    assert not any(l.startswith("LUA-ERROR") for l in out), out
    return out


def test_select_report_and_stickiness(tmp_path):
    out = lua(tmp_path, """
        local r = router.new{ library = LIB, memory = true, channels = { "a", "b", "c" } }
        local d = assert(r:select{ body = body("conversation one") })
        emit("first", r:reason(d), r:channel(d).id, d.channel_index)
        assert(r:report(d, 200))
        local ok, err, rc = r:report(d, 200)
        emit("again", tostring(ok), rc)
        local d2 = assert(r:select{ body = body("conversation one", 2) })
        emit("second", r:reason(d2), r:channel(d2).id)
        assert(r:release(d2))
        assert(r:release(d2))          -- idempotent
        local s = r:stats()
        emit("stats", s.requests, s.reports, s.new_sessions)
    """)
    first = out[0].split()
    assert first[:2] == ["first", "new"] and first[3] == str("abc".index(first[2]))
    assert out[1] == "again nil -4"                  # STICKY_ENOTFOUND: ended once
    # the longer body's deepest key is new: a shallower key's binding, promoted
    assert out[2] == "second promoted_hit " + first[2]
    assert out[3] == "stats 2 1 1"


def test_429_moves_once_and_health(tmp_path):
    out = lua(tmp_path, """
        local r = router.new{ library = LIB, memory = true, channels = { "a", "b" } }
        local d = assert(r:select{ body = body("rate me") })
        local bound = r:channel(d).id
        assert(r:report(d, 429, { "retry-after", "90",
                                  "anthropic-ratelimit-unified-status", "rejected" }))
        local h = r:health(bound)
        emit("health", h.state, h.cause, math.floor((h.until_ms - r:now_ms()) / 1000 + 0.5))
        local d2 = assert(r:select{ body = body("rate me", 2) })
        emit("moved", r:reason(d2), tostring(r:channel(d2).id ~= bound), tostring(ffi_string(d2.moved_from) == bound))
        assert(r:report(d2, 200))
        local d3 = assert(r:select{ body = body("rate me", 3) })
        emit("stays", r:reason(d3), tostring(r:channel(d3).id == r:channel(d2).id))
        assert(r:clear_health(bound))
        emit("cleared", r:health(bound).state)
    """.replace("ffi_string", 'require("ffi").string'))
    assert out[0] == "health 2 1 90"                 # rate limited for the announced 90 s
    assert out[1] == "moved failover true true"
    assert out[2] in ("stays hit true", "stays promoted_hit true")
    assert out[3] == "cleared 0"


def test_no_channel_and_models_and_states(tmp_path):
    out = lua(tmp_path, """
        local r = router.new{ library = LIB, memory = true, channels = {
            { id = "haiku-only", models = { "claude-haiku*" } },
            { id = "off", state = "disabled" },
        } }
        local d = assert(r:select{ body = body("x"), model = "claude-haiku-4-5" })
        emit("haiku", r:channel(d).id)
        r:release(d)
        local nd, err, rc, dec = r:select{ body = body("y"), model = "claude-opus-4-1" }
        emit("opus", tostring(nd), rc, r:reason(dec))
        emit("err", err)
    """)
    assert out[0] == "haiku haiku-only"
    assert out[1] == "opus nil -7 no_channel"        # STICKY_ENOCHANNEL
    assert out[2].startswith("err select: no channel available")


def test_malformed_body_is_an_error_not_a_crash(tmp_path):
    out = lua(tmp_path, """
        local r = router.new{ library = LIB, memory = true, channels = { "a" } }
        local nd, err, rc = r:select{ body = '{"messages": [' }
        emit(tostring(nd), rc)
        local d = assert(r:select{})                 -- no body: placed unkeyed
        emit("unkeyed", r:reason(d), d.key_source)
    """)
    assert out[0] == "nil -3"                        # STICKY_EPARSE
    assert out[1].startswith("unkeyed new")


@pytest.mark.parametrize("opts,message", [
    ('memory = true, redis = { host = "h" }, channels = { "a" }',
     "unknown option redis (only the shared-memory or memory store"),
    ('channels = { "a" }', "give exactly one of shm = PATH"),
    ('memory = true, shm = "/dev/shm/x", channels = { "a" }', "give exactly one of shm = PATH"),
    ('memory = true, channels = {}', "channels: a non-empty list is required"),
    ('memory = true, channels = { "a", "a" }', "channel a is listed twice"),
    ('memory = true, channels = { { id = "a", state = "sleepy" } }', "state must be active"),
    ('memory = true, channels = { { id = "a", models = { "claude-\\0x" } } }',
     "channel a: model 1 must be a non-empty string without NUL bytes"),
    ('memory = true, channels = { { id = "a", models = { "ok", 5 } } }',
     "channel a: model 2 must be"),
    ('memory = true, channels = { "a" }, config = { ttl = 5 }', "unknown setting ttl"),
    ('memory = true, channels = { "a" }, config = { select_policy = "best" }', "select_policy"),
    ('memory = true, channels = { "a" }, config = { ttl_seconds = 0 }',
     "invalid configuration value"),
    ('shm = "/nonexistent-dir/x.shm", channels = { "a" }', "shared memory /nonexistent-dir/x.shm"),
])
def test_bad_options_are_clear_errors(tmp_path, opts, message):
    out = lua(tmp_path, """
        local ok, err = pcall(router.new, { library = LIB, %s })
        emit(tostring(ok), err)
    """ % opts)
    assert out[0].startswith("false ") and message in out[0], out


def test_too_many_headers_is_an_error_not_a_cut(tmp_path):
    out = lua(tmp_path, """
        local r = router.new{ library = LIB, memory = true, channels = { "a" } }
        local many = {}
        for i = 1, 33 do
            many[#many + 1] = "x-h" .. i
            many[#many + 1] = "v"
        end
        local nd, err, rc = r:select{ body = body("hdrs"), headers = many }
        emit(tostring(nd), rc, err)
        local d = assert(r:select{ body = body("hdrs") })
        local ok, rerr, rrc = r:report(d, 429, many)
        emit(tostring(ok), rrc, rerr)
        emit("in_flight", r:health("a").in_flight)
        assert(r:report(d, 200))
        emit("in_flight", r:health("a").in_flight)
    """)
    assert out[0].startswith("nil -1 select: too many headers: 33 pairs (at most 32)"), out
    assert out[1].startswith("nil -1 report: too many headers"), out
    assert out[2:] == ["in_flight 1", "in_flight 0"], out
