'use strict';
// test/inplace.test.js - Buffer / Uint8Array / ArrayBuffer bodies are read
// in place, not copied: selecting with a 32 MB body raises the process's
// peak RSS (VmHWM, reset through /proc/self/clear_refs) by far less than
// the body, while the same body as a string (which the addon must encode
// into a copy) raises it by about the body's size - the control that shows
// the measure would see a copy. Linux only.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Router, ChannelSet } = require('../lib');

let skip = false;
try {
  fs.writeFileSync('/proc/self/clear_refs', '5');
} catch {
  skip = 'needs /proc/self/clear_refs (Linux)';
}

const MB = 1024 * 1024;
function peakMB() {
  return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
}

test('byte bodies are read in place; a string body is copied', { skip }, () => {
  const r = new Router();
  const cs = new ChannelSet(['A', 'B']);
  const text = JSON.stringify({ model: 'claude-sonnet-4-5', metadata: { pad: 'x'.repeat(32 * MB) },
    messages: [{ role: 'user', content: 'in place' }] });
  const buf = Buffer.from(text);
  const big = Buffer.alloc(buf.length + 16);
  buf.copy(big, 8);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const growth = (body) => {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    const before = peakMB();
    const d = r.select({ body, channels: cs });
    const grown = peakMB() - before;
    r.release(d);
    return grown;
  };
  try {
    r.release(r.select({ body: '{"messages":[{"role":"user","content":"warm up"}]}', channels: cs }));
    for (const [name, body] of [['Buffer', buf], ['Uint8Array view', big.subarray(8, 8 + buf.length)], ['ArrayBuffer', ab]]) {
      const grown = growth(body);
      assert.ok(grown < 8, `${name}: peak RSS grew ${grown.toFixed(1)} MB for a ${(buf.length / MB).toFixed(0)} MB body`);
    }
    const copied = growth(text);
    assert.ok(copied > 24, `string: peak RSS grew only ${copied.toFixed(1)} MB (the measure cannot see a copy)`);
  } finally {
    r.close();
  }
});
