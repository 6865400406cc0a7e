'use strict';
// lib/index.js - the libsticky package: sticky-session routing decisions
// for LLM API gateways (Router, ChannelSet, errors), on the C library
// through a Node-API addon. See README.md.
const native = require('./native');
const { StickyError, NoChannelError, TimeoutError } = require('./errors');
const { ChannelSet } = require('./channels');
const { Router, Decision, Key, RETRYABLE } = require('./router');

const info = native.info();

module.exports = {
  Router,
  ChannelSet,
  Decision,
  Key,
  StickyError,
  NoChannelError,
  TimeoutError,
  RETRYABLE,
  /** The loaded libsticky's version, e.g. "0.5.0". */
  libraryVersion: info.version,
  /** The headers' version the addon was compiled with. */
  headersVersion: info.headersVersion,
  /** Path of the loaded libsticky. */
  libraryPath: info.path,
  /** Whether the addon was built with the Redis store (libsticky-redis-uv). */
  hasRedis: info.redis,
};
