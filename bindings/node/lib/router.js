'use strict';
// lib/router.js - the Router: one libsticky context (memory store, a
// shared-memory segment, or Redis on Node's own event loop), with select /
// selectAsync / report / release, the retry helper route(), precomputed
// keys, stats and the Prometheus text; and the Decision and Key objects.
const native = require('./native');
const { ChannelSet } = require('./channels');
const { flatten } = require('./headers');
const { makeError, closedError, EINPROGRESS } = require('./errors');

const DECISION_SIZE = native.info().decisionSize;
const KEY_CHAIN_SIZE = native.info().keyChainSize;
const scratchI32 = new Int32Array(native.scratch);
const scratchF64 = new Float64Array(native.scratch);
const SELECT_STRICT = 1;

// Statuses route() moves on from (the library has already cooled the channel).
// 401 / 403: the account's credential was refused; another account may serve.
const RETRYABLE = new Set([401, 403, 408, 429, 500, 502, 503, 504, 529]);

const REASONS = [];
for (let i = 0; i <= 9; i++) REASONS.push(native.reasonName(i));
const FAMILIES = ['all', 'opus', 'sonnet', 'haiku', 'other'];
const POLICIES = { lru: 0, rendezvous: 1, random: 2 };

const CONFIG_KEYS = new Set(native.configKeys());
const REDIS_KEYS = new Set(native.redisKeys());
const ROUTER_KEYS = new Set(['clock', 'shm', 'redis', 'fromEnv']);

// Decisions live in slabs: one ArrayBuffer per decision would cost more
// than the select itself (~0.5 us); a slab lives while any of its
// decisions does.
const SLOT = (DECISION_SIZE + 15) & ~15;
const SLAB_SLOTS = 128;
let slab = null;
let slabNext = SLAB_SLOTS;
function allocSlot() {
  if (slabNext === SLAB_SLOTS) {
    slab = new ArrayBuffer(SLOT * SLAB_SLOTS);
    slabNext = 0;
  }
  return slabNext++ * SLOT;
}

let rawOf; // module-private: the slab holding a Decision's sticky_decision
let offOf; // ... and its offset there
let chainOf; // module-private: a Key's sticky_key_chain
let bodyOf; // ... and the body select() reads the model from (no model given)

/**
 * A routing decision. Report it (router.report) or release it
 * (router.release) exactly once. Frozen; `open` says whether the attempt
 * is still open.
 */
