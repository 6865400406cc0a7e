#!/usr/bin/env python3
"""tests/replay/check_replay_redis.py - `sticky-route replay --store
redis://...` against a real redis-server started on 127.0.0.1 on a free port
(stopped afterwards) makes the same decisions as the memory store.

usage: check_replay_redis.py STICKY_ROUTE TRACE_DIR
Exit 77 (skip) when redis-server is missing and CI is not "true".
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TOOL, DIR = sys.argv[1], sys.argv[2]
server = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
if server is None:
    print("redis-server not installed")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
tmp = tempfile.mkdtemp()
proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
failures = 0
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    traces = ("multi_turn.jsonl", "rate_limit.jsonl", "disabled.jsonl", "tenants.jsonl")
    for db, trace in enumerate(traces, start=1):
        results = []
        # One database per trace: traces are separate deployments. Nodes on
        # one store share sessions and channel health (docs/redis.md), so a
        # trace run after another on the same database would inherit its
        # rate limits.
        for store in ("memory", f"redis://127.0.0.1:{port}/{db}"):
            with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as dec:
                path = dec.name
            r = subprocess.run([TOOL, "replay", "--channels", os.path.join(DIR, "channels-2.json"),
                                "--store", store, "--decisions", path, os.path.join(DIR, trace)],
                               capture_output=True)
            decisions = [(d["i"], d["channel"], d["reason"], d["moved_from"]) for d in map(json.loads, open(path))]
            os.unlink(path)
            results.append((r.returncode, decisions, r.stderr))
        ok = results[0][0] == results[1][0] == 0 and results[0][1] == results[1][1]
        print(("ok   " if ok else "FAIL ") + trace + ": redis decisions == memory decisions")
        if not ok:
            print("   memory:", results[0])
            print("   redis: ", results[1])
            failures += 1
finally:
    proc.terminate()
    proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failures else 0)
