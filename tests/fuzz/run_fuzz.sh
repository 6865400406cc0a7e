#!/bin/bash
# tests/fuzz/run_fuzz.sh - run one libFuzzer target for a bounded time,
# starting from the committed seed corpus; new inputs go to a scratch
# corpus in the build dir, never into the source tree.
# usage: run_fuzz.sh TARGET SEED_DIR WORK_DIR SECONDS
# A dictionary named after the seed directory (corpus/key_body ->
# key_body.dict) next to this script is passed with -dict=.
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work"
dict="$(dirname "$0")/$(basename "$seeds").dict"
extra=()
if [ -f "$dict" ]; then
    extra+=("-dict=$dict")
fi
# Any sanitizer report is a failure, not a warning.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
# Limits: 10 s per input, 2048 MB RSS, inputs up to 64 KiB (1/1024 of the
# library's 64 MiB body limit; libFuzzer's default would be 4 KiB from our
# small seeds, too short for deep nesting around a long string).
# -error_exitcode=1: libFuzzer's default for a finding is 77, which meson
# reads as "skipped" - a crash must fail the suite.
exec "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -error_exitcode=1 "${extra[@]}" -print_final_stats=1 "$work" "$seeds"
