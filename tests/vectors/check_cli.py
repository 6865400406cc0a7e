#!/usr/bin/env python3
"""tests/vectors/check_cli.py - sticky-route's contract: `hash` output and
exit codes (0 ok, 2 usage, 3 unreadable body), `config` from the
environment, `bench-key` JSON lines.

usage: check_cli.py STICKY_ROUTE
"""
import json
import os
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
BODY = b'{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'
failures = []


def run(args, stdin=b"", env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    env.update(env_extra or {})
    return subprocess.run([TOOL, *args], input=stdin, capture_output=True, env=env)


def check(name, cond, r=None):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        failures.append(name)
        if r is not None:
            print("   rc", r.returncode, "out", r.stdout[:300], "err", r.stderr[:300])


r = run(["hash"], BODY)
out = json.loads(r.stdout) if r.returncode == 0 else {}
check("hash from stdin", r.returncode == 0 and out.get("source") == "content"
      and len(out.get("keys", [])) == 2 and out.get("key") == out["keys"][-1], r)
with tempfile.NamedTemporaryFile(delete=False) as f:
    f.write(BODY)
r2 = run(["hash", f.name])
check("hash from file equals stdin", r2.returncode == 0 and r2.stdout == r.stdout, r2)
r = run(["hash", "--messages", "1", f.name])
check("--messages 1", r.returncode == 0 and len(json.loads(r.stdout)["keys"]) == 1, r)
r = run(["hash", "--header", "X-Claude-Code-Session-Id: abc", f.name])
check("--header gives an explicit key", r.returncode == 0 and json.loads(r.stdout)["source"] == "explicit", r)
r = run(["hash", "--session-id", "s1", f.name])
check("--session-id gives an explicit key", r.returncode == 0 and json.loads(r.stdout)["source"] == "explicit", r)
r = run(["hash", "--format", "openai-responses", "-"], b'{"input":"hi"}')
check("--format", r.returncode == 0 and len(json.loads(r.stdout)["keys"]) == 1, r)
r = run(["hash", "--tenant", "a", f.name])
r3 = run(["hash", "--tenant", "b", f.name])
check("--tenant changes keys", r.stdout != r3.stdout, r)
os.unlink(f.name)

for args, why in [(["hash", "--bogus"], "unknown option"), (["hash", "--messages"], "missing value"),
                  (["hash", "--messages", "0"], "out of range"), (["hash", "--format", "xml"], "bad format"),
                  (["hash", "--header", "novalue"], "bad header"), (["hash", "a", "b"], "two files"),
                  (["nosuchcommand"], "unknown command")]:
    r = run(args, BODY)
    check(f"usage error exits 2 ({why})", r.returncode == 2 and r.stderr, r)
r = run(["hash", "/nonexistent/body.json"])
check("missing file exits 3", r.returncode == 3 and b"body.json" in r.stderr, r)
r = run(["hash"], b'{"messages":[')
check("malformed body exits 3 with a reason", r.returncode == 3 and b"malformed" in r.stderr, r)

r = run(["config"], env_extra={"SESSION_TTL_SECONDS": "1800", "STICKY_SESSION_MESSAGE_COUNT": "5"})
cfg = json.loads(r.stdout) if r.returncode == 0 else {}
check("config reads the environment", cfg.get("ttl_seconds") == 1800 and cfg.get("message_count") == 5
      and cfg.get("renew_threshold_seconds") == 300, r)
r = run(["config"], env_extra={"SESSION_TTL_SECONDS": "30m"})
check("config names a bad variable", r.returncode == 1 and b"SESSION_TTL_SECONDS" in r.stderr, r)

with tempfile.NamedTemporaryFile(delete=False) as f:
    f.write(BODY)
r = run(["bench-key", f.name])
line = json.loads(r.stdout.splitlines()[0]) if r.returncode == 0 else {}
check("bench-key prints a JSON line", line.get("bench") == "key_from_json" and line.get("bytes") == len(BODY)
      and line.get("source") == "content" and line.get("ns_per_op", 0) > 0, r)
os.unlink(f.name)

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
