#!/bin/bash
# tests/abi/check_subproject.sh - a gateway that vendors libsticky as a meson
# subproject finds it with dependency('sticky') (meson.override_dependency)
# and links a program against it.
# usage: check_subproject.sh MESON SOURCE_ROOT SMOKE_C
set -euo pipefail
meson=$1 src=$2 smoke=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/subprojects"
ln -s "$src" "$work/subprojects/libsticky"
cp "$smoke" "$work/main.c"
cat > "$work/meson.build" <<'MESON'
project('gateway', 'c')
subproject('libsticky', default_options: ['tests=false', 'examples=false'])
executable('gateway', 'main.c', dependencies: dependency('sticky'))
MESON
"$meson" setup "$work/build" "$work" >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log"; exit 1; }
"$meson" compile -C "$work/build" >"$work/compile.log" 2>&1 ||
    { cat "$work/compile.log"; exit 1; }
"$work/build/gateway"
