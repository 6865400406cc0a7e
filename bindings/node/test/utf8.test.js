'use strict';
// test/utf8.test.js - JavaScript strings reach the library whole: a string
// whose last character is multibyte and ends right at the end of the
// addon's per-call stack block must not be cut before that character
// (tenants, session ids and channel ids that differ only there would become
// the same string in C: same key, duplicate channel). Sweeps lengths around
// the block ends (8 KiB for a select / key, 4 KiB for a ChannelSet).
const test = require('node:test');
const assert = require('node:assert/strict');
const { Router, ChannelSet } = require('../lib');

const SUFFIXES = ['', '\u00e9', '\u20ac', '\u{1F600}']; // 0, 2, 3, 4 bytes
const bodyBuf = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }));

test('tenants that differ only in a multibyte last character key differently (8 KiB block end)', () => {
  const r = new Router();
  try {
    for (let len = 8170; len <= 8200; len++) {
      const base = 'x'.repeat(len);
      const keys = SUFFIXES.map((s) => r.key(bodyBuf, { tenant: base + s }).hex);
      assert.equal(new Set(keys).size, SUFFIXES.length, `tenant of ${len} + suffix: ${keys}`);
    }
  } finally {
    r.close();
  }
});

test('session ids after a string body (the body uses the block first) stay whole', () => {
  const r = new Router();
  try {
    for (const pad of [7900, 7901, 7902, 7903, 7904, 7905, 7906, 7907]) {
      const body = JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'q'.repeat(pad) }] });
      const used = (Buffer.byteLength(body) + 1 + 7) & ~7;
      for (let len = 8192 - used - 12; len <= 8192 - used + 4; len++) {
        const base = 'S'.repeat(len);
        const keys = SUFFIXES.map((s) => r.key(body, { sessionId: base + s }).hex);
        assert.equal(new Set(keys).size, SUFFIXES.length, `body ${pad}, session id of ${len} + suffix`);
        // The same session id with a Buffer body (nothing else in the block) keys the same.
        assert.equal(r.key(bodyBuf, { sessionId: base + '\u20ac' }).hex, keys[2]);
      }
    }
  } finally {
    r.close();
  }
});

test('channel ids that differ only in a multibyte last character stay distinct (4 KiB block end)', () => {
  const r = new Router();
  // 33 ids of 120 arena bytes each, then one of 8..72 bytes: the id pair
  // starts 136..64 bytes before the end of the block.
  const fillers = Array.from({ length: 33 }, (_, i) => `f${String(i).padStart(3, '0')}${'-'.repeat(112)}`);
  try {
    for (let extra = 1; extra <= 71; extra += 2) {
      for (let len = 60; len <= 126; len++) {
        const x = 'c'.repeat(len);
        for (const suffix of SUFFIXES.slice(1)) {
          if (len + Buffer.byteLength(suffix) >= 128) continue; // ids are at most 127 bytes
          const cs = new ChannelSet([...fillers, 'e'.repeat(extra), x + suffix, x]);
          const d = r.select({ body: bodyBuf, channels: cs }); // duplicate ids would throw STICKY_EINVAL
          r.release(d);
        }
      }
    }
  } finally {
    r.close();
  }
});
