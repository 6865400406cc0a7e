"""bindings/python/tests/test_router.py - the Router against the real
libsticky: placement and stickiness, a 429 moving a conversation once,
errors as exceptions with the library's code, the retry helper, stats,
and the load-time layout check refusing a mismatched library."""
import pytest

import sticky
from sticky import _ffi
from conftest import conv


@pytest.fixture
def router(clock):
    with sticky.Router(clock=lambda: clock[0]) as r:
        yield r


CHANNELS = sticky.ChannelSet(["A", "B", "C"])


def test_turns_stay_on_one_channel(router, clock):
    first = {}
    for n in range(12):
        clock[0] += 1
        d = router.select(body=conv(n, 1), tenant="t", channels=CHANNELS)
        assert d.reason == "new"
        first[n] = d.channel
        router.report(d, status=200)
    assert set(first.values()) == {"A", "B", "C"}
    for turn in (2, 3, 4):
        for n in range(12):
            d = router.select(body=conv(n, turn), tenant="t", channels=CHANNELS)
            assert d.channel == first[n]
            assert d.reason in ("hit", "promoted_hit")
            router.report(d, status=200)


def test_429_moves_a_conversation_once(router, clock):
    d = router.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
    router.report(d, status=200)
    bound = d.channel
    d = router.select(body=conv(1, 2), tenant="t", channels=CHANNELS)
    reset = clock[0] // 1000 + 600
    router.report(d, status=429, headers={"anthropic-ratelimit-unified-status": "rejected",
                                           "anthropic-ratelimit-unified-reset": str(reset)})
    moved = router.select(body=conv(1, 3), tenant="t", channels=CHANNELS)
    assert moved.channel != bound
    assert moved.moved_from == bound
    router.report(moved, status=200)
    for turn in (4, 5):
        d = router.select(body=conv(1, turn), tenant="t", channels=CHANNELS)
        assert d.channel == moved.channel
        router.report(d, status=200)


def test_bytes_like_bodies(router):
    body = conv(7, 1)
    a = router.select(body=body, tenant="t", channels=CHANNELS)
    b = router.select(body=bytearray(body), tenant="t", channels=CHANNELS)
    c = router.select(body=memoryview(body), tenant="t", channels=CHANNELS)
    d = router.select(body=body.decode(), tenant="t", channels=CHANNELS)
    assert a.key == b.key == c.key == d.key
    for x in (a, b, c, d):
        router.release(x)


def test_report_once(router):
    d = router.select(body=conv(2, 1), tenant="t", channels=CHANNELS)
    assert d.open
    router.report(d, status=200)
    assert not d.open
    with pytest.raises(sticky.StickyError) as e:
        router.report(d, status=200)
    assert e.value.code < 0 and e.value.name.startswith("STICKY_E")


def test_no_channel(router):
    dead = sticky.ChannelSet([{"id": "A", "state": "disabled"}])
    with pytest.raises(sticky.NoChannelError) as e:
        router.select(body=conv(3, 1), tenant="t", channels=dead)
    assert e.value.name == "STICKY_ENOCHANNEL"


def test_bad_input():
    with pytest.raises(ValueError):
        sticky.ChannelSet([{"id": "A", "state": "sleepy"}])
    with pytest.raises(ValueError):
        sticky.ChannelSet([])
    with pytest.raises(TypeError):
        sticky.Router(no_such_setting=1)
    r = sticky.Router()
    r.close()
    r.close()
    with pytest.raises(ValueError):
        r.select(body=b"{}", channels=CHANNELS)


def test_bad_body_is_an_error_not_a_crash(router):
    with pytest.raises(sticky.StickyError) as e:
        router.select(body=b"\xff\xfe not json", tenant="t", channels=CHANNELS)
    assert e.value.name == "STICKY_EPARSE"


def test_route_retries_on_the_next_channel(router):
    calls = []

    def send(d):
        calls.append(d.channel)
        if len(calls) == 1:
            return 503, {}, "unavailable"  # cools the channel: the retry goes elsewhere
        return 200, {}, f"ok from {d.channel}"

    result = router.route({"body": conv(4, 1), "tenant": "t"}, send, channels=CHANNELS)
    assert len(calls) == 2 and calls[0] != calls[1]
    assert result == f"ok from {calls[1]}"


def test_route_transport_error_then_gives_up(router):
    def send(d):
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        router.route({"body": conv(5, 1), "tenant": "t"}, send, channels=CHANNELS,
                     max_attempts=2)
    assert router.stats()["reports"] == 2


