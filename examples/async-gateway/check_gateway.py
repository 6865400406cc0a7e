#!/usr/bin/env python3
# check_gateway.py - the async gateway example's test driver (stdlib only):
# starts three fake Anthropic upstreams, a real redis-server (--redis) and
# the gateway, then checks through real HTTP requests:
#  (1) 20 conversations x 4 growing turns each stay on one upstream
#      (breaks if the gateway ignores the decision, e.g. round-robins, or the
#      store loses bindings);
#  (2) once one upstream answers 429 with reset headers, each conversation
#      that lived there moves exactly once and stays; every turn gets a 200
#      (breaks without the report + one retry, or if the 429's headers are
#      not passed to sticky_report_async(): the channel would not cool and
#      the retry would go back to it, or if bindings are not rewritten);
#  (3) a client that disconnects right after sending does not crash the
#      gateway, and its attempt is ended: the gateway counts a cancelled
#      selection or a released attempt, and the library's in-flight gauge
#      is 0 on every channel (breaks without sticky_select_cancel() /
#      sticky_release() on the client-gone paths); with Redis, a selection
#      held pending by a stopped redis-server is cancelled (SIGSTOP/SIGCONT);
#  (4) (--redis) a restarted gateway on the same Redis keeps every
#      conversation on its upstream (breaks if the sessions are not in
#      Redis: a fresh memory store places them anew, LRU);
#  (5) SIGTERM: the gateway exits 0 (under ASan, also without leaks: the
#      leak checker makes the exit status non-zero).
# Usage: check_gateway.py GATEWAY --redis|--memory. Exit 77: skipped.
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

N_CONV, N_TURNS = 20, 4
TENANT = "test-tenant-key"
MODEL = "claude-sonnet-4-5"


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(http.server.ThreadingHTTPServer):
    """A fake Anthropic Messages upstream that records what it answered."""
    daemon_threads = True

    def __init__(self, name):
        super().__init__(("127.0.0.1", 0), Handler)
        self.name = name
        self.mode = "ok"       # or "429"
        self.lock = threading.Lock()
        self.log = []          # (conversation, n_messages, status)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(n))
        first = body["messages"][0]["content"]
        conv = first.split(":")[0]
        srv = self.server
        if "slow" in first:
            time.sleep(1.0)
        status = 429 if srv.mode == "429" else 200
        with srv.lock:
            srv.log.append((conv, len(body["messages"]), status))
        if status == 429:
            reset = (datetime.now(timezone.utc) + timedelta(seconds=600)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            out = json.dumps({"type": "error", "error": {"type": "rate_limit_error",
                                                         "message": "rate limited"}}).encode()
            # "rejected": the whole channel is limited (every model family),
            # so its sessions move (a per-family 429 would only send this
            # model's requests elsewhere, reason SIDE, binding kept).
            hdrs = [("retry-after", "600"), ("anthropic-ratelimit-requests-reset", reset),
                    ("anthropic-ratelimit-unified-status", "rejected"),
                    ("anthropic-ratelimit-unified-reset", str(int(time.time()) + 600))]
        else:
            turn = (len(body["messages"]) + 1) // 2
            out = json.dumps({"id": "msg_%s_%d" % (conv, turn), "type": "message",
                              "role": "assistant", "model": body.get("model", MODEL),
                              "content": [{"type": "text",
                                           "text": "reply to %s turn %d" % (conv, turn)}],
                              "stop_reason": "end_turn",
                              "usage": {"input_tokens": 10, "output_tokens": 5}}).encode()
            hdrs = []
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            for k, v in hdrs:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass  # the gateway aborted the attempt (client gone)


class Gateway:
    def __init__(self, exe, ups, redis_port, prefix):
        args = [exe, "--port", "0", "--redis-timeout-ms", "5000"]
        for u in ups:
            args += ["--upstream", "%s=127.0.0.1:%d" % (u.name, u.port)]
        if redis_port:
            args += ["--redis", "127.0.0.1:%d" % redis_port, "--redis-prefix", prefix]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()
        if not line.startswith("listening 127.0.0.1:"):
            self.p.kill()
            fail("gateway did not start: %r %s" % (line, self.p.stderr.read()))
        self.port = int(line.split(":")[1])

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {"x-api-key": TENANT, "anthropic-version": "2023-06-01",
                "content-type": "application/json"}
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers=hdrs)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stats(self):
        st, data = self.request("GET", "/stats")
        if st != 200:
            fail("/stats answered %d" % st)
        out, inflight = {}, 0
        for line in data.decode().splitlines():
            if line.startswith("gateway_"):
                k, v = line.split()
                out[k] = int(v)
            elif line.startswith("sticky_channel_in_flight{"):
                inflight += int(float(line.split()[-1]))
        out["in_flight"] = inflight
        return out

    def stop(self):
        """(5) SIGTERM: exit status 0."""
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("gateway did not exit on SIGTERM")
        err = self.p.stderr.read()
        if rc != 0:
            fail("gateway exited %d on SIGTERM:\n%s" % (rc, err))
        print("gateway stopped:", " ".join(err.split()), flush=True)


