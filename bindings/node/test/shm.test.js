'use strict';
// test/shm.test.js - two processes (child_process workers, alive at the
// same time) on one shared-memory segment: a conversation placed by one is
// a hit in the other, and a 429 reported in one is honoured by the other.
const test = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function worker(seg) {
  const child = fork(path.join(__dirname, 'shm_worker.js'), [seg], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue = [];
  child.on('message', (m) => queue.shift()(m));
  const next = () => new Promise((resolve) => queue.push(resolve));
  const ready = next();
  return {
    ready,
    pid: child.pid,
    async ask(msg) {
      const p = next();
      child.send(msg);
      const out = await p;
      assert.equal(out.error, undefined, out.error);
      return out;
    },
    stop() {
      return new Promise((resolve) => {
        child.on('exit', (code) => resolve(code));
        child.send({ exit: true });
      });
    },
  };
}

test('two processes share sessions and channel health through one segment', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sticky-node-shm-'));
  const seg = path.join(dir, 'gw.sticky');
  const w1 = worker(seg);
  const w2 = worker(seg);
  try {
    await Promise.all([w1.ready, w2.ready]);
    const a = await w1.ask({ turn: 1, status: 200 });
    assert.equal(a.reason, 'new');
    const b = await w2.ask({ turn: 2, status: 200 });
    assert.notEqual(b.pid, a.pid);
    assert.equal(b.channel, a.channel, 'the other process finds the binding');
    assert.ok(['hit', 'promoted_hit'].includes(b.reason), b.reason);
    const reset = Math.floor(Date.now() / 1000) + 600;
    const c = await w2.ask({
      turn: 3, status: 429,
      headers: { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(reset) },
    });
    assert.equal(c.channel, a.channel);
    const d = await w1.ask({ turn: 4, status: 200 });
    assert.notEqual(d.channel, a.channel, 'the 429 reported by the other process is honoured');
    assert.equal(d.reason, 'failover');
    const e = await w2.ask({ turn: 5, status: 200 });
    assert.equal(e.channel, d.channel, 'and both agree on the new channel');
  } finally {
    assert.equal(await w1.stop(), 0);
    assert.equal(await w2.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
