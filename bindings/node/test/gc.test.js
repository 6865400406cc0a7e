'use strict';
// test/gc.test.js - Routers never closed are garbage collected (and the
// addon's finalizer frees their context): the addon holds the Router's
// settle() and clock() weakly (both may capture the Router), and settle()
// strongly only while a selection is in flight, which must still settle
// when JavaScript has dropped the Router. Uses the gc() of --expose-gc,
// switched on at run time. V8 may keep the last object or two of a loop
// alive through its own caches: the counts allow for 2 (before the fix
// none was ever collected).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Router, ChannelSet, hasRedis } = require('../lib');
const { startRedis, stopRedis } = require('./redis_server');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const cs = new ChannelSet(['A', 'B']);
const body = (n) => Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: `gc ${n}` }] }));

// How many of @refs are collected. deref() keeps its target alive until the
// end of the current job: gc() runs first in each turn, never after one.
async function collect(refs) {
  for (let k = 0; ; k++) {
    gc();
    const dead = refs.filter((w) => w.deref() === undefined).length;
    if (dead >= refs.length - 2 || k === 20) return dead;
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('Routers never closed are collected, also with a clock that captures them', async () => {
  const refs = [];
  const make = async (i) => {
    let r = null;
    const opts = i % 2 ? { clock: () => (r ? 1_750_000_000_000 + i : 1_750_000_000_000) } : {};
    r = new Router(opts);
    for (let j = 0; j < 5; j++) r.report(r.select({ body: body(j), tenant: 't', channels: cs }), { status: 200 });
    r.release(await r.selectAsync({ body: body(i), channels: cs }));
    refs.push(new WeakRef(r));
  };
  for (let i = 0; i < 300; i++) await make(i);
  const dead = await collect(refs);
  assert.ok(dead >= 298, `${dead} of 300 collected`);
});

const server = process.env.REDIS_SERVER || '';
const noRedis = !hasRedis ? 'the addon was built without libsticky-redis-uv'
  : (!server || !fs.existsSync(server)) ? 'no redis-server (REDIS_SERVER)' : false;

test('a dropped Redis Router settles its selections in flight, then is collected', { skip: noRedis, timeout: 60_000 }, async () => {
  const redis = await startRedis(server);
  try {
    const refs = [];
    const inflight = [];
    for (let i = 0; i < 20; i++) {
      const r = new Router({ redis: { host: '127.0.0.1', port: redis.port, prefix: `nodegc${process.pid}:` } });
      inflight.push(r.selectAsync({ body: body(i), channels: cs }));
      refs.push(new WeakRef(r));
    }
    gc(); // while the selections are in flight: the Routers must survive
    const decisions = await Promise.all(inflight);
    assert.ok(decisions.every((d) => d.channel === 'A' || d.channel === 'B'));
    const dead = await collect(refs);
    assert.ok(dead >= 18, `${dead} of 20 collected`);
  } finally {
    await stopRedis(redis);
  }
});
