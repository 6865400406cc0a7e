"""bindings/lua/t/harness.py - owns what the Lua binding's tests run
against: a real nginx (its own prefix in a temp directory, master + 4
workers, free loopback ports, error_log to a file, stopped by its pid
file) with the lua module and resty.sticky, and fake Anthropic upstreams
(stdlib http.server threads) that can be switched to answer 429 with
rate-limit headers or 401 like a revoked key. Since 0.5.0."""
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA_LIB = os.path.normpath(os.path.join(HERE, "..", "lib"))
NGINX = os.environ.get("STICKY_NGINX", "/usr/sbin/nginx")
MODULES = "/usr/share/nginx/modules"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeUpstream:
    """One fake Anthropic account on 127.0.0.1. mode: "ok", "429" (rate
    limited: retry-after, anthropic-ratelimit-unified-status: rejected,
    -unified-reset) or "401" (revoked key). .hits counts requests."""

    def __init__(self, name):
        self.name = name
        self.mode = "ok"
        self.hits = 0
        self.api_keys = set()   # x-api-key values received
        self.authorizations = set()   # Authorization values received (None: absent)
        self.lock = threading.Lock()
        up = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                with up.lock:
                    up.hits += 1
                    up.api_keys.add(self.headers.get("x-api-key"))
                    up.authorizations.add(self.headers.get("authorization"))
                    mode = up.mode
                headers = {"content-type": "application/json", "x-upstream": up.name}
                if mode == "429":
                    status = 429
                    headers["retry-after"] = "120"
                    headers["anthropic-ratelimit-unified-status"] = "rejected"
                    headers["anthropic-ratelimit-unified-reset"] = str(int(time.time()) + 120)
                    out = {"type": "error", "error": {"type": "rate_limit_error"}}
                elif mode == "401":
                    status = 401
                    out = {"type": "error", "error": {"type": "authentication_error"}}
                else:
                    status = 200
                    out = {"type": "message", "upstream": up.name, "bytes": len(body)}
                data = json.dumps(out).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if mode == "slow":          # headers now, the body a second later
                    self.wfile.write(data[:1])
                    self.wfile.flush()
                    time.sleep(1.5)
                    data = data[1:]
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None


def lua_channels(upstreams):
    return ",\n".join(
        '{ id = "%s", host = "127.0.0.1", port = %d }' % (u.name, u.port) for u in upstreams)


CONF = r"""
master_process on;
worker_processes {workers};
daemon on;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log info;
{user}
load_module {modules}/ndk_http_module.so;
load_module {modules}/ngx_http_lua_module.so;
env STICKY_LIBRARY;

events {{ worker_connections 256; }}

http {{
    access_log off;
    lua_package_path "{lua_lib}/?.lua;/usr/share/lua/5.1/?.lua;;";
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    client_max_body_size 1m;
    client_body_buffer_size {body_buffer};

    init_worker_by_lua_block {{
        local sticky = require "resty.sticky"
        local ok, err = pcall(sticky.init_worker, {{
            {store}
            expose_headers = true,
            {extra}
            config = {{ cooldown_429_seconds = 60 }},
            channels = {{
{channels}
            }},
        }})
        if not ok then
            ngx.log(ngx.ERR, "sticky init failed: ", err)
        end
    }}

    upstream sticky_backend {{
        server 0.0.0.1;   # placeholder: the balancer sets every peer
        balancer_by_lua_block {{ require("resty.sticky").balancer() }}
    }}

    server {{
        listen 127.0.0.1:{port} reuseport;

        location /v1/ {{
            access_by_lua_block {{ require("resty.sticky").access() }}
            proxy_pass http://sticky_backend;
            proxy_next_upstream error timeout http_429 http_500 http_502 http_503 http_504 non_idempotent;
            proxy_intercept_errors on;
            error_page 401 403 = @sticky_retry;
            header_filter_by_lua_block {{
                require("resty.sticky").header_filter()
                ngx.header["x-worker-pid"] = ngx.worker.pid()
            }}
            log_by_lua_block {{ require("resty.sticky").log() }}
        }}

        location @sticky_retry {{
            # a full collection first: the state must survive the redirect
            # (held by the request, not only by the weak stash)
            access_by_lua_block {{ collectgarbage() require("resty.sticky").retry() }}
            proxy_pass http://sticky_backend;
            proxy_next_upstream error timeout http_429 http_500 http_502 http_503 http_504 non_idempotent;
            header_filter_by_lua_block {{
                require("resty.sticky").header_filter()
                ngx.header["x-worker-pid"] = ngx.worker.pid()
            }}
            log_by_lua_block {{ require("resty.sticky").log() }}
        }}

        # access() then an internal redirect to a location without
        # log_by_lua: no log() ever sees the decision
        location = /sticky/exec-nolog {{
            access_by_lua_block {{
                require("resty.sticky").access()
                return ngx.exec("/sticky/nolog")
            }}
        }}
        location = /sticky/nolog {{
            content_by_lua_block {{ ngx.say("no log phase") }}
        }}
        # access() twice in one request: here, then again in /v1/
        location = /sticky/exec-twice {{
            access_by_lua_block {{
                require("resty.sticky").access()
                return ngx.exec("/v1/messages")
            }}
        }}

        location = /sticky/bench {{
            content_by_lua_block {{
                local ffi = require "ffi"
                pcall(ffi.cdef, "int clock_gettime(int, struct timespec *); struct timespec {{ long tv_sec; long tv_nsec; }};")
                local ts = ffi.new("struct timespec")
                local function now_us()
                    ffi.C.clock_gettime(1, ts)
                    return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
                end
                local r = require("resty.sticky").router()
                local n = tonumber(ngx.var.arg_n) or 2000
                local body = '{{"model":"claude-sonnet-4","messages":[{{"role":"user","content":"bench conversation"}}]}}'
                local req = {{ body = body }}
                local times, total = {{}}, 0
                for i = 1, n do
                    local t0 = now_us()
                    local d = assert(r:select(req))
                    local t1 = now_us()
                    assert(r:report(d, 200))
                    total = total + (t1 - t0)
                    times[i] = t1 - t0
                end
                table.sort(times)
                ngx.header["content-type"] = "application/json"
                ngx.say(string.format('{{"n":%d,"mean_us":%.3f,"p99_us":%.3f,"max_us":%.3f,"shared":%s}}',
                        n, total / n, times[math.ceil(n * 0.99)], times[n], tostring(r.shared)))
            }}
        }}

        location = /sticky/health {{
            content_by_lua_block {{
                if ngx.var.arg_gc then
                    collectgarbage()
                    collectgarbage()
                end
                local r = require("resty.sticky").router()
                local out = {{}}
                for _, c in ipairs(r.channels) do
                    local hh = r:health(c.id)
                    if hh then
                        local left = hh.until_ms > 0 and (hh.until_ms - r:now_ms()) / 1000 or 0
                        out[#out + 1] = string.format('"%s":{{"state":%d,"cause":%d,"seconds_left":%.1f,"in_flight":%d}}',
                            c.id, hh.state, hh.cause, left > 1e9 and -1 or left, hh.in_flight)
                    end
                end
                ngx.header["content-type"] = "application/json"
                ngx.say("{{", table.concat(out, ","), "}}")
            }}
        }}

        location = /metrics {{
            content_by_lua_block {{ require("resty.sticky").prometheus() }}
        }}
    }}
}}
"""


