#!/bin/bash
# bindings/python/tests/check_package.sh - the Python package installed the
# way README.md's "Python" section says, against an installed libsticky:
# the library goes into a fresh prefix (tests/abi/install_prefix.sh, a
# separate release build), the package into a venv made with
# --system-site-packages (Debian's cffi) by pip with no index and no build
# isolation (no network), from a copy of bindings/python (the source tree
# stays clean). Then a program in another directory imports it with only
# PKG_CONFIG_PATH set: the package finds the prefix's libsticky through
# pkg-config, checks its layout, and routes a conversation.
# usage: check_package.sh MESON SOURCE_ROOT PYTHON
set -euo pipefail
meson=$1 src=$2 python=$3
sanitize=none
cc=(cc)
. "$src/tests/abi/install_prefix.sh"
readme_shows 'python3 -m venv --system-site-packages .venv'
readme_shows '.venv/bin/pip install --no-build-isolation --no-index ./bindings/python'
unset STICKY_LIBRARY STICKY_REDIS_LIBRARY PYTHONPATH
install_prefix
cp -r "$src/bindings/python" "$work/pkg"
rm -rf "$work/pkg/build" "$work/pkg"/*.egg-info
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --no-build-isolation --no-index --no-deps "$work/pkg" \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
mkdir "$work/app"
cd "$work/app"
"$work/venv/bin/python" - "$prefix" <<'PY'
import json, os, sys
import sticky
prefix = os.path.realpath(sys.argv[1])
assert os.path.realpath(sticky.LIBRARY_PATH).startswith(prefix), sticky.LIBRARY_PATH
assert os.path.realpath(sticky.__file__).startswith(os.path.realpath(sys.prefix)), sticky.__file__
assert os.path.exists(os.path.join(os.path.dirname(sticky.__file__), "py.typed"))
body = json.dumps({"model": "claude-sonnet-4-5",
                   "messages": [{"role": "user", "content": "hello"}]}).encode()
with sticky.Router() as r:
    d = r.select(body=body, tenant="t", channels=["a", "b"])
    r.report(d, status=200)
    print(f"OK: libsticky {sticky.LIBRARY_VERSION} from {sticky.LIBRARY_PATH}: {d}")
PY
