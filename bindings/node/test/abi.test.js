'use strict';
// test/abi.test.js - the load-time check: with a libsticky whose version
// or struct sizes differ from the headers the addon was compiled with
// (simulated by preloading test/fake_abi.c's stand-ins), require() throws
// an Error naming the library and the mismatch.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const fake = process.env.STICKY_NODE_FAKE_ABI;
const pkg = path.join(__dirname, '..');

function load(env) {
  const r = spawnSync(process.execPath, ['-e', `
    try { const s = require(${JSON.stringify(pkg)}); console.log('loaded ' + s.libraryVersion); }
    catch (e) { console.log('ERROR ' + e.code + ' ' + e.message); }`],
  { env: { ...process.env, LD_PRELOAD: fake, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('the addon loads a matching library', { skip: !fake && 'STICKY_NODE_FAKE_ABI not set (run through meson)' }, () => {
  assert.match(load({}), /^loaded 0\.\d+\.\d+$/);
});

test('another major.minor version is refused, naming the library', { skip: !fake && 'STICKY_NODE_FAKE_ABI not set' }, () => {
  const out = load({ STICKY_FAKE_VERSION: '000900' });
  assert.match(out, /^ERROR ERR_STICKY_ABI libsticky: \S*libsticky\.so\S* is version .* \(0\.9\)/);
  assert.match(out, /major\.minor must be equal/);
});

test('a struct size mismatch is refused, naming the struct', { skip: !fake && 'STICKY_NODE_FAKE_ABI not set' }, () => {
  const out = load({ STICKY_FAKE_STRUCT: '9' }); // STICKY_STRUCT_DECISION
  assert.match(out, /^ERROR ERR_STICKY_ABI libsticky: .* has sizeof\(sticky_decision\) = 1, but this addon was compiled with \d+/);
});
