#!/bin/bash
# tests/abi/check_install_redis.sh - as check_install.sh, for libsticky-redis:
# install into a prefix as README.md's "Install" section says, then check
# sticky-redis.pc (Requires: sticky; no hiredis anywhere: the public header
# sticky/redis_store.h includes no hiredis header, so consumers get no
# hiredis include path or -D_FILE_OFFSET_BITS from `pkg-config --cflags`,
# and need no hiredis.pc) and sticky/redis_store.h are installed, build
# tests/abi/install_smoke_redis.c with `pkg-config --cflags --libs
# sticky-redis` and run it with the README's -Wl,-rpath. Also checks that
# libsticky itself does not link hiredis.
# With LOOPS "uv", "event" or "uv,event" (the glue libraries this build
# has), the same for libsticky-redis-uv / -event: their .pc files, headers,
# and tests/abi/install_smoke_redis_loop.c built with `pkg-config --cflags
# --libs sticky-redis-uv libuv` (or sticky-redis-event libevent_core) and run.
# usage: check_install_redis.sh MESON SOURCE_ROOT SMOKE_C SANITIZE LOOPS CC...
set -euo pipefail
meson=$1 src=$2 smoke=$3 sanitize=$4 loops=$5
shift 5
cc=("$@")
. "$(dirname "$0")/install_prefix.sh"
readme_shows 'cc -o app app.c $(pkg-config --cflags --libs sticky-redis) -Wl,-rpath,"$prefix/lib"'

install_prefix
pc=$prefix/lib/pkgconfig/sticky-redis.pc
[ -f "$pc" ] || { echo "FAIL: no $pc (was the Redis backend built?)"; exit 1; }
grep -q '^Requires: sticky$' "$pc" || { echo "FAIL: sticky-redis.pc lacks Requires: sticky"; cat "$pc"; exit 1; }
if grep -q hiredis "$pc"; then
    echo "FAIL: sticky-redis.pc mentions hiredis:"; cat "$pc"; exit 1
fi
[ -f "$prefix/include/sticky/redis_store.h" ] ||
    { echo "FAIL: sticky/redis_store.h not installed"; exit 1; }

cflags_pc=$(pkg-config --cflags sticky-redis)
echo "pkg-config --cflags sticky-redis: $cflags_pc"
case "$cflags_pc" in
*hiredis* | *_FILE_OFFSET_BITS*)
    echo "FAIL: pkg-config --cflags sticky-redis passes hiredis' flags to consumers"; exit 1 ;;
esac
PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" pkg-config --cflags --libs sticky-redis >/dev/null ||
    { echo "FAIL: sticky-redis.pc needs a .pc file from outside the prefix"; exit 1; }

if readelf -d "$prefix/lib/libsticky.so.0" | grep -q hiredis; then
    echo "FAIL: libsticky links hiredis"; exit 1
fi
# shellcheck disable=SC2046
"${cc[@]}" "${cflags[@]}" -o "$work/app" "$smoke" $(pkg-config --cflags --libs sticky-redis) -Wl,-rpath,"$prefix/lib"
loads_from_prefix "$work/app" libsticky-redis.so.0
loads_from_prefix "$work/app" libsticky.so.0
"$work/app"

# The loop glue libraries of this build.
loop_smoke=$(dirname "$smoke")/install_smoke_redis_loop.c
for loop in ${loops//,/ }; do
    case $loop in
    uv) lib=sticky-redis-uv dep=libuv def=-DSMOKE_UV hdr=redis_uv.h ;;
    event) lib=sticky-redis-event dep=libevent_core def=-DSMOKE_EVENT hdr=redis_event.h ;;
    *) echo "FAIL: unknown loop $loop"; exit 1 ;;
    esac
    [ -f "$prefix/lib/pkgconfig/$lib.pc" ] || { echo "FAIL: no $lib.pc installed"; exit 1; }
    grep -q '^Requires: sticky-redis$' "$prefix/lib/pkgconfig/$lib.pc" ||
        { echo "FAIL: $lib.pc lacks Requires: sticky-redis"; exit 1; }
    [ -f "$prefix/include/sticky/$hdr" ] || { echo "FAIL: sticky/$hdr not installed"; exit 1; }
    [ -f "$prefix/include/sticky/redis_async.h" ] || { echo "FAIL: sticky/redis_async.h not installed"; exit 1; }
    # shellcheck disable=SC2046
    "${cc[@]}" "${cflags[@]}" $def -o "$work/app-$loop" "$loop_smoke" \
        $(pkg-config --cflags --libs "$lib" "$dep") -Wl,-rpath,"$prefix/lib"
    loads_from_prefix "$work/app-$loop" "lib$lib.so.0"
    "$work/app-$loop"
done
