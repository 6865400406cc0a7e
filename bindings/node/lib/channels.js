'use strict';
// lib/channels.js - ChannelSet: a channel list converted once to the
// library's array (reuse it across requests: converting costs more than a
// select). Channels are strings (ids) or objects {id, models, priority,
// weight, state, maxInflight}.
const native = require('./native');

const STATES = { active: 0, disabled: 1, draining: 2 };
const CHANNEL_KEYS = new Set(['id', 'models', 'priority', 'weight', 'state', 'maxInflight']);

function normalize(c, i) {
  if (typeof c === 'string') return { id: c };
  if (c === null || typeof c !== 'object') throw new TypeError(`channel ${i}: expected a string id or an object`);
  for (const k of Object.keys(c)) {
    if (!CHANNEL_KEYS.has(k)) throw new TypeError(`channel ${i}: unknown key ${JSON.stringify(k)}`);
  }
  if (typeof c.id !== 'string') throw new TypeError(`channel ${i}: id must be a string`);
  const out = { id: c.id };
  if (c.models != null) {
    if (!Array.isArray(c.models) || !c.models.every((m) => typeof m === 'string')) {
      throw new TypeError(`channel ${c.id}: models must be an array of strings`);
    }
    out.models = c.models;
  }
  for (const k of ['priority', 'weight', 'maxInflight']) if (c[k] != null) out[k] = c[k];
  if (c.state != null) {
    if (!(c.state in STATES)) {
      throw new TypeError(`channel ${c.id}: state ${JSON.stringify(c.state)}: expected one of ${Object.keys(STATES).join(', ')}`);
    }
    out.state = STATES[c.state];
  }
  return out;
}

class ChannelSet {
  #handle;
  /** @param {Iterable<string|object>} channels */
  constructor(channels) {
    if (channels == null || typeof channels === 'string' || typeof channels[Symbol.iterator] !== 'function') {
      throw new TypeError('ChannelSet: expected an array of channels');
    }
    const list = Array.from(channels, normalize);
    if (list.length === 0) throw new TypeError('ChannelSet: no channels');
    this.#handle = native.channelsNew(list);
    /** The channel ids, in order. */
    this.ids = Object.freeze(list.map((c) => c.id));
    Object.freeze(this);
  }

  get length() { return this.ids.length; }

  static handleOf(cs) { return cs.#handle; }

  /** A ChannelSet as is; anything else converted. */
  static from(channels) {
    return channels instanceof ChannelSet ? channels : new ChannelSet(channels);
  }
}

module.exports = { ChannelSet, STATES };
