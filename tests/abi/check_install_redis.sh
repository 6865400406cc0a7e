#!/bin/bash
# tests/abi/check_install_redis.sh - `meson install --destdir` into a temp
# tree, check sticky-redis.pc (Requires: sticky; hiredis only private) and
# sticky/redis_store.h are installed, then build tests/abi/install_smoke_redis.c
# with `pkg-config --cflags --libs sticky-redis` from that tree and run it.
# Also checks that libsticky itself does not link hiredis.
# usage: check_install_redis.sh MESON BUILD_DIR SMOKE_C CC... [-- extra cflags...]
set -euo pipefail
meson=$1 build=$2 smoke=$3
shift 3
cc=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cc+=("$1"); shift; done
[ $# -gt 0 ] && shift
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(find "$dest" -name sticky-redis.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: sticky-redis.pc not installed"; exit 1; }
grep -q '^Requires: sticky' "$pc" || { echo "FAIL: sticky-redis.pc lacks Requires: sticky"; exit 1; }
grep -q '^Requires.private: hiredis' "$pc" ||
    { echo "FAIL: hiredis not in Requires.private"; exit 1; }
[ -f "$(find "$dest" -path '*/include/sticky/redis_store.h' | head -n1)" ] ||
    { echo "FAIL: sticky/redis_store.h not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs sticky-redis)
echo "pkg-config --cflags --libs sticky-redis: $flags"
core=$(find "$dest" -name 'libsticky.so.*' -type f | head -n1)
if readelf -d "$core" | grep -q hiredis; then
    echo "FAIL: libsticky links hiredis"; exit 1
fi
# shellcheck disable=SC2086
"${cc[@]}" "$@" -o "$dest/smoke" "$smoke" $flags
libdir=$(dirname "$(find "$dest" -name 'libsticky-redis.so*' | head -n1)")
LD_LIBRARY_PATH=$libdir "$dest/smoke"
