'use strict';
// test/shm_worker.js - a child process of test/shm.test.js: one Router on
// the shared-memory segment given in argv[2]; each IPC message
// {turn, status, headers} is selected and reported, the answer sent back.
const { Router } = require('../lib');

const router = new Router({ shm: process.argv[2] });

function body(turn) {
  const messages = [];
  for (let t = 0; t < turn; t++) {
    messages.push({ role: 'user', content: `shared conversation q${t}` });
    if (t < turn - 1) messages.push({ role: 'assistant', content: `a${t}` });
  }
  return JSON.stringify({ model: 'claude-sonnet-4-5', messages });
}

process.on('message', (m) => {
  if (m.exit) {
    router.close();
    process.disconnect();
    return;
  }
  try {
    const d = router.select({ body: body(m.turn), tenant: 't', channels: ['A', 'B', 'C'] });
    router.report(d, { status: m.status, headers: m.headers });
    process.send({ channel: d.channel, reason: d.reason, pid: process.pid });
  } catch (e) {
    process.send({ error: `${e.name}: ${e.message}` });
  }
});
process.send({ ready: true });
