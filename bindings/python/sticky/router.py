"""sticky.router - Router: one libsticky context and its store (memory by
default, a shared-memory segment, or Redis); select / report / release,
key(), the retry helper route(), stats and the Prometheus text."""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from . import _request as rq
from ._ffi import ffi, lib, redis_lib
from .channels import ChannelLike, ChannelSet
from .decision import Decision, Key, new_decision, new_key
from .errors import ENOCHANNEL, ENOTFOUND, NoChannelError, StickyError, check

# Statuses route() moves on from: the library has already cooled the
# channel when it was told (401 / 403: the account's credential was
# refused, another account may serve the request).
RETRYABLE = frozenset({401, 403, 408, 429, 500, 502, 503, 504, 529})

_CONFIG_FIELDS = frozenset({
    "ttl_seconds", "renew_threshold_seconds", "max_sessions", "message_count",
    "include_system_prompt", "explicit_sources", "select_policy", "migrate_better_tier",
    "least_bad", "bounded_load_permille", "cooldown_429_seconds", "retry_after_cap_seconds",
    "cooldown_529_seconds", "cooldown_503_seconds", "cooldown_5xx_seconds",
    "cooldown_auth_seconds", "breaker_failures", "breaker_cooldown_seconds", "log_level",
})
_POLICIES = {"lru": 0, "rendezvous": 1, "random": 2}
_REDIS_FIELDS = {
    "host": str, "unix_path": str, "username": str, "password": str, "key_prefix": str,
    "client_name": str, "port": int, "db": int, "connect_timeout_ms": int,
    "command_timeout_ms": int, "pool_size": int, "ttl_seconds": int,
    "renew_threshold_seconds": int, "backoff_min_ms": int, "backoff_max_ms": int,
    "tcp_keepalive": int,
}

_new = ffi.new
_select = lib.sticky_select
_report = lib.sticky_report
_from_buffer = ffi.from_buffer


_HEALTH_STATES = {0: "ok", 1: "cooling", 2: "rate_limited", 3: "auth"}
_HEALTH_CAUSES = {0: "none", 1: "rate_limit", 2: "rate_limit_guess", 3: "overloaded",
                  4: "server", 5: "timeout", 6: "auth", 7: "breaker"}


def _channel_id(channel: str):
    if not isinstance(channel, str) or "\0" in channel:
        raise TypeError("channel: expected a channel id (str)")
    return channel.encode()


def _body_model(body: rq.Body) -> Optional[str]:
    """The top-level "model" of a JSON body, or None."""
    try:
        doc = json.loads(body if not isinstance(body, memoryview) else body.tobytes())
    except (ValueError, TypeError):
        return None
    m = doc.get("model") if isinstance(doc, dict) else None
    return m if isinstance(m, str) and "\0" not in m else None


def _send_result(router: "Router", d: Decision, out: Any):
    """(status, headers, result) from what send() returned; a malformed
    value is the host's bug: the attempt is released and TypeError raised
    (never reported as the channel's failure)."""
    try:
        status, headers, result = out
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise TypeError
    except (TypeError, ValueError):
        router.release(d)
        raise TypeError("route: send() must return (status, headers, result) with an int "
                        f"HTTP status, got {out!r:.80}") from None
    return status, headers, result


# Outcomes carrying only an HTTP status, built once per status: the
# library only reads them (const), from any thread.
_plain_outcomes = {}


def _plain_outcome(status: int):
    if not 100 <= status <= 999:
        raise ValueError(f"report: status {status} is not an HTTP status")
    o = _new(rq.OUTCOME_T)
    o.size = rq.OUTCOME_SIZE
    o.status = status
    o.retry_after_seconds = rq.ABSENT
    o.reset_epoch_seconds = rq.ABSENT
    _plain_outcomes[status] = o
    return o


