"""sticky.aio - AsyncRouter: the Router on asyncio. With the memory or
shared-memory store a selection never waits on I/O and runs inline on the
event loop (microseconds); with the Redis store select / report run on a
small thread pool, so the event loop never waits for Redis (cffi releases
the GIL during the library call). Why not the library's own async API:
its Redis store is driven by hiredis' event hooks, which an asyncio loop
could only drive by mirroring hiredis' structs in Python (docs in
bindings/python/README.md)."""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Union

from .channels import ChannelLike, ChannelSet, as_channel_set
from .decision import Decision, Key
from .router import RETRYABLE, Router, _send_result


class AsyncRouter:
    """AsyncRouter(*, max_workers=None, **router_kwargs): a Router (same
    arguments: shm=, redis=, clock=, settings) whose select / report /
    release / route are coroutines. .router is the underlying Router
    (stats(), prometheus(), key() are plain calls). max_workers: threads
    for a Redis-backed router (default: the Redis pool size, else 4). Use
    `async with`, or await aclose()."""

    def __init__(self, *, max_workers: Optional[int] = None, **router_kwargs: Any):
        self.router = Router(**router_kwargs)
        self._executor = None
        if self.router.blocking:
            redis = router_kwargs.get("redis") or {}
            workers = max_workers or int(redis.get("pool_size", 4))
            self._executor = ThreadPoolExecutor(max_workers=workers,
                                                thread_name_prefix="sticky-redis")

    async def _run_to_end(self, fn: Callable[[], Any]) -> Any:
        """Run @fn (a report or release) on the pool; it runs to the end
        even if the awaiting task is cancelled (shielded), so an attempt is
        never left open by a cancellation."""
        if self._executor is None:
            return fn()
        fut = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        return await asyncio.shield(fut)

    async def select(self, **request: Any) -> Decision:
        """Router.select() without blocking the loop. If the awaiting task
        is cancelled while a Redis-backed selection is running, its
        decision is released when it arrives (no attempt is left open)."""
        fn = functools.partial(self.router.select, **request)
        if self._executor is None:
            return fn()
        fut = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            fut.add_done_callback(self._release_orphan)
            raise

    def _release_orphan(self, fut: "asyncio.Future[Decision]") -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        d = fut.result()
        if not self.router.closed and self._executor is not None:
            self._executor.submit(self.router.release, d)

    async def report(self, decision: Decision, **outcome: Any) -> None:
        """Router.report() without blocking the loop; it completes even if
        the awaiting task is cancelled."""
        await self._run_to_end(functools.partial(self.router.report, decision, **outcome))

    async def release(self, decision: Decision) -> None:
        """Router.release(); completes even if the awaiting task is cancelled."""
        await self._run_to_end(functools.partial(self.router.release, decision))

    def key(self, **request: Any) -> Key:
        """Router.key(): CPU only, never waits."""
        return self.router.key(**request)

    async def route(self, request: Mapping[str, Any],
                    send: Callable[[Decision], Awaitable[Any]], *,
                    channels: Union[ChannelSet, Iterable[ChannelLike]],
                    max_attempts: int = 3) -> Any:
        """Router.route() with an async @send(decision) returning (status,
        headers, result). A cancelled task releases its open attempt."""
        if max_attempts < 1:
            raise ValueError("route: max_attempts must be >= 1")
        cs = as_channel_set(channels)
        result = None
        for attempt in range(max_attempts):
            d = await self.select(channels=cs, **request)
            try:
                out = await send(d)
            except (TimeoutError, asyncio.TimeoutError):
                await self.report(d, timeout=True)
                if attempt + 1 == max_attempts:
                    raise
                continue
            except Exception:
                await self.report(d, transport=True)
                if attempt + 1 == max_attempts:
                    raise
                continue
            except BaseException:
                self.router.release(d)
                raise
            status, headers, result = _send_result(self.router, d, out)
            try:
                await self.report(d, status=status, headers=headers)
            except asyncio.CancelledError:
                raise  # the shielded report still runs to the end
            except BaseException:
                if d.open:
                    self.router.release(d)
                raise
            if status not in RETRYABLE:
                return result
        return result

    def stats(self) -> dict:
        return self.router.stats()

    def prometheus(self) -> str:
        return self.router.prometheus()

    async def aclose(self) -> None:
        """Wait for running calls, then free the router. Idempotent."""
        if self._executor is not None:
            ex, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, ex.shutdown)
        self.router.close()

    async def __aenter__(self) -> "AsyncRouter":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
