'use strict';
// test/unit.test.js - the Router against the real libsticky (memory
// store): placement and stickiness, a 429 moving a conversation once,
// errors, stats, the injected clock, bad inputs, Buffer bodies, keys,
// route(), close.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Router, ChannelSet, StickyError, NoChannelError, TimeoutError } = require('../lib');

function body(conv, turns, model = 'claude-sonnet-4-5') {
  const messages = [];
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `conversation ${conv}: question ${t}` });
    messages.push({ role: 'assistant', content: `answer ${t}` });
  }
  messages.push({ role: 'user', content: `conversation ${conv}: question ${turns}` });
  return JSON.stringify({ model, max_tokens: 64, system: 'You are helpful.', messages });
}

function fakeClock(start = 1_750_000_000_000) {
  const c = { now: start };
  c.fn = () => c.now;
  return c;
}

test('placement spreads new conversations and each stays on its channel', () => {
  const r = new Router({ clock: fakeClock().fn });
  const cs = new ChannelSet(['A', 'B', { id: 'C', models: ['claude-*'] }]);
  const home = new Map();
  for (let conv = 0; conv < 30; conv++) {
    const d = r.select({ body: body(conv, 0), tenant: 't', channels: cs });
    assert.equal(d.reason, 'new');
    assert.match(d.key, /^[0-9a-f]{16}$/);
    assert.equal(d.model, 'claude-sonnet-4-5');
    home.set(conv, d.channel);
    r.report(d, { status: 200 });
  }
  assert.deepEqual(new Set(home.values()), new Set(['A', 'B', 'C']));
  for (let turn = 1; turn < 4; turn++) {
    for (let conv = 0; conv < 30; conv++) {
      const d = r.select({ body: body(conv, turn), tenant: 't', channels: cs });
      assert.equal(d.channel, home.get(conv), `conversation ${conv} turn ${turn}`);
      assert.ok(['hit', 'promoted_hit'].includes(d.reason), d.reason);
      assert.equal(cs.ids[d.channelIndex], d.channel);
      r.report(d, { status: 200 });
    }
  }
  const s = r.stats();
  assert.equal(s.requests, 120);
  assert.equal(s.newSessions, 30);
  assert.equal(s.hits + s.promotedHits, 90);
  assert.equal(s.reports, 120);
  assert.match(r.prometheus(), /^sticky_requests_total 120$/m);
  r.close();
});

test('a rejected 429 with a unified reset moves the conversation exactly once, and not back', () => {
  const clock = fakeClock();
  const r = new Router({ clock: clock.fn });
  const cs = new ChannelSet(['A', 'B', 'C']);
  let d = r.select({ body: body(1, 0), channels: cs });
  const first = d.channel;
  const reset = Math.floor(clock.now / 1000) + 600;
  r.report(d, {
    status: 429,
    headers: { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(reset), 'retry-after': '600' },
  });
  const channels = [];
  let moves = 0;
  for (let turn = 1; turn < 8; turn++) {
    if (turn === 5) clock.now += 700_000; // past the reset: A is usable again
    d = r.select({ body: body(1, turn), channels: cs });
    if (d.reason === 'failover') {
      moves++;
      assert.equal(d.movedFrom, first);
    }
    channels.push(d.channel);
    r.report(d, { status: 200 });
  }
  assert.equal(moves, 1);
  assert.notEqual(channels[0], first);
  assert.ok(channels.every((c) => c === channels[0]), channels.join(','));
  assert.equal(r.stats().failovers, 1);
  r.close();
});

test('errors are StickyError with .code and .name; no channel is NoChannelError with retryAtMs', () => {
  const clock = fakeClock();
  const r = new Router({ clock: clock.fn });
  assert.throws(() => r.select({ body: body(1, 0), channels: new ChannelSet(['A', 'A']) }), (e) => {
    assert.ok(e instanceof StickyError);
    assert.equal(e.code, -1);
    assert.equal(e.name, 'STICKY_EINVAL');
    return true;
  });
  assert.throws(() => r.select({ body: '{"messages": [', channels: ['A'] }), { name: 'STICKY_EPARSE', code: -3 });
  const d = r.select({ body: body(2, 0), channels: ['A'] });
  r.report(d, { status: 429, retryAfterSeconds: 30 });
  assert.throws(() => r.report(d, { status: 200 }), { name: 'STICKY_ENOTFOUND', code: -4 }); // twice
  assert.throws(() => r.select({ body: body(2, 1), channels: ['A'] }), (e) => {
    assert.ok(e instanceof NoChannelError);
    assert.ok(e instanceof StickyError);
    assert.equal(e.name, 'STICKY_ENOCHANNEL');
    assert.equal(e.retryAtMs, clock.now + 30_000);
    return true;
  });
  r.close();
});

