#!/usr/bin/env python3
"""tests/replay/check_replay_shm.py - `sticky-route replay --store shm:PATH`
shares sessions and channel health between separate processes through one
segment file, and `sticky-route inspect` shows them without changing them.

1. Split trace: process 1 replays the first turn of 24 conversations,
   process 2 (a new process, same file) their later turns: every later
   turn is a hit on the channel process 1 chose. Control: the same split
   with --store memory places the later turns anew (so the check can fail).
2. Whole trace twice (gen, random policy): the second process's decisions
   are all hits, on the first process's channels.
3. A 401 reported by a third process is in the segment: inspect shows the
   channel in the auth state.
4. inspect (human and --json): stats, channels and sessions listed; every
   JSON line parses; sessions agree with the decisions; two inspects print
   the same sessions (no renewal, no count); --limit; bad options.
5. inspect on a missing, empty, garbage or truncated file: exit 4, a clear
   message, and no file created or changed.

usage: check_replay_shm.py STICKY_ROUTE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
failures = []
T0 = 1750000000000


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        failures.append(name)
        print("   ", detail)


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    return subprocess.run([TOOL, *args], capture_output=True, env=env)


def replay(tmp, channels, trace, store, *extra):
    dec = os.path.join(tmp, "decisions.jsonl")
    if os.path.exists(dec):
        os.unlink(dec)
    r = run("replay", "--channels", channels, "--decisions", dec, "--store", store, *extra, trace)
    decisions = [json.loads(l) for l in open(dec)] if os.path.exists(dec) else []
    return r, decisions


def write_lines(path, lines):
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")
    return path


def conversation_turn(c, turn, t):
    """Turn TURN (1..3) of conversation C: its messages so far."""
    msgs = []
    for k in range(1, turn + 1):
        msgs.append({"role": "user", "content": "conversation %d question %d" % (c, k)})
        if k < turn:
            msgs.append({"role": "assistant", "content": "answer %d.%d" % (c, k)})
    return {"t": t, "tenant": "tenant-%d" % (c % 3), "model": "claude-sonnet-4-5",
            "body": {"messages": msgs}}


tmp = tempfile.mkdtemp(prefix="replay-shm-")
try:
    ch4 = os.path.join(tmp, "channels-4.json")
    with open(ch4, "w") as f:
        json.dump([{"id": c} for c in "ABCD"], f)
    seg = os.path.join(tmp, "gw.sticky")

    # ---- 1. first turns in one process, later turns in another ------------
    N = 24
    first = write_lines(os.path.join(tmp, "first.jsonl"),
                        [conversation_turn(c, 1, T0 + c * 1000) for c in range(N)])
    later = write_lines(os.path.join(tmp, "later.jsonl"),
                        [conversation_turn(c, turn, T0 + 60000 * turn + c * 1000)
                         for turn in (2, 3) for c in range(N)])
    r1, d1 = replay(tmp, ch4, first, "shm:" + seg, "--policy", "random")
    check("split: process 1 replays", r1.returncode == 0 and len(d1) == N, r1.stderr)
    check("split: process 1 places every conversation anew",
          [x["reason"] for x in d1] == ["new"] * N, [x["reason"] for x in d1])
    check("split: random placement uses several channels", len({x["channel"] for x in d1}) > 1,
          [x["channel"] for x in d1])
    r2, d2 = replay(tmp, ch4, later, "shm:" + seg, "--policy", "random")
    check("split: process 2 replays", r2.returncode == 0 and len(d2) == 2 * N, r2.stderr)
    reasons = [x["reason"] for x in d2]
    check("split: every later turn is a hit on process 1's sessions",
          all(x in ("hit", "promoted_hit") for x in reasons), reasons)
    want = [d1[i % N]["channel"] for i in range(2 * N)]
    check("split: later turns on the channel process 1 chose",
          [x["channel"] for x in d2] == want, ([x["channel"] for x in d2], want))
    summary2 = json.loads(r2.stdout) if r2.returncode == 0 else {}
    check("split: the store counters are the segment's (hits of process 2)",
          summary2.get("store", {}).get("hits", 0) >= 2 * N, summary2.get("store"))
    # Control: without the segment the second process knows nothing.
    rm, dm = replay(tmp, ch4, later, "memory", "--policy", "random")
    check("split control: a memory store places later turns anew",
          rm.returncode == 0 and dm and all(x["reason"] == "new" for x in dm[:N]),
          [x["reason"] for x in dm])

    # ---- 2. the whole trace twice, in two processes ---------------------------
    g = run("gen", "--conversations", "30", "--turns", "4", "--tenants", "3", "--channels", "4",
            "--seed", "7")
    trace = os.path.join(tmp, "gen.jsonl")
    with open(trace, "wb") as f:
        f.write(g.stdout)
    seg2 = os.path.join(tmp, "gen.sticky")
    ra, da = replay(tmp, ch4, trace, "shm:" + seg2, "--policy", "random")
    rb, db = replay(tmp, ch4, trace, "shm:" + seg2, "--policy", "random")
    check("twice: both runs replay 120 requests", ra.returncode == rb.returncode == 0 and
          len(da) == len(db) == 120, (ra.stderr, rb.stderr))
    check("twice: run 1 has new sessions", sum(x["reason"] == "new" for x in da) == 30,
          [x["reason"] for x in da])
    check("twice: run 2 makes no new session (all hits)",
          all(x["reason"] in ("hit", "explicit_hit", "promoted_hit") for x in db),
          sorted({x["reason"] for x in db}))
    check("twice: decisions agree", [x["channel"] for x in da] == [x["channel"] for x in db])

    # ---- 3. health learned by another process --------------------------------
    chd = os.path.join(tmp, "channels-d.json")
    with open(chd, "w") as f:
        json.dump([{"id": "D"}], f)
    auth = write_lines(os.path.join(tmp, "auth.jsonl"), [dict(conversation_turn(99, 1, T0 + 500000),
                                                          fail={"D": {"status": 401}})])
    r3, d3 = replay(tmp, chd, auth, "shm:" + seg, "--max-attempts", "1")
    check("auth: process 3 reports a 401 on D", r3.returncode == 0 and len(d3) == 1 and
          d3[0]["channel"] == "D" and d3[0]["status"] == 401, (r3.stderr, d3))
    r4, d4 = replay(tmp, ch4, later, "shm:" + seg, "--policy", "random", "--max-attempts", "1")
    check("auth: process 4 moves D's sessions elsewhere (learned from the segment)",
          r4.returncode == 0 and d4 and all(x["channel"] != "D" for x in d4) and
          any(x["moved_from"] == "D" for x in d4), [(x["channel"], x["moved_from"]) for x in d4])

    # ---- 4. inspect -------------------------------------------------------------
    now = str(T0 + 600000)
    r = run("inspect", seg, "--json", "--limit", "0", "--now", now)
    try:
        objs = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    except ValueError as e:
        objs = []
        check("inspect --json: every line parses", False, (e, r.stdout[:400]))
    check("inspect --json: exit 0", r.returncode == 0, r.stderr)
    types = [o.get("type") for o in objs]
    check("inspect --json: segment first, end last",
          types[:1] == ["segment"] and types[-1:] == ["end"], types)
    segment = objs[0] if objs else {}
    check("inspect --json: stats", segment.get("max_sessions") == 10000 and
          segment.get("channels") == 4 and segment.get("file_bytes", 0) > 0 and
          segment.get("processes") == 0 and segment.get("repairs") == 0, segment)
    chans = {o["id"]: o for o in objs if o.get("type") == "channel"}
    check("inspect --json: channels A-D listed", sorted(chans) == list("ABCD"), sorted(chans))
    check("inspect --json: D in the auth state until cleared",
          chans.get("D", {}).get("state") == "auth" and chans["D"].get("cause") == "auth" and
          chans["D"].get("until_ms") is None, chans.get("D"))
    check("inspect --json: A ok", chans.get("A", {}).get("state") == "ok", chans.get("A"))
    check("inspect --json: selections add up",
          sum(c.get("selections", 0) for c in chans.values()) ==
          len(d1) + len(d2) + len(d3) + len(d4), chans)
    sessions = [o for o in objs if o.get("type") == "session"]
    end = objs[-1] if objs else {}
    check("inspect --json: sessions listed and counted",
          len(sessions) == end.get("sessions_live") == end.get("sessions_listed") and
          len(sessions) >= N, (len(sessions), end))
    by_key = {s["key"]: s for s in sessions}
    # The keys process 4 decided, and those of processes 1-2 on channels
    # other than D (D's sessions were moved by process 4).
    last_key = {x["key"]: x["channel"] for x in d1 + d2 if x["channel"] != "D"}
    last_key.update({x["key"]: x["channel"] for x in d4})
    check("inspect --json: every decided key is a session on its channel",
          all(k in by_key and by_key[k]["channel"] == c for k, c in last_key.items()),
          [(k, c, by_key.get(k)) for k, c in last_key.items()
           if k not in by_key or by_key[k]["channel"] != c][:3])
    check("inspect --json: session fields",
          all(set(s) == {"type", "key", "channel", "tenant", "request_count", "created_ms",
                         "last_access_ms", "expires_ms"} and len(s["key"]) == 16 for s in sessions)
          and all(s["created_ms"] <= s["last_access_ms"] < s["expires_ms"] for s in sessions),
          sessions[:1])
    again = run("inspect", seg, "--json", "--limit", "0", "--now", now)
    check("inspect: a second inspect sees the same sessions (nothing renewed or counted)",
          again.stdout == r.stdout, "outputs differ")
    r = run("inspect", seg, "--json", "--limit", "3", "--now", now)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    check("inspect --limit 3", sum(o["type"] == "session" for o in lines) == 3 and
          lines[-1]["sessions_listed"] == 3 and lines[-1]["sessions_live"] == len(sessions), lines[-1])
    r = run("inspect", seg, "--json", "--now", str(T0 + 100 * 3600 * 1000))
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    check("inspect --now after every TTL: no live session", lines[-1]["sessions_live"] == 0,
          lines[-1])
    r = run("inspect", seg, "--now", now)
    out = r.stdout.decode()
    check("inspect (human): stats, channels, sessions",
          r.returncode == 0 and "sessions      " in out and "channels (4)" in out and
          "until cleared" in out and d1[0]["key"] in out and
          "of %d live sessions listed" % len(sessions) in out, out[:600])
    for bad in (["inspect"], ["inspect", seg, "--limit"], ["inspect", seg, "--limit", "-1"],
                ["inspect", seg, "--now", "x"], ["inspect", seg, "--bogus"],
                ["inspect", seg, seg]):
        r = run(*bad)
        check("inspect usage error: " + " ".join(bad[2:]), r.returncode == 2 and r.stderr and
              not r.stdout, (r.returncode, r.stderr))

    # ---- 5. inspect refuses what is not a segment -------------------------------
    missing = os.path.join(tmp, "missing.sticky")
    r = run("inspect", missing)
    check("inspect missing file: exit 4, clear message, no file created",
          r.returncode == 4 and b"No such file" in r.stderr and not os.path.exists(missing),
          (r.returncode, r.stderr))
    empty = os.path.join(tmp, "empty.sticky")
    open(empty, "w").close()
    r = run("inspect", empty)
    check("inspect empty file: exit 4, not turned into a segment",
          r.returncode == 4 and b"empty file" in r.stderr and os.path.getsize(empty) == 0,
          (r.returncode, r.stderr))
    garbage = os.path.join(tmp, "garbage.sticky")
    with open(garbage, "wb") as f:
        f.write(bytes((i * 131 + 7) % 256 for i in range(65536)))
    before = open(garbage, "rb").read()
    r = run("inspect", garbage)
    check("inspect garbage file: exit 4, clear message, file unchanged",
          r.returncode == 4 and b"not a libsticky segment" in r.stderr and not r.stdout and
          open(garbage, "rb").read() == before, (r.returncode, r.stderr))
    trunc = os.path.join(tmp, "truncated.sticky")
    shutil.copy(seg, trunc)
    os.truncate(trunc, os.path.getsize(seg) // 2)
    r = run("inspect", trunc)
    check("inspect truncated segment: exit 4, says truncated",
          r.returncode == 4 and b"truncated" in r.stderr, (r.returncode, r.stderr))
    r = run("replay", "--channels", ch4, "--store", "shm:" + garbage, first)
    check("replay --store shm: on a garbage file: exit 2, file unchanged",
          r.returncode == 2 and b"corrupt" in r.stderr and open(garbage, "rb").read() == before,
          (r.returncode, r.stderr))
    r = run("replay", "--channels", ch4, "--store", "shm:", first)
    check("replay --store shm: without a path: usage error", r.returncode == 2, r.stderr)
    r = run("replay", "--channels", ch4, "--store", "shm:" + seg, "--max-sessions", "500", first)
    check("replay --store shm: sizes that differ from the file's: refused",
          r.returncode == 2 and b"max_sessions" in r.stderr, (r.returncode, r.stderr))
finally:
    shutil.rmtree(tmp)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
