'use strict';
// lib/errors.js - the error classes: StickyError (a libsticky call failed:
// .code is the library's negative code, .name its symbolic name such as
// "STICKY_EINVAL") and NoChannelError (no usable channel; .retryAtMs).
const native = require('./native');

const ENOCHANNEL = -7;
const EINPROGRESS = -14;

/** A libsticky call failed. */
class StickyError extends Error {
  constructor(code, what) {
    const name = native.errName(code);
    super(`${what}: ${name}: ${native.strerror(code)}`);
    Object.defineProperty(this, 'name', { value: name, enumerable: false, writable: true, configurable: true });
    this.code = code;
  }
}

/** No channel is usable for the request; retryAtMs says when one may be (0: unknown). */
class NoChannelError extends StickyError {
  constructor(code, what, retryAtMs) {
    super(code, what);
    this.retryAtMs = retryAtMs || 0;
  }
}

/** What the library's calls throw (the addon calls this factory). */
function makeError(code, what, retryAtMs) {
  return code === ENOCHANNEL ? new NoChannelError(code, what, retryAtMs) : new StickyError(code, what);
}
native.setErrorFactory(makeError);

/** A helper for hosts' send(): throw it (or any error named TimeoutError) to report a timeout. */
class TimeoutError extends Error {
  constructor(message = 'upstream timed out') {
    super(message);
    this.name = 'TimeoutError';
    this.code = 'ETIMEDOUT';
  }
}

function closedError() {
  const e = new Error('Router is closed');
  e.code = 'ERR_STICKY_CLOSED';
  return e;
}

module.exports = { StickyError, NoChannelError, TimeoutError, makeError, closedError, ENOCHANNEL, EINPROGRESS };