test('the injected clock drives TTLs (no sleeping)', () => {
  const clock = fakeClock();
  const r = new Router({ ttlSeconds: 60, renewThresholdSeconds: 0, clock: clock.fn });
  const cs = new ChannelSet(['A', 'B']);
  r.report(r.select({ body: body(1, 0), channels: cs }), { status: 200 });
  clock.now += 30_000;
  let d = r.select({ body: body(1, 0), channels: cs });
  assert.equal(d.reason, 'hit');
  r.release(d);
  clock.now += 61_000;
  d = r.select({ body: body(1, 0), channels: cs });
  assert.equal(d.reason, 'new');
  r.release(d);
  r.close();
  assert.throws(() => new Router({ clock: () => NaN }), TypeError);
  assert.throws(() => new Router({ clock: 5 }), TypeError);
});

test('bad inputs give clear errors, not crashes', () => {
  const r = new Router();
  const cs = new ChannelSet(['A']);
  assert.throws(() => new Router({ ttlSecond: 5 }), /unknown option "ttlSecond"/);
  assert.throws(() => new Router({ ttlSeconds: -1 }), RangeError);
  assert.throws(() => new Router({ ttlSeconds: 2 ** 40 }), RangeError);
  assert.throws(() => new Router({ ttlSeconds: 1.5 }), RangeError);
  assert.throws(() => new Router({ ttlSeconds: 'x' }), TypeError);
  assert.throws(() => new Router({ ttlSeconds: 0 }), { name: 'STICKY_ECONFIG' });
  assert.throws(() => new Router({ selectPolicy: 'best' }), TypeError);
  assert.throws(() => new Router({ shm: 42 }), TypeError);
  assert.throws(() => new ChannelSet([]), TypeError);
  assert.throws(() => new ChannelSet('A'), TypeError);
  assert.throws(() => new ChannelSet([{ id: 'x'.repeat(200) }]), TypeError);
  assert.throws(() => new ChannelSet([{ id: 'A', state: 'sleepy' }]), TypeError);
  assert.throws(() => new ChannelSet([{ id: 'A', priority: 1e12 }]), TypeError);
  assert.throws(() => new ChannelSet([{ id: 'A', colour: 'red' }]), TypeError);
  assert.throws(() => new ChannelSet([{ id: 'A', models: 'claude' }]), TypeError);
  assert.throws(() => r.select(null), TypeError);
  assert.throws(() => r.select({ body: 42, channels: cs }), /body must be/);
  assert.throws(() => r.select({ body: body(1, 0), tenant: {}, channels: cs }), /tenant must be a string/);
  assert.throws(() => r.select({ body: body(1, 0), channels: cs, headers: 7 }), TypeError);
  assert.throws(() => r.select({ body: body(1, 0), channels: cs, headers: { a: {} } }), TypeError);
  assert.throws(() => r.select({ body: new Float64Array(4), channels: cs }), TypeError);
  assert.throws(() => r.select({ body: body(1, 0), channels: cs, key: {} }), TypeError);
  assert.throws(() => r.select({ body: body(1, 0) }), TypeError); // no channels
  // Over the library's body limit (64 MiB): its own error.
  assert.throws(() => r.select({ body: Buffer.alloc(64 * 1024 * 1024 + 1, 0x20), channels: cs }), { name: 'STICKY_ELIMIT' });
  // Odd bytes: invalid UTF-8 and NULs.
  assert.throws(() => r.select({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]), channels: cs }), StickyError);
  const d = r.select({ body: body(1, 0), channels: cs });
  assert.throws(() => r.report(d), TypeError);
  assert.throws(() => r.report(d, {}), /status/);
  assert.throws(() => r.report(d, { status: 'x' }), TypeError);
  assert.throws(() => r.report(d, { status: 99999 }), TypeError);
  assert.throws(() => r.report({ channel: 'A' }, { status: 200 }), /expected a Decision/);
  assert.throws(() => r.report(d, { status: 429, retryAfterSeconds: -5 }), RangeError);
  r.report(d, { status: 200 });
  r.close();
});

