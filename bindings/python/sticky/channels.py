"""sticky.channels - the host's upstream channels: Channel (one account,
key or endpoint) and ChannelSet (a list converted once to the library's
sticky_channel array and reused across requests)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._ffi import ffi, lib
from .errors import check

_STATES = {"active": 0, "disabled": 1, "draining": 2}
_MAX_ID_BYTES = 127  # STICKY_ID_SIZE - 1


@dataclass(frozen=True)
class Channel:
    """An upstream channel as the host offers it. @models: exact model
    names or "prefix*" patterns the channel serves (None: all); @state:
    "active", "disabled" (never chosen) or "draining" (keeps its sessions,
    takes no new ones); @max_inflight: open attempts cap (0: none)."""

    id: str
    models: Optional[Sequence[str]] = None
    priority: int = 0
    weight: int = 0
    state: str = "active"
    max_inflight: int = 0


ChannelLike = Union[Channel, Mapping[str, Any], str]


def _c_string(s: str, what: str):
    if not isinstance(s, str):
        raise TypeError(f"{what}: expected str, got {type(s).__name__}")
    b = s.encode()
    if b"\0" in b:
        raise ValueError(f"{what}: contains a NUL character")
    return ffi.new("char[]", b)


def _as_channel(c: ChannelLike) -> Channel:
    if isinstance(c, Channel):
        return c
    if isinstance(c, str):
        return Channel(id=c)
    if isinstance(c, Mapping):
        return Channel(**c)
    raise TypeError(f"channel: expected Channel, dict or str, got {type(c).__name__}")


class ChannelSet:
    """An immutable channel list in the library's layout. Build it once per
    channel-list change and pass it to every select(): converting a list
    costs more than a select. .channels is the tuple of Channel."""

    __slots__ = ("channels", "ids", "_keep", "_array")

    def __init__(self, channels: Iterable[ChannelLike]):
        chans = tuple(_as_channel(c) for c in channels)
        if not chans:
            raise ValueError("ChannelSet: no channels")
        self.channels = chans
        self.ids = tuple(c.id for c in chans)
        seen = set()
        for cid in self.ids:
            if not isinstance(cid, str) or not cid:
                raise ValueError(f"channel id {cid!r}: expected a non-empty str")
            if len(cid.encode()) > _MAX_ID_BYTES:
                raise ValueError(f"channel id {cid[:40]!r}...: longer than {_MAX_ID_BYTES} bytes")
            if cid in seen:
                raise ValueError(f"channel id {cid!r} appears twice")
            seen.add(cid)
        keep = []
        size = ffi.sizeof("sticky_channel")
        array = ffi.new("sticky_channel[]", len(chans))
        for i, c in enumerate(chans):
            check(lib.sticky_channel_init_sized(array + i, size), "channel")
            cid = _c_string(c.id, "channel id")
            keep.append(cid)
            ch = array[i]
            ch.id = cid
            if c.models is not None:
                if isinstance(c.models, str):
                    raise TypeError(f"channel {c.id}: models must be a list of names")
                names = [_c_string(m, f"channel {c.id}: model") for m in c.models]
                arr = ffi.new("const char *[]", names)
                keep += names
                keep.append(arr)
                ch.models = arr
                ch.n_models = len(names)
            try:
                ch.priority = c.priority
                ch.weight = c.weight
                ch.max_inflight = c.max_inflight
            except OverflowError as e:
                raise ValueError(f"channel {c.id}: {e}") from None
            try:
                ch.state = _STATES[c.state]
            except (KeyError, TypeError):
                raise ValueError(f"channel {c.id}: state {c.state!r}: expected one of "
                                 f"{sorted(_STATES)}") from None
        self._keep = keep
        self._array = array

    def __len__(self) -> int:
        return len(self.channels)

    def __iter__(self):
        return iter(self.channels)

    def __repr__(self) -> str:
        return f"ChannelSet({list(self.ids)!r})"


def as_channel_set(channels: Union[ChannelSet, Iterable[ChannelLike]]) -> ChannelSet:
    return channels if type(channels) is ChannelSet else ChannelSet(channels)
