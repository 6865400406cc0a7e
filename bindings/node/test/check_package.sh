#!/bin/bash
# test/check_package.sh - the package as a user gets it: install this
# build's libsticky into a temporary prefix (meson install --destdir, .pc
# files pointed at it), `npm pack` bindings/node, `npm install` the tarball
# into a fresh project with PKG_CONFIG_PATH=<prefix>/lib/pkgconfig and
# npm_config_nodedir=/usr (node-gyp builds the addon with the local Node
# headers: no download; --offline: nothing from the network at all), then
# require it, check it loaded the prefix's libsticky, and select; the
# addon must be linked with -z nodelete (test/worker.test.js says why).
# Exit 77 (skipped) when npm / node-gyp's toolchain is missing, except in CI.
# usage: check_package.sh PKG_DIR SOURCE_ROOT BUILD_ROOT [MESON]
set -euo pipefail
pkgdir=$1 src=$2 build=$3 meson=${4:-meson}
unset STICKY_NODE_ADDON LD_LIBRARY_PATH

skip() {
    echo "SKIP: $*"
    if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and $*"; exit 1; fi
    exit 77
}
command -v npm >/dev/null || skip "no npm"
npm_root=$(dirname "$(readlink -f "$(command -v npm)")")/..
[ -f "$npm_root/node_modules/node-gyp/bin/node-gyp.js" ] || skip "npm has no bundled node-gyp"
command -v python3 >/dev/null && command -v make >/dev/null && command -v cc >/dev/null ||
    skip "node-gyp needs python3, make and cc"
nodedir=${npm_config_nodedir:-/usr}
[ -f "$nodedir/include/node/node_api.h" ] || skip "no Node headers in $nodedir/include/node"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest

# 1. This build's libraries, headers and .pc files in a prefix.
"$meson" install -C "$build" --no-rebuild --destdir "$dest" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$dest" -name sticky.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: no sticky.pc installed"; exit 1; }
pcdir=$(dirname "$pc")
for f in "$pcdir"/sticky*.pc; do
    sed -i "s|^prefix=|prefix=$dest|" "$f"
done
export PKG_CONFIG_PATH=$pcdir
echo "pkg-config --libs sticky: $(pkg-config --libs sticky)"
libdir=$(pkg-config --variable=libdir sticky)
[ -f "$libdir/libsticky.so.0" ] || { echo "FAIL: $libdir/libsticky.so.0 missing"; exit 1; }

# 2. npm pack, then install the tarball offline into a new project.
export npm_config_cache=$work/npm-cache npm_config_nodedir=$nodedir
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
(cd "$work" && npm pack "$pkgdir" --silent >"$work/pack.log" 2>&1) ||
    { cat "$work/pack.log"; echo "FAIL: npm pack"; exit 1; }
tarball=$(ls "$work"/libsticky-*.tgz)
echo "packed: $(basename "$tarball") ($(tar tzf "$tarball" | wc -l) files)"
if tar tzf "$tarball" | grep -qE '^package/(test|bench|build)/'; then
    echo "FAIL: the tarball ships tests, benchmarks or build outputs"; tar tzf "$tarball"; exit 1
fi
mkdir "$work/app"
cd "$work/app"
echo '{"name": "app", "version": "1.0.0", "private": true}' >package.json
npm install --offline --no-audit --no-fund "$tarball" >"$work/npm.log" 2>&1 ||
    { cat "$work/npm.log"; echo "FAIL: npm install of the tarball"; exit 1; }
addon=node_modules/libsticky/build/Release/sticky.node
[ -f "$addon" ] || { echo "FAIL: node-gyp built no $addon"; cat "$work/npm.log"; exit 1; }
# -z nodelete (binding.gyp): a worker thread's exit must not unload it.
if command -v readelf >/dev/null; then
    readelf -d "$addon" | grep -q NODELETE ||
        { echo "FAIL: $addon is not linked with -z nodelete"; readelf -d "$addon"; exit 1; }
fi

# 3. It loads the prefix's library (rpath, no LD_LIBRARY_PATH) and selects.
where=$(ldd "$addon" | awk '$1 == "libsticky.so.0" { print $3 }')
[ "$(realpath "$where")" = "$(realpath "$libdir/libsticky.so.0")" ] ||
    { echo "FAIL: $addon loads libsticky from '$where', not $libdir"; ldd "$addon"; exit 1; }
cat >smoke.js <<'JS'
const assert = require('assert');
const { Router, ChannelSet, libraryPath, libraryVersion, hasRedis } = require('libsticky');
const r = new Router({ ttlSeconds: 600 });
const cs = new ChannelSet(['A', 'B']);
const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }));
const d = r.select({ body, tenant: 't', channels: cs });
r.report(d, { status: 200 });
assert.equal(r.select({ body, tenant: 't', channels: cs }).channel, d.channel);
r.close();
console.log(`ok: libsticky ${libraryVersion} from ${libraryPath}; redis: ${hasRedis}; chose ${d.channel}`);
JS
node smoke.js
