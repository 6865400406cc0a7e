#!/usr/bin/env python3
"""tests/replay/check_replay.py - `sticky-route replay` on hand-written
traces with known answers, and `sticky-route gen` determinism.

usage: check_replay.py STICKY_ROUTE TRACE_DIR
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

TOOL, DIR = sys.argv[1], sys.argv[2]
CHANNELS = os.path.join(DIR, "channels-2.json")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        failures.append(name)
        print("   ", detail)


def replay(trace, *extra):
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as dec:
        path = dec.name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    r = subprocess.run([TOOL, "replay", "--channels", CHANNELS, "--decisions", path, *extra,
                        os.path.join(DIR, trace)], capture_output=True, env=env)
    decisions = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
    os.unlink(path)
    summary = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None
    return r, summary, decisions


# 1. A multi-turn conversation stays on one channel (another session between).
r, s, d = replay("multi_turn.jsonl")
check("multi-turn: summary", s is not None, r.stderr)
if s:
    check("multi-turn: stickiness 1.0", s["stickiness"] == 1.0 and s["followups"] == 2, s)
    check("multi-turn: 2 sessions", s["sessions"] == 2, s)
    reasons = [x["reason"] for x in d]
    check("multi-turn: new, new, promoted_hit, hit", reasons == ["new", "new", "promoted_hit", "hit"], reasons)
    chans = [x["channel"] for x in d]
    check("multi-turn: turns on one channel", chans[0] == chans[2] == chans[3] and chans[1] != chans[0], chans)
    check("multi-turn: decision fields", set(d[0]) >= {"i", "t", "tenant", "key", "source", "channel",
                                                       "reason", "attempt", "moved_from"}, d[0])

# 2. A 429 with a reset time moves the session once; it stays after the reset.
r, s, d = replay("rate_limit.jsonl")
check("429: summary", s is not None, r.stderr)
if s:
    seq = [(x["i"], x["attempt"], x["channel"], x["reason"], x["moved_from"]) for x in d]
    want = [(1, 1, "A", "new", None), (2, 1, "A", "promoted_hit", None), (2, 2, "B", "failover", "A"),
            (3, 1, "B", "hit", None), (4, 1, "B", "hit", None)]
    check("429: moved once to B, stays after the reset", seq == want, seq)
    check("429: attempts counted", s["requests"] == 4 and s["attempts"] == 5, s)

# 3. A disabled channel's sessions move (and do not come back).
r, s, d = replay("disabled.jsonl")
if s:
    seq = [(x["channel"], x["reason"]) for x in d]
    check("disabled: moves to B, stays", seq == [("A", "new"), ("B", "failover"), ("B", "hit")], seq)
    check("disabled: events counted", s["channel_events"] == 2, s)
else:
    check("disabled: summary", False, r.stderr)

# 4. Two tenants with identical bodies are separate sessions.
r, s, d = replay("tenants.jsonl")
if s:
    check("tenants: two sessions", s["sessions"] == 2 and s["followups"] == 1, s)
    check("tenants: different keys", d[0]["key"] != d[1]["key"] and d[0]["key"] == d[2]["key"], d)
else:
    check("tenants: summary", False, r.stderr)

# 5. Malformed lines give the line number; --skip-bad counts and continues.
r, s, d = replay("malformed.jsonl")
check("malformed: exit 3 with the line number",
      r.returncode == 3 and b"line 3" in r.stderr and s is None, (r.returncode, r.stderr))
r, s, d = replay("malformed.jsonl", "--skip-bad")
check("malformed: --skip-bad", s is not None and s["bad_lines"] == 2 and s["requests"] == 3,
      (r.returncode, r.stderr, s))

# 6. body_file relative to the trace.
r, s, d = replay("body_file.jsonl")
check("body_file", s is not None and s["sessions"] == 1 and s["followups_same_channel"] == 1,
      (r.stderr, s))

# 6b. Options reach the context: a TTL shorter than the gaps between turns
# ends the session (turn 2 is new); --strict refuses instead of moving.
r, s, d = replay("multi_turn.jsonl", "--ttl", "10", "--renew-threshold", "0")
check("--ttl 10: turns 30 s apart are new sessions",
      s is not None and [x["reason"] for x in d] == ["new", "new", "new", "new"], (r.stderr, d))
r, s, d = replay("rate_limit.jsonl", "--strict")
seq = [(x["i"], x["attempt"], x["reason"]) for x in d]
check("--strict: refused while A cools down, never moved, back on A after the reset",
      s is not None and seq == [(1, 1, "new"), (2, 1, "promoted_hit"), (2, 2, "no_channel"),
                                (3, 1, "no_channel"), (4, 1, "hit")]
      and all(x["channel"] in ("A", None) for x in d) and s["failed_requests"] == 2,
      (r.stderr, seq))
r, s, d = replay("multi_turn.jsonl", "--messages", "1")
check("--messages 1: turn 2 hits K1 directly",
      s is not None and [x["reason"] for x in d] == ["new", "new", "hit", "hit"], (r.stderr, d))

# 7. --human prints a table; bad options are usage errors.
r = subprocess.run([TOOL, "replay", "--channels", CHANNELS, "--human", os.path.join(DIR, "multi_turn.jsonl")],
                   capture_output=True)
check("--human", r.returncode == 0 and b"stickiness          1.0000" in r.stdout, r.stdout)
for args in (["replay"], ["replay", "--channels", CHANNELS, "--policy", "best"],
             ["replay", "--channels", "/nonexistent.json"], ["replay", "--channels", CHANNELS, "--ttl", "0"]):
    r = subprocess.run([TOOL, *args], capture_output=True, input=b"")
    check("usage error: " + " ".join(args[1:]), r.returncode == 2 and r.stderr, (r.returncode, r.stderr))


# 8. gen is deterministic for a seed and varies with it; its trace replays.
def gen(seed):
    r = subprocess.run([TOOL, "gen", "--conversations", "40", "--turns", "4", "--tenants", "2",
                        "--channels", "2", "--seed", str(seed), "--fail-rate", "0.05",
                        "--outage", "A@600-900"], capture_output=True)
    return r.returncode, r.stdout


rc1, a = gen(11)
rc2, b = gen(11)
rc3, c = gen(12)
check("gen: deterministic", rc1 == rc2 == 0 and a == b, hashlib.sha256(a).hexdigest())
check("gen: seed matters", a != c)
lines = [json.loads(l) for l in a.splitlines()]
check("gen: 160 requests + 2 events", len(lines) == 162, len(lines))
check("gen: time ordered", all(lines[i]["t"] <= lines[i + 1]["t"] for i in range(len(lines) - 1)))
with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
    f.write(a)
r = subprocess.run([TOOL, "replay", "--channels", CHANNELS, f.name], capture_output=True)
s = json.loads(r.stdout) if r.returncode == 0 else {}
check("gen: replays", s.get("requests") == 160 and s.get("sessions") == 40 and s.get("channel_events") == 2,
      (r.stderr, s))
os.unlink(f.name)
r = subprocess.run([TOOL, "gen", "--turns", "0"], capture_output=True)
check("gen: bad option", r.returncode == 2)

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
