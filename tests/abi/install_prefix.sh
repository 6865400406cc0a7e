# tests/abi/install_prefix.sh - sourced by check_install.sh and
# check_install_redis.sh: install the source tree into a fresh prefix the way
# README.md's "Install" section does, then helpers to consume it the same
# way (PKG_CONFIG_PATH, programs run from the prefix without
# LD_LIBRARY_PATH).
# Expects: meson, src, sanitize (b_sanitize of the build under test, or
# none) and the array cc (the compiler command). Sets: work, prefix, cflags.
# The install uses the README's options plus the sanitizer of the build
# under test (a sanitized consumer needs sanitized libraries and the
# reverse); it is a separate build, the build under test is not touched.

# The README must still document what is done here.
readme_shows() {
    grep -qF -- "$1" "$src/README.md" ||
        { echo "FAIL: README.md no longer shows: $1 (keep it and tests/abi/check_install*.sh in step)"; exit 1; }
}

# The programs below must find their libraries on their own.
unset LD_LIBRARY_PATH

# Installs into $work/prefix with a fresh build in $work/build-release.
install_prefix() {
    readme_shows 'meson setup build-release --buildtype=release --prefix="$prefix" --libdir=lib -Dtests=disabled'
    readme_shows 'meson install -C build-release'
    readme_shows 'export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"'
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    prefix=$work/prefix
    local opts=()
    cflags=()
    if [ "$sanitize" != none ]; then
        opts=(-Db_sanitize="$sanitize" -Db_lundef=false)
        cflags=(-fsanitize="$sanitize")
    fi
    CC="${cc[*]}" "$meson" setup "$work/build-release" "$src" --buildtype=release \
        --prefix="$prefix" --libdir=lib -Dtests=disabled "${opts[@]}" \
        >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
    "$meson" install -C "$work/build-release" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; exit 1; }
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
}

# FILE (a program in the prefix) loads LIB from $prefix/lib, not from
# anywhere else on the machine.
loads_from_prefix() {
    local file=$1 lib=$2 where
    where=$(ldd "$file" | awk -v l="$lib" '$1 == l { print $3 }')
    [ -n "$where" ] && [ "$(realpath "$where")" = "$(realpath "$prefix/lib/$lib")" ] ||
        { echo "FAIL: $file loads $lib from '${where:-nowhere}', not $prefix/lib"; ldd "$file"; exit 1; }
}
