"""bindings/python/tests/test_router.py - the Router against the real
libsticky: placement and stickiness, a 429 moving a conversation once,
errors as exceptions with the library's code, the retry helper, stats,
and the load-time layout check refusing a mismatched library."""
import json

import pytest

import sticky
from sticky import _ffi


def conv(n, turns):
    msgs = []
    for t in range(turns):
        msgs.append({"role": "user", "content": f"conversation {n} question {t}"})
        if t < turns - 1:
            msgs.append({"role": "assistant", "content": f"answer {t}"})
    return json.dumps({"model": "claude-sonnet-4-5", "messages": msgs}).encode()


@pytest.fixture
def clock():
    now = [1_750_000_000_000]
    return now


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
    _ffi.check_layout(FakeLib(0x000400, good), "fake")
    bad = dict(good)
    bad[_ffi.STRUCT_IDS["sticky_decision"]] += 8
    with pytest.raises(ImportError, match="sizeof\\(sticky_decision\\)"):
        _ffi.check_layout(FakeLib(0x000400, bad), "fake")
    with pytest.raises(ImportError, match="this package is for 0.4"):
        _ffi.check_layout(FakeLib(0x000500, good), "fake")
