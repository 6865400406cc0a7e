#!/usr/bin/env python3
"""tests/abi/check_internal_names.py - internal names stay internal.

1. Every global symbol a static internal library defines that starts with
   the public prefix (sticky_ followed by a lowercase letter) must be in the
   version script: internal functions use a module prefix (mem_, key_,
   store_...) or sticky__, never the public sticky_ prefix.
2. No function of ours (static or not) is named like a C library function
   (bind, send, index, ...): read from the C sources, compared with the
   dynamic symbols of the libc the compiler links.

usage: check_internal_names.py MAP LIBC SRC_DIR --lib STATIC.a [--lib ...]
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_symbols import from_map  # noqa: E402


def defined_globals(archive):
    out = subprocess.run(["nm", "--defined-only", archive], capture_output=True,
                         text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVW":
            names.add(parts[2])
    return names


def libc_names(libc):
    out = subprocess.run(["nm", "-D", "--defined-only", libc], capture_output=True,
                         text=True, check=True).stdout
    return {l.split()[2].split("@")[0] for l in out.splitlines() if len(l.split()) == 3}


FUNC_DEF = re.compile(r"^(?:static\s+)?(?:inline\s+)?[A-Za-z_][\w \t\*]*?\b([a-z_]\w*)\s*\([^;]*?\)\s*\{",
                      re.M | re.S)


def defined_functions(src_dir):
    found = {}
    for root, _, files in os.walk(src_dir):
        for f in files:
            if not f.endswith(".c"):
                continue
            path = os.path.join(root, f)
            text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
            for m in FUNC_DEF.finditer(text):
                found.setdefault(m.group(1), path)
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("map", nargs="+")
    ap.add_argument("--libc", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--lib", action="append", default=[])
    a = ap.parse_args()
    exported = set()
    for m in a.map:
        exported |= set(from_map(m))
    errors = []
    for lib in a.lib:
        for name in sorted(defined_globals(lib)):
            if re.match(r"sticky_[a-z]", name) and name not in exported:
                errors.append(f"{os.path.basename(lib)}: internal symbol {name} carries the "
                              "public sticky_ prefix")
    libc = libc_names(a.libc)
    for name, path in sorted(defined_functions(a.src).items()):
        if name in libc:
            errors.append(f"{path}: function {name}() shadows the C library's {name}")
    for e in errors:
        print("FAIL", e)
    print(f"checked {len(a.lib)} libraries and {a.src}: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
