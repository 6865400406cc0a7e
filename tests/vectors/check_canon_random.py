#!/usr/bin/env python3
"""tests/vectors/check_canon_random.py - the library's canonical encoding of
JSON values against the independent reference (reference_key.py) on
seeded random values: nested objects with members in random order (so
reordered objects sit inside sorted ones, in arrays, side by side, at every
depth), escaped and non-ASCII keys, number tokens kept verbatim. Each value
goes where the key reads arbitrary JSON: a tool_use input, an unknown part
type, an image source, and OpenAI tool-call arguments (a string holding
JSON). Deterministic: the seed is fixed.

usage: check_canon_random.py STICKY_ROUTE [N_BODIES]
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_key  # noqa: E402

# usage: check_canon_random.py N -- COMMAND... (a key driver taking the
# options of `sticky-route hash` and "-" for stdin)
N = int(sys.argv[1])
CMD = sys.argv[sys.argv.index("--") + 1:]
rnd = random.Random(20261202)

KEY_CHARS = ["a", "b", "c", "ab", "ba", "A", "_", "é", "\u4e2d", "\U0001f600", "1", "10", "2"]
NUMBERS = ["0", "-1", "1.0", "1e5", "2.50", "-0.0", "12345678901234567890", "3E-2"]


def key_text():
    """A random key: (decoded key, JSON text of the key)."""
    k = "".join(rnd.choice(KEY_CHARS) for _ in range(rnd.randint(1, 3)))
    if rnd.random() < 0.2:  # spell one character as a \\u escape
        i = rnd.randrange(len(k))
        ch = k[i]
        if ord(ch) < 0x10000:
            return k, json.dumps(k[:i])[:-1] + "\\u%04x" % ord(ch) + json.dumps(k[i + 1:])[1:]
    return k, json.dumps(k, ensure_ascii=rnd.random() < 0.5)


def value_text(depth):
    r = rnd.random()
    if depth < 7 and r < 0.45:
        members, seen = [], set()
        for _ in range(rnd.randint(0, 5)):
            k, kt = key_text()
            if k in seen:
                continue  # the reference reads objects into dicts: no duplicates
            seen.add(k)
            members.append(kt + ":" + value_text(depth + 1))
        if rnd.random() < 0.5:
            rnd.shuffle(members)
        else:
            members.sort(reverse=rnd.random() < 0.5)
        return "{" + ",".join(members) + "}"
    if depth < 7 and r < 0.6:
        return "[" + ",".join(value_text(depth + 1) for _ in range(rnd.randint(0, 4))) + "]"
    if r < 0.75:
        return json.dumps("".join(rnd.choice(KEY_CHARS + [" ", "\n", '"', "\\"])
                                  for _ in range(rnd.randint(0, 6))), ensure_ascii=rnd.random() < 0.5)
    if r < 0.9:
        return rnd.choice(NUMBERS)
    return rnd.choice(["true", "false", "null"])


def object_text():
    v = value_text(1)
    while not v.startswith("{"):
        v = value_text(1)
    return v


def body_anthropic():
    parts = [
        '{"type":"tool_use","id":"t","name":"Edit","input":%s}' % value_text(0),
        '{"type":"custom_%d","cache_control":{"type":"ephemeral"},"data":%s,"z":%s}'
        % (rnd.randint(0, 9), value_text(1), value_text(1)),
        '{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA","extra":%s}}'
        % value_text(1),
    ]
    rnd.shuffle(parts)
    return ('{"model":"m","messages":[{"role":"user","content":[%s]},'
            '{"role":"assistant","content":[%s]},{"role":"user","content":"ok"}]}'
            % (parts[0], ",".join(parts[1:])))


def body_openai():
    args = json.dumps(object_text())
    return ('{"model":"gpt","messages":[{"role":"user","content":"hi"},'
            '{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",'
            '"function":{"name":"f","arguments":%s}}]},{"role":"tool","content":"done"}]}' % args)


def main():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    failures = 0
    for i in range(N):
        body = body_anthropic() if i % 3 else body_openai()
        r = subprocess.run(CMD + ["-"], input=body.encode("utf-8"), capture_output=True,
                           env=env)
        got = json.loads(r.stdout) if r.returncode == 0 else None
        src, keys = reference_key.derive(body.encode("utf-8"))
        if got is None or got["source"] != src or got["keys"] != keys:
            failures += 1
            print("FAIL body %d: library %s %s; reference %s %s\n   %s"
                  % (i, got, r.stderr.decode().strip(), src, keys, body[:2000]))
    print(f"{N} random bodies, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
