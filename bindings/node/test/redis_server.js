'use strict';
// test/redis_server.js - a throwaway redis-server for the tests: started
// on a free 127.0.0.1 port in a temporary directory (no persistence),
// answered PING before it is handed out, killed and removed by stop().
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => { c.destroy(); resolve(d.toString().startsWith('+PONG')); });
    c.once('error', () => resolve(false));
  });
}

async function startRedis(server) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sticky-node-redis-'));
  const port = await freePort();
  const proc = spawn(server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) return { port, proc, dir };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

function stopRedis(r) {
  return new Promise((resolve) => {
    if (r.proc.exitCode !== null || r.proc.signalCode !== null) {
      fs.rmSync(r.dir, { recursive: true, force: true });
      resolve();
      return;
    }
    r.proc.once('exit', () => { fs.rmSync(r.dir, { recursive: true, force: true }); resolve(); });
    r.proc.kill('SIGKILL');
  });
}

module.exports = { startRedis, stopRedis };
