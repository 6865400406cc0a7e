"""sticky.decision - what select() returns (Decision: the channel chosen,
why, and the open attempt to report) and what key() returns (Key: a
request's precomputed session key chain). Both are immutable; their fields
are read from the library's struct when asked for."""
from __future__ import annotations

from typing import Optional

from ._ffi import ffi, lib

# enum sticky_reason names, by value (sticky_reason_name()).
_REASONS = tuple(ffi.string(lib.sticky_reason_name(i)).decode() for i in range(32))
_KEY_SOURCES = ("none", "content", "explicit")
_string = ffi.string
_set = object.__setattr__


class Decision:
    """A routing decision. Report it (Router.report) or release it
    (Router.release) exactly once. Fields: channel (the chosen channel's
    id), channel_index (into the ChannelSet), reason ("hit", "new",
    "failover", ...), key (hex of the deepest session key, "" if the
    request had none), moved_from (the channel the session left, or None),
    store_degraded (the store failed and the library decided without it),
    model, retry_at_ms, open (the attempt is not yet reported)."""

    __slots__ = ("_raw", "_ids")

    def __setattr__(self, name, value):
        raise AttributeError("Decision is immutable")

    __delattr__ = __setattr__

    @property
    def channel(self) -> str:
        return self._ids[self._raw.channel_index]

    @property
    def channel_index(self) -> int:
        return self._raw.channel_index

    @property
    def reason(self) -> str:
        return _REASONS[self._raw.reason]

    @property
    def key(self) -> str:
        return _string(self._raw.key_hex).decode()

    @property
    def moved_from(self) -> Optional[str]:
        return _string(self._raw.moved_from).decode() or None

    @property
    def store_degraded(self) -> bool:
        return bool(self._raw.store_degraded)

    @property
    def model(self) -> str:
        return _string(self._raw.model).decode()

    @property
    def retry_at_ms(self) -> int:
        return self._raw.retry_at_ms

    @property
    def open(self) -> bool:
        return self._raw.attempt != 0

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in ("channel", "channel_index", "reason", "key",
                                               "moved_from", "store_degraded", "model")}

    def __repr__(self) -> str:
        return "Decision(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"

    def __reduce__(self):
        raise TypeError("a Decision holds an open attempt of one process; it cannot be pickled")


def new_decision(raw, ids) -> Decision:
    d = object.__new__(Decision)
    _set(d, "_raw", raw)
    _set(d, "_ids", ids)
    return d


class Key:
    """A request's session key chain (Router.key()), to select() with
    key=... instead of a body: the body is parsed once. It carries the
    tenant and model of the request it was derived from, which select()
    uses unless given others. .hex is the deepest key, .source "explicit"
    (a host-given or header id) or "content"."""

    __slots__ = ("_chain", "tenant", "model")

    def __setattr__(self, name, value):
        raise AttributeError("Key is immutable")

    @property
    def hex(self) -> str:
        n = self._chain.n_keys
        if n == 0:
            return ""
        out = ffi.new("char[17]")
        lib.sticky_key_to_hex(self._chain.keys[n - 1], out)
        return _string(out).decode()

    @property
    def depth(self) -> int:
        return self._chain.n_keys

    @property
    def source(self) -> str:
        s = self._chain.source
        return _KEY_SOURCES[s] if 0 <= s < len(_KEY_SOURCES) else str(s)

    def __repr__(self) -> str:
        return (f"Key(hex={self.hex!r}, depth={self.depth}, source={self.source!r}, "
                f"tenant={self.tenant!r}, model={self.model!r})")


def new_key(chain, tenant: str, model: Optional[str]) -> Key:
    k = object.__new__(Key)
    _set(k, "_chain", chain)
    _set(k, "tenant", tenant)
    _set(k, "model", model)
    return k
