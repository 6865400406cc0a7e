#!/bin/bash
# tests/abi/check_abidiff.sh - compare the built library's ABI with the
# committed baseline (abidw XML). Added functions pass; any other change
# (removed or changed function, changed struct layout, even a field appended
# to a public struct) fails until the baseline is deliberately updated
# (docs/ABI.md). Needs DWARF: against a library without debug info abidiff
# compares ELF symbols only and reports "no ABI change" even for a changed
# struct layout, so such a library is refused: a failure in CI, a skip (77)
# elsewhere (e.g. a packager's --buildtype=release; test abidiff-needs-dwarf).
# usage: check_abidiff.sh BASELINE.abi LIB HEADERS_DIR
set -euo pipefail
baseline=$1 lib=$2 headers=$3

if ! readelf -S -W "$lib" | grep -q -E '\.z?debug_info'; then
    echo "$lib has no DWARF (.debug_info): abidiff could compare symbols only;" \
        "build with debug info (buildtype debugoptimized or debug)"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
if ! command -v abidiff >/dev/null; then
    echo "abidiff not installed (Debian: abigail-tools)"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
set +e
abidiff --no-added-syms --headers-dir1 "$headers" --headers-dir2 "$headers" \
    "$baseline" "$lib"
rc=$?
set -e
# abidiff exit status bits: 1 error, 2 usage, 4 ABI change, 8 incompatible.
if (( rc & 3 )); then
    echo "abidiff failed to run (status $rc)"; exit 1
fi
if (( rc & 8 )); then
    echo "FAIL: incompatible ABI change against $baseline (see docs/ABI.md)"; exit 1
fi
if (( rc & 4 )); then
    echo "FAIL: ABI changed against $baseline; if deliberate, update the baseline (docs/ABI.md)"
    exit 1
fi
echo "abidiff: no ABI change (added functions are allowed)"
