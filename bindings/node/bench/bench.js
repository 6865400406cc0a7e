'use strict';
// bench/bench.js - per-call cost of select + report(200) from Node against
// the same loop in C (bench/baseline.c, a bench-only addon built by meson:
// STICKY_NODE_BENCH_ADDON) on the same request, in the same process. One
// JSON line per case: {"bench", "ns_per_op", "ratio_vs", "ratio",
// "added_ns"}. Cases: a small body (Buffer, and a string, which is copied
// as UTF-8), a precomputed key (router.key), a 50 KB Buffer body (read in
// place: ratio ~1) and the same as a string (copied). Target: added_ns <=
// 2000 per select + report.
const { Router, ChannelSet } = require('../lib');

const N = Number(process.env.BENCH_N || 200000);
const baseline = process.env.STICKY_NODE_BENCH_ADDON ? require(process.env.STICKY_NODE_BENCH_ADDON) : null;

function conversation(bytes) {
  const messages = [{ role: 'user', content: 'Summarise the attached report.' },
    { role: 'assistant', content: 'Sure - here is the summary.' },
    { role: 'user', content: 'Now list the risks.' }];
  const body = { model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'You are helpful.', messages };
  let s = JSON.stringify(body);
  if (bytes > s.length) {
    messages.push({ role: 'assistant', content: 'x'.repeat(bytes - s.length - 40) });
    messages.push({ role: 'user', content: 'thanks' });
    s = JSON.stringify(body);
  }
  return s;
}

function timeNode(router, cs, req, n) {
  const ok = { status: 200 };
  for (let i = 0; i < Math.min(n, 20000); i++) router.report(router.select(req), ok); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) router.report(router.select(req), ok);
  return Number(process.hrtime.bigint() - t0) / n;
}

function timeC(buf, n, useKey) {
  if (!baseline) return null;
  baseline.run(buf, Math.min(n, 20000), useKey); // warm-up
  return baseline.run(buf, n, useKey);
}

function line(bench, ns, vs, cns) {
  const out = { bench, ns_per_op: Math.round(ns), ratio_vs: vs, ratio: cns ? +(ns / cns).toFixed(3) : null,
    added_ns: cns ? Math.round(ns - cns) : null };
  console.log(JSON.stringify(out));
  return out;
}

const small = conversation(0);
const large = conversation(50 * 1024);
const cs = new ChannelSet(['A', 'B', 'C']);
const router = new Router();
const results = [];

const cSmall = timeC(Buffer.from(small), N, false);
line('c_select_small', cSmall ?? 0, null, null);
results.push(line('node_select_small', timeNode(router, cs, { body: Buffer.from(small), tenant: 'bench', channels: cs }, N), 'c_select_small', cSmall));
line('node_select_small_string', timeNode(router, cs, { body: small, tenant: 'bench', channels: cs }, N), 'c_select_small', cSmall);

const cKey = timeC(Buffer.from(small), N, true);
line('c_select_key', cKey ?? 0, null, null);
const key = router.key(small, { tenant: 'bench' });
results.push(line('node_select_key', timeNode(router, cs, { key, channels: cs }, N), 'c_select_key', cKey));

const nLarge = Math.max(1000, Math.floor(N / 20));
const cLarge = timeC(Buffer.from(large), nLarge, false);
line('c_select_50k', cLarge ?? 0, null, null);
results.push(line('node_select_50k_buffer', timeNode(router, cs, { body: Buffer.from(large), tenant: 'bench', channels: cs }, nLarge), 'c_select_50k', cLarge));
line('node_select_50k_string', timeNode(router, cs, { body: large, tenant: 'bench', channels: cs }, nLarge), 'c_select_50k', cLarge);
router.close();

if (process.env.BENCH_ENFORCE === '1') {
  const over = results.filter((r) => r.added_ns !== null && r.added_ns > 2000);
  if (over.length) {
    console.error(`over the 2 us target: ${over.map((r) => r.bench).join(', ')}`);
    process.exit(1);
  }
}