def turn_body(conv, turns):
    """A Messages body for turn `turns` of `conv`: the history grows."""
    msgs = []
    for t in range(1, turns + 1):
        msgs.append({"role": "user", "content": "%s: user message %d" % (conv, t)
                     if t == 1 else "user message %d" % t})
        if t < turns:
            msgs.append({"role": "assistant",
                         "content": [{"type": "text", "text": "reply to %s turn %d" % (conv, t)}]})
    return {"model": MODEL, "max_tokens": 64, "messages": msgs}


def run_turns(gw, convs, turns):
    def one(conv):
        for t in turns:
            st, data = gw.request("POST", "/v1/messages", turn_body(conv, t))
            if st != 200:
                return "%s turn %d: status %d %r" % (conv, t, st, data[:200])
        return None
    with ThreadPoolExecutor(max_workers=5) as ex:
        for err in ex.map(one, convs):
            if err:
                fail(err)


def placement(ups, turns_min, turns_max, status=200):
    """conversation -> set of upstreams that answered it `status` for turns
    in [turns_min, turns_max] (a turn t has 2t-1 messages)."""
    out = {}
    for u in ups:
        with u.lock:
            for conv, nmsg, st in u.log:
                t = (nmsg + 1) // 2
                if st == status and turns_min <= t <= turns_max:
                    out.setdefault(conv, set()).add(u.name)
    return out


def start_redis(tmp):
    exe = shutil.which("redis-server") or (
        "/usr/sbin/redis-server" if os.path.exists("/usr/sbin/redis-server") else None)
    if exe is None:
        if os.environ.get("CI") == "true":
            fail("redis-server not found and CI=true")
        print("redis-server not found: skipping")
        sys.exit(77)
    port = free_port()
    p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    fail("redis-server did not start")


def disconnect_early(gw, conv):
    """Send a whole request, then close before the answer."""
    body = json.dumps(turn_body(conv, 1)).encode()
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: " + TENANT.encode() +
              b"\r\ncontent-type: application/json\r\ncontent-length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    s.close()


