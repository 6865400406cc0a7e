"""bindings/python/tests/test_aio.py - AsyncRouter on a real asyncio loop:
inline with the memory store; with Redis the loop keeps running while
selections wait on a frozen server (SIGSTOP), every one completes once
(degraded at the timeout), and a cancelled selection's attempt is released
when it arrives; the async retry helper."""
import asyncio
import os
import signal
import time

import sticky
from conftest import conv

CHANNELS = sticky.ChannelSet(["A", "B", "C"])


def test_memory_store_runs_inline():
    async def main():
        async with sticky.AsyncRouter() as r:
            d = await r.select(body=conv(1, 1), tenant="t", channels=CHANNELS)
            await r.report(d, status=200)
            d2 = await r.select(body=conv(1, 2), tenant="t", channels=CHANNELS)
            assert d2.channel == d.channel
            await r.release(d2)
            assert r._executor is None
    asyncio.run(main())


async def ticker(gaps, stop):
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.002)
        now = time.monotonic()
        gaps.append(now - last)
        last = now


def test_redis_selections_do_not_block_the_loop(redis_server):
    async def main():
        opts = redis_server.options(command_timeout_ms=300, pool_size=8)
        async with sticky.AsyncRouter(redis=opts) as r:
            # 400 concurrent new sessions, then their second turns
            first = await asyncio.gather(*[
                r.select(body=conv(n, 1), tenant="t", channels=CHANNELS) for n in range(400)])
            assert {d.reason for d in first} == {"new"}
            await asyncio.gather(*[r.report(d, status=200) for d in first])
            second = await asyncio.gather(*[
                r.select(body=conv(n, 2), tenant="t", channels=CHANNELS) for n in range(400)])
            assert all(b.channel == a.channel for a, b in zip(first, second))
            await asyncio.gather(*[r.report(d, status=200) for d in second])
            # freeze the server: selections wait for the timeout, the loop does not
            gaps, stop = [], asyncio.Event()
            tick = asyncio.create_task(ticker(gaps, stop))
            os.kill(redis_server.proc.pid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                frozen = await asyncio.gather(*[
                    r.select(body=conv(n, 3), tenant="t", channels=CHANNELS) for n in range(40)])
                waited = time.monotonic() - t0
            finally:
                os.kill(redis_server.proc.pid, signal.SIGCONT)
            stop.set()
            await tick
            assert waited >= 0.25                       # they did wait on Redis ...
            assert all(d.store_degraded for d in frozen)
            assert len(gaps) > 50 and max(gaps) < 0.15, max(gaps)   # ... the loop did not
            for d in frozen:
                await r.release(d)
    asyncio.run(main())


def test_a_cancelled_selection_releases_its_attempt(redis_server):
    capped = sticky.ChannelSet([{"id": "A", "max_inflight": 1}])

    async def main():
        opts = redis_server.options(command_timeout_ms=300)
        async with sticky.AsyncRouter(redis=opts) as r:
            os.kill(redis_server.proc.pid, signal.SIGSTOP)
            try:
                task = asyncio.create_task(r.select(body=conv(5, 1), tenant="t",
                                                    channels=capped))
                await asyncio.sleep(0.05)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            finally:
                os.kill(redis_server.proc.pid, signal.SIGCONT)
            # the orphaned selection finishes on the pool and is released: the
            # one slot of A is free again
            for _ in range(100):
                await asyncio.sleep(0.02)
                try:
                    d = await r.select(body=conv(6, 1), tenant="t", channels=capped)
                except sticky.NoChannelError:
                    continue
                assert d.channel == "A"
                await r.report(d, status=200)
                return
            raise AssertionError("the cancelled selection's attempt was never released")
    asyncio.run(main())


def test_async_route_moves_once_on_429(clock):
    async def main():
        async with sticky.AsyncRouter(clock=lambda: clock[0]) as r:
            limited = set()

            async def send(d):
                await asyncio.sleep(0)
                if d.channel in limited:
                    return 429, {"retry-after": "600"}, None
                return 200, {}, d.channel

            home = await r.route({"body": conv(1, 1), "tenant": "t"}, send, channels=CHANNELS)
            limited.add(home)
            moved = await r.route({"body": conv(1, 2), "tenant": "t"}, send, channels=CHANNELS)
            assert moved not in (None, home)
            for turn in (3, 4):
                again = await r.route({"body": conv(1, turn), "tenant": "t"}, send,
                                      channels=CHANNELS)
                assert again == moved
    asyncio.run(main())


def test_a_route_cancelled_while_reporting_leaves_no_attempt_open(redis_server):
    """The report of a finished attempt is queued behind a busy pool when
    the client goes away: it still runs, and the channel's one slot frees."""
    capped = sticky.ChannelSet([{"id": "A", "max_inflight": 1}])

    async def main():
        async with sticky.AsyncRouter(redis=redis_server.options(command_timeout_ms=300),
                                      max_workers=1) as r:
            seen = []

            async def send(d):
                seen.append(d)
                r._executor.submit(time.sleep, 0.3)   # another call occupies the pool
                return 200, {}, "ok"

            task = asyncio.create_task(r.route({"body": conv(1, 1), "tenant": "t"}, send,
                                               channels=capped))
            await asyncio.sleep(0.05)                 # route awaits its queued report
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(0.6)
            assert seen and not seen[0].open
            d = await r.select(body=conv(2, 1), tenant="t", channels=capped)
            await r.report(d, status=200)
    asyncio.run(main())
