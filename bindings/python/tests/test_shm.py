"""bindings/python/tests/test_shm.py - two live worker processes
(multiprocessing, spawn: like gunicorn / uvicorn workers) each with
Router(shm=path) on one segment, taking alternate turns of the same
conversations: a conversation placed by one is a hit in the other, a 429
reported by one is honoured by the other, and both keep agreeing after."""
import multiprocessing as mp
import os
import tempfile
import time

import sticky
from conftest import conv

CHANNELS = ["A", "B", "C"]


def worker(path, conn):
    channels = sticky.ChannelSet(CHANNELS)
    with sticky.Router(shm=path) as r:
        while True:
            msg = conn.recv()
            if msg is None:
                break
            n, turn, status, headers = msg
            d = r.select(body=conv(n, turn), tenant="t", channels=channels)
            r.report(d, status=status, headers=headers)
            conn.send((d.channel, d.reason, d.moved_from))
    conn.close()


class Worker:
    def __init__(self, ctx, path):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker, args=(path, child))
        self.proc.start()

    def turn(self, n, turn, status=200, headers=None):
        self.conn.send((n, turn, status, headers))
        assert self.conn.poll(30), "worker did not answer"
        return self.conn.recv()

    def stop(self):
        self.conn.send(None)
        self.proc.join(30)
        assert self.proc.exitcode == 0


def test_two_live_processes_share_sessions_and_health():
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seg.sticky")
        w1, w2 = Worker(ctx, path), Worker(ctx, path)
        try:
            home = {}
            for n in range(12):                  # placed by worker 1 ...
                channel, reason, _ = w1.turn(n, 1)
                assert reason == "new"
                home[n] = channel
            assert set(home.values()) == set(CHANNELS)
            for n in range(12):                  # ... found by worker 2
                channel, reason, _ = w2.turn(n, 2)
                assert channel == home[n] and reason in ("hit", "promoted_hit")
            # worker 2 meets a 429 on conversation 0's channel ...
            reset = int(time.time()) + 600
            limited = home[0]
            w2.turn(0, 3, status=429, headers={"anthropic-ratelimit-unified-status": "rejected",
                                               "anthropic-ratelimit-unified-reset": str(reset)})
            # ... worker 1 moves that channel's conversations, once
            moved = {}
            for n in range(12):
                channel, reason, moved_from = w1.turn(n, 4)
                if home[n] == limited:
                    assert channel != limited and moved_from == limited, (n, reason)
                    moved[n] = channel
                else:
                    assert channel == home[n]
            for n in range(12):                  # and worker 2 agrees
                channel, _, _ = w2.turn(n, 5)
                assert channel == moved.get(n, home[n])
        finally:
            w1.stop()
            w2.stop()
