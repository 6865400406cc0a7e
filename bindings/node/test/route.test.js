'use strict';
// test/route.test.js - route() ends every attempt it starts: a send()
// result report() would refuse ({status: 0}, headers that are not
// headers) releases the attempt before the TypeError (a channel with
// maxInflight 1 stays usable), and an AbortError from send() (the client
// went away) releases the attempt and is rethrown without a report, so the
// channel is not cooled or counted as failing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Router, ChannelSet } = require('../lib');

const body = (n) => Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: `route ${n}` }] }));

test('a send() result report() refuses releases the attempt (maxInflight 1 stays usable)', async () => {
  const r = new Router();
  const cs = new ChannelSet([{ id: 'a', maxInflight: 1 }]);
  try {
    const bad = [{ status: 0, result: 'x' }, { status: 200.5 }, { status: '200' }, { status: 1000 },
      { status: 200, headers: 5 }, { status: 200, headers: { 'retry-after': {} } }, null, 'nonsense'];
    for (const [i, res] of bad.entries()) {
      let seen;
      await assert.rejects(r.route({ body: body(i) }, async (d) => { seen = d; return res; }, { channels: cs }), TypeError,
        JSON.stringify(res));
      assert.equal(seen.open, false, `attempt released after ${JSON.stringify(res)}`);
      const d = r.select({ body: body(100 + i), channels: cs }); // the one slot is free again
      r.release(d);
    }
    assert.equal(r.stats().reports, 0);
  } finally {
    r.close();
  }
});

test('an AbortError from send() releases the attempt, is rethrown, and cools nothing', async () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B', 'C']);
  try {
    const kinds = [
      () => { const ac = new AbortController(); ac.abort(); return ac.signal.reason; }, // DOMException AbortError
      () => Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }),
    ];
    for (const [i, make] of kinds.entries()) {
      const seen = [];
      const err = make();
      await assert.rejects(r.route({ body: body(i) }, async (d) => { seen.push(d); throw err; }, { channels: cs, maxAttempts: 3 }),
        (e) => e === err);
      assert.equal(seen.length, 1, 'no retry after the client went away');
      assert.equal(seen[0].open, false, 'the attempt was released');
    }
    assert.equal(r.stats().reports, 0, 'nothing reported');
    assert.doesNotMatch(r.prometheus(), /^sticky_channel_failures_total\{[^}]*\} [1-9]/m);
    // A transport failure still is reported (and counted).
    await assert.rejects(r.route({ body: body(9) }, async () => { throw new Error('ECONNRESET'); }, { channels: ['A'], maxAttempts: 1 }),
      /ECONNRESET/);
    assert.equal(r.stats().reports, 1);
  } finally {
    r.close();
  }
});
