"""bindings/python/tests/conftest.py - what the tests share: Claude-style
conversation bodies, an injected clock, and a real redis-server started on
a free 127.0.0.1 port in a temporary directory (REDIS_SERVER or PATH;
missing: skipped, or a failure when CI=true)."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def conv(n, turns, model="claude-sonnet-4-5", system=None):
    """The body of turn @turns of conversation @n: user / assistant
    messages growing by one exchange per turn, like Claude Code sends."""
    msgs = []
    for t in range(turns):
        msgs.append({"role": "user", "content": f"conversation {n} question {t}"})
        if t < turns - 1:
            msgs.append({"role": "assistant", "content": f"answer {n}.{t}"})
    body = {"model": model, "max_tokens": 1024, "messages": msgs}
    if system is not None:
        body["system"] = system
    return json.dumps(body).encode()


@pytest.fixture
def clock():
    """A settable Unix-ms clock: clock[0]."""
    return [1_750_000_000_000]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="sticky-py-redis-")
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def options(self, **extra):
        o = {"host": "127.0.0.1", "port": self.port, "command_timeout_ms": 200,
             "key_prefix": f"t{time.monotonic_ns()}:"}
        o.update(extra)
        return o


@pytest.fixture
def redis_server():
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing (CI=true: the Redis tests must run)")
        pytest.skip("redis-server not found")
    server = RedisServer(binary)
    try:
        yield server
    finally:
        server.stop()
