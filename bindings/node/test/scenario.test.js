'use strict';
// test/scenario.test.js - an incident timeline through route(), the way a
// relay uses it: 80 conversations x 8 turns on four accounts, with a 429
// carrying reset headers on one account, 529 noise, a revoked key
// answering 401, haiku side requests and a failed move (the first
// failover's connection is refused). No turn may be lost while a healthy
// account exists; a conversation moves only away from an account that just
// failed, never onto the limited or revoked one.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Router, ChannelSet } = require('../lib');

const ACCOUNTS = ['acct-a', 'acct-b', 'acct-c', 'acct-d'];
const CONVERSATIONS = 80;
const TURNS = 8;

function body(conv, turns, model = 'claude-sonnet-4-5') {
  const messages = [];
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `conversation ${conv} question ${t}` });
    if (t < turns - 1) messages.push({ role: 'assistant', content: `answer ${conv}.${t}` });
  }
  return Buffer.from(JSON.stringify({ model, max_tokens: 1024, messages }));
}

function rng(seed) { // xorshift32: a repeatable timeline
  let s = seed;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296; };
}

test('an incident timeline through route() loses no turn', async () => {
  const clock = { now: 1_750_000_000_000 };
  const random = rng(7);
  const limitedUntil = new Map();
  const revoked = new Set();
  const incidents = new Map(); // account -> turns it failed in
  const served = [];
  let failNextMove = false;
  const incident = (acct, turn) => {
    if (!incidents.has(acct)) incidents.set(acct, new Set());
    incidents.get(acct).add(turn);
  };
  const upstream = (conv, turn) => async (d) => {
    const nowS = Math.floor(clock.now / 1000);
    const acct = d.channel;
    if (failNextMove && d.reason === 'failover') {
      failNextMove = false;
      incident(acct, turn);
      throw Object.assign(new Error(`connect ECONNREFUSED ${acct}`), { code: 'ECONNREFUSED' });
    }
    if (revoked.has(acct)) {
      incident(acct, turn);
      return { status: 401, headers: {}, result: null };
    }
    const until = limitedUntil.get(acct) || 0;
    if (nowS < until) {
      incident(acct, turn);
      return {
        status: 429,
        headers: {
          'retry-after': String(until - nowS),
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(until),
        },
        result: null,
      };
    }
    if (random() < 0.01) return { status: 529, headers: {}, result: null };
    served.push([acct, conv, turn]);
    return { status: 200, headers: {}, result: acct };
  };

  const r = new Router({ clock: () => clock.now });
  const channels = new ChannelSet(ACCOUNTS);
  const home = new Map();
  const moves = new Map();
  let revokedAcct;
  for (let turn = 1; turn <= TURNS; turn++) {
    if (turn === 3) {
      limitedUntil.set('acct-b', Math.floor(clock.now / 1000) + 600);
      failNextMove = true;
    }
    if (turn === 5) { // the key of the account holding most conversations now is revoked
      const count = (a) => [...home.values()].filter((h) => h === a).length;
      revokedAcct = ACCOUNTS.filter((a) => a !== 'acct-b').sort((x, y) => count(y) - count(x))[0];
      revoked.add(revokedAcct);
    }
    for (let n = 0; n < CONVERSATIONS; n++) {
      clock.now += 250;
      const got = await r.route({ body: body(n, turn), tenant: 'team-1' }, upstream(n, turn),
        { channels, maxAttempts: 4 });
      assert.ok(got, `conversation ${n} turn ${turn} lost`);
      if (home.has(n) && got !== home.get(n)) {
        if (!moves.has(n)) moves.set(n, []);
        moves.get(n).push([turn, home.get(n), got]);
      }
      home.set(n, got);
      if (n % 3 === 0) { // a haiku side request of the same conversation
        const side = await r.route({ body: body(n, turn, 'claude-haiku-4-5'), tenant: 'team-1' },
          upstream(n, turn), { channels, maxAttempts: 4 });
        assert.ok(side, `side request of ${n} turn ${turn} lost`);
      }
    }
  }
  for (const [n, ms] of moves) {
    for (const [turn, from, to] of ms) {
      const failed = incidents.get(from) || new Set();
      assert.ok(failed.has(turn) || failed.has(turn - 1), `conversation ${n} left ${from} at turn ${turn} without an incident`);
      assert.notEqual(to, 'acct-b', `conversation ${n} moved onto the limited account`);
      assert.ok(!(to === revokedAcct && turn >= 5), `conversation ${n} moved onto the revoked account`);
    }
    assert.ok(ms.length <= 3, `conversation ${n} moved ${ms.length} times`);
  }
  for (const [acct, , turn] of served) {
    assert.ok(!(acct === revokedAcct && turn >= 5), 'the revoked account served');
    assert.ok(!(acct === 'acct-b' && turn >= 3), 'the limited account served');
  }
  // both incidents were met by live conversations
  assert.ok(incidents.get('acct-b')?.has(3), 'the 429 was never met');
  assert.ok(incidents.get(revokedAcct)?.has(5), 'the revoked key was never met');
  const steady = CONVERSATIONS - moves.size;
  assert.ok(steady >= CONVERSATIONS / 5, `only ${steady} conversations kept their account`);
  r.close();
});
