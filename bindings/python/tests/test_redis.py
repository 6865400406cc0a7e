"""bindings/python/tests/test_redis.py - Router(redis=...) against a real
redis-server: two routers (two gateway hosts) share sessions and channel
health; a dead server degrades selections instead of failing them; bad
options are clear errors."""
import pytest

import sticky
from conftest import conv

CHANNELS = sticky.ChannelSet(["A", "B", "C"])


def test_two_hosts_share_sessions_and_health(redis_server, clock):
    opts = redis_server.options()
    with sticky.Router(redis=opts, clock=lambda: clock[0]) as h1, \
            sticky.Router(redis=opts, clock=lambda: clock[0]) as h2:
        assert h1.blocking
        placed = {}
        for n in range(10):
            d = h1.select(body=conv(n, 1), tenant="t", channels=CHANNELS)
            assert d.reason == "new" and not d.store_degraded
            placed[n] = d.channel
            h1.report(d, status=200)
        for n in range(10):                       # the other host finds them
            d = h2.select(body=conv(n, 2), tenant="t", channels=CHANNELS)
            assert d.channel == placed[n] and d.reason in ("hit", "promoted_hit")
            h2.report(d, status=200)
        d = h1.select(body=conv(0, 3), tenant="t", channels=CHANNELS)
        reset = clock[0] // 1000 + 600
        h1.report(d, status=429, headers={"anthropic-ratelimit-unified-status": "rejected",
                                          "anthropic-ratelimit-unified-reset": str(reset)})
        d = h2.select(body=conv(0, 4), tenant="t", channels=CHANNELS)
        assert d.channel != placed[0] and d.moved_from == placed[0]
        h2.report(d, status=200)
        stats = h1.stats()
        assert stats["redis"]["round_trips"] > 0
        assert stats["redis"]["health_published"] >= 1


def test_a_dead_server_degrades_instead_of_failing(redis_server):
    with sticky.Router(redis=redis_server.options(command_timeout_ms=100)) as r:
        d = r.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
        r.report(d, status=200)
        redis_server.kill()
        for n in range(5):
            d = r.select(body=conv(1, 2 + n), tenant="t", channels=CHANNELS)
            assert d.store_degraded
            r.report(d, status=200)
        assert r.stats()["store_errors"] >= 1


def test_bad_redis_options(redis_server):
    with pytest.raises(TypeError):
        sticky.Router(redis={"hots": "127.0.0.1"})
    with pytest.raises(TypeError):
        sticky.Router(redis={"port": "6379"})
    with pytest.raises(ValueError):
        sticky.Router(redis={"port": 2**40})
    with pytest.raises(sticky.StickyError) as e:
        sticky.Router(redis={"port": 0})
    assert e.value.name == "STICKY_ECONFIG"
    with pytest.raises(sticky.StickyError):
        sticky.Router(redis={"key_prefix": "p" * 100, "port": redis_server.port})
