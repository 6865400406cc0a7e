"""bindings/python/examples/aiohttp_gateway.py - a small Claude relay on
aiohttp: POST /v1/messages is routed by libsticky (AsyncRouter.route) to
one of several upstream accounts, retried on the next account the library
chooses after a 429 / 5xx / refused connection; GET /stats and
GET /metrics expose the router's counters. Streaming responses are passed
through whole (no SSE relaying in this example).

    python3 aiohttp_gateway.py --listen 127.0.0.1:8080 \\
        --upstream acct-a=https://... --upstream acct-b=https://... [--redis 127.0.0.1:6379]

The test bindings/python/tests/test_gateway.py runs it in front of fake
Anthropic upstreams."""
from __future__ import annotations

import argparse
import time
from typing import Mapping, Optional

from aiohttp import ClientSession, ClientTimeout, web

import sticky

# Request headers the gateway forwards upstream (the client's key is not:
# each account has its own).
FORWARD = ("anthropic-version", "anthropic-beta", "content-type")


def make_app(router: sticky.AsyncRouter, upstreams: Mapping[str, str],
             keys: Optional[Mapping[str, str]] = None, timeout_s: float = 300) -> web.Application:
    """The gateway: @upstreams maps a channel id to its base URL, @keys a
    channel id to the API key sent there."""
    channels = sticky.ChannelSet(list(upstreams))
    keys = keys or {}
    app = web.Application()

    async def start(app):
        app["http"] = ClientSession(timeout=ClientTimeout(total=timeout_s))

    async def stop(app):
        await app["http"].close()

    async def messages(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        tenant = request.headers.get("x-api-key", "")
        fwd = {h: request.headers[h] for h in FORWARD if h in request.headers}

        async def send(d: sticky.Decision):
            headers = dict(fwd)
            if d.channel in keys:
                headers["x-api-key"] = keys[d.channel]
            async with app["http"].post(upstreams[d.channel] + "/v1/messages", data=body,
                                        headers=headers) as resp:
                data = await resp.read()
                out = (resp.status, data, resp.headers.get("content-type", "application/json"),
                       d.channel)
                return resp.status, resp.headers, out

        try:
            status, data, ctype, channel = await router.route(
                {"body": body, "tenant": tenant}, send, channels=channels)
        except sticky.NoChannelError as e:
            # every account is cooling: tell the client when one may be back
            retry = max(1, -(-(e.retry_at_ms - int(time.time() * 1000)) // 1000))
            return web.json_response({"type": "error", "error": {
                "type": "rate_limit_error", "message": "no upstream account available"}},
                status=429, headers={"retry-after": str(retry)} if e.retry_at_ms else None)
        except sticky.StickyError as e:
            return web.json_response({"type": "error", "error": {
                "type": "invalid_request_error", "message": str(e)}}, status=400)
        except Exception as e:  # the last attempt's transport failure
            return web.json_response({"type": "error", "error": {
                "type": "api_error", "message": f"upstream unreachable: {e}"}}, status=502)
        return web.Response(status=status, body=data, content_type=ctype.split(";")[0],
                            headers={"x-sticky-channel": channel})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(router.stats())

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=router.prometheus(), content_type="text/plain")

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/stats", stats)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:8080")
    p.add_argument("--upstream", action="append", required=True, metavar="ID=URL")
    p.add_argument("--redis", metavar="HOST:PORT")
    p.add_argument("--shm", metavar="PATH")
    a = p.parse_args()
    upstreams = dict(u.split("=", 1) for u in a.upstream)
    kwargs = {"from_env": True}
    if a.redis:
        host, port = a.redis.rsplit(":", 1)
        kwargs["redis"] = {"host": host, "port": int(port)}
    if a.shm:
        kwargs["shm"] = a.shm
    host, port = a.listen.rsplit(":", 1)
    router = sticky.AsyncRouter(**kwargs)
    web.run_app(make_app(router, upstreams), host=host, port=int(port))


if __name__ == "__main__":
    main()
