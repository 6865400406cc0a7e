'use strict';
// test/worker_child.js - run by test/worker.test.js in a process of its
// own: worker threads load the package and end, then the main thread
// checks that it still works. `node worker_child.js addon`: a worker
// requires the addon and exits; the main thread's signal pipe and thread
// pool must survive (a child process is reaped, fs.promises works, no fd
// that existed before was closed). `node worker_child.js redis PORT`:
// workers make Redis Routers, select, and are terminated (or exit)
// without close(); the process must not abort. Prints one JSON line.
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const pkg = require('node:path').join(__dirname, '..');

// Open descriptors as "fd->target" (the directory listing's own fd is gone
// by the time it is read: left out).
function fds() {
  return fs.readdirSync('/proc/self/fd').flatMap((f) => {
    try { return [`${f}->${fs.readlinkSync(`/proc/self/fd/${f}`)}`]; } catch { return []; }
  });
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

async function runWorker(data, terminate) {
  const w = new Worker(__filename, { workerData: data });
  const exited = new Promise((res) => w.once('exit', res));
  await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
  if (terminate) await w.terminate();
  return exited;
}

async function main() {
  const [mode, port] = process.argv.slice(2);
  const before = fds();
  const out = { mode };
  if (mode === 'addon') {
    await runWorker({ mode }, false);
    await runWorker({ mode }, true);
  } else {
    for (let i = 0; i < 4; i++) await runWorker({ mode, port: Number(port), exit: i % 2 === 1 }, i % 2 === 0);
  }
  // The main thread's libuv: signals (SIGCHLD reaping) and the thread pool.
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  out.childExit = await withTimeout(new Promise((res) => child.once('exit', (code) => res(code))), 5000, 'child reaped');
  out.readFile = (await withTimeout(fs.promises.readFile(__filename, 'utf8'), 5000, 'fs.promises.readFile')).length > 0;
  const after = fds();
  out.closedFds = before.filter((f) => !after.includes(f));
  console.log(JSON.stringify(out));
}

function worker() {
  if (workerData.mode === 'addon') {
    require(process.env.STICKY_NODE_ADDON || require('node:path').join(pkg, 'build', 'Release', 'sticky.node'));
    parentPort.postMessage('loaded');
    return;
  }
  const { Router, ChannelSet } = require(pkg);
  const mem = new Router(); // a memory Router never closed either
  const cs = new ChannelSet(['A', 'B']);
  const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'worker' }] }));
  mem.report(mem.select({ body, channels: cs }), { status: 200 });
  const r = new Router({ redis: { host: '127.0.0.1', port: workerData.port, poolSize: 2 } });
  r.selectAsync({ body, channels: cs }).then((d) => {
    r.report(d, { status: 200 });
    r.selectAsync({ body, channels: cs }); // one still in flight
    parentPort.postMessage('selected');
    if (workerData.exit) process.exit(0);
  });
}

if (isMainThread) {
  main().catch((e) => { console.log(JSON.stringify({ error: String(e && e.stack || e) })); process.exit(1); });
} else {
  worker();
}
