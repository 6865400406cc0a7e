'use strict';
// lib/native.js - loads the compiled addon (sticky.node): the file named by
// STICKY_NODE_ADDON (meson's tests), else the one node-gyp built in
// build/Release. The addon checks the libsticky it was linked with at load
// (version and struct sizes) and throws an Error naming the library when
// they disagree; this module adds which addon file was loaded.
const path = require('path');

function addonPath() {
  if (process.env.STICKY_NODE_ADDON) return path.resolve(process.env.STICKY_NODE_ADDON);
  return path.join(__dirname, '..', 'build', 'Release', 'sticky.node');
}

function load() {
  const file = addonPath();
  try {
    return require(file);
  } catch (e) {
    if (e && e.code === 'ERR_STICKY_ABI') {
      e.message = `${e.message} (addon ${file})`;
      throw e;
    }
    if (e && e.code === 'MODULE_NOT_FOUND') {
      const err = new Error(`libsticky: the addon ${file} is not built ` +
        '(npm install builds it with node-gyp; it needs libsticky found by pkg-config)');
      err.code = 'ERR_STICKY_NO_ADDON';
      err.cause = e;
      throw err;
    }
    throw e;
  }
}

module.exports = load();
module.exports.addonPath = addonPath();
