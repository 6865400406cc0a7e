"""bindings/python/tests/test_shm.py - two real processes (multiprocessing,
spawn) sharing one segment through Router(shm=...): a conversation placed
by one is a hit for the other, and a 429 reported by one is honoured by
the other."""
import json
import multiprocessing as mp
import os
import tempfile

import sticky

CHANNELS = ["A", "B", "C"]


def body(turn):
    msgs = []
    for t in range(turn):
        msgs.append({"role": "user", "content": f"shared conversation q{t}"})
        if t < turn - 1:
            msgs.append({"role": "assistant", "content": f"a{t}"})
    return json.dumps({"model": "claude-sonnet-4-5", "messages": msgs}).encode()


def worker(path, turn, status, reset, q):
    with sticky.Router(shm=path) as r:
        d = r.select(body=body(turn), tenant="t", channels=CHANNELS)
        headers = None
        if status == 429:
            headers = {"anthropic-ratelimit-unified-status": "rejected",
                       "anthropic-ratelimit-unified-reset": str(reset)}
        r.report(d, status=status, headers=headers)
        q.put((d.channel, d.reason))


def run(path, turn, status=200, reset=0):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=worker, args=(path, turn, status, reset, q))
    p.start()
    out = q.get(timeout=30)
    p.join(30)
    assert p.exitcode == 0
    return out


def test_two_processes_share_sessions_and_health():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seg.sticky")
        first, reason = run(path, 1)
        assert reason == "new"
        second, reason = run(path, 2)          # another process: found, not placed
        assert second == first and reason in ("hit", "promoted_hit")
        import time
        reset = int(time.time()) + 600
        _, _ = run(path, 3, status=429, reset=reset)   # this process sees the 429 ...
        moved, reason = run(path, 4)                    # ... the next one avoids it
        assert moved != first, reason
