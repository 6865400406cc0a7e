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
    # A 429 is scoped to the model family: the session's requests go to B
    # for this request only (side) while A's window lasts, the binding
    # stays on A; back on A the turn names B in moved_from (B's thinking
    # signatures) until a success on A (issue 12, docs/selection.md).
    want = [(1, 1, "A", "new", None), (2, 1, "A", "promoted_hit", None), (2, 2, "B", "side", "A"),
            (3, 1, "B", "side", "A"), (4, 1, "A", "hit", "B")]
    check("429: served on B during A's window, binding stays on A", seq == want, seq)
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

for args in (["--seed"], ["--conversations", "4294967297"], ["--turns", "-1"],
             ["--outage", "A@0-99999999999999999999"], ["--outage", "A@5-3"]):
    r = subprocess.run([TOOL, "gen", *args], capture_output=True)
    check("gen: bad option " + " ".join(args), r.returncode == 2 and not r.stdout
          and b"runtime error" not in r.stderr, (r.returncode, r.stderr))


def run(args, stdin=b""):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    return subprocess.run([TOOL, *args], capture_output=True, input=stdin, env=env)


def write(dirname, name, data):
    path = os.path.join(dirname, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


tmp = tempfile.mkdtemp(prefix="replay-check-")
BODY = {"messages": [{"role": "user", "content": "hello"}]}

# 9. Every string replay prints is JSON-escaped: channel ids and a tenant
# with a quote, a backslash, control characters, non-ASCII and (ids only)
# invalid UTF-8, which becomes U+FFFD. Both the summary and --decisions
# must parse and give the ids back.
ids = ['q"uote', "back\\slash", "ctl\x01\x1f\x7f\tx", "\u00e9\u4e2d\U0001f600", "A"]
channels_json = "[" + ",".join(json.dumps({"id": i}, ensure_ascii=False) for i in ids)
channels_json = channels_json.encode("utf-8") + b',{"id":"bad\xff\xc3("}]'
ids_out = ids + ["bad\ufffd\ufffd("]
weird_ch = write(tmp, "weird-channels.json", channels_json)
tenant = 'ten"ant\\\x02\u00e9'
lines = []
for k in range(6):  # every id picked at least once: fail on every channel but one
    lines.append(json.dumps({"t": 1750000000000 + k * 1000, "tenant": tenant,
                             "body": {"messages": [{"role": "user", "content": "s%d" % k}]},
                             "fail": {i: {"status": 500} for i in ids_out if i != ids_out[k]}},
                            ensure_ascii=False))
trace = write(tmp, "weird.jsonl", "\n".join(lines) + "\n")
dec = os.path.join(tmp, "weird-decisions.jsonl")
r = run(["replay", "--channels", weird_ch, "--decisions", dec, "--max-attempts", "6",
         "--policy", "rendezvous", trace])
try:
    summary = json.loads(r.stdout.decode("utf-8"))
    decisions = [json.loads(l) for l in open(dec, encoding="utf-8")]
except ValueError as e:
    summary, decisions = None, []
    check("escaping: output parses", False, (e, r.stdout[:300], r.stderr))
if summary is not None:
    check("escaping: summary channel ids round-trip", list(summary["channels"]) == ids_out,
          list(summary["channels"]))
    seen = {x["channel"] for x in decisions} | {x["moved_from"] for x in decisions}
    check("escaping: every id in --decisions (channel / moved_from)", seen >= set(ids_out),
          (seen, r.stderr))
    check("escaping: tenant round-trips", all(x["tenant"] == tenant for x in decisions),
          decisions[:1])

# 10. Numbers from trace and channel files are range-checked: a clear error
# naming the line (trace) or channel and the field, never a cast of an
# out-of-range double (clang's -fsanitize=float-cast-overflow).
ok_line = {"t": 1750000000000, "tenant": "k", "body": BODY}


def trace_with(field_line):
    return write(tmp, "num.jsonl", json.dumps(ok_line) + "\n" + field_line + "\n")


def with_fail(**f):
    return json.dumps(dict(ok_line, t=1750000001000, fail={"A": f, "B": f}))


plain_ch = write(tmp, "plain-channels.json", '[{"id": "A"}, {"id": "B"}]')
bad_trace = [
    ("t", '{"t": 1e300, "body": {"messages": []}}', "0..9007199254740991"),
    ("t", '{"t": -1, "body": {"messages": []}}', "0..9007199254740991"),
    ("t", '{"t": 1750000000000.5, "body": {"messages": []}}', "0..9007199254740991"),
    ("t", '{"t": "1750000000000", "body": {"messages": []}}', "0..9007199254740991"),
    ("status", with_fail(status=1e300), "0..999"),
    ("status", with_fail(status=-1), "0..999"),
    ("status", with_fail(status=429.5), "0..999"),
    ("status", with_fail(status=1000), "0..999"),
    ("reset", with_fail(status=429, reset=1e300), "0..9007199254740"),
    ("reset", with_fail(status=429, reset=-5), "0..9007199254740"),
    ("reset", with_fail(status=429, reset=1.5), "0..9007199254740"),
    ("retry_after", with_fail(status=429, retry_after=-1e300), "0..9007199254740"),
    ("retry_after", with_fail(status=429, retry_after=30.25), "0..9007199254740"),
]
for field, line, rng in bad_trace:
    r = run(["replay", "--channels", plain_ch, trace_with(line)])
    err = r.stderr.decode("utf-8", "replace")
    check(f"numbers: trace {field} {line[:60]}",
          r.returncode == 3 and "line 2:" in err and f'"{field}": ' in err
          and f"is not an integer in {rng}" in err and "runtime error" not in err,
          (r.returncode, err))
r = run(["replay", "--channels", plain_ch, "--skip-bad", trace_with(with_fail(status=1e300))])
s = json.loads(r.stdout) if r.returncode == 0 else {}
check("numbers: --skip-bad counts a bad number, nothing selected for it",
      s.get("bad_lines") == 1 and s.get("requests") == 1 and s.get("attempts") == 1,
      (r.returncode, r.stderr, s))
good = [json.dumps(dict(ok_line, t=0)),
        json.dumps(dict(ok_line, t=1000, fail={"A": {"status": 0}, "B": {"status": 999}})),
        json.dumps(dict(ok_line, t=2000, fail={"A": {"status": 429, "reset": 9007199254740,
                                                     "retry_after": 0}}))]
r = run(["replay", "--channels", plain_ch, write(tmp, "good.jsonl", "\n".join(good) + "\n")])
check("numbers: edge values accepted (t 0, status 0 and 999, reset max, retry_after 0)",
      r.returncode == 0 and b"runtime error" not in r.stderr, (r.returncode, r.stderr))

bad_channels = [
    ("priority", 1e300, "-2147483648..2147483647"),
    ("priority", -2147483649, "-2147483648..2147483647"),
    ("priority", 1.5, "-2147483648..2147483647"),
    ("weight", -1, "0..4294967295"),
    ("weight", 4294967296, "0..4294967295"),
    ("weight", 0.5, "0..4294967295"),
    ("max_inflight", 1e300, "0..4294967295"),
    ("max_inflight", -1, "0..4294967295"),
    ("max_inflight", "2", "0..4294967295"),
]
for field, val, rng in bad_channels:
    ch = write(tmp, "num-channels.json", json.dumps([{"id": "A"}, {"id": "B", field: val}]))
    r = run(["replay", "--channels", ch, trace_with(json.dumps(ok_line))])
    err = r.stderr.decode("utf-8", "replace")
    check(f"numbers: channels {field} {val!r}",
          r.returncode == 2 and 'channel 2 ("B"):' in err and f'"{field}": ' in err
          and f"is not an integer in {rng}" in err and "runtime error" not in err,
          (r.returncode, err))
ch = write(tmp, "num-channels.json",
           json.dumps([{"id": "A", "priority": -2147483648, "weight": 4294967295,
                        "max_inflight": 0}, {"id": "B", "priority": 2147483647}]))
r = run(["replay", "--channels", ch, trace_with(json.dumps(ok_line))])
check("numbers: channel edge values accepted", r.returncode == 0, (r.returncode, r.stderr))

# 11. Files are read up to the library's body limit (64 MiB) and no further:
# /dev/zero as a body, a body_file, a trace or a secret fails at once
# instead of growing a buffer until memory runs out.
LIMIT = 64 * 1024 * 1024
r = run(["hash", "/dev/zero"])
check("limit: hash /dev/zero", r.returncode == 3 and b"larger than 67108864 bytes" in r.stderr,
      (r.returncode, r.stderr))
r = run(["hash", "-"], stdin=b" " * (LIMIT + 1))
check("limit: hash from stdin, limit + 1 bytes", r.returncode == 3
      and b"larger than 67108864 bytes" in r.stderr, (r.returncode, r.stderr))
sparse = os.path.join(tmp, "sparse")
with open(sparse, "wb") as f:
    f.truncate(LIMIT + 1)
r = run(["hash", sparse])
check("limit: hash of a regular file one byte over", r.returncode == 3
      and b"larger than 67108864 bytes" in r.stderr, (r.returncode, r.stderr))
body_at_limit = json.dumps(BODY).encode()
body_at_limit += b" " * (LIMIT - len(body_at_limit))
r = run(["hash", "-"], stdin=body_at_limit)
check("limit: a body of exactly the limit is read", r.returncode == 0, (r.returncode, r.stderr))
r = run(["replay", "--channels", plain_ch,
         write(tmp, "zero.jsonl", '{"t": 1750000000000, "body_file": "/dev/zero"}\n')])
check("limit: replay body_file /dev/zero", r.returncode == 3
      and b"line 1: body_file /dev/zero: larger than the body limit (67108864 bytes)" in r.stderr,
      (r.returncode, r.stderr))
r = run(["replay", "--channels", plain_ch, "/dev/zero"])
check("limit: replay of /dev/zero as the trace", r.returncode == 3
      and b"line 1: longer than" in r.stderr, (r.returncode, r.stderr))
r = run(["replay", "--channels", "/dev/zero", trace_with(json.dumps(ok_line))])
check("limit: channels file /dev/zero", r.returncode == 2 and b"larger than" in r.stderr,
      (r.returncode, r.stderr))
r = run(["hash", "--secret-file", "/dev/zero", "-"], stdin=json.dumps(BODY).encode())
check("limit: --secret-file /dev/zero", r.returncode == 2 and b"secret must be" in r.stderr,
      (r.returncode, r.stderr))

# 12. Incidents (issue 12): gen's incident options, replay's failure
# headers, fail_on_move and incident counters.
T0 = 1750000000000


def gen_lines(*args):
    r = subprocess.run([TOOL, "gen", "--conversations", "30", "--turns", "4", "--channels", "3",
                        "--seed", "5", *args], capture_output=True)
    check("incident gen: " + " ".join(args), r.returncode == 0, r.stderr)
    return r.stdout, [json.loads(l) for l in r.stdout.splitlines()]


def fails(lines):
    return [e for x in lines for e in (x.get("fail") or {}).values()]


# Deterministic for a seed with every incident option, and the seed matters.
ALL = ["--529-rate", "0.05", "--revoke", "B@900", "--side-requests", "0.5", "--failed-moves", "0.5",
       "--fail-rate", "0.2", "--ratelimit-headers", "both", "--session-id-share", "1"]
raw1, _ = gen_lines(*ALL)
raw2, _ = gen_lines(*ALL)
raw3, _ = gen_lines(*ALL, "--seed", "6")
check("incident gen: deterministic for a seed", raw1 == raw2 and raw1)
check("incident gen: the seed matters", raw1 != raw3)
_, base = gen_lines()
check("incident gen: without incident options, no incident fields",
      not any("fail" in x or "fail_on_move" in x for x in base)
      and all(x["model"] == "claude-sonnet-4-5" for x in base), base[0].keys())

# --529-rate: a 529 entry for one random channel, at the given rate.
_, ls = gen_lines("--529-rate", "1")
check("--529-rate 1: every request carries one 529",
      all(list(x["fail"].values()) == [{"status": 529}] and set(x["fail"]) <= {"A", "B", "C"}
          for x in ls) and len({c for x in ls for c in x["fail"]}) == 3, ls[0].get("fail"))
_, ls = gen_lines("--529-rate", "0.1")
n529 = sum(1 for x in ls if "fail" in x)
check("--529-rate 0.1: about 10% of 120 requests", 3 <= n529 <= 25, n529)

# --revoke C@S: channel C answers 401 on every request from second S on.
_, ls = gen_lines("--revoke", "B@900")
before = [x for x in ls if x["t"] < T0 + 900000]
after = [x for x in ls if x["t"] >= T0 + 900000]
check("--revoke B@900: 401 from B exactly from second 900",
      before and after and not any("fail" in x for x in before)
      and all(x["fail"] == {"B": {"status": 401}} for x in after), (len(before), len(after)))
_, ls = gen_lines("--revoke", "B@900", "--529-rate", "1")
check("--revoke wins over noise on the same channel",
      all(x["fail"]["B"] == {"status": 401} for x in ls if x["t"] >= T0 + 900000))

# --side-requests: haiku lines with the conversation's session id, short.
_, ls = gen_lines("--side-requests", "1", "--session-id-share", "1")
main = [x for x in ls if x["model"] == "claude-sonnet-4-5"]
side = [x for x in ls if x["model"] != "claude-sonnet-4-5"]
uid = lambda x: x["body"]["metadata"]["user_id"]
check("--side-requests 1: one haiku side request per turn",
      len(main) == 120 and len(side) == 120
      and all(x["model"].startswith("claude-haiku-") and x["body"]["model"] == x["model"] for x in side),
      (len(main), len(side)))
by_uid = {}
for i, x in enumerate(ls):
    by_uid.setdefault(uid(x), []).append(x["model"])
check("--side-requests: each follows its turn with the same metadata.user_id",
      len(by_uid) == 30 and all(m == ["claude-sonnet-4-5", "claude-haiku-4-5"] * 4 for m in by_uid.values()),
      list(by_uid.values())[:2])
check("--side-requests: short bodies", all(len(json.dumps(x["body"])) < 600 for x in side)
      and all(len(json.dumps(x["body"])) > 5000 for x in main))
_, ls = gen_lines("--side-requests", "1", "--session-id-share", "0")
check("--side-requests: only conversations with a session id", all(x["model"] == "claude-sonnet-4-5" for x in ls))

# --failed-moves: a fail_on_move entry on main requests.
_, ls = gen_lines("--failed-moves", "1", "--side-requests", "1", "--session-id-share", "1")
check("--failed-moves 1: every main request carries fail_on_move, side requests none",
      all(x.get("fail_on_move") == {"status": 529} for x in ls if x["model"] == "claude-sonnet-4-5")
      and not any("fail_on_move" in x for x in ls if x["model"] != "claude-sonnet-4-5"))

# --ratelimit-headers: 429s carry anthropic-ratelimit-unified-reset and retry-after.
for mode in ("none", "both", "only"):
    _, ls = gen_lines("--fail-rate", "1", "--ratelimit-headers", mode)
    e429 = [(x, e) for x in ls for e in x["fail"].values() if e["status"] == 429]
    ok = len(e429) > 50
    for x, e in e429:
        h = e.get("headers")
        if mode == "none":
            ok = ok and h is None and "reset" in e
        else:
            reset = int(h["anthropic-ratelimit-unified-reset"])
            ok = ok and int(h["retry-after"]) == reset - x["t"] // 1000 and 10 <= int(h["retry-after"]) <= 120
            ok = ok and h["anthropic-ratelimit-unified-status"] == "rejected"
            ok = ok and (e.get("reset") == reset if mode == "both" else "reset" not in e)
    check(f"--ratelimit-headers {mode}", ok, e429[:1])
    check(f"--ratelimit-headers {mode}: 529s carry no headers",
          all("headers" not in e for e in fails(ls) if e["status"] == 529))

# Bad values: exit 2, a message naming the option, nothing written.
for args in (["--529-rate", "1.5"], ["--529-rate", "-0.1"], ["--529-rate", "nan"], ["--529-rate", "0.1x"],
             ["--side-requests", "2"], ["--failed-moves", ""], ["--fail-rate", "inf"],
             ["--revoke", "B"], ["--revoke", "@5"], ["--revoke", "B@-1"], ["--revoke", "B@1x"],
             ["--revoke", "TOOLONGNAME@5"], ["--revoke", "B@99999999999999999999"],
             ["--ratelimit-headers", "yes"], ["--529-rate"], ["--seed", "x"], ["--outage", "B@-5-10"]):
    r = subprocess.run([TOOL, "gen", *args], capture_output=True)
    check("gen: bad value " + " ".join(args), r.returncode == 2 and not r.stdout
          and args[0].encode() in r.stderr and b"usage:" in r.stderr, (r.returncode, r.stderr))
r = subprocess.run([TOOL, "gen", "--revoke", "B@0", "--revoke", "C@10", "--conversations", "1"],
                   capture_output=True)
check("gen: --revoke repeatable", r.returncode == 0 and b'"B":{"status":401},"C":{"status":401}' in r.stdout
      or b'"C":{"status":401},"B":{"status":401}' in r.stdout, r.stdout[-300:])
r = subprocess.run([TOOL, "gen", "--outage", 'q"x@1-2', "--conversations", "1"], capture_output=True)
check("gen: outage channel names JSON-escaped",
      r.returncode == 0 and all(json.loads(l) for l in r.stdout.splitlines()), r.stdout[:200])

# Replay passes a failure's headers to sticky_report (shown in --decisions)
# and still sets the numbers.
ch3 = write(tmp, "ch3.json", '[{"id": "A"}, {"id": "B"}, {"id": "C"}]')
SID = {"X-Claude-Code-Session-Id": "sess-1"}


def req(t, model="claude-sonnet-4-5", **kw):
    return json.dumps(dict({"t": T0 + t * 1000, "tenant": "k", "model": model, "headers": SID,
                            "body": {"messages": [{"role": "user", "content": "hi"}]}}, **kw))


def replay_lines(lines, channels=ch3, *extra):
    dec = os.path.join(tmp, "inc-dec.jsonl")
    r = run(["replay", "--channels", channels, "--decisions", dec, *extra,
             write(tmp, "inc.jsonl", "\n".join(lines) + "\n")])
    s = json.loads(r.stdout) if r.returncode == 0 else None
    d = [json.loads(l) for l in open(dec)] if s is not None else []
    return r, s, d


# A failure answers the first attempt on its channel only: with one channel
# and an isolated 529 (which cools nothing), the retry there succeeds.
ch1 = write(tmp, "ch1.json", '[{"id": "A"}]')
r, s, d = replay_lines([req(0, fail={"A": {"status": 529}})], ch1)
check("replay: a failure answers the first attempt on its channel, a retry there succeeds",
      s is not None and s["failed_requests"] == 0 and [x["status"] for x in d] == [529, 200],
      (r.stderr, s, d))

H = {"anthropic-ratelimit-unified-reset": str(T0 // 1000 + 60), "retry-after": "60",
     "X-Other": "v\"1"}
allfail = {c: {"status": 429, "reset": T0 // 1000 + 60, "headers": H} for c in "ABC"}
r, s, d = replay_lines([req(0, fail=allfail)])
check("replay: failure headers reach the report (--decisions)",
      s is not None and d and all(x["status"] == 429 and x["headers"] == H for x in d if x["channel"]),
      (r.stderr, d))
r, s, d = replay_lines([req(0)])
check("replay: a success reports 200 and no headers",
      s is not None and [(x["status"], x["headers"]) for x in d] == [(200, None)], d)
for bad, why in (({"status": 429, "headers": ["a"]}, b'"headers": not an object'),
                 ({"status": 429, "headers": {"retry-after": 5}}, b'"headers": retry-after is not a string'),
                 ({"status": 429, "headers": {"h%d" % i: "v" for i in range(33)}}, b"at most 32")):
    r, s, d = replay_lines([req(0), req(1, fail={"A": bad, "B": bad, "C": bad})])
    check(f"replay: bad failure headers {why.decode()}", r.returncode == 3 and b"line 2: fail." in r.stderr
          and why in r.stderr, r.stderr)
r, s, d = replay_lines([req(0), req(1, fail_on_move={"status": 1000})])
check("replay: a bad fail_on_move is a line error",
      r.returncode == 3 and b"line 2: fail_on_move:" in r.stderr, r.stderr)

# fail_on_move: the first attempt of a move fails once; without a move it
# does nothing.
r, s, d = replay_lines([req(0, fail_on_move={"status": 529}), req(30, fail_on_move={"status": 529})])
check("fail_on_move: no move, no failure",
      s is not None and s["failed_moves"] == 0 and s["attempts"] == 2, (r.stderr, s))
first = None
r0, s0, d0 = replay_lines([req(0)])
first = d0[0]["channel"] if d0 else "A"
lines = [req(0), req(30, fail={first: {"status": 500}}, fail_on_move={"status": 529, "headers": {"x": "1"}})]
r, s, d = replay_lines(lines)
att = [(x["i"], x["attempt"], x["status"]) for x in d]
check("fail_on_move: bound channel fails, the move's first attempt fails, the next succeeds",
      s is not None and att == [(1, 1, 200), (2, 1, 500), (2, 2, 529), (2, 3, 200)]
      and d[2]["headers"] == {"x": "1"} and d[2]["channel"] != first and d[3]["channel"] != first
      and s["failed_moves"] == 1 and s["failed_requests"] == 0, (r.stderr, d))
r, s, d = replay_lines(lines[:1] + [req(30, fail={first: {"status": 500}})])
check("fail_on_move: without it the move succeeds at once",
      s is not None and s["failed_moves"] == 0 and s["attempts"] == 3, (r.stderr, s))

# Counters: moves (once / more / back), side requests and those followed by
# a move, 401s. Channel names come from the decisions, so the expectations
# hold whatever channel the library picks.
ch2 = write(tmp, "ch2.json", '[{"id": "A"}, {"id": "B"}]')
r, s, d = replay_lines([req(0)], ch2)
x = d[0]["channel"] if d else "A"
y = "B" if x == "A" else "A"
lines = [req(0), req(5, model="claude-haiku-4-5"), req(30, fail={x: {"status": 500}}), req(60),
         req(1000, fail={y: {"status": 500}}), req(1030, model="claude-haiku-4-5"), req(1060)]
r, s, d = replay_lines(lines, ch2)
finals = {}
for e in d:
    finals[e["i"]] = e["channel"]
check("counters: the trace went x, x(side), y, y, x, ?, x",
      s is not None and [finals[i] for i in (1, 2, 3, 4, 5, 7)] == [x, x, y, y, x, x], (r.stderr, d))
if s is not None:
    got = {k: s[k] for k in ("moves", "sessions_moved_once", "sessions_moved_more", "moves_back",
                             "side_requests", "side_requests_on_session_channel",
                             "side_requests_then_moved", "auth_failures", "followups", "sessions")}
    want = {"moves": 2, "sessions_moved_once": 0, "sessions_moved_more": 1, "moves_back": 1,
            "side_requests": 2, "side_requests_on_session_channel": 1 + (finals[6] == x),
            "side_requests_then_moved": 1, "auth_failures": 0, "followups": 4, "sessions": 1}
    check("counters: moves, side requests, followups (side requests are not follow-ups)", got == want,
          (got, want))
r, s, d = replay_lines([req(0, fail={"A": {"status": 401}, "B": {"status": 403}})], ch2)
check("counters: auth_failures counts 401 and 403 answers",
      s is not None and s["auth_failures"] == 2 and s["failed_requests"] == 1, (r.stderr, s))
r = run(["replay", "--channels", ch2, "--human", write(tmp, "inc.jsonl", "\n".join(lines) + "\n")])
check("counters: --human shows them", b"moves               2 (sessions moved once: 0, more than once: 1; "
      b"back to an earlier channel: 1)" in r.stdout and b"side requests       2 (" in r.stdout
      and b"incidents met       0 attempts answered 401/403, 0 moves failed once" in r.stdout, r.stdout)

# A generated incident trace: the summary's counters match what the
# decisions say (computed here independently; every conversation has a
# session id, so a decision's key is its session).
gtrace = write(tmp, "gen-inc.jsonl", raw1)
dec = os.path.join(tmp, "gen-inc-dec.jsonl")
r = run(["replay", "--channels", ch3, "--decisions", dec, gtrace])
s = json.loads(r.stdout) if r.returncode == 0 else {}
d = [json.loads(l) for l in open(dec)] if s else []
trace_lines = raw1.decode().splitlines()
final = {}
for e in d:
    final[e["i"]] = e["channel"] if e["status"] == 200 else None
n401 = sum(1 for e in d if e["status"] in (401, 403))
sess_model, last, moves, side = {}, {}, 0, 0
for i, l in enumerate(trace_lines, 1):
    x = json.loads(l)
    if "channel" in x:
        continue
    k = d[[e["i"] for e in d].index(i)]["key"]
    if k not in sess_model:
        sess_model[k] = x["model"]
    elif x["model"] != sess_model[k]:
        side += 1
        continue
    c = final.get(i)
    if c is not None:
        if k in last and last[k] != c:
            moves += 1
        last[k] = c
check("gen incident trace: counters agree with the decisions",
      s and s["auth_failures"] == n401 and s["side_requests"] == side and s["moves"] == moves
      and s["failed_moves"] == sum(1 for e in d if e["status"] == 529
                                   and json.loads(trace_lines[e["i"] - 1]).get("fail_on_move")
                                   and e["channel"] not in (json.loads(trace_lines[e["i"] - 1]).get("fail") or {}))
      and n401 > 0 and side > 0,
      (r.stderr, {k: s.get(k) for k in ("auth_failures", "side_requests", "moves", "failed_moves")},
       n401, side, moves))

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
