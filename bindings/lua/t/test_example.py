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
        # the fake API speaks plain http: the TLS verification lines (checked
        # in the shipped file by test_the_example_conf_is_not_an_open_relay)
        # go with https
        assert "proxy_ssl_" in conf
        conf = "\n".join(l for l in conf.split("\n") if not l.strip().startswith("proxy_ssl_"))
        for old, new in [
            ("https://api.anthropic.com", "http://127.0.0.1:%d" % api.port),
            ("/dev/shm/gateway.sticky", os.path.join(prefix, "sticky.shm")),
            ("listen 127.0.0.1:8080;", "listen 127.0.0.1:%d reuseport;" % self.port),
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


def test_the_example_conf_is_not_an_open_relay():
    conf = open(EXAMPLE).read()
    lines = [l.split("#")[0].strip() for l in conf.splitlines()]
    lines = [l for l in lines if l]
    # every upstream TLS connection (it carries an account key) verifies the
    # API's certificate against the system CAs, with SNI
    n_https = sum(1 for l in lines if l.startswith("proxy_pass https://"))
    assert n_https == 2
    for d in ("proxy_ssl_verify on;",
              "proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
              "proxy_ssl_server_name on;", "proxy_ssl_name api.anthropic.com;"):
        assert lines.count(d) == n_https, d
    assert not any(l.startswith("proxy_ssl_verify off") for l in lines)
    # the client's credentials are not forwarded by any proxying location
    n_proxy = sum(1 for l in lines if l.startswith("proxy_pass "))
    assert lines.count('proxy_set_header Authorization "";') == n_proxy
    assert sum(1 for l in lines if l.startswith("proxy_set_header x-api-key ")) == n_proxy
    # every listener is on loopback (no client authentication)
    listens = [l for l in lines if l.startswith("listen ")]
    assert listens and all(l.startswith("listen 127.0.0.1:") for l in listens), listens


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
        assert api.authorizations == {None}
        # the client's own credentials never reach the API
        api.api_keys.clear()
        status, _, _ = gw.post({"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": "with client credentials"}]},
            headers={"authorization": "Bearer client-secret", "x-api-key": "client-key"})
        assert status == 200
        assert api.api_keys <= {"sk-ant-account-a", "sk-ant-account-b"} and api.api_keys
        assert api.authorizations == {None}
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
