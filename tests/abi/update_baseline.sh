#!/bin/bash
# tests/abi/update_baseline.sh - regenerate the ABI baselines from a built
# tree: libsticky.abi, and libsticky-redis.abi, libsticky-redis-uv.abi,
# libsticky-redis-event.abi for those that were built. Run only for a deliberate ABI change, and explain it in
# docs/ABI.md in the same commit.
# usage: tests/abi/update_baseline.sh [BUILD_DIR]
#        [libsticky|libsticky-redis|libsticky-redis-uv|libsticky-redis-event]
#        (default: build, both)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
which=${2:-all}
dump() {
    abidw --headers-dir "$root/include/sticky" --no-corpus-path --short-locs \
        --no-comp-dir-path --out-file "$root/tests/abi/$1.abi" "$2"
    echo "wrote tests/abi/$1.abi"
}
if [ "$which" = all ] || [ "$which" = libsticky ]; then
    dump libsticky "$build/lib/libsticky.so"
fi
if [ "$which" = all ] || [ "$which" = libsticky-redis ]; then
    if [ -f "$build/lib/redis/libsticky-redis.so" ]; then
        dump libsticky-redis "$build/lib/redis/libsticky-redis.so"
    elif [ "$which" = libsticky-redis ]; then
        echo "no $build/lib/redis/libsticky-redis.so (redis feature off?)"; exit 1
    fi
fi
# The loop glue libraries (features redis_uv / redis_libevent).
for glue in uv:libsticky-redis-uv event:libsticky-redis-event; do
    dir=${glue%%:*} name=${glue#*:}
    if [ "$which" = all ] || [ "$which" = "$name" ]; then
        if [ -f "$build/lib/redis/$dir/$name.so" ]; then
            dump "$name" "$build/lib/redis/$dir/$name.so"
        elif [ "$which" = "$name" ]; then
            echo "no $build/lib/redis/$dir/$name.so (feature off?)"; exit 1
        fi
    fi
done
