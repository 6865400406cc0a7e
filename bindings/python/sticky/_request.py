"""sticky._request - Python values to the library's request and outcome
structs: strings interned as C strings, bodies passed without a copy,
headers as a sticky_header array. Internal."""
from __future__ import annotations

from typing import Iterable, Mapping, Tuple, Union

from ._ffi import ffi

Body = Union[bytes, bytearray, memoryview, str]
Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

REQUEST_T = ffi.typeof("sticky_request *")
REQUEST_SIZE = ffi.sizeof("sticky_request")
DECISION_T = ffi.typeof("sticky_decision *")
DECISION_SIZE = ffi.sizeof("sticky_decision")
OUTCOME_T = ffi.typeof("sticky_outcome *")
OUTCOME_SIZE = ffi.sizeof("sticky_outcome")
CHAIN_T = ffi.typeof("sticky_key_chain *")
CHAIN_SIZE = ffi.sizeof("sticky_key_chain")
HEADERS_T = ffi.typeof("sticky_header[]")
ABSENT = -1  # STICKY_ABSENT
STRICT = 1   # STICKY_SELECT_STRICT
_new = ffi.new
_from_buffer = ffi.from_buffer


class Interned:
    """Tenant and model names as C buffers, cached: a gateway sees few
    distinct ones and encodes each once. Bounded (cleared when full)."""

    __slots__ = ("_map", "_limit")

    def __init__(self, limit: int = 4096):
        self._map = {}
        self._limit = limit

    def get(self, s: str):
        b = self._map.get(s)
        if b is None:
            if not isinstance(s, str):
                raise TypeError(f"expected str, got {type(s).__name__}")
            raw = s.encode()
            b = (_new("char[]", raw), len(raw))
            if len(self._map) >= self._limit:
                self._map.clear()
            self._map[s] = b
        return b


def body_buffer(body: Body):
    """A cdata viewing @body's bytes (no copy for bytes-like objects; a str
    is encoded once). Keep the result alive during the call."""
    if isinstance(body, str):
        body = body.encode()
    try:
        return _from_buffer(body)
    except TypeError:
        raise TypeError(f"body: expected bytes, bytearray, memoryview or str, got "
                        f"{type(body).__name__}") from None


def _as_bytes(v, what):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    raise TypeError(f"header {what}: expected str or bytes, got {type(v).__name__}")


def header_array(headers: Headers, keep: list):
    """(sticky_header array, count) for a mapping or (name, value) pairs;
    the buffers go to @keep, which the caller holds during the call."""
    if not headers:
        return ffi.NULL, 0
    if isinstance(headers, Mapping):
        items = headers.items()
    elif isinstance(headers, (str, bytes)):
        raise TypeError("headers: expected a mapping or (name, value) pairs")
    else:
        items = headers
    pairs = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError("headers: expected a mapping or (name, value) pairs") from None
        pairs.append((_as_bytes(name, "name"), _as_bytes(value, str(name))))
    arr = _new(HEADERS_T, len(pairs))
    for i, (nb, vb) in enumerate(pairs):
        h = arr[i]
        h.name = _from_buffer(nb)
        h.name_len = len(nb)
        h.value = _from_buffer(vb)
        h.value_len = len(vb)
    keep.append(pairs)
    keep.append(arr)
    return arr, len(pairs)
