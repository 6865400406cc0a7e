"""bindings/lua/t/test_nginx.py - resty.sticky in a real nginx (master + 4
workers, the shared-memory store) in front of fake Anthropic upstreams:
stickiness across turns and across workers, exactly one move on a 429,
a revoked key (401) excluded for every worker, no failed request while a
healthy upstream exists, and the no-blocking rule (only shm / memory;
select in microseconds). Needs STICKY_LIBRARY (set by meson)."""
import json
import os
import time

import pytest

import harness as h


@pytest.fixture
def upstreams():
    ups = [h.FakeUpstream(n) for n in ("acct-a", "acct-b", "acct-c")]
    yield ups
    for u in ups:
        u.close()


@pytest.fixture
def gateway(tmp_path, upstreams):
    os.chmod(tmp_path, 0o755)
    gw = h.Gateway(str(tmp_path), upstreams)
    yield gw
    gw.stop()
    # nginx's own line for a refused connection is expected; nothing else
    log = "\n".join(l for l in gw.log().splitlines() if "connect() failed" not in l)
    assert "[error]" not in log and "[alert]" not in log and "[crit]" not in log, log[-4000:]


def by_name(upstreams):
    return {u.name: u for u in upstreams}


def test_sticky_across_turns_and_workers(gateway, upstreams):
    convs = [h.Conversation(gateway, "conv %d" % i) for i in range(6)]
    for _ in range(10):
        for c in convs:
            status, _ = c.turn()
            assert status == 200
    all_pids = set()
    for c in convs:
        ups = c.upstreams()
        assert len(set(ups)) == 1, ups          # one upstream for the whole conversation
        assert len(c.pids()) >= 2, c.served     # served by several workers
        all_pids |= c.pids()
    assert len(all_pids) >= 3                   # the kernel spread them over the workers
    # new conversations were spread over the accounts (LRU placement)
    assert len({c.upstreams()[0] for c in convs}) == 3


def test_one_move_on_429_then_stays(gateway, upstreams):
    ups = by_name(upstreams)
    convs = [h.Conversation(gateway, "rate %d" % i) for i in range(6)]
    for c in convs:
        for _ in range(3):
            assert c.turn()[0] == 200
    victim = convs[0]
    bound = victim.upstreams()[-1]
    ups[bound].mode = "429"
    hits_before = ups[bound].hits
    status, up = victim.turn()
    assert status == 200 and up != bound        # retried by the balancer, not failed
    assert victim.served[-1][3] == "2"          # on the second attempt
    assert ups[bound].hits == hits_before + 1   # the 429 came once
    moved_to = up
    # reported from the balancer with its retry-after / unified-reset
    # headers: rate limited (state 2, cause 1) for ~120 s, not a 60 s guess
    health = json.loads(gateway.get("/sticky/health")[1])[bound]
    assert (health["state"], health["cause"]) == (2, 1) and health["seconds_left"] > 100, health
    ups[bound].mode = "ok"                      # even when it answers again...
    for _ in range(8):
        assert victim.turn() == (200, moved_to)  # ...the conversation stays moved
    # every other conversation of that account moved on its next turn
    # without another request to it (the cooldown is in the shared segment)
    for c in convs[1:]:
        for _ in range(3):
            assert c.turn()[0] == 200
        seq = c.upstreams()
        moves = sum(1 for a, b in zip(seq, seq[1:]) if a != b)
        assert moves == (1 if seq[0] == bound else 0), seq
    assert ups[bound].hits == hits_before + 1


def test_revoked_key_excluded(gateway, upstreams):
    ups = by_name(upstreams)
    convs = [h.Conversation(gateway, "auth %d" % i) for i in range(6)]
    for c in convs:
        assert c.turn()[0] == 200
    victim = convs[0]
    revoked = victim.upstreams()[-1]
    ups[revoked].mode = "401"
    hits_before = ups[revoked].hits
    status, up = victim.turn()
    assert status == 200 and up not in (revoked, None)   # retried after the 401
    assert ups[revoked].hits == hits_before + 1
    health = json.loads(gateway.get("/sticky/health")[1])[revoked]
    assert health["state"] == 3, health          # auth: until the host clears it
    for _ in range(4):
        for c in convs:
            assert c.turn()[0] == 200
    for c in h.Conversation(gateway, "late"), h.Conversation(gateway, "later"):
        for _ in range(3):
            assert c.turn()[0] == 200
    assert ups[revoked].hits == hits_before + 1   # no traffic after the first 401
    for c in convs:
        assert c.upstreams()[-1] != revoked
        seq = c.upstreams()
        assert sum(1 for a, b in zip(seq, seq[1:]) if a != b) == (1 if seq[0] == revoked else 0)


def test_no_request_fails_while_one_upstream_is_healthy(gateway, upstreams):
    ups = by_name(upstreams)
    convs = [h.Conversation(gateway, "survive %d" % i) for i in range(6)]
    for c in convs:
        assert c.turn()[0] == 200
    ups["acct-a"].mode = "429"
    ups["acct-b"].mode = "401"
    for _ in range(4):
        for c in convs:
            assert c.turn() == (200, "acct-c")


def test_unreachable_upstream_is_a_transport_failure(gateway, upstreams):
    ups = by_name(upstreams)
    convs = [h.Conversation(gateway, "gone %d" % i) for i in range(6)]
    for c in convs:
        assert c.turn()[0] == 200
    ups["acct-a"].close()                        # connection refused from now on
    for _ in range(3):
        for c in convs:
            assert c.turn()[0] == 200
    health = json.loads(gateway.get("/sticky/health")[1])["acct-a"]
    assert (health["state"], health["cause"]) == (1, 5), health   # cooling: transport
    for c in convs:
        assert "acct-a" not in c.upstreams()[1:]


