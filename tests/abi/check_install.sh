#!/bin/bash
# tests/abi/check_install.sh - install into a prefix and use it exactly as
# README.md's "Install" section says: `meson setup ... --prefix="$prefix"
# --libdir=lib`, `meson install`, PKG_CONFIG_PATH="$prefix/lib/pkgconfig".
# Checks: the headers and sticky.pc are there; the installed sticky-route
# runs from the prefix without LD_LIBRARY_PATH (its RUNPATH finds the
# prefix's libsticky); `pkg-config --cflags --libs sticky` builds
# tests/abi/install_smoke.c, which runs with the README's -Wl,-rpath; and
# sticky.pc needs no other .pc file (no libcrypto requirement).
# usage: check_install.sh MESON SOURCE_ROOT SMOKE_C SANITIZE CC...
set -euo pipefail
meson=$1 src=$2 smoke=$3 sanitize=$4
shift 4
cc=("$@")
. "$(dirname "$0")/install_prefix.sh"
readme_shows '"$prefix/bin/sticky-route" --version'
readme_shows 'cc -o app app.c $(pkg-config --cflags --libs sticky) -Wl,-rpath,"$prefix/lib"'

install_prefix
[ -f "$prefix/lib/pkgconfig/sticky.pc" ] || { echo "FAIL: no $prefix/lib/pkgconfig/sticky.pc"; exit 1; }
# Every public header of the source tree but the Redis backend's.
for src_h in "$(dirname "$0")"/../../include/sticky/*.h; do
    h=$(basename "$src_h")
    [ "$h" = redis_store.h ] && continue
    [ -f "$prefix/include/sticky/$h" ] || { echo "FAIL: header $h not installed"; exit 1; }
done

# The installed tool runs from the prefix, with the prefix's library.
"$prefix/bin/sticky-route" --version
loads_from_prefix "$prefix/bin/sticky-route" libsticky.so.0

flags=$(pkg-config --cflags --libs sticky)
echo "pkg-config --cflags --libs sticky: $flags"
# sticky.pc stands alone: nothing but the prefix's .pc files is needed.
PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" pkg-config --cflags --libs sticky >/dev/null ||
    { echo "FAIL: sticky.pc needs a .pc file from outside the prefix"; exit 1; }
# shellcheck disable=SC2046
"${cc[@]}" "${cflags[@]}" -o "$work/app" "$smoke" $(pkg-config --cflags --libs sticky) -Wl,-rpath,"$prefix/lib"
loads_from_prefix "$work/app" libsticky.so.0
"$work/app"