class Decision {
  #raw;
  #off;
  #key;
  #model;
  #movedFrom;
  static {
    rawOf = (d) => (d instanceof Decision ? d.#raw : undefined);
    offOf = (d) => d.#off;
  }

  constructor(raw, off, cs) {
    this.#raw = raw;
    this.#off = off;
    const i = scratchI32[0];
    /** The chosen channel's id. */
    this.channel = cs.ids[i];
    /** Its index in the ChannelSet. */
    this.channelIndex = i;
    /** Why: "hit", "promoted_hit", "new", "failover", "spill", "explicit_hit", "migrated", "side". */
    this.reason = REASONS[scratchI32[1]] || 'none';
    /** The store failed; the decision was made without it. */
    this.storeDegraded = scratchI32[2] !== 0;
    /** The request's model family ("all", "opus", "sonnet", "haiku", "other"). */
    this.family = FAMILIES[scratchI32[3]] || 'other';
    Object.freeze(this);
  }

  /** The deepest session key, 16 hex characters ("" when unkeyed). */
  get key() {
    if (this.#key === undefined) this.#key = native.decisionString(this.#raw, this.#off, 0);
    return this.#key;
  }

  /** The request's model ("" if none). */
  get model() {
    if (this.#model === undefined) this.#model = native.decisionString(this.#raw, this.#off, 1);
    return this.#model;
  }

  /** The channel this conversation moved from (thinking signatures), or null. */
  get movedFrom() {
    if (this.#movedFrom === undefined) this.#movedFrom = native.decisionString(this.#raw, this.#off, 2) || null;
    return this.#movedFrom;
  }

  /** Whether the attempt is still open (not reported or released). */
  get open() {
    return native.decisionOpen(this.#raw, this.#off);
  }

  toJSON() {
    return {
      channel: this.channel, channelIndex: this.channelIndex, reason: this.reason, key: this.key,
      movedFrom: this.movedFrom, storeDegraded: this.storeDegraded, model: this.model, open: this.open,
    };
  }
}

/**
 * A precomputed session key (router.key()): pass it as select({key}) to
 * skip hashing the body again (e.g. when the key was computed while the
 * body streamed in). It carries the tenant and the model: the model given
 * to key(), else the body's top-level "model", which select() has the
 * library read from the body the Key keeps (a scan, no hashing), so that
 * channels' model lists still apply.
 */
class Key {
  #chain;
  #body;
  static {
    chainOf = (k) => (k instanceof Key ? k.#chain : undefined);
    bodyOf = (k) => k.#body;
  }

  constructor(chain, hex, tenant, model, body) {
    this.#chain = chain;
    this.#body = body;
    /** The deepest key, 16 hex characters ("" when nothing to key on). */
    this.hex = hex;
    this.tenant = tenant;
    this.model = model;
    Object.freeze(this);
  }
}

function abortError(signal) {
  if (signal && signal.reason !== undefined) return signal.reason;
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

function isTimeout(e) {
  return e != null && (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' ||
    e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.timeout === true);
}

// The client went away (an AbortSignal fired): the attempt is released,
// not reported, and route() rethrows at once.
function isAbort(e) {
  return e != null && (e.name === 'AbortError' || e.code === 'ABORT_ERR');
}

function isStatus(s) {
  return Number.isInteger(s) && s >= 100 && s <= 999;
}

function checkRequest(req) {
  if (req === null || typeof req !== 'object') throw new TypeError('select: expected a request object');
}

// Where a selection's key, tenant and model come from: the request's own
// fields, else its Key's (a Key carries the tenant and model it was derived
// with, or the body, from which the library reads the top-level "model").
function requestSource(req) {
  const key = req.key;
  if (key === undefined) {
    return { body: req.body, tenant: req.tenant, model: req.model, chain: undefined };
  }
  const chain = chainOf(key);
  if (chain === undefined) throw new TypeError('select: key must come from router.key()');
  const tenant = req.tenant === undefined ? key.tenant : req.tenant;
  const model = req.model === undefined ? key.model : req.model;
  const body = req.body === undefined && model === undefined ? bodyOf(key) : req.body;
  return { body, tenant, model, chain };
}

class Router {
  #h;
  #keep; // the clock and settle(): the addon holds them weakly (they capture this)
  #pending = new Map();
  #nextId = 1;
  #closed = false;

  /**
   * @param {object} [options] sticky_config settings in camelCase
   *   (ttlSeconds, cooldown429Seconds, ...), and clock (() => ms), shm
   *   (path of a shared-memory segment), redis ({host, port, prefix,
   *   commandTimeoutMs, ...}), fromEnv (read STICKY_* / SESSION_* first).
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('Router: options must be an object');
    const cfg = {};
    for (const k of Object.keys(options)) {
      if (ROUTER_KEYS.has(k)) continue;
      if (!CONFIG_KEYS.has(k)) throw new TypeError(`Router: unknown option ${JSON.stringify(k)}`);
      let v = options[k];
      if (k === 'selectPolicy' && typeof v === 'string') {
        if (!(v in POLICIES)) throw new TypeError(`Router: selectPolicy ${JSON.stringify(v)}: expected lru, rendezvous or random`);
        v = POLICIES[v];
      }
      cfg[k] = v;
    }
    const { clock, shm, redis, fromEnv } = options;
    if (clock != null && typeof clock !== 'function') throw new TypeError('Router: clock must be a function returning milliseconds');
    if (shm != null && typeof shm !== 'string') throw new TypeError('Router: shm must be a path');
    if (redis != null) {
      if (typeof redis !== 'object') throw new TypeError('Router: redis must be an object');
      if (REDIS_KEYS.size === 0) {
        const e = new Error('Router: this build of the addon has no Redis support (libsticky-redis-uv was not found when it was built)');
        e.code = 'ERR_STICKY_NO_REDIS';
        throw e;
      }
      for (const k of Object.keys(redis)) {
        if (!REDIS_KEYS.has(k)) throw new TypeError(`Router: unknown redis option ${JSON.stringify(k)}`);
      }
    }
    const settle = (id, rc) => this.#settle(id, rc);
    this.#h = native.routerNew(cfg, !!fromEnv, clock || null, shm == null ? null : shm,
      redis || null, settle);
    this.#keep = [clock, settle];
    /** Whether selections may complete later (a Redis store). */
    this.async = redis != null;
  }

  /** Choose a channel for one request (memory / shm store). Throws
   * NoChannelError when nothing is usable, StickyError otherwise; with
   * a Redis store StickyError STICKY_EWOULDBLOCK (use selectAsync). */
  select(req) {
    checkRequest(req);
    const cs = ChannelSet.from(req.channels);
    const off = allocSlot();
    const raw = slab;
    const { body, tenant, model, chain } = requestSource(req);
    native.select(this.#h, ChannelSet.handleOf(cs), raw, off, body, tenant, model,
      req.headers == null ? undefined : flatten(req.headers), req.sessionId,
      req.strict ? SELECT_STRICT : 0, chain);
    return new Decision(raw, off, cs);
  }

  /** select() that never blocks the event loop; resolves at once with the
   * memory / shm store, through Node's loop with Redis. Abort with
   * req.signal (an AbortSignal). */
  selectAsync(req) {
    try {
      checkRequest(req);
      const signal = req.signal;
      if (signal && signal.aborted) return Promise.reject(abortError(signal));
      const cs = ChannelSet.from(req.channels);
      const off = allocSlot();
      const raw = slab;
      const { body, tenant, model, chain } = requestSource(req);
      const id = this.#nextId;
      this.#nextId = id >= 0xfffffff0 ? 1 : id + 1;
      const rc = native.selectStart(this.#h, ChannelSet.handleOf(cs), raw, off, body, tenant, model,
        req.headers == null ? undefined : flatten(req.headers), req.sessionId,
        req.strict ? SELECT_STRICT : 0, chain, id);
      if (rc !== EINPROGRESS) return Promise.resolve(new Decision(raw, off, cs));
      return new Promise((resolve, reject) => {
        const p = { resolve, reject, raw, off, cs, signal, onAbort: null };
        if (signal) {
          p.onAbort = () => {
            if (this.#pending.get(id) === p && native.selectCancel(this.#h, id)) {
              this.#pending.delete(id);
              reject(abortError(signal));
            }
          };
          signal.addEventListener('abort', p.onAbort, { once: true });
        }
        this.#pending.set(id, p);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #settle(id, rc) {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (p.signal) p.signal.removeEventListener('abort', p.onAbort);
    native.decisionFill(p.raw, p.off);
    if (rc === 0) p.resolve(new Decision(p.raw, p.off, p.cs));
    else p.reject(makeError(rc, 'select', scratchF64[4]));
  }

  /** How the attempt ended: the upstream's HTTP status and response
   * headers (rate-limit headers are read), or timeout / transport. */
  report(decision, outcome) {
    const raw = rawOf(decision);
    if (raw === undefined) throw new TypeError('report: expected a Decision');
    if (outcome === null || typeof outcome !== 'object') throw new TypeError('report: expected {status, headers} or {timeout: true} / {transport: true}');
    const kind = outcome.timeout ? 1 : outcome.transport ? 2 : 0;
    if (kind === 0 && typeof outcome.status !== 'number') throw new TypeError('report: status (a number), timeout or transport is required');
    native.report(this.#h, raw, offOf(decision), kind, outcome.status, outcome.retryAfterSeconds,
      outcome.resetEpochSeconds, outcome.headers == null ? undefined : flatten(outcome.headers));
  }

  /** End the attempt without an outcome (the client went away). Idempotent. */
  release(decision) {
    const raw = rawOf(decision);
    if (raw === undefined) throw new TypeError('release: expected a Decision');
    native.release(this.#h, raw, offOf(decision));
  }

  /** A reusable key for a body (select({key})): tenant / model / headers /
   * sessionId as for select. Without opts.model the Key keeps the body,
   * and select({key}) has the library read its top-level "model" (do not
   * change a Buffer body until then; give the model to skip that scan). */
  key(body, opts = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('key: options must be an object');
    const chain = new ArrayBuffer(KEY_CHAIN_SIZE);
    const hex = native.keyDerive(this.#h, chain, body, opts.tenant,
      opts.headers == null ? undefined : flatten(opts.headers), opts.sessionId);
    const model = opts.model == null ? undefined : opts.model;
    if (model !== undefined && typeof model !== 'string') throw new TypeError('key: model must be a string');
    return new Key(chain, hex, opts.tenant, model, model === undefined ? body : undefined);
  }

  /**
   * select -> send -> report, retrying on the channel the library chooses
   * next (statuses 401, 403, 408, 429, 500, 502, 503, 504, 529), up to maxAttempts.
   * send(decision) resolves to {status, headers, result} or throws (a
   * transport failure; an error named TimeoutError / code ETIMEDOUT is
   * reported as a timeout; one named AbortError / code ABORT_ERR - the
   * client went away - releases the attempt and is rethrown at once).
   * Resolves to the last result; rethrows the last error when the last
   * attempt threw. Whatever else throws between the selection and its
   * report (a bad send() result, bad headers) releases the attempt first.
   */
  async route(request, send, { channels, maxAttempts = 3 } = {}) {
    if (typeof send !== 'function') throw new TypeError('route: send must be a function');
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TypeError('route: maxAttempts must be an integer >= 1');
    checkRequest(request);
    const cs = ChannelSet.from(channels !== undefined ? channels : request.channels);
    const req = { ...request, channels: cs };
    let lastErr, result;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const d = await this.selectAsync(req);
      let ended = false; // reported: anything thrown before releases the attempt
      try {
        let res;
        try {
          res = await send(d);
        } catch (e) {
          if (isAbort(e)) throw e; // the client went away: not the channel's fault
          this.report(d, isTimeout(e) ? { timeout: true } : { transport: true });
          ended = true;
          lastErr = e;
          continue;
        }
        if (res === null || typeof res !== 'object' || !isStatus(res.status)) {
          throw new TypeError('route: send() must resolve to {status (an integer HTTP status 100..999), headers, result}');
        }
        this.report(d, { status: res.status, headers: res.headers });
        ended = true;
        lastErr = undefined;
        result = res.result;
        if (!RETRYABLE.has(res.status)) return result;
      } finally {
        if (!ended) this.#releaseQuietly(d);
      }
    }
    if (lastErr !== undefined) throw lastErr;
    return result;
  }

  // Ends an attempt route() will not report; an error here (the Router was
  // closed meanwhile) must not hide the one being thrown.
  #releaseQuietly(d) {
    try {
      this.release(d);
    } catch {
      // closed: the attempt went with the context
    }
  }

  /** The context's counters (sticky_ctx_stats, camelCase). */
  stats() { return native.stats(this.#h); }

  /** The Prometheus text exposition of the context's metrics. */
  prometheus() { return native.prometheus(this.#h); }

  /** Selections in progress (Redis). */
  get pending() { return this.#pending.size; }

  /** Whether close() was called. */
  get closed() { return this.#closed; }

  /** Free the context and its store; selections in progress reject with
   * ERR_STICKY_CLOSED. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    native.routerClose(this.#h);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.signal) p.signal.removeEventListener('abort', p.onAbort);
      p.reject(closedError());
    }
  }
}
if (typeof Symbol.dispose === 'symbol') Router.prototype[Symbol.dispose] = Router.prototype.close;

module.exports = { Router, Decision, Key, RETRYABLE };
