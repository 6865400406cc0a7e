"""sticky.errors - the exceptions of the package: a failed libsticky call
as StickyError carrying the library's code, name and message."""
from __future__ import annotations

from ._ffi import ffi, lib

ENOCHANNEL = -7
ENOTFOUND = -4
EINVAL = -1


class StickyError(Exception):
    """A libsticky call failed: .code (the library's negative code),
    .name ("STICKY_EINVAL") and the library's message in str()."""

    def __init__(self, code: int, what: str):
        self.code = code
        self.name = ffi.string(lib.sticky_err_name(code)).decode()
        super().__init__(f"{what}: {self.name}: {ffi.string(lib.sticky_strerror(code)).decode()}")


class NoChannelError(StickyError):
    """No channel is usable for this request; .retry_at_ms (Unix ms) says
    when one may be again (0: unknown)."""

    def __init__(self, code: int, what: str, retry_at_ms: int):
        super().__init__(code, what)
        self.retry_at_ms = retry_at_ms


def check(rc: int, what: str) -> None:
    """Raise StickyError for a non-zero libsticky return code."""
    if rc != 0:
        raise StickyError(rc, what)
