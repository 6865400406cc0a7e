'use strict';
// lib/headers.js - headers in the shapes Node hosts have them (a plain
// object such as res.headers, with string or array values; a Map or a
// fetch Headers; an array of [name, value] pairs; a flat rawHeaders array)
// to the flat [name, value, ...] array of strings the addon reads.

function flatten(headers, what = 'headers') {
  if (headers == null) return undefined;
  const out = [];
  const push = (n, v) => {
    if (typeof n !== 'string') throw new TypeError(`${what}: names must be strings`);
    if (Array.isArray(v)) {
      for (const x of v) push(n, x);
      return;
    }
    if (typeof v === 'number') v = String(v);
    if (typeof v !== 'string') throw new TypeError(`${what}: value of ${JSON.stringify(n)} must be a string`);
    out.push(n, v);
  };
  if (Array.isArray(headers)) {
    if (headers.length === 0) return undefined;
    if (Array.isArray(headers[0])) {
      for (const p of headers) {
        if (!Array.isArray(p) || p.length !== 2) throw new TypeError(`${what}: expected [name, value] pairs`);
        push(p[0], p[1]);
      }
    } else {
      if (headers.length % 2 !== 0) throw new TypeError(`${what}: a flat (rawHeaders) array needs an even length`);
      for (let i = 0; i < headers.length; i += 2) push(headers[i], headers[i + 1]);
    }
    return out;
  }
  if (typeof headers !== 'object') throw new TypeError(`${what} must be an object, a Map or an array`);
  if (typeof headers[Symbol.iterator] === 'function' && typeof headers.entries === 'function') {
    for (const [n, v] of headers) push(n, v);
  } else {
    for (const n in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, n) && headers[n] !== undefined) push(n, headers[n]);
    }
  }
  return out.length ? out : undefined;
}

module.exports = { flatten };