test('Buffer, Uint8Array views and strings key the same (bodies read in place)', () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B', 'C']);
  const text = body(7, 2);
  const keys = new Set();
  const big = Buffer.alloc(text.length + 20, 0x20);
  big.write(text, 10);
  for (const b of [text, Buffer.from(text), new Uint8Array(Buffer.from(text)), big.subarray(10, 10 + text.length),
    new TextEncoder().encode(text).buffer]) {
    const d = r.select({ body: b, channels: cs });
    keys.add(d.key);
    r.report(d, { status: 200 });
  }
  assert.equal(keys.size, 1);
  r.close();
});

test('headers: object, Map, pairs and rawHeaders; explicit session ids', () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B', 'C']);
  const keys = new Set();
  for (const headers of [{ 'x-session-id': 'abc' }, new Map([['X-Session-Id', 'abc']]), [['x-session-id', 'abc']],
    ['X-Session-Id', 'abc'], { 'x-session-id': ['abc'] }]) {
    const d = r.select({ body: body(1, 0), headers, channels: cs });
    keys.add(d.key);
    r.release(d);
  }
  assert.equal(keys.size, 1);
  const s1 = r.select({ body: body(1, 0), sessionId: 'sess-1', channels: cs });
  const s2 = r.select({ body: body(2, 5), sessionId: 'sess-1', channels: cs });
  assert.equal(s1.key, s2.key);
  r.release(s1);
  r.release(s2);
  r.close();
});

test('a precomputed key selects like the body', () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B', 'C']);
  const text = body(3, 0);
  const k = r.key(text, { tenant: 't' });
  assert.match(k.hex, /^[0-9a-f]{16}$/);
  const d1 = r.select({ body: text, tenant: 't', channels: cs });
  r.report(d1, { status: 200 });
  const d2 = r.select({ key: k, channels: cs });
  assert.equal(d2.channel, d1.channel);
  assert.equal(d2.key, d1.key);
  assert.equal(d2.reason, 'hit');
  r.report(d2, { status: 200 });
  r.close();
});

test('selectAsync resolves from the synchronous result with the memory store; abort and errors reject', async () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B']);
  const d = await r.selectAsync({ body: body(1, 0), channels: cs });
  assert.equal(d.reason, 'new');
  r.report(d, { status: 200 });
  assert.equal((await r.selectAsync({ body: body(1, 1), channels: cs })).channel, d.channel);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(r.selectAsync({ body: body(1, 0), channels: cs, signal: ac.signal }), { name: 'AbortError' });
  await assert.rejects(r.selectAsync({ body: '{', channels: cs }), { name: 'STICKY_EPARSE' });
  r.close();
});

test('route() retries on the channel the library picks next; timeouts and transport errors are reported', async () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B', 'C']);
  const seen = [];
  const result = await r.route({ body: body(1, 0) }, async (d) => {
    seen.push(d.channel);
    if (seen.length === 1) return { status: 429, headers: { 'retry-after': '60' }, result: 'limited' };
    if (seen.length === 2) throw new TimeoutError();
    return { status: 200, headers: {}, result: `ok from ${d.channel}` };
  }, { channels: cs, maxAttempts: 3 });
  assert.equal(seen.length, 3);
  assert.equal(new Set(seen).size, 3);
  assert.equal(result, `ok from ${seen[2]}`);
  assert.equal(r.stats().reports, 3);
  // All attempts fail: the last error is rethrown.
  await assert.rejects(r.route({ body: body(2, 0) }, async () => { throw new Error('ECONNRESET'); },
    { channels: ['D', 'E'], maxAttempts: 2 }), /ECONNRESET/);
  await assert.rejects(r.route({ body: body(3, 0) }, async () => 'nonsense', { channels: cs }), TypeError);
  r.close();
});

test('close() is idempotent; use after close throws', () => {
  const r = new Router();
  const d = r.select({ body: body(1, 0), channels: ['A'] });
  r.close();
  r.close();
  assert.equal(r.closed, true);
  assert.throws(() => r.select({ body: body(1, 0), channels: ['A'] }), { code: 'ERR_STICKY_CLOSED' });
  assert.throws(() => r.report(d, { status: 200 }), { code: 'ERR_STICKY_CLOSED' });
  assert.throws(() => r.stats(), { code: 'ERR_STICKY_CLOSED' });
  assert.throws(() => r.prometheus(), { code: 'ERR_STICKY_CLOSED' });
  assert.ok(Object.isFrozen(d));
  assert.equal(d.open, true); // never reported: the context is gone with it
});
