'use strict';
// test/worker.test.js - worker threads: a worker that loads the addon and
// exits leaves the main thread's libuv working (the addon is linked with
// -z nodelete: unloading it would unload Debian's libuv.so.1, whose
// destructor shuts down Node's own libuv: signal pipe closed, children
// never reaped, thread pool gone); workers with Redis Routers never
// closed, terminated or exiting with a selection in flight, do not abort
// the process (the addon's environment cleanup hook closes the stores'
// handles before Node closes the worker's loop). Each case runs
// test/worker_child.js in a process of its own (Linux: it reads
// /proc/self/fd); the Redis case needs REDIS_SERVER (test/redis.test.js).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { hasRedis } = require('../lib');
const { startRedis, stopRedis } = require('./redis_server');

const child = path.join(__dirname, 'worker_child.js');
const linux = process.platform === 'linux';
const server = process.env.REDIS_SERVER || '';
let skipRedis = !linux && 'Linux only';
if (!hasRedis) skipRedis = 'the addon was built without libsticky-redis-uv';
else if (!server || !fs.existsSync(server)) skipRedis = 'no redis-server (REDIS_SERVER)';

function run(args) {
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('a worker that loads the addon and exits leaves the main thread\'s libuv working', { skip: !linux && 'Linux only' }, () => {
  const out = run(['addon']);
  assert.equal(out.childExit, 0, 'the child process was reaped');
  assert.equal(out.readFile, true, 'the thread pool still works');
  assert.deepEqual(out.closedFds, [], 'no descriptor of the main thread was closed');
});

test('workers with Redis Routers never closed end without aborting the process', { skip: skipRedis, timeout: 120_000 }, async () => {
  const redis = await startRedis(server);
  try {
    const out = run(['redis', String(redis.port)]);
    assert.equal(out.childExit, 0);
    assert.equal(out.readFile, true);
    assert.deepEqual(out.closedFds, []);
  } finally {
    await stopRedis(redis);
  }
});