def wait_for(gw, cond, what, secs=10):
    deadline = time.time() + secs
    while True:
        st = gw.stats()
        if cond(st):
            return st
        if time.time() > deadline:
            fail("%s: stats %r" % (what, st))
        time.sleep(0.05)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("--redis", "--memory"):
        print("usage: check_gateway.py GATEWAY --redis|--memory")
        return 2
    exe, use_redis = sys.argv[1], sys.argv[2] == "--redis"
    tmp = tempfile.mkdtemp(prefix="async-gw-")
    redis = None
    try:
        redis_port = None
        if use_redis:
            redis, redis_port = start_redis(tmp)
        prefix = "gwtest%d:" % os.getpid()
        ups = [Upstream("up-%s" % c) for c in "abc"]
        convs = ["conv%02d" % i for i in range(N_CONV)]
        gw = Gateway(exe, ups, redis_port, prefix)

        # (1) stickiness over 4 growing turns
        run_turns(gw, convs, range(1, N_TURNS + 1))
        where = placement(ups, 1, N_TURNS)
        for conv in convs:
            if len(where.get(conv, ())) != 1:
                fail("(1) %s answered by %r" % (conv, where.get(conv)))
        home = {conv: next(iter(where[conv])) for conv in convs}
        used = set(home.values())
        if len(used) < 2:
            fail("(1) every conversation on %r: placement is not spreading" % used)
        print("(1) ok: 20 conversations x 4 turns, each on one upstream; spread %s" %
              sorted((u, list(home.values()).count(u)) for u in used), flush=True)

        # (2) one upstream starts answering 429 with reset headers
        bad = max(used, key=lambda u: list(home.values()).count(u))
        next(u for u in ups if u.name == bad).mode = "429"
        run_turns(gw, convs, range(N_TURNS + 1, N_TURNS + 3))
        after = placement(ups, N_TURNS + 1, N_TURNS + 2)
        limited = placement(ups, N_TURNS + 1, N_TURNS + 2, status=429)
        moved = 0
        for conv in convs:
            if len(after.get(conv, ())) != 1:
                fail("(2) %s answered by %r after the 429 (home %s): %r" % (conv, after.get(conv), home[conv], [(u.name, [e for e in u.log if e[0] == conv]) for u in ups]))
            new = next(iter(after[conv]))
            if home[conv] == bad:
                if new == bad:
                    fail("(2) %s did not move off %s" % (conv, bad))
                n429 = sum(1 for c, n, st in next(u for u in ups if u.name == bad).log
                           if c == conv and st == 429)
                # At most one: once a 429 cooled the channel, the others move
                # at their next select without trying it.
                if n429 > 1:
                    fail("(2) %s got %d 429s (at most one, then moved)" % (conv, n429))
                moved += 1
            elif new != home[conv] or conv in limited:
                fail("(2) %s moved from %s to %s" % (conv, home[conv], new))
            home[conv] = new
        st = gw.stats()
        n429 = sum(1 for e in next(u for u in ups if u.name == bad).log if e[2] == 429)
        if n429 < 1 or st["gateway_retries"] != n429:
            fail("(2) %d retries for %d 429s" % (st["gateway_retries"], n429))
        print("(2) ok: %d conversations moved off %s once, stayed; %d 429s, each retried" %
              (moved, bad, n429), flush=True)

        # (3) clients that go away before the answer
        before = gw.stats()
        disconnect_early(gw, "slow-conv-a")
        st = wait_for(gw, lambda s: s["gateway_cancelled_selects"] + s["gateway_released_inflight"]
                      == before["gateway_cancelled_selects"] + before["gateway_released_inflight"] + 1
                      and s["in_flight"] == 0, "(3) client gone while forwarding")
        if use_redis:
            # Hold the selection pending: redis-server stopped, the client leaves.
            redis.send_signal(signal.SIGSTOP)
            try:
                disconnect_early(gw, "slow-conv-b")
                time.sleep(0.5)
            finally:
                redis.send_signal(signal.SIGCONT)
            c0 = st["gateway_cancelled_selects"]
            st = wait_for(gw, lambda s: s["gateway_cancelled_selects"] == c0 + 1
                          and s["in_flight"] == 0, "(3) client gone while selecting")
        # the gateway still serves
        run_turns(gw, convs[:3], [N_TURNS + 3])
        print("(3) ok: cancelled selections %d, released attempts %d, in flight %d" %
              (st["gateway_cancelled_selects"], st["gateway_released_inflight"], st["in_flight"]),
              flush=True)
        gw.stop()  # (5)

        if use_redis:
            # (4) a new gateway on the same Redis: every conversation stays
            for u in ups:
                u.mode = "ok"
                with u.lock:
                    u.log.clear()
            gw = Gateway(exe, ups, redis_port, prefix)
            run_turns(gw, convs, [N_TURNS + 4])
            again = placement(ups, N_TURNS + 4, N_TURNS + 4)
            for conv in convs:
                if again.get(conv) != {home[conv]}:
                    fail("(4) after the restart %s went to %r, was on %s" %
                         (conv, again.get(conv), home[conv]))
            print("(4) ok: after a gateway restart all 20 conversations stayed (Redis)",
                  flush=True)
            gw.stop()
        print("(5) ok: SIGTERM, exit 0")
        return 0
    finally:
        if redis is not None:
            redis.kill()
            redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
