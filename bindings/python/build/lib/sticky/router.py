"""sticky.router - the Router: one libsticky context, select / report /
release, the retry helper route(), stats and the Prometheus text."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Tuple, Union

from ._ffi import ffi, lib

ENOCHANNEL = -7

_STATES = {"active": 0, "disabled": 1, "draining": 2}

# Statuses the retry helper moves on from (the library has already cooled
# the channel when it was told).
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, 529})

Body = Union[bytes, bytearray, memoryview, str]
Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


class StickyError(Exception):
    """A libsticky call failed: .code (negative int), .name ("STICKY_EINVAL")."""

    def __init__(self, code: int, what: str):
        self.code = code
        self.name = ffi.string(lib.sticky_err_name(code)).decode()
        super().__init__(f"{what}: {self.name}: {ffi.string(lib.sticky_strerror(code)).decode()}")


class NoChannelError(StickyError):
    """No channel is usable for this request; .retry_at_ms says when one
    may be again (0: unknown)."""

    def __init__(self, code: int, what: str, retry_at_ms: int):
        super().__init__(code, what)
        self.retry_at_ms = retry_at_ms


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise StickyError(rc, what)


@dataclass(frozen=True)
class Channel:
    """An upstream channel (account, key, endpoint) as the host offers it."""

    id: str
    models: Optional[Sequence[str]] = None  # exact names or "prefix*"; None = all
    priority: int = 0
    weight: int = 0
    state: str = "active"  # "active", "disabled", "draining"
    max_inflight: int = 0


class ChannelSet:
    """A channel list converted once to the library's array (reuse it across
    requests: converting a list costs more than a select)."""

    def __init__(self, channels: Iterable[Union[Channel, Mapping[str, Any], str]]):
        chans = [_as_channel(c) for c in channels]
        if not chans:
            raise ValueError("no channels")
        self.channels = tuple(chans)
        self._keep = []
        self._array = ffi.new("sticky_channel[]", len(chans))
        for i, c in enumerate(chans):
            _check(lib.sticky_channel_init_sized(self._array + i, ffi.sizeof("sticky_channel")),
                   "channel")
            cid = ffi.new("char[]", c.id.encode())
            self._keep.append(cid)
            ch = self._array[i]
            ch.id = cid
            if c.models is not None:
                names = [ffi.new("char[]", m.encode()) for m in c.models]
                arr = ffi.new("const char *[]", names)
                self._keep += names + [arr]
                ch.models = arr
                ch.n_models = len(names)
            ch.priority = c.priority
            ch.weight = c.weight
            try:
                ch.state = _STATES[c.state]
            except KeyError:
                raise ValueError(f"channel {c.id}: state {c.state!r}: expected one of "
                                 f"{sorted(_STATES)}") from None
            ch.max_inflight = c.max_inflight

    def __len__(self) -> int:
        return len(self.channels)


def _as_channel(c: Union[Channel, Mapping[str, Any], str]) -> Channel:
    if isinstance(c, Channel):
        return c
    if isinstance(c, str):
        return Channel(id=c)
    return Channel(**c)


@dataclass(frozen=True)
class Decision:
    """A routing decision. Report it (report()) or release it (release())
    exactly once; a copy reports nothing more."""

    channel: str
    channel_index: int
    reason: str
    key: str
    moved_from: Optional[str]
    store_degraded: bool
    model: str
    _raw: Any = field(repr=False, compare=False, default=None)

    @property
    def open(self) -> bool:
        """Whether the attempt is still open (not reported or released)."""
        return self._raw is not None and self._raw.attempt != 0


def _decision(d) -> Decision:
    moved = ffi.string(d.moved_from).decode()
    return Decision(
        channel=ffi.string(d.channel_id).decode(),
        channel_index=d.channel_index,
        reason=ffi.string(lib.sticky_reason_name(d.reason)).decode(),
        key=ffi.string(d.key_hex).decode(),
        moved_from=moved or None,
        store_degraded=bool(d.store_degraded),
        model=ffi.string(d.model).decode(),
        _raw=d,
    )


def _headers(headers: Headers, keep: list):
    if not headers:
        return ffi.NULL, 0
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    arr = ffi.new("sticky_header[]", len(items))
    for i, (name, value) in enumerate(items):
        nb = name.encode() if isinstance(name, str) else bytes(name)
        vb = value.encode() if isinstance(value, str) else bytes(value)
        keep += (nb, vb)
        arr[i].name = ffi.from_buffer(nb)
        arr[i].name_len = len(nb)
        arr[i].value = ffi.from_buffer(vb)
        arr[i].value_len = len(vb)
    keep.append(arr)
    return arr, len(items)


_CONFIG_FIELDS = frozenset({
    "ttl_seconds", "renew_threshold_seconds", "max_sessions", "message_count",
    "include_system_prompt", "explicit_sources", "select_policy", "migrate_better_tier",
    "least_bad", "bounded_load_permille", "cooldown_429_seconds", "retry_after_cap_seconds",
    "cooldown_529_seconds", "cooldown_503_seconds", "cooldown_5xx_seconds",
    "cooldown_auth_seconds", "breaker_failures", "breaker_cooldown_seconds", "log_level",
})


class Router:
    """One libsticky context (sessions in the built-in memory store).

    Router(from_env=False, clock=None, shm=None, **settings): settings are
    sticky_config fields (ttl_seconds=..., cooldown_429_seconds=...);
    from_env=True reads the STICKY_* / SESSION_* variables first; clock is a
    function returning Unix milliseconds (tests); shm is the path of a
    shared-memory segment (created if missing; e.g. /dev/shm/gateway.sticky)
    whose sessions, channel health and in-flight caps every process opening
    it shares (gunicorn / uvicorn workers). Thread-safe like the
    library: select/report from any thread. Use as a context manager or
    call close().
    """

    def __init__(self, *, from_env: bool = False, clock: Optional[Callable[[], int]] = None,
                 shm: Optional[str] = None, **settings: Any):
        self._ctx = ffi.NULL
        cfg = ffi.new("sticky_config *")
        _check(lib.sticky_config_init_sized(cfg, ffi.sizeof("sticky_config")), "config")
        if from_env:
            bad = ffi.new("const char **")
            rc = lib.sticky_config_from_env(cfg, bad)
            if rc != 0:
                name = ffi.string(bad[0]).decode() if bad[0] != ffi.NULL else "?"
                raise StickyError(rc, f"configuration from the environment ({name})")
        for k, v in settings.items():
            if k not in _CONFIG_FIELDS:
                raise TypeError(f"Router: unknown setting {k!r}")
            if k == "select_policy" and isinstance(v, str):
                v = {"lru": 0, "rendezvous": 1, "random": 2}[v]
            setattr(cfg, k, int(v))
        self._clock = None
        if clock is not None:
            self._clock = ffi.callback("int64_t(void *)", lambda _u: int(clock()))
            cfg.clock_fn = self._clock
        ctx = ffi.new("sticky_ctx **")
        _check(lib.sticky_ctx_new(cfg, ctx), "context")
        self._ctx = ctx[0]
        self._stores = []
        if shm is not None:
            seg = ffi.new("sticky_shm **")
            try:
                _check(lib.sticky_shm_open(self._ctx, shm.encode(), ffi.NULL, seg),
                       f"shared memory {shm}")
                rc = lib.sticky_ctx_use_shm(self._ctx, seg[0])
                lib.sticky_shm_close(seg[0])  # the context keeps it open
                _check(rc, "use shared memory")
            except BaseException:
                self.close()
                raise

    # -- lifetime --------------------------------------------------------
    def close(self) -> None:
        """Free the context (and stores the Router owns). Idempotent."""
        if self._ctx != ffi.NULL:
            for st in self._stores:
                lib.sticky_store_free(st)
            self._stores = []
            lib.sticky_ctx_free(self._ctx)
            self._ctx = ffi.NULL

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _live(self):
        if self._ctx == ffi.NULL:
            raise ValueError("Router is closed")
        return self._ctx

    # -- routing ---------------------------------------------------------
    def select(self, *, body: Optional[Body] = None,
               channels: Union[ChannelSet, Iterable[Any]], tenant: str = "",
               model: Optional[str] = None, headers: Headers = None,
               session_id: Optional[str] = None, strict: bool = False) -> Decision:
        """Choose a channel for one request. @body is the raw JSON body
        (bytes are passed to the library without a copy). Raises
        NoChannelError when no channel is usable, StickyError otherwise."""
        ctx = self._live()
        cs = channels if isinstance(channels, ChannelSet) else ChannelSet(channels)
        keep = []
        r = ffi.new("sticky_request *")
        lib.sticky_request_init_sized(r, ffi.sizeof("sticky_request"))
        tb = tenant.encode()
        keep.append(tb)
        r.tenant = ffi.from_buffer(tb)
        r.tenant_len = len(tb)
        if model is not None:
            mb = model.encode()
            keep.append(mb)
            r.model = ffi.from_buffer(mb)
            r.model_len = len(mb)
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            buf = ffi.from_buffer(body)  # no copy for bytes / bytearray / memoryview
            keep.append(buf)
            r.body = buf
            r.body_len = len(buf)
        if session_id is not None:
            sb = session_id.encode()
            keep.append(sb)
            r.session_id = ffi.from_buffer(sb)
            r.session_id_len = len(sb)
        r.headers, r.n_headers = _headers(headers, keep)
        r.flags = 1 if strict else 0
        d = ffi.new("sticky_decision *")
        lib.sticky_decision_init_sized(d, ffi.sizeof("sticky_decision"))
        rc = lib.sticky_select(ctx, r, cs._array, len(cs), d)
        if rc == ENOCHANNEL:
            raise NoChannelError(rc, "select", d.retry_at_ms)
        _check(rc, "select")
        return _decision(d)

    def report(self, decision: Decision, *, status: Optional[int] = None,
               headers: Headers = None, timeout: bool = False, transport: bool = False,
               retry_after_seconds: Optional[int] = None,
               reset_epoch_seconds: Optional[int] = None) -> None:
        """How the attempt ended: the upstream's HTTP @status and response
        @headers (rate-limit headers are read), or timeout / transport."""
        ctx = self._live()
        o = ffi.new("sticky_outcome *")
        lib.sticky_outcome_init_sized(o, ffi.sizeof("sticky_outcome"))
        if timeout:
            o.kind = 1
        elif transport:
            o.kind = 2
        elif status is None:
            raise ValueError("report: status, timeout or transport")
        else:
            o.status = int(status)
        if retry_after_seconds is not None:
            o.retry_after_seconds = int(retry_after_seconds)
        if reset_epoch_seconds is not None:
            o.reset_epoch_seconds = int(reset_epoch_seconds)
        keep = []
        o.headers, o.n_headers = _headers(headers, keep)
        _check(lib.sticky_report(ctx, decision._raw, o), "report")

    def release(self, decision: Decision) -> None:
        """End the attempt without an outcome (the client went away)."""
        _check(lib.sticky_release(self._live(), decision._raw), "release")

    def route(self, request: Mapping[str, Any], send: Callable[[Decision], Any], *,
              channels: Union[ChannelSet, Iterable[Any]], max_attempts: int = 3) -> Any:
        """select -> send -> report, retrying on the channel the library
        chooses next, up to @max_attempts. @request holds select()'s keyword
        arguments (body, tenant, model, headers, session_id). @send(decision)
        returns (status, headers, result) or raises (a transport failure,
        reported and retried; TimeoutError is reported as a timeout).
        Returns the last result; re-raises the last exception."""
        cs = channels if isinstance(channels, ChannelSet) else ChannelSet(channels)
        last_exc: Optional[BaseException] = None
        result: Any = None
        for attempt in range(max_attempts):
            d = self.select(channels=cs, **request)
            try:
                status, headers, result = send(d)
            except TimeoutError as e:
                self.report(d, timeout=True)
                last_exc = e
                continue
            except Exception as e:
                self.report(d, transport=True)
                last_exc = e
                continue
            except BaseException:
                self.release(d)
                raise
            self.report(d, status=status, headers=headers)
            last_exc = None
            if status not in RETRYABLE:
                return result
        if last_exc is not None:
            raise last_exc
        return result

    # -- observability ---------------------------------------------------
    def stats(self) -> dict:
        """The context's counters (sticky_ctx_stats) as a dict."""
        s = ffi.new("sticky_ctx_stats *")
        lib.sticky_ctx_stats_init_sized(s, ffi.sizeof("sticky_ctx_stats"))
        _check(lib.sticky_ctx_get_stats(self._live(), s), "stats")
        return {f: getattr(s, f) for f, _ in ffi.typeof("sticky_ctx_stats").fields
                if f != "size"}

    def prometheus(self) -> str:
        """The Prometheus text exposition of the context's metrics."""
        ctx = self._live()
        needed = ffi.new("size_t *")
        cap = 4096
        while True:
            buf = ffi.new("char[]", cap)
            rc = lib.sticky_ctx_format_prometheus(ctx, buf, cap, needed)
            if rc == 0:
                return ffi.string(buf).decode()
            if needed[0] + 1 <= cap:
                _check(rc, "prometheus")
            cap = needed[0] + 1