def test_all_upstreams_down_is_503_with_retry_after(gateway, upstreams):
    for u in upstreams:
        u.mode = "429"
    c = h.Conversation(gateway, "doomed")
    status, _ = c.turn()
    assert status == 429                         # the last attempt's answer
    status, headers, body = gateway.post({"model": "claude-sonnet-4-5", "messages": [
        {"role": "user", "content": "another"}]})
    assert status == 503
    assert int(headers["retry-after"]) > 60      # the announced reset, not a guess
    assert json.loads(body)["error"]["type"] == "overloaded_error"


def test_no_channel_left_for_a_retry(tmp_path, upstreams):
    # more tries than channels: the balancer finds nothing usable
    os.chmod(tmp_path, 0o755)
    gw = h.Gateway(str(tmp_path), upstreams, extra="max_tries = 5,")
    try:
        for u in upstreams:
            u.mode = "429"
        status, headers, _ = gw.post({"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": "nowhere to go"}]})
        assert status == 502
        assert sum(u.hits for u in upstreams) == 3   # each account tried once
    finally:
        gw.stop()


def test_stream_holds_its_in_flight_slot(gateway, upstreams):
    import threading
    ups = by_name(upstreams)
    c = h.Conversation(gateway, "streaming")
    assert c.turn()[0] == 200
    bound = c.upstreams()[0]
    ups[bound].mode = "slow"
    t = threading.Thread(target=c.turn)
    t.start()
    time.sleep(0.7)                               # headers arrived, body pending
    during = json.loads(gateway.get("/sticky/health")[1])[bound]["in_flight"]
    t.join()
    after = json.loads(gateway.get("/sticky/health")[1])[bound]["in_flight"]
    assert c.served[-1][:2] == (200, bound)
    assert (during, after) == (1, 0)


def test_malformed_body_is_still_forwarded(gateway, upstreams):
    # the library cannot key it; access() selects without the body and the
    # upstream answers the request itself
    for _ in range(3):
        status, headers, _ = gateway.post(b'{"model": "claude-sonnet-4-5", "messages": [')
        assert status == 200 and headers["x-upstream"] in {u.name for u in upstreams}


def test_select_is_microseconds(gateway):
    status, body = gateway.get("/sticky/bench?n=5000")
    assert status == 200
    r = json.loads(body)
    print("select on the shm store: mean %.2f us, p99 %.2f us, max %.1f us over %d" %
          (r["mean_us"], r["p99_us"], r["max_us"], r["n"]))
    assert r["shared"] is True
    assert r["mean_us"] < 100                    # no I/O: microseconds, never ms


def test_only_shm_or_memory_store(tmp_path, upstreams):
    os.chmod(tmp_path, 0o755)
    gw = h.Gateway(str(tmp_path), upstreams, store='redis = { host = "127.0.0.1" },')
    try:
        status, _, _ = gw.post({"model": "m", "messages": [{"role": "user", "content": "x"}]})
        assert status == 500
        log = gw.log()
        assert "unknown option redis" in log and "block the nginx event loop" in log
    finally:
        gw.stop()


def test_body_buffered_to_a_file_is_read(tmp_path, upstreams):
    os.chmod(tmp_path, 0o755)
    gw = h.Gateway(str(tmp_path), upstreams, body_buffer="1k")
    try:
        pad = "x" * 4000   # over client_body_buffer_size: nginx writes a file
        convs = [h.Conversation(gw, "big %d %s" % (i, pad)) for i in range(3)]
        for _ in range(4):
            for c in convs:
                assert c.turn()[0] == 200
        for c in convs:
            assert len(set(c.upstreams())) == 1
        # three conversations keyed by their content land on three accounts
        assert len({c.upstreams()[0] for c in convs}) == 3
        assert "request body buffered to a file" in gw.log()
    finally:
        gw.stop()


def in_flight(gw, gc=False):
    health = json.loads(gw.get("/sticky/health" + ("?gc=1" if gc else ""))[1])
    return {k: v["in_flight"] for k, v in health.items()}


def test_access_twice_releases_the_first_attempt(gateway, upstreams):
    # access() in /sticky/exec-twice, ngx.exec to /v1/messages, access()
    # again: the first decision is released, not left holding its slot
    for i in range(6):
        status, headers, _ = gateway.post({"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": "twice %d" % i}]}, path="/sticky/exec-twice")
        assert status == 200 and headers["x-upstream"]
    assert set(in_flight(gateway).values()) == {0}


def test_request_without_log_phase_releases_its_attempt(tmp_path, upstreams):
    # access() then ngx.exec to a location without log_by_lua: no log()
    # reports the decision; once the request is gone, its state is
    # collected and the decision's finalizer releases the attempt (one
    # worker, so the forced collection runs where the requests ran)
    os.chmod(tmp_path, 0o755)
    gw = h.Gateway(str(tmp_path), upstreams, workers=1)
    try:
        for i in range(6):
            status, _, body = gw.post({"model": "claude-sonnet-4-5", "messages": [
                {"role": "user", "content": "lost %d" % i}]}, path="/sticky/exec-nolog")
            assert status == 200 and body == b"no log phase\n"
        assert set(in_flight(gw, gc=True).values()) == {0}
        # and the accounts still route normally
        c = h.Conversation(gw, "after the lost ones")
        for _ in range(3):
            assert c.turn()[0] == 200
        assert set(in_flight(gw).values()) == {0}
    finally:
        gw.stop()
    log = "\n".join(l for l in gw.log().splitlines() if "connect() failed" not in l)
    assert "[error]" not in log and "[alert]" not in log and "[crit]" not in log, log[-4000:]