class Router:
    """One libsticky context.

    Router(*, from_env=False, clock=None, shm=None, redis=None, **settings)

    settings: sticky_config fields (ttl_seconds=..., cooldown_429_seconds=...,
    select_policy="lru"|"rendezvous"|"random"); from_env=True reads the
    STICKY_* / SESSION_* variables first. clock: a function returning Unix
    milliseconds (tests). shm: path of a shared-memory segment (created if
    missing, e.g. "/dev/shm/gateway.sticky"): every process opening it
    shares sessions, channel health and in-flight caps (gunicorn / uvicorn
    workers). redis: a dict of Redis store options (host, port, unix_path,
    password, key_prefix, command_timeout_ms, pool_size, ...): sessions and
    channel health shared by gateway hosts; its calls block the calling
    thread for up to the command timeout (use AsyncRouter on asyncio).
    shm and redis together: sessions in Redis, health and caps in the segment.

    Thread-safe like the library: select / report from any thread. A
    context manager; or call close().
    """

    def __init__(self, *, from_env: bool = False, clock: Optional[Callable[[], int]] = None,
                 shm: Optional[str] = None, redis: Optional[Mapping[str, Any]] = None,
                 **settings: Any):
        self._ctx = ffi.NULL
        self._store = ffi.NULL
        self._store_lib = None
        self._tenants = rq.Interned()
        self._models = rq.Interned()
        cfg = _new("sticky_config *")
        check(lib.sticky_config_init_sized(cfg, ffi.sizeof("sticky_config")), "config")
        if from_env:
            bad = _new("const char **")
            rc = lib.sticky_config_from_env(cfg, bad)
            if rc != 0:
                name = ffi.string(bad[0]).decode() if bad[0] != ffi.NULL else "?"
                raise StickyError(rc, f"configuration from the environment ({name})")
        for k, v in settings.items():
            if k not in _CONFIG_FIELDS:
                raise TypeError(f"Router: unknown setting {k!r}")
            if k == "select_policy" and isinstance(v, str):
                if v not in _POLICIES:
                    raise ValueError(f"select_policy {v!r}: expected one of {sorted(_POLICIES)}")
                v = _POLICIES[v]
            if not isinstance(v, int):
                raise TypeError(f"Router: {k} must be an int, got {type(v).__name__}")
            try:
                setattr(cfg, k, int(v))
            except OverflowError:
                raise ValueError(f"Router: {k}={v} is out of range") from None
        self._clock = None
        self._in_clock = False
        self._clock_error = None
        if clock is not None:
            self._clock = ffi.callback("int64_t(void *)", self._clock_wrapper(clock))
            cfg.clock_fn = self._clock
        ctx = _new("sticky_ctx **")
        check(lib.sticky_ctx_new(cfg, ctx), "context")
        self._ctx = ctx[0]
        try:
            if redis is not None:
                self._use_redis(redis)
            if shm is not None:
                self._use_shm(shm)
        except BaseException:
            self.close()
            raise

    def _clock_wrapper(self, clock: Callable[[], int]):
        """The C clock callback: calls @clock; if it raises (or returns a
        non-int), the library gets the last good reading and the call that
        asked for the time re-raises the error when it returns."""
        last = [0]

        def now(_user):
            self._in_clock = True
            try:
                value = clock()
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"clock() returned {type(value).__name__}, not int ms")
                if not -2**63 <= value < 2**63:
                    raise ValueError(f"clock() returned {value}: outside int64")
                last[0] = value
            except BaseException as e:
                self._clock_error = e
            finally:
                self._in_clock = False
            return last[0]
        return now

    def _raise_clock_error(self, decision=None):
        """After a library call: re-raise the clock's error, if any,
        releasing the attempt the call opened."""
        e, self._clock_error = self._clock_error, None
        if decision is not None and decision.attempt != 0:
            lib.sticky_release(self._ctx, decision)
        raise e

    def _use_shm(self, path: str) -> None:
        if not isinstance(path, str) or "\0" in path:
            raise ValueError("shm: expected a path")
        seg = _new("sticky_shm **")
        check(lib.sticky_shm_open(self._ctx, path.encode(), ffi.NULL, seg), f"shared memory {path}")
        rc = lib.sticky_ctx_use_shm(self._ctx, seg[0])
        lib.sticky_shm_close(seg[0])  # the context keeps it open
        check(rc, "use shared memory")

    def _use_redis(self, options: Mapping[str, Any]) -> None:
        rl = redis_lib()
        o = _new("sticky_redis_store_options *")
        check(rl.sticky_redis_store_options_init_sized(
            o, ffi.sizeof("sticky_redis_store_options")), "redis options")
        keep = []
        for k, v in dict(options).items():
            kind = _REDIS_FIELDS.get(k)
            if kind is None:
                raise TypeError(f"redis: unknown option {k!r}")
            if kind is str:
                if not isinstance(v, str) or "\0" in v:
                    raise TypeError(f"redis: {k} must be a str without NUL")
                b = _new("char[]", v.encode())
                keep.append(b)
                setattr(o, k, b)
            else:
                if isinstance(v, bool) or not isinstance(v, int):
                    raise TypeError(f"redis: {k} must be an int")
                try:
                    setattr(o, k, v)
                except OverflowError:
                    raise ValueError(f"redis: {k}={v} is out of range") from None
        st = _new("sticky_store **")
        check(rl.sticky_redis_store_new(self._ctx, o, st), "redis store")
        rc = lib.sticky_ctx_set_store(self._ctx, st[0])
        if rc != 0:
            lib.sticky_store_free(st[0])
            check(rc, "set store")
        self._store = st[0]
        self._store_lib = rl

    # -- lifetime --------------------------------------------------------
    def close(self) -> None:
        """Free the store the Router made, then the context. Idempotent;
        no call may be running in another thread. Raises RuntimeError when
        called from the injected clock (a library call is running)."""
        if getattr(self, "_in_clock", False):
            raise RuntimeError("Router.close() from inside its clock: a call is running")
        if self._store != ffi.NULL:
            lib.sticky_store_free(self._store)
            self._store = ffi.NULL
        if self._ctx != ffi.NULL:
            lib.sticky_ctx_free(self._ctx)
            self._ctx = ffi.NULL

    @property
    def closed(self) -> bool:
        return self._ctx == ffi.NULL

    @property
    def blocking(self) -> bool:
        """Whether select / report may wait on the network (Redis store)."""
        return self._store != ffi.NULL

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _closed(self):
        return ValueError("Router is closed")

    # -- routing ---------------------------------------------------------
    def select(self, *, channels: Union[ChannelSet, Iterable[ChannelLike]],
               body: Optional[rq.Body] = None, key: Optional[Key] = None,
               tenant: str = "", model: Optional[str] = None, headers: rq.Headers = None,
               session_id: Optional[str] = None, strict: bool = False) -> Decision:
        """Choose a channel for one request.

        body: the raw JSON body (bytes-like objects are read in place, not
        copied), or key: a Key from key() (the body is not parsed again).
        tenant: the host's API-key or group id; model: the request's model
        (default: the body's); headers: request headers (explicit session
        ids); session_id: a host-given id; strict: never move a bound
        session (NoChannelError with retry_at_ms instead).
        Returns a Decision to report() or release() exactly once.
        Raises NoChannelError when nothing is usable, StickyError on a bad
        request, TypeError / ValueError on bad Python values."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        cs = channels if type(channels) is ChannelSet else ChannelSet(channels)
        r = _new(rq.REQUEST_T)
        r.size = rq.REQUEST_SIZE
        if key is not None:
            if type(key) is not Key:
                raise TypeError("key: expected a Key from Router.key()")
            r.chain = key._chain
            if not tenant:
                tenant = key.tenant
            if model is None:
                model = key.model
        elif body is not None:
            buf = rq.body_buffer(body)
            r.body = buf
            r.body_len = len(buf)
        if tenant:
            tb = self._tenants.get(tenant)
            r.tenant = tb[0]
            r.tenant_len = tb[1]
        if model is not None:
            mb = self._models.get(model)
            r.model = mb[0]
            r.model_len = mb[1]
        keep = None
        if headers:
            keep = []
            r.headers, r.n_headers = rq.header_array(headers, keep)
        if session_id is not None:
            sb = rq.body_buffer(session_id)
            r.session_id = sb
            r.session_id_len = len(sb)
        if strict:
            r.flags = rq.STRICT
        d = _new(rq.DECISION_T)
        d.size = rq.DECISION_SIZE
        d.channel_index = -1
        rc = _select(ctx, r, cs._array, len(cs.ids), d)
        if self._clock_error is not None:
            self._raise_clock_error(d)
        if rc:
            if rc == ENOCHANNEL:
                raise NoChannelError(rc, "select", d.retry_at_ms)
            raise StickyError(rc, "select")
        return new_decision(d, cs.ids)

    def key(self, *, body: Optional[rq.Body] = None, tenant: str = "",
            model: Optional[str] = None, headers: rq.Headers = None,
            session_id: Optional[str] = None) -> Key:
        """Derive a request's session key chain once (sticky_key_derive),
        for select(key=...). The Key carries @tenant and the model: @model,
        else the body's top-level "model" (read here, once), so a keyed
        select filters channels by model like a select with the body.
        Raises StickyError (STICKY_EPARSE for malformed JSON, STICKY_ELIMIT
        for an oversized body)."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        r = _new(rq.REQUEST_T)
        r.size = rq.REQUEST_SIZE
        keep = []
        if tenant:
            tb = self._tenants.get(tenant)
            r.tenant, r.tenant_len = tb
        if body is not None:
            buf = rq.body_buffer(body)
            r.body, r.body_len = buf, len(buf)
        if headers:
            r.headers, r.n_headers = rq.header_array(headers, keep)
        if session_id is not None:
            sb = rq.body_buffer(session_id)
            keep.append(sb)
            r.session_id, r.session_id_len = sb, len(sb)
        chain = _new(rq.CHAIN_T)
        chain.size = rq.CHAIN_SIZE
        check(lib.sticky_key_derive(ctx, r, chain), "key")
        if model is None and body is not None:
            model = _body_model(body)
        return new_key(chain, tenant, model)

    def report(self, decision: Decision, *, status: Optional[int] = None,
               headers: rq.Headers = None, timeout: bool = False, transport: bool = False,
               retry_after_seconds: Optional[int] = None,
               reset_epoch_seconds: Optional[int] = None) -> None:
        """How the attempt ended: the upstream's HTTP @status and response
        @headers (retry-after and rate-limit headers are read), or
        timeout=True / transport=True. Closes the attempt. Raises
        StickyError (STICKY_ENOTFOUND when it was already reported)."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        if type(decision) is not Decision:
            raise TypeError("report: expected a Decision")
        if (not headers and type(status) is int and not timeout and not transport
                and retry_after_seconds is None and reset_epoch_seconds is None):
            # the common case (a status alone): a shared, read-only outcome
            o = _plain_outcomes.get(status)
            if o is None:
                o = _plain_outcome(status)
            rc = _report(ctx, decision._raw, o)
            if self._clock_error is not None:
                self._raise_clock_error()
            if rc:
                raise StickyError(rc, "report")
            return
        o = _new(rq.OUTCOME_T)
        o.size = rq.OUTCOME_SIZE
        if timeout:
            o.kind = 1
        elif transport:
            o.kind = 2
        elif status is None:
            raise ValueError("report: status, timeout or transport")
        else:
            if isinstance(status, bool) or not isinstance(status, int):
                raise TypeError("report: status must be an int")
            if not 100 <= status <= 999:
                raise ValueError(f"report: status {status} is not an HTTP status")
            o.status = status
        o.retry_after_seconds = rq.ABSENT if retry_after_seconds is None else retry_after_seconds
        o.reset_epoch_seconds = rq.ABSENT if reset_epoch_seconds is None else reset_epoch_seconds
        keep = None
        if headers:
            keep = []
            o.headers, o.n_headers = rq.header_array(headers, keep)
        rc = _report(ctx, decision._raw, o)
        if self._clock_error is not None:
            self._raise_clock_error()
        if rc:
            raise StickyError(rc, "report")

    def release(self, decision: Decision) -> None:
        """End the attempt without an outcome (the client went away)."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        if type(decision) is not Decision:
            raise TypeError("release: expected a Decision")
        check(lib.sticky_release(ctx, decision._raw), "release")

    def route(self, request: Mapping[str, Any], send: Callable[[Decision], Any], *,
              channels: Union[ChannelSet, Iterable[ChannelLike]], max_attempts: int = 3) -> Any:
        """select -> send -> report, retrying on the channel the library
        chooses next (statuses in RETRYABLE, transport errors, timeouts), up
        to @max_attempts. @request holds select()'s keyword arguments.
        @send(decision) returns (status, headers, result) or raises: a
        TimeoutError is reported as a timeout, any other Exception as a
        transport failure; anything else (KeyboardInterrupt, ...) releases
        the attempt and propagates. Returns the last result (possibly of a
        retryable status when attempts ran out); re-raises the last
        exception when the last attempt raised. NoChannelError propagates."""
        if max_attempts < 1:
            raise ValueError("route: max_attempts must be >= 1")
        cs = channels if type(channels) is ChannelSet else ChannelSet(channels)
        for attempt in range(max_attempts):
            d = self.select(channels=cs, **request)
            try:
                out = send(d)
            except TimeoutError:
                self.report(d, timeout=True)
                if attempt + 1 == max_attempts:
                    raise
                continue
            except Exception:
                self.report(d, transport=True)
                if attempt + 1 == max_attempts:
                    raise
                continue
            except BaseException:
                self.release(d)
                raise
            status, headers, result = _send_result(self, d, out)
            try:
                self.report(d, status=status, headers=headers)
            except BaseException:
                if d.open:
                    self.release(d)
                raise
            if status not in RETRYABLE:
                return result
        return result

    # -- channel health --------------------------------------------------
    def health(self, channel: str) -> dict:
        """A channel's health (sticky_ctx_get_channel_health): state ("ok",
        "cooling", "rate_limited", "auth"), cause, family, until_ms,
        in_flight, consecutive_failures, selections, failures. A channel
        the context never saw is reported as ok with zero counts."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        h = _new("sticky_channel_health *")
        check(lib.sticky_channel_health_init_sized(h, ffi.sizeof("sticky_channel_health")),
              "health")
        cid = _channel_id(channel)
        rc = lib.sticky_ctx_get_channel_health(ctx, cid, h)
        if rc == ENOTFOUND:
            return {"state": "ok", "cause": "none", "family": "all", "until_ms": 0,
                    "in_flight": 0, "consecutive_failures": 0, "selections": 0,
                    "failures": 0}
        check(rc, "health")
        return {"state": _HEALTH_STATES.get(h.state, str(h.state)),
                "cause": _HEALTH_CAUSES.get(h.cause, str(h.cause)),
                "family": ffi.string(lib.sticky_model_family_name(h.family)).decode(),
                "until_ms": h.until_ms, "in_flight": h.in_flight,
                "consecutive_failures": h.consecutive_failures,
                "selections": h.selections, "failures": h.failures}

    def clear_health(self, channel: str) -> None:
        """End every cooldown of @channel, auth state included (the admin
        action after its key was replaced). Unknown channels are ignored."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        rc = lib.sticky_ctx_clear_channel_health(ctx, _channel_id(channel))
        if rc != ENOTFOUND:
            check(rc, "clear health")

    # -- observability ---------------------------------------------------
    def stats(self) -> dict:
        """The context's counters (sticky_ctx_stats) as a dict; with a
        Redis store also its counters under "redis"."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        s = _new("sticky_ctx_stats *")
        check(lib.sticky_ctx_stats_init_sized(s, ffi.sizeof("sticky_ctx_stats")), "stats")
        check(lib.sticky_ctx_get_stats(ctx, s), "stats")
        out = {f: getattr(s, f) for f, _ in ffi.typeof("sticky_ctx_stats").fields if f != "size"}
        if self._store != ffi.NULL:
            rs = _new("sticky_redis_store_stats *")
            rl = self._store_lib
            check(rl.sticky_redis_store_stats_init_sized(
                rs, ffi.sizeof("sticky_redis_store_stats")), "redis stats")
            check(rl.sticky_redis_store_get_stats(self._store, rs), "redis stats")
            out["redis"] = {f: getattr(rs, f)
                            for f, _ in ffi.typeof("sticky_redis_store_stats").fields
                            if f != "size"}
        return out

    def prometheus(self) -> str:
        """The Prometheus text exposition of the context's metrics."""
        ctx = self._ctx
        if ctx == ffi.NULL:
            raise self._closed()
        needed = _new("size_t *")
        cap = 4096
        while True:
            buf = _new("char[]", cap)
            rc = lib.sticky_ctx_format_prometheus(ctx, buf, cap, needed)
            if rc == 0:
                return ffi.string(buf).decode()
            if needed[0] + 1 <= cap:
                check(rc, "prometheus")
            cap = needed[0] + 1