def test_stats_and_prometheus(router):
    d = router.select(body=conv(6, 1), tenant="t", channels=CHANNELS)
    router.report(d, status=200)
    s = router.stats()
    assert s["requests"] == 1 and s["new_sessions"] == 1
    text = router.prometheus()
    assert "sticky_channel_selections_total" in text


class FakeLib:
    def __init__(self, version, sizes):
        self.version, self.sizes = version, sizes

    def sticky_version_string(self):
        return _ffi.ffi.new("char[]", b"%d.%d.0" % (self.version >> 16, (self.version >> 8) & 255))

    def sticky_version_number(self):
        return self.version

    def sticky_struct_size(self, sid):
        return self.sizes.get(sid, 0)


def test_layout_check_refuses_a_mismatch():
    good = {sid: _ffi.ffi.sizeof(name) for name, sid in _ffi.STRUCT_IDS.items()}
    _ffi.check_layout(FakeLib(0x000500, good), "fake")
    bad = dict(good)
    bad[_ffi.STRUCT_IDS["sticky_decision"]] += 8
    with pytest.raises(ImportError, match="sizeof\\(sticky_decision\\)"):
        _ffi.check_layout(FakeLib(0x000500, bad), "fake")
    with pytest.raises(ImportError, match="this package is for 0.5"):
        _ffi.check_layout(FakeLib(0x000600, good), "fake")


def test_precomputed_key_selects_like_the_body(router):
    body = conv(8, 2)
    k = router.key(body=body, tenant="t")
    assert len(k.hex) == 16 and k.depth >= 1 and k.source == "content"
    a = router.select(key=k, tenant="t", channels=CHANNELS)
    router.report(a, status=200)
    b = router.select(body=body, tenant="t", channels=CHANNELS)
    assert b.channel == a.channel and b.key == a.key == k.hex
    router.report(b, status=200)
    with pytest.raises(TypeError):
        router.select(key="0123456789abcdef", tenant="t", channels=CHANNELS)
    with pytest.raises(sticky.StickyError) as e:
        router.key(body=b"{not json", tenant="t")
    assert e.value.name == "STICKY_EPARSE"


def test_decision_and_key_are_immutable(router):
    d = router.select(body=conv(9, 1), tenant="t", channels=CHANNELS)
    with pytest.raises(AttributeError):
        d.channel = "B"
    with pytest.raises(AttributeError):
        d._raw = None
    assert d.as_dict()["channel"] == d.channel and "Decision(" in repr(d)
    router.release(d)
    k = router.key(body=conv(9, 1))
    with pytest.raises(AttributeError):
        k.hex = "x"


def test_ttl_through_the_injected_clock(clock):
    with sticky.Router(clock=lambda: clock[0], ttl_seconds=60,
                       renew_threshold_seconds=10) as r:
        for n in range(6):
            d = r.select(body=conv(n, 1), tenant="t", channels=CHANNELS)
            r.report(d, status=200)
        clock[0] += 59_000
        d = r.select(body=conv(0, 2), tenant="t", channels=CHANNELS)
        assert d.reason in ("hit", "promoted_hit")
        r.report(d, status=200)
        clock[0] += 61_000 * 3                      # every binding has expired
        for n in range(1, 6):
            d = r.select(body=conv(n, 2), tenant="t", channels=CHANNELS)
            assert d.reason == "new"
            r.release(d)


@pytest.mark.parametrize("value", [-1, 2**63 - 1, -2**63, 0])
def test_any_int64_clock_value(value):
    with sticky.Router(clock=lambda: value) as r:
        d = r.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
        r.report(d, status=429, headers={"retry-after": "30"})
        d = r.select(body=conv(1, 2), tenant="t", channels=CHANNELS)
        r.report(d, status=200)


