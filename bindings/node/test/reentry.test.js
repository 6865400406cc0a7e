'use strict';
// test/reentry.test.js - the host's clock runs inside the library's calls:
// a clock that closes the Router makes the call throw ERR_STICKY_CLOSED
// once it has returned (the context used to be freed under the library:
// SIGSEGV), an attempt it opened is released (a maxInflight 1 channel in a
// shared segment stays usable from another Router), and a clock that calls
// back into the Router makes the outer call throw, not corrupt it.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Router, ChannelSet } = require('../lib');

const body = (n) => Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: `reentry ${n}` }] }));
const T0 = 1_750_000_000_000;

/** A Router whose clock runs hook(router) once when armed. */
function armedRouter(opts = {}) {
  const box = { hook: null, r: null };
  box.r = new Router({
    ...opts,
    clock: () => {
      const h = box.hook;
      box.hook = null;
      if (h) h(box.r);
      return T0;
    },
  });
  return box;
}

test('a clock that closes the Router during a call: ERR_STICKY_CLOSED after the call, no crash', async () => {
  const cs = new ChannelSet(['A', 'B']);
  const calls = {
    select: (r) => r.select({ body: body(1), channels: cs }),
    selectAsync: (r) => r.selectAsync({ body: body(2), channels: cs }),
    report: (r, d) => r.report(d, { status: 200 }),
    release: (r, d) => r.release(d),
    key: (r) => r.key(body(3), { tenant: 't' }),
    stats: (r) => r.stats(),
    prometheus: (r) => r.prometheus(),
  };
  let closedDuring = 0;
  for (const [name, call] of Object.entries(calls)) {
    const box = armedRouter();
    const d = box.r.select({ body: body(0), channels: cs });
    let ran = false;
    box.hook = (r) => { r.close(); ran = true; };
    let err;
    try {
      await call(box.r, d);
    } catch (e) {
      err = e;
    }
    if (ran) { // the call read the clock: closed inside it
      closedDuring++;
      assert.equal(err && err.code, 'ERR_STICKY_CLOSED', `${name}: ${err}`);
      assert.equal(box.r.closed, true);
      assert.throws(() => box.r.select({ body: body(0), channels: cs }), { code: 'ERR_STICKY_CLOSED' });
    } else {
      assert.equal(err, undefined, name);
    }
    box.r.close(); // idempotent
  }
  assert.ok(closedDuring >= 3, `${closedDuring} of the calls read the clock`); // select, selectAsync, report at least
});

test('the attempt a closed select opened is released (shared maxInflight 1 channel stays usable)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sticky-node-reentry-'));
  const seg = path.join(dir, 'gw.sticky');
  const cs = new ChannelSet([{ id: 'only', maxInflight: 1 }]);
  const other = new Router({ shm: seg });
  try {
    const box = armedRouter({ shm: seg });
    box.hook = (r) => r.close();
    assert.throws(() => box.r.select({ body: body(5), channels: cs }), { code: 'ERR_STICKY_CLOSED' });
    const d = other.select({ body: body(6), channels: cs }); // the one slot is free
    assert.equal(d.channel, 'only');
    other.release(d);
  } finally {
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a clock that calls back into its Router makes the outer call throw; the Router stays usable', () => {
  const cs = new ChannelSet(['A', 'B']);
  const box = armedRouter();
  let inner;
  box.hook = (r) => {
    try { r.select({ body: body(8), channels: cs }); } catch (e) { inner = e; throw e; }
  };
  assert.throws(() => box.r.select({ body: body(7), channels: cs }));
  assert.equal(inner.code, 'ERR_STICKY_REENTRANT');
  const d = box.r.select({ body: body(7), channels: cs });
  box.r.report(d, { status: 200 });
  assert.equal(box.r.stats().reports, 1);
  box.r.close();
});
