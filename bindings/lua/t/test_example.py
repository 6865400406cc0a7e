"""bindings/lua/t/test_example.py - the sample nginx.conf.example works as
documented: started with only its paths, ports and the API address
replaced (a fake Anthropic upstream instead of api.anthropic.com), it keeps
a conversation on one account, adds that account's key, and moves on a
429. Needs STICKY_LIBRARY (set by meson)."""
import os
import subprocess

import harness as h

EXAMPLE = os.path.join(os.path.dirname(h.LUA_LIB), "nginx.conf.example")


class ExampleGateway(h.Gateway):
    def __init__(self, prefix, api, library):
        self.prefix = prefix
        self.port = h.free_port()
        for d in ("logs", "tmp", "conf"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        conf = open(EXAMPLE).read()
        for old, new in [
            ("https://api.anthropic.com", "http://127.0.0.1:%d" % api.port),
            ("proxy_ssl_server_name on;", ""),
            ("/dev/shm/gateway.sticky", os.path.join(prefix, "sticky.shm")),
            ("listen 8080;", "listen 127.0.0.1:%d reuseport;" % self.port),
            ("127.0.0.1:9001", "127.0.0.1:%d" % h.free_port()),
            ("127.0.0.1:9002", "127.0.0.1:%d" % h.free_port()),
            ("/usr/local/share/lua/5.1/?.lua", h.LUA_LIB + "/?.lua"),
            ("http {\n", "http {\n    client_body_temp_path %s/tmp;\n    proxy_temp_path %s/tmp;\n"
             % (prefix, prefix)),
            ("expose_headers = true,", "expose_headers = true, library = \"%s\"," % library),
        ]:
            assert old in conf, old
            conf = conf.replace(old, new)
        # the ports of the channels follow the loopback servers' listen lines
        ports = [int(l.split(":")[1].rstrip(";")) for l in conf.splitlines()
                 if l.strip().startswith("listen 127.0.0.1:") and "reuseport" not in l]
        conf = conf.replace("port = 9001", "port = %d" % ports[0])
        conf = conf.replace("port = 9002", "port = %d" % ports[1])
        conf = conf.replace("-- expose_headers = true, library", "expose_headers = true, library")
        self.conf = os.path.join(prefix, "conf", "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.pidfile = os.path.join(prefix, "logs", "nginx.pid")
        self.error_log = os.path.join(prefix, "logs", "error.log")
        main = "pid %s;" % self.pidfile + (" user root;" if os.geteuid() == 0 else "")
        try:
            with open(os.path.join(prefix, "logs", "start.log"), "wb") as out:
                subprocess.run([h.NGINX, "-p", prefix, "-c", self.conf, "-g", main], check=True,
                               stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=30)
            self._wait_up()
        except BaseException:
            self.stop()
            raise


def test_the_example_conf_routes_and_adds_each_accounts_key(tmp_path):
    library = os.environ["STICKY_LIBRARY"]
    os.chmod(tmp_path, 0o755)
    api = h.FakeUpstream("api")
    gw = ExampleGateway(str(tmp_path), api, library)
    try:
        convs = [h.Conversation(gw, "example %d" % i) for i in range(4)]
        keys = []
        for c in convs:
            for _ in range(4):
                api.api_keys.clear()
                assert c.turn()[0] == 200
                keys.append(set(api.api_keys))
            # one account per conversation: the same key on every turn
            assert len(set(frozenset(k) for k in keys[-4:])) == 1
        seen = set().union(*keys)
        assert seen == {"sk-ant-account-a", "sk-ant-account-b"}   # both accounts used
        # a 429 is retried once on the other account (max_tries = 2); the
        # one fake API behind both accounts answers 429 to both
        api.mode = "429"
        hits = api.hits
        api.api_keys.clear()
        status, _ = convs[0].turn()
        assert status == 429 and api.hits == hits + 2
        assert api.api_keys == {"sk-ant-account-a", "sk-ant-account-b"}
        assert "[error]" not in gw.log() and "[crit]" not in gw.log(), gw.log()[-3000:]
    finally:
        gw.stop()
        api.close()
