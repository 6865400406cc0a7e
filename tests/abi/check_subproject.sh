#!/bin/bash
# tests/abi/check_subproject.sh - a gateway that vendors libsticky as a meson
# subproject, with no options, finds it with dependency('sticky')
# (meson.override_dependency), links a program against it and runs it; and
# the subproject builds only the libraries: no tests, tools or examples
# targets, no tests registered in the gateway's `meson test`, nothing but
# the libraries, headers and .pc files installed, and neither cmocka nor
# cJSON looked up (the `auto` of -Dtests/-Dtools/-Dexamples is off in a
# subproject). Then `enabled` forces them on in a subproject (configure
# only).
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
subproject('libsticky')
executable('gateway', 'main.c', dependencies: dependency('sticky'))
MESON
"$meson" setup "$work/build" "$work" >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log"; exit 1; }

fail=0
if grep -i -E 'cmocka|cjson' "$work/setup.log"; then
    echo "FAIL: the subproject looked up a test or tool dependency (above)"; fail=1
fi
# Targets, tests and installed files of the gateway build, as JSON.
"$meson" introspect "$work/build" --targets >"$work/targets.json"
"$meson" introspect "$work/build" --tests >"$work/tests.json"
"$meson" introspect "$work/build" --benchmarks >"$work/benchmarks.json"
"$meson" introspect "$work/build" --installed >"$work/installed.json"
python3 - "$work" <<'PY' || fail=1
import json, os, sys
work = sys.argv[1]
load = lambda name: json.load(open(os.path.join(work, name + ".json")))
sub = os.path.join(work, "subprojects", "libsticky") + os.sep
bad = 0
targets = load("targets")
names = sorted(t["name"] for t in targets if t["defined_in"].startswith(sub))
print("libsticky targets in the gateway build:", " ".join(names))
if "sticky" not in names:
    print("FAIL: no libsticky target found under", sub)
    bad = 1
for t in targets:
    rel = t["defined_in"][len(sub):] if t["defined_in"].startswith(sub) else ""
    if rel.split(os.sep)[0] in ("tests", "tools", "examples"):
        print(f"FAIL: target {t['name']} from {rel} is built in a subproject")
        bad = 1
for kind in ("tests", "benchmarks"):
    if load(kind):
        print(f"FAIL: the subproject registers {kind}:", [t["name"] for t in load(kind)])
        bad = 1
for path in load("installed").values():
    base = os.path.basename(path)
    if not (base.startswith("libsticky") or base.endswith((".h", ".pc"))):
        print("FAIL: the subproject installs", path)
        bad = 1
sys.exit(bad)
PY
"$meson" compile -C "$work/build" >"$work/compile.log" 2>&1 ||
    { cat "$work/compile.log"; exit 1; }
"$work/build/gateway" || fail=1

# `enabled` forces the parts on in a subproject too.
"$meson" setup "$work/build-on" "$work" -Dlibsticky:tests=enabled \
    -Dlibsticky:tools=enabled -Dlibsticky:examples=enabled >"$work/setup-on.log" 2>&1 ||
    { cat "$work/setup-on.log"; exit 1; }
"$meson" introspect "$work/build-on" --targets >"$work/targets-on.json"
python3 - "$work/targets-on.json" <<'PY' || fail=1
import json, sys
names = {t["name"] for t in json.load(open(sys.argv[1]))}
want = {"sticky-route", "test_config", "minimal_gateway"}
if not want <= names:
    print("FAIL: -Dlibsticky:tests/tools/examples=enabled did not build", sorted(want - names))
    sys.exit(1)
print("with tests/tools/examples=enabled the subproject builds", " ".join(sorted(want)))
PY
exit $fail
