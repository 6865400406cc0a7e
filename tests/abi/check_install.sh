#!/bin/bash
# tests/abi/check_install.sh - `meson install --destdir` into a temp tree,
# then build tests/abi/install_smoke.c with `pkg-config --cflags --libs
# sticky` from that tree and run it.
# usage: check_install.sh MESON BUILD_DIR SMOKE_C CC... [-- extra cflags...]
set -euo pipefail
meson=$1 build=$2 smoke=$3
shift 3
cc=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cc+=("$1"); shift; done
[ $# -gt 0 ] && shift
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(find "$dest" -name sticky.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: sticky.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs sticky)
echo "pkg-config --cflags --libs sticky: $flags"
for h in sticky.h common.h version.h error.h config.h context.h key.h store.h memory_store.h select.h; do
    [ -f "$(find "$dest" -path "*/include/sticky/$h" | head -n1)" ] ||
        { echo "FAIL: header $h not installed"; exit 1; }
done
# shellcheck disable=SC2086
"${cc[@]}" "$@" -o "$dest/smoke" "$smoke" $flags
libdir=$(dirname "$(find "$dest" -name 'libsticky.so*' | head -n1)")
LD_LIBRARY_PATH=$libdir "$dest/smoke"
