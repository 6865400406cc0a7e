'use strict';
// test/e2e.test.js - end to end over real HTTP: a small gateway (Node's
// http + router.route) in front of three fake Anthropic upstreams; 20
// multi-turn Claude-style conversations go through it. Each stays on one
// upstream; when its upstream starts answering 429 (rate limit rejected,
// with a reset) it moves exactly once and stays; no client request fails
// while a healthy upstream exists.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Router, ChannelSet, NoChannelError } = require('../lib');

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A fake Anthropic upstream; .limited switches it to 429s. */
function upstream(name) {
  const u = { name, limited: false, requests: 0 };
  u.server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    u.requests++;
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404).end();
      return;
    }
    if (u.limited) {
      const reset = Math.floor(Date.now() / 1000) + 600;
      res.writeHead(429, {
        'content-type': 'application/json', 'retry-after': '600',
        'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(reset),
      });
      res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'limited' } }));
      return;
    }
    const msg = JSON.parse(body);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: `msg_${u.requests}`, type: 'message', role: 'assistant', model: msg.model,
      content: [{ type: 'text', text: `answer from ${name} to ${msg.messages.length} messages` }],
      stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 },
    }));
  });
  return u;
}

/** POST body to 127.0.0.1:port/v1/messages -> {status, headers, body}. */
function post(port, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/messages',
      headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } }, (res) => {
      readBody(res).then((b) => resolve({ status: res.statusCode, headers: res.headers, body: b }), reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(Object.assign(new Error('upstream timed out'), { name: 'TimeoutError' })));
    req.end(body);
  });
}

/** The gateway: route() over the upstreams; the answer names the upstream. */
function gateway(router, channels, ports) {
  return http.createServer(async (req, res) => {
    const body = await readBody(req);
    try {
      const out = await router.route({ body, tenant: req.headers['x-api-key'] || '' }, async (d) => {
        const r = await post(ports[d.channel], body);
        return { status: r.status, headers: r.headers, result: { ...r, upstream: d.channel } };
      }, { channels, maxAttempts: 3 });
      res.writeHead(out.status, { 'content-type': 'application/json', 'x-upstream': out.upstream });
      res.end(out.body);
    } catch (e) {
      res.writeHead(e instanceof NoChannelError ? 503 : 502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'gateway', message: e.message } }));
    }
  });
}

function claudeBody(conv, turn) {
  const messages = [];
  for (let t = 0; t <= turn; t++) {
    messages.push({ role: 'user', content: [{ type: 'text', text: `conversation ${conv}, question ${t}` }] });
    if (t < turn) messages.push({ role: 'assistant', content: [{ type: 'text', text: `answer ${t}` }] });
  }
  return Buffer.from(JSON.stringify({
    model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'You are Claude, a helpful assistant.', messages,
  }));
}

test('gateway: conversations stick, move exactly once on 429, and never fail while a healthy upstream exists', { timeout: 60_000 }, async () => {
  const ups = ['up0', 'up1', 'up2'].map(upstream);
  const ports = {};
  for (const u of ups) ports[u.name] = await listen(u.server);
  const router = new Router();
  const channels = new ChannelSet(ups.map((u) => u.name));
  const gw = gateway(router, channels, ports);
  const gwPort = await listen(gw);
  const seen = Array.from({ length: 20 }, () => []);
  const turn = async (t) => {
    await Promise.all(seen.map(async (list, conv) => {
      const r = await post(gwPort, claudeBody(conv, t), { 'x-api-key': 'tenant-1' });
      assert.equal(r.status, 200, `conversation ${conv} turn ${t}: ${r.body}`);
      assert.match(JSON.parse(r.body).content[0].text, new RegExp(`^answer from ${r.headers['x-upstream']}`));
      list.push(r.headers['x-upstream']);
    }));
  };
  try {
    await turn(0);
    await turn(1);
    for (const list of seen) assert.equal(list[0], list[1], 'sticky across turns');
    assert.equal(new Set(seen.map((l) => l[0])).size, 3, 'spread over the upstreams');

    const victim = ups.find((u) => u.name === seen[0][0]);
    const onVictim = seen.filter((l) => l[0] === victim.name).length;
    victim.limited = true;
    const before = victim.requests;
    for (let t = 2; t < 6; t++) await turn(t);
    for (const list of seen) {
      const moves = list.filter((c, i) => i > 0 && c !== list[i - 1]).length;
      if (list[0] === victim.name) {
        assert.equal(moves, 1, `moved exactly once: ${list.join(',')}`);
        assert.ok(list.slice(2).every((c) => c === list[2] && c !== victim.name), `stays on the new upstream: ${list.join(',')}`);
      } else {
        assert.equal(moves, 0, `unaffected: ${list.join(',')}`);
      }
    }
    // The limited upstream saw each of its conversations once more (the 429
    // that moved it, or the first 429 put the whole account in cooldown).
    assert.ok(victim.requests - before <= onVictim, `${victim.requests - before} requests after the 429s`);
    assert.ok(victim.requests - before >= 1);
    const s = router.stats();
    assert.ok(s.failovers >= 1);
  } finally {
    router.close();
    await Promise.all([gw, ...ups.map((u) => u.server)].map((s) => new Promise((r) => s.close(r))));
  }
});
