#!/bin/bash
# tests/fuzz/run_fuzz.sh - run one libFuzzer target for a bounded time,
# starting from the committed seed corpus; new inputs go to a scratch
# corpus in the build dir, never into the source tree.
# usage: run_fuzz.sh TARGET SEED_DIR WORK_DIR SECONDS
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work"
# Any sanitizer report is a failure, not a warning.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
exec "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$work" "$seeds"