def test_bad_python_values_are_clear_errors(router):
    with pytest.raises(ValueError, match="NUL"):
        sticky.ChannelSet(["A\0B"])
    with pytest.raises(TypeError):
        sticky.ChannelSet([42])
    with pytest.raises(TypeError):
        sticky.ChannelSet([{"id": "A", "models": "claude-*"}])
    with pytest.raises(ValueError):
        sticky.ChannelSet([{"id": "A", "weight": -1}])
    with pytest.raises(ValueError):
        sticky.ChannelSet([{"id": "A", "priority": 2**40}])
    with pytest.raises(TypeError):
        sticky.Router(ttl_seconds="60")
    with pytest.raises(ValueError):
        sticky.Router(ttl_seconds=2**40)
    with pytest.raises(ValueError):
        sticky.Router(select_policy="fastest")
    with pytest.raises(TypeError):
        router.select(body=12345, tenant="t", channels=CHANNELS)
    with pytest.raises(TypeError):
        router.select(body=conv(1, 1), tenant=b"t", channels=CHANNELS)
    with pytest.raises(TypeError):
        router.select(body=conv(1, 1), headers="x-session-id: 1", channels=CHANNELS)
    with pytest.raises(TypeError):
        router.select(body=conv(1, 1), headers=[("a",)], channels=CHANNELS)
    d = router.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
    with pytest.raises(ValueError):
        router.report(d, status=10_000)
    with pytest.raises(TypeError):
        router.report(d, status="200")
    with pytest.raises(ValueError):
        router.report(d)
    with pytest.raises(TypeError):
        router.report(d.as_dict(), status=200)
    assert d.open                                  # none of that closed it
    router.report(d, status=200)
    # an id the library would refuse: refused when the set is built
    with pytest.raises(ValueError, match="longer than 127"):
        router.select(body=conv(1, 1), tenant="t", channels=["x" * 500])


def test_headers_as_pairs_and_bytes(router, clock):
    d = router.select(body=conv(11, 1), tenant="t", channels=CHANNELS)
    router.report(d, status=200)
    bound = d.channel
    d = router.select(body=conv(11, 2), tenant="t", channels=CHANNELS)
    reset = clock[0] // 1000 + 600
    router.report(d, status=429, headers=[(b"anthropic-ratelimit-unified-status", b"rejected"),
                                          ("anthropic-ratelimit-unified-reset", str(reset))])
    d = router.select(body=conv(11, 3), tenant="t", channels=CHANNELS)
    assert d.channel != bound and d.moved_from == bound
    router.release(d)


def test_explicit_session_id(router):
    a = router.select(body=conv(12, 1), tenant="t", session_id="sess-1", channels=CHANNELS)
    router.report(a, status=200)
    b = router.select(body=conv(99, 4), tenant="t", session_id="sess-1", channels=CHANNELS)
    assert b.channel == a.channel and b.reason == "explicit_hit"
    router.release(b)


def test_body_buffers_are_views():
    """body_buffer() views the caller's own bytes, never a copy."""
    import ctypes
    from sticky import _request
    ba = bytearray(conv(1, 1) + b" " * 50_000)
    view = _request.body_buffer(ba)
    addr = ctypes.addressof((ctypes.c_char * len(ba)).from_buffer(ba))
    assert int(_ffi.ffi.cast("uintptr_t", view)) == addr
    mv = memoryview(ba)[10:]
    assert int(_ffi.ffi.cast("uintptr_t", _request.body_buffer(mv))) == addr + 10
    b = bytes(ba)
    assert _ffi.ffi.buffer(_request.body_buffer(b))[:] == b


def test_random_bytes_never_crash(router):
    """Seeded random bodies, headers and statuses: every call returns or
    raises StickyError / NoChannelError; attempts never leak (each channel
    takes one attempt at a time: a leaked one would make it unusable)."""
    capped = sticky.ChannelSet([{"id": c, "max_inflight": 1} for c in ("A", "B", "C")])
    import random
    rng = random.Random(15)
    base = conv(3, 3)
    for i in range(3000):
        kind = rng.random()
        if kind < 0.3:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        elif kind < 0.7:  # a real body with a few bytes flipped or cut
            b = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
            body = bytes(b[:rng.randrange(1, len(b) + 1)])
        else:
            body = base
        headers = [(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 12))),
                    bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 20))))
                   for _ in range(rng.randrange(0, 4))]
        try:
            d = router.select(body=body, tenant="t", headers=headers, channels=capped)
        except sticky.StickyError:
            continue
        router.report(d, status=rng.choice([200, 400, 429, 500, 529, 401]),
                      headers=headers + [("retry-after", str(rng.randrange(-5, 10**6)))])
    assert router.stats()["requests"] > 0
    assert [router.health(c)["in_flight"] for c in ("A", "B", "C")] == [0, 0, 0]


