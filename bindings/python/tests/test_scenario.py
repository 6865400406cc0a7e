"""bindings/python/tests/test_scenario.py - an incident timeline through
the binding's retry helper, the way a relay uses it: 80 conversations x 8
turns on four accounts, with a 429 carrying reset headers on one account,
529 noise, a revoked key (the busiest account's, at turn 5), haiku side requests, and a failed move (the
first channel a conversation moves to refuses the connection once). No
turn may be lost while a healthy channel exists; a conversation moves
only away from an incident, never back onto the limited or revoked
account, and its side requests do not move it."""
import random

import sticky
from conftest import conv

ACCOUNTS = ["acct-a", "acct-b", "acct-c", "acct-d"]
CONVERSATIONS = 80
TURNS = 8


class Upstreams:
    """Fake Anthropic accounts: what each answers at the current time."""

    def __init__(self, clock):
        self.clock = clock
        self.rng = random.Random(7)
        self.limited_until = {}        # account -> unix seconds
        self.revoked = set()
        self.fail_next_move = False    # the next failover's connection is refused
        self.served = []               # (account, conversation, turn, model)
        self.incidents = {}            # account -> turns it answered with a fault

    def send(self, conversation, turn, model):
        def send(d):
            now_s = self.clock[0] // 1000
            acct = d.channel
            if self.fail_next_move and d.reason == "failover":
                self.fail_next_move = False
                self.incidents.setdefault(acct, set()).add(turn)
                raise ConnectionRefusedError(acct)
            if acct in self.revoked:
                self.incidents.setdefault(acct, set()).add(turn)
                return 401, {"content-type": "application/json"}, None
            until = self.limited_until.get(acct, 0)
            if now_s < until:
                self.incidents.setdefault(acct, set()).add(turn)
                return 429, {"retry-after": str(until - now_s),
                             "anthropic-ratelimit-unified-status": "rejected",
                             "anthropic-ratelimit-unified-reset": str(until)}, None
            if self.rng.random() < 0.01:
                return 529, {}, None   # overloaded noise: retried, not a reason to move
            self.served.append((acct, conversation, turn, model))
            return 200, {}, acct
        return send


def test_incident_timeline_loses_no_turn(clock):
    up = Upstreams(clock)
    channels = sticky.ChannelSet(ACCOUNTS)
    home = {}
    moves = {n: [] for n in range(CONVERSATIONS)}
    revoked = None
    with sticky.Router(clock=lambda: clock[0]) as r:
        for turn in range(1, TURNS + 1):
            if turn == 3:      # account b is rate-limited for 10 minutes
                up.limited_until["acct-b"] = clock[0] // 1000 + 600
                up.fail_next_move = True       # and the first move fails
            if turn == 5:      # the key of the account holding most conversations is revoked
                revoked = max((a for a in ACCOUNTS if a != "acct-b"),
                              key=lambda a: sum(1 for h in home.values() if h == a))
                up.revoked.add(revoked)
            for n in range(CONVERSATIONS):
                clock[0] += 250
                body = conv(n, turn)
                served = r.route({"body": body, "tenant": "team-1"},
                                 up.send(n, turn, "sonnet"), channels=channels,
                                 max_attempts=4)
                assert served is not None, f"conversation {n} turn {turn} lost"
                if n in home and served != home[n]:
                    moves[n].append((turn, home[n], served))
                home[n] = served
                if n % 3 == 0:  # a haiku side request of the same conversation
                    side = r.route({"body": conv(n, turn, model="claude-haiku-4-5"),
                                    "tenant": "team-1"},
                                   up.send(n, turn, "haiku"), channels=channels,
                                   max_attempts=4)
                    assert side is not None
    for n, ms in moves.items():
        for turn, old, new in ms:
            # a move only away from an account that just failed: a 429, a 401,
            # or the refused connection of a failed move (a transport error
            # cools its account for 30 s: its sessions move too)
            assert turn in up.incidents.get(old, ()) or turn - 1 in up.incidents.get(old, ()), \
                (n, ms, up.incidents)
            # ... never onto the limited or revoked account
            assert new != "acct-b" and not (new == revoked and turn >= 5), (n, ms)
        assert len(ms) <= 3, (n, ms)
    # nothing was served by c after its revocation, nor by b while limited
    for acct, n, turn, model in up.served:
        assert not (acct == revoked and turn >= 5)
        assert not (acct == "acct-b" and turn >= 3)
    # both incidents were met by live conversations
    assert 3 in up.incidents.get("acct-b", ()) and 5 in up.incidents.get(revoked, ())
    # conversations whose account had no incident kept it for all 8 turns
    for n in range(CONVERSATIONS):
        if not moves[n]:
            continue
        assert any(up.incidents.get(old) for _, old, _ in moves[n])
    steady = [n for n, ms in moves.items() if not ms]
    assert len(steady) >= CONVERSATIONS // 5, moves
