#!/usr/bin/env python3
"""tests/abi/check_symbols.py - the exported ABI is exactly what we declare:
symbols exported by the shared library (nm -D --defined-only) == symbols in
the linker version script == functions declared STICKY_API in the public
headers; every export is a sticky_ symbol in the expected version node.

usage: check_symbols.py LIB MAP INCLUDE_DIR [--node STICKY_1.0]
                       [--header redis_store.h ...] [--exclude redis_store.h ...]

--header limits the declarations to the named headers (a library that owns
only some of include/sticky, e.g. libsticky-redis and sticky/redis_store.h);
--exclude leaves headers of another library out (libsticky and redis_store.h).
"""
import argparse
import os
import re
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # the version node itself, e.g. STICKY_1.0
            continue
        base, _, version = name.partition("@")
        syms[base] = version.lstrip("@")
    return syms


def from_map(path):
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    syms = {}
    for node, body in re.findall(r"(\w[\w.]*)\s*\{(.*?)\}", text, flags=re.S):
        glob = body.split("local:")[0].replace("global:", "")
        for s in re.findall(r"([A-Za-z_]\w*)\s*;", glob):
            syms[s] = node
    return syms


def from_headers(include_dir, only=None, exclude=()):
    syms = set()
    hdir = os.path.join(include_dir, "sticky")
    for h in sorted(os.listdir(hdir)):
        if not h.endswith(".h") or h in exclude or (only and h not in only):
            continue
        text = open(os.path.join(hdir, h)).read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for m in re.finditer(r"^\s*STICKY_API\b([^;{]*?)\b(sticky_\w+)\s*\(",
                             text, flags=re.M):
            syms.add(m.group(2))
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("map")
    ap.add_argument("include_dir")
    ap.add_argument("--node", default="STICKY_1.0")
    ap.add_argument("--prefix", default="sticky_")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--exclude", action="append", default=[])
    a = ap.parse_args()

    exp = exported(a.lib)
    mapped = from_map(a.map)
    declared = from_headers(a.include_dir, a.header, a.exclude)
    errors = []

    for s, v in sorted(exp.items()):
        if not s.startswith(a.prefix):
            errors.append(f"exported symbol without {a.prefix} prefix: {s}")
        if not v:
            errors.append(f"exported symbol without a version: {s}")
        elif v != mapped.get(s, a.node) and s in mapped:
            errors.append(f"{s} exported as {v}, map says {mapped[s]}")
    if a.node not in set(mapped.values()):
        errors.append(f"version script has no {a.node} node")

    def diff(name_a, set_a, name_b, set_b):
        for s in sorted(set(set_a) - set(set_b)):
            errors.append(f"{s}: in {name_a} but not in {name_b}")

    diff("library exports", exp, "version script", mapped)
    diff("version script", mapped, "library exports", exp)
    diff("STICKY_API declarations", declared, "library exports", exp)
    diff("library exports", exp, "STICKY_API declarations", declared)

    print(f"exported {len(exp)}, mapped {len(mapped)}, declared {len(declared)}")
    for e in errors:
        print("FAIL", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
