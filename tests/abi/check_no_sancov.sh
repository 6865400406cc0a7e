#!/bin/bash
# tests/abi/check_no_sancov.sh - the shipped binaries (libsticky.so,
# libsticky-redis.so, sticky-route) carry no fuzzing coverage
# instrumentation in any configuration: no SanitizerCoverage section
# (__sancov_cntrs, __sancov_pcs, __sancov_guards, ...; `readelf -S`) and no
# undefined reference to the __sanitizer_cov_* callbacks (`readelf
# --dyn-syms`; gcc's -fsanitize-coverage=trace-pc makes no section), which
# only a libFuzzer binary provides. Only the fuzz suite's private static
# copy of the library is instrumented (tests/fuzz/meson.build).
# Before the checks, the detector is shown to work: a scratch shared object
# built with coverage instrumentation must be flagged.
# usage: check_no_sancov.sh CC... -- FILE...
set -euo pipefail
cc=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cc+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || { echo "usage: check_no_sancov.sh CC... -- FILE..."; exit 2; }
command -v readelf >/dev/null || { echo "FAIL: readelf not found (binutils)"; exit 1; }

# Prints what instrumentation FILE carries; fails if readelf cannot read it.
instrumentation() {
    local sections syms
    sections=$(readelf -S -W "$1") || { echo "readelf -S failed on $1" >&2; return 2; }
    grep -q '\.text' <<<"$sections" || { echo "no .text in readelf -S of $1" >&2; return 2; }
    syms=$(readelf --dyn-syms -W "$1") || { echo "readelf --dyn-syms failed on $1" >&2; return 2; }
    grep -o -i '__sancov[a-z_]*' <<<"$sections" | sort -u | sed 's/^/section /' || true
    # Undefined references only: a sanitizer runtime linked into an
    # executable (ASan) defines and exports __sanitizer_cov_* itself.
    awk '$7 == "UND" { print $8 }' <<<"$syms" | grep -o '^__sanitizer_cov_[A-Za-z0-9_]*' |
        sort -u | sed 's/^/reference /' || true
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo 'int probe(int x) { return x > 3 ? x * 2 : x - 1; }' >"$work/probe.c"
control=
for flag in -fsanitize=fuzzer-no-link -fsanitize-coverage=trace-pc; do
    if "${cc[@]}" -shared -fPIC "$flag" -o "$work/probe.so" "$work/probe.c" 2>/dev/null; then
        found=$(instrumentation "$work/probe.so")
        [ -n "$found" ] || { echo "FAIL: the check does not see $flag in a scratch object"; exit 1; }
        echo "control: $flag is detected ($(tr '\n' ' ' <<<"$found"))"
        control=$flag
        break
    fi
done
[ -n "$control" ] || echo "control: ${cc[0]} has no coverage instrumentation flag; skipped"

fail=0
for f in "$@"; do
    found=$(instrumentation "$f") || { echo "FAIL: cannot read $f"; fail=1; continue; }
    if [ -n "$found" ]; then
        echo "FAIL: $f is coverage-instrumented:"
        sed 's/^/    /' <<<"$found"
        fail=1
    else
        echo "ok: $(basename "$f") has no sancov section or __sanitizer_cov_* reference"
    fi
done
exit $fail
