"""sticky - Python binding of libsticky: sticky-session routing decisions
for LLM API gateways (Claude / OpenAI relays).

    from sticky import Router, ChannelSet
    chans = ChannelSet(["acct-a", "acct-b"])
    with Router() as r:
        d = r.select(body=raw_json_bytes, tenant=api_key, channels=chans)
        status, headers = forward(d.channel, raw_json_bytes)
        r.report(d, status=status, headers=headers)

AsyncRouter (sticky.aio) is the same on asyncio.
"""
from ._ffi import LIBRARY_PATH, LIBRARY_VERSION
from .aio import AsyncRouter
from .channels import Channel, ChannelSet
from .decision import Decision, Key
from .errors import NoChannelError, StickyError
from .router import RETRYABLE, Router

__all__ = ["Router", "AsyncRouter", "Channel", "ChannelSet", "Decision", "Key",
           "StickyError", "NoChannelError", "RETRYABLE", "LIBRARY_PATH", "LIBRARY_VERSION"]
__version__ = "0.5.0"
