'use strict';
// test/package.test.js - `npm test` and meson run the same node tests:
// every test/*.test.js is listed in package.json's "test" script and in
// meson.build's node_tests, and both list nothing else.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

test('package.json "test" and meson.build list every test/*.test.js', () => {
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).map((f) => `test/${f}`).sort();
  const npm = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.test;
  assert.deepEqual(npm.split(/\s+/).filter((w) => w.endsWith('.test.js')).sort(), files, 'package.json "test"');
  const meson = fs.readFileSync(path.join(root, 'meson.build'), 'utf8');
  const list = /node_tests = files\(([^)]*)\)/.exec(meson)[1];
  assert.deepEqual([...list.matchAll(/'([^']+\.test\.js)'/g)].map((m) => m[1]).sort(), files, 'meson.build node_tests');
});