class Gateway:
    """A real nginx with resty.sticky in front of @upstreams."""

    def __init__(self, prefix, upstreams, store=None, body_buffer="1m", library=None, extra="",
                 workers=4):
        self.prefix = prefix
        self.port = free_port()
        for d in ("logs", "tmp", "conf"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        # the segment on tmpfs, as README.md recommends (a file on a disk
        # filesystem can make a worker wait on a page fault)
        shm_dir = "/dev/shm" if os.path.isdir("/dev/shm") else prefix
        self.shm = os.path.join(shm_dir, "sticky-lua-test-%d-%d.shm" % (os.getpid(), self.port))
        if store is None:
            store = 'shm = "%s",' % self.shm
        if library:
            store += ' library = "%s",' % library
        conf = CONF.format(prefix=prefix, modules=MODULES, lua_lib=LUA_LIB, port=self.port,
                           channels=lua_channels(upstreams), store=store,
                           body_buffer=body_buffer, extra=extra, workers=workers,
                           user="user root;" if os.geteuid() == 0 else "")
        self.conf = os.path.join(prefix, "conf", "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.pidfile = os.path.join(prefix, "logs", "nginx.pid")
        self.error_log = os.path.join(prefix, "logs", "error.log")
        # output to a file, not a pipe: the daemon keeps what it inherits
        try:
            with open(os.path.join(prefix, "logs", "start.log"), "wb") as out:
                subprocess.run([NGINX, "-p", prefix, "-c", self.conf], check=True,
                               stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=30)
            self._wait_up()
        except BaseException:
            self.stop()   # leave no nginx behind
            raise

    def _wait_up(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.error_log) as f:
                return f.read()
        except OSError:
            return ""

    def master_pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def stop(self):
        try:
            self._stop()
        finally:
            if getattr(self, "shm", None):
                try:
                    os.unlink(self.shm)
                except OSError:
                    pass

    def _stop(self):
        try:
            pid = self.master_pid()
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            return
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def post(self, body, path="/v1/messages", headers=None):
        """One request on a new connection (so the kernel spreads them over
        the workers). Returns (status, headers dict lower-case, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h = {"content-type": "application/json", "connection": "close"}
            h.update(headers or {})
            c.request("POST", path, body=data, headers=h)
            r = c.getresponse()
            payload = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, payload
        finally:
            c.close()

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            c.request("GET", path, headers={"connection": "close"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


class Conversation:
    """A growing Anthropic Messages conversation: every turn() sends the
    whole history plus a new user message, like a chat client."""

    def __init__(self, gw, name, model="claude-sonnet-4-5"):
        self.gw = gw
        self.model = model
        self.messages = [{"role": "user", "content": "hello from %s, let us talk" % name}]
        self.served = []  # (status, upstream, worker pid, attempts)

    def turn(self):
        body = {"model": self.model, "max_tokens": 64, "messages": self.messages}
        status, headers, payload = self.gw.post(body)
        up = headers.get("x-upstream")
        self.served.append((status, up, headers.get("x-worker-pid"),
                            headers.get("x-sticky-attempts")))
        if status == 200:
            n = len(self.messages)
            self.messages = self.messages + [
                {"role": "assistant", "content": "answer %d" % n},
                {"role": "user", "content": "question %d" % (n + 2)}]
        return status, up

    def upstreams(self):
        return [s[1] for s in self.served]

    def pids(self):
        return {s[2] for s in self.served}
