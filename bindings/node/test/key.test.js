'use strict';
// test/key.test.js - a precomputed Key keeps the request's model: the one
// given to key(), else the body's top-level "model" (read by the library
// at select time), so channels' model lists still apply to select({key})
// and selectAsync({key}); a model given to select() wins.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Router, ChannelSet } = require('../lib');

const cs = new ChannelSet([{ id: 'haiku-only', models: ['claude-haiku-*'] }, { id: 'sonnet-only', models: ['claude-sonnet-*'] }]);
const text = (n, model = 'claude-sonnet-4-5') => JSON.stringify({ model, messages: [{ role: 'user', content: `key model ${n}` }] });

test('select({key}) keeps the body\'s model (Buffer and string bodies, sync and async)', async () => {
  const r = new Router();
  try {
    for (let n = 0; n < 20; n++) {
      const body = n % 2 ? Buffer.from(text(n)) : text(n);
      const k = r.key(body, { tenant: 't' });
      assert.equal(k.model, undefined);
      const d = n % 4 < 2 ? r.select({ key: k, channels: cs }) : await r.selectAsync({ key: k, channels: cs });
      assert.equal(d.channel, 'sonnet-only', `request ${n}`);
      assert.equal(d.model, 'claude-sonnet-4-5');
      assert.equal(d.family, 'sonnet');
      r.report(d, { status: 200 });
      const again = r.select({ body, tenant: 't', channels: cs }); // the same session as the body
      assert.equal(again.key, d.key);
      assert.equal(again.channel, d.channel);
      r.release(again);
    }
  } finally {
    r.close();
  }
});

test('the model given to key() or to select() decides', () => {
  const r = new Router();
  try {
    const k = r.key(text(1), { tenant: 't', model: 'claude-haiku-4-5' });
    assert.equal(k.model, 'claude-haiku-4-5');
    let d = r.select({ key: k, channels: cs });
    assert.equal(d.channel, 'haiku-only');
    assert.equal(d.model, 'claude-haiku-4-5');
    r.release(d);
    d = r.select({ key: r.key(text(2), { tenant: 't' }), model: 'claude-haiku-4-5', channels: cs });
    assert.equal(d.channel, 'haiku-only');
    r.release(d);
    assert.throws(() => r.key(text(3), { model: 5 }), TypeError);
  } finally {
    r.close();
  }
});
