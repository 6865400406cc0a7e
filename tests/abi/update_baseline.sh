#!/bin/bash
# tests/abi/update_baseline.sh - regenerate an ABI baseline from a built
# library. Run only for a deliberate ABI change, and explain it in docs/ABI.md
# in the same commit.
# usage: tests/abi/update_baseline.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
abidw --headers-dir "$root/include/sticky" --no-corpus-path --short-locs \
    --no-comp-dir-path --out-file "$root/tests/abi/libsticky.abi" \
    "$build/lib/libsticky.so"
echo "wrote tests/abi/libsticky.abi"