def test_a_bad_send_result_releases_the_attempt():
    capped = sticky.ChannelSet([{"id": "A", "max_inflight": 1}])
    with sticky.Router() as r:
        for bad in [(None, {}, "x"), ("200", {}, "x"), (1000, {}, "x"), (True, {}, "x"),
                    (200, {}), "nonsense", None]:
            with pytest.raises(TypeError, match="send"):
                r.route({"body": conv(1, 1), "tenant": "t"}, lambda d, b=bad: b,
                        channels=capped)
        # bad headers make report() raise: the attempt is released too
        with pytest.raises(TypeError):
            r.route({"body": conv(1, 1), "tenant": "t"}, lambda d: (200, 42, "x"),
                    channels=capped)
        d = r.select(body=conv(2, 1), tenant="t", channels=capped)   # the slot is free
        r.report(d, status=200)
        assert r.stats()["reports"] == 1                            # none was a failure


def test_a_keyed_select_keeps_tenant_and_model():
    chans = sticky.ChannelSet([{"id": "haiku-only", "models": ["claude-haiku-*"]},
                               {"id": "sonnet-only", "models": ["claude-sonnet-*"]}])
    with sticky.Router() as r:
        for n in range(10):
            k = r.key(body=conv(n, 1), tenant="team-7")
            assert k.model == "claude-sonnet-4-5" and k.tenant == "team-7"
            d = r.select(key=k, channels=chans)
            assert d.channel == "sonnet-only" and d.model == "claude-sonnet-4-5"
            r.report(d, status=200)
            again = r.select(body=conv(n, 2), tenant="team-7", channels=chans)
            assert again.reason in ("hit", "promoted_hit")    # same tenant's session
            r.report(again, status=200)
        k = r.key(body=conv(99, 1), model="claude-haiku-4-5")
        assert r.select(key=k, channels=chans).channel == "haiku-only"
        assert r.stats()["tenant_mismatches"] == 0


def test_a_clock_that_closes_or_raises(clock):
    state = {"close": False, "raise": False}

    def tick():
        if state["close"]:
            state["close"] = False
            r.close()
        if state["raise"]:
            raise OSError("clock source gone")
        return clock[0]

    r = sticky.Router(clock=tick)
    home = r.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
    r.report(home, status=200)
    state["close"] = True                 # close() from inside a call: refused, no crash
    with pytest.raises(RuntimeError, match="inside its clock"):
        r.select(body=conv(1, 2), tenant="t", channels=CHANNELS)
    assert not r.closed
    assert r.health(home.channel)["in_flight"] == 0   # that attempt was released
    state["raise"] = True                 # the clock's error reaches the caller ...
    with pytest.raises(OSError, match="clock source gone"):
        r.select(body=conv(1, 3), tenant="t", channels=CHANNELS)
    state["raise"] = False                # ... and the session survived (no epoch-0 time)
    d = r.select(body=conv(1, 4), tenant="t", channels=CHANNELS)
    assert d.channel == home.channel and d.reason in ("hit", "promoted_hit")
    r.report(d, status=200)
    r.close()


def test_channel_ids_the_library_refuses_are_refused_at_once():
    for bad in ([""], ["x" * 128], ["a", "a"]):
        with pytest.raises(ValueError):
            sticky.ChannelSet(bad)
    sticky.ChannelSet(["x" * 127])


def test_select_hands_the_body_to_the_library_in_place(monkeypatch):
    import ctypes
    from sticky import router as router_mod
    seen = []
    real = router_mod._select

    def spy(ctx, req, chans, n, d):
        seen.append((int(_ffi.ffi.cast("uintptr_t", req.body)), req.body_len))
        return real(ctx, req, chans, n, d)

    monkeypatch.setattr(router_mod, "_select", spy)
    body = bytearray(conv(1, 1) + b" " * 50_000)
    addr = ctypes.addressof((ctypes.c_char * len(body)).from_buffer(body))
    with sticky.Router() as r:
        r.release(r.select(body=body, tenant="t", channels=CHANNELS))
        r.release(r.select(body=memoryview(body), tenant="t", channels=CHANNELS))
    assert seen == [(addr, len(body)), (addr, len(body))]


def test_channel_health_and_clearing_a_revoked_key(router):
    d = router.select(body=conv(40, 1), tenant="t", channels=CHANNELS)
    assert router.health(d.channel)["in_flight"] == 1
    router.report(d, status=401)
    h = router.health(d.channel)
    assert h["state"] == "auth" and h["cause"] == "auth" and h["in_flight"] == 0
    moved = router.select(body=conv(40, 2), tenant="t", channels=CHANNELS)
    assert moved.channel != d.channel
    router.report(moved, status=200)
    router.clear_health(d.channel)           # the key was replaced
    assert router.health(d.channel)["state"] == "ok"
    assert router.health("never-seen")["selections"] == 0
    with pytest.raises(TypeError):
        router.health(None)
