#!/usr/bin/env python3
"""tests/vectors/reference_key.py - an independent implementation of the
session-key encoding written from docs/session-key.md (not from the C code),
used to check that the document is precise enough to reimplement and that
the library follows it.

derive(body_bytes, tenant, message_count, include_system, secret, headers,
       session_id, fmt) -> (source, [hex keys])
"""
import hashlib
import hmac
import json
import re
import struct

DOMAIN = b"sticky-key/1\x00"


def s(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def value(v, skip=()):
    if isinstance(v, dict):
        items = [(k.encode("utf-8"), val) for k, val in v.items() if k not in skip]
        items.sort(key=lambda kv: kv[0])  # stable: duplicates cannot occur in a dict
        return b"o" + b"".join(s(k) + value(val) for k, val in items) + b"}"
    if isinstance(v, list):
        return b"a" + b"".join(value(x) for x in v) + b"]"
    if isinstance(v, str):
        return b"s" + s(v)
    if v is True:
        return b"t"
    if v is False:
        return b"f"
    if v is None:
        return b"z"
    if isinstance(v, RawNumber):
        return b"n" + s(v.text)
    raise TypeError(v)


class RawNumber:
    def __init__(self, text):
        self.text = text


def loads(text):
    # Numbers keep their token text (1 and 1.0 differ).
    return json.loads(text, parse_float=RawNumber, parse_int=RawNumber,
                      parse_constant=RawNumber)


def str_or_empty(v):
    return s(v if isinstance(v, str) else "")


def tool_input(v):
    if isinstance(v, str):
        try:
            return value(loads(v)) if v else b"s" + s(v)
        except ValueError:
            return b"s" + s(v)
    return value(v)


def parts(content):
    if content is None:
        return b""
    if isinstance(content, str):
        return b"T" + s(content)
    return b"".join(part(p) for p in content)


def part(p):
    if isinstance(p, str):
        return b"T" + s(p)
    t = p.get("type")
    if t in ("thinking", "redacted_thinking", "reasoning"):
        return b""
    if t in ("text", "input_text", "output_text"):
        return b"T" + str_or_empty(p.get("text"))
    if t in ("image", "document"):
        src = p.get("source")
        tag = b"I" if t == "image" else b"D"
        if not isinstance(src, dict):
            return tag + s("") + s("") + b"z"
        return (tag + str_or_empty(src.get("type")) + str_or_empty(src.get("media_type"))
                + value(src, skip=("type", "media_type")))
    if t == "image_url":
        u = p.get("image_url")
        url = u.get("url") if isinstance(u, dict) else u
        return b"I" + s("url") + s("") + single("url", url)
    if t == "input_image":
        if "image_url" in p:
            return b"I" + s("url") + s("") + single("url", p["image_url"])
        return b"I" + s("file") + s("") + single("file_id", p.get("file_id"))
    if t == "tool_use":
        return b"U" + str_or_empty(p.get("name")) + (value(p["input"]) if "input" in p else b"z")
    if t == "tool_result":
        return b"R" + bytes([1 if p.get("is_error") is True else 0]) + parts(p.get("content")) + b"."
    return b"X" + str_or_empty(t) + value(p, skip=("type", "cache_control"))


def single(name, v):
    return b"o" + (s(name) + b"s" + s(v) if isinstance(v, str) else b"") + b"}"


def message(m, fmt):
    if fmt == "openai-responses" and "role" not in m:
        t = m.get("type")
        if t == "reasoning":
            return None
        if t == "function_call":
            return b"M" + s("assistant") + b"U" + str_or_empty(m.get("name")) + \
                (tool_input(m["arguments"]) if "arguments" in m else b"z") + b"."
        if t == "function_call_output":
            return b"M" + s("tool") + b"R\x00" + parts(m.get("output")) + b"." + b"."
        return b"M" + s("item") + b"X" + str_or_empty(t) + value(m, skip=("type", "cache_control")) + b"."
    out = b"M" + s(m["role"]) + parts(m.get("content"))
    for call in m.get("tool_calls") or []:
        fn = call.get("function") or {}
        out += b"U" + str_or_empty(fn.get("name")) + \
            (tool_input(fn["arguments"]) if "arguments" in fn else b"z")
    return out + b"."


def detect(body):
    if "messages" in body:
        msgs = body["messages"]
        if "system" not in body and msgs and isinstance(msgs[0], dict) and \
                msgs[0].get("role") in ("system", "developer"):
            return "openai-chat"
        return "anthropic"
    if "input" in body or "instructions" in body:
        return "openai-responses"
    return "anthropic"


UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LEGACY = re.compile(r"^user_[0-9a-fA-F]{64}_account_.*_session_(.{36})$", re.S)


def id_ok(v):
    if not isinstance(v, str):
        return False
    b = v.encode("utf-8")
    return 0 < len(b) <= 256 and not any(c < 0x20 or c == 0x7f for c in b) and v.strip(" ") != ""


def user_id_session(u):
    if not isinstance(u, str):
        return None
    m = LEGACY.match(u)
    if m and UUID.match(m.group(1)):
        return m.group(1)
    try:
        obj = json.loads(u)
    except ValueError:
        return None
    if isinstance(obj, dict) and id_ok(obj.get("session_id")):
        return obj["session_id"]
    return None


def find_explicit(body, headers, session_id):
    h = {k.lower(): v.strip(" \t") for k, v in headers}
    if session_id is not None and id_ok(session_id):
        return session_id
    if id_ok(h.get("x-claude-code-session-id")):
        return h["x-claude-code-session-id"]
    meta = body.get("metadata")
    if isinstance(meta, dict):
        sid = user_id_session(meta.get("user_id"))
        if sid is not None:
            return sid
    for k in ("prompt_cache_key", "session_id", "conversation_id"):
        if id_ok(body.get(k)):
            return body[k]
    for k in ("session_id", "x-session-id"):
        if id_ok(h.get(k)):
            return h[k]
    return None


def derive(body_bytes, tenant="", message_count=3, include_system=False, secret=None,
           headers=(), session_id=None, fmt="auto"):
    body = loads(body_bytes.decode("utf-8"))

    def key(stream):
        if secret:
            d = hmac.new(secret, stream, hashlib.sha256).digest()
        else:
            d = hashlib.sha256(stream).digest()
        return d[:8].hex()

    head = DOMAIN + b"K" + s(tenant)
    sid = find_explicit(body, headers, session_id)
    if sid is not None:
        return "explicit", [key(head + b"E" + s(sid))]
    if fmt == "auto":
        fmt = detect(body)
    stream = head
    keys = []
    if fmt == "openai-responses":
        items = body.get("input")
        system = body.get("instructions")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
    else:
        items = body.get("messages")
        system = body.get("system") if fmt == "anthropic" else None
    if items is None:
        return "none", []
    if include_system and system is not None:
        stream += b"S" + parts(system) + b"."
    leading = True
    for m in items:
        if fmt != "anthropic" and leading and m.get("role") in ("system", "developer"):
            if include_system:
                stream += b"S" + parts(m.get("content")) + b"."
            continue
        leading = False
        enc = message(m, fmt)
        if enc is None:
            continue
        stream += enc
        keys.append(key(stream))
        if len(keys) >= message_count:
            break
    return ("content" if keys else "none"), keys
