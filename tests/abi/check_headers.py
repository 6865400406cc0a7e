#!/usr/bin/env python3
"""tests/abi/check_headers.py - every public header compiles on its own as
C99 -pedantic and as C++ (-std=c++11 -pedantic), with warnings as errors.

usage: check_headers.py INCLUDE_DIR --cc CC... [--cxx CXX...]
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

C_FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
CXX_FLAGS = ["-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def compile_one(compiler, flags, include_dir, header, suffix):
    src = f"#include <sticky/{header}>\nint main(void) {{ return 0; }}\n"
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as f:
        f.write(src)
        path = f.name
    try:
        cmd = compiler + flags + ["-I", include_dir, path]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {header} ({suffix}): {shlex.join(cmd)}\n{r.stderr}")
            return False
        print(f"ok   {header} ({suffix})")
        return True
    finally:
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("include_dir")
    ap.add_argument("--cc", nargs="+", required=True)
    ap.add_argument("--cxx", nargs="*", default=[])
    a = ap.parse_args()
    hdir = os.path.join(a.include_dir, "sticky")
    headers = sorted(h for h in os.listdir(hdir) if h.endswith(".h"))
    if not headers:
        print("no public headers found")
        return 1
    ok = True
    for h in headers:
        ok &= compile_one(a.cc, C_FLAGS, a.include_dir, h, ".c")
        if a.cxx:
            ok &= compile_one(a.cxx, CXX_FLAGS, a.include_dir, h, ".cpp")
    if not a.cxx:
        print("no C++ compiler configured: C++ check not run")
        if os.environ.get("CI") == "true":
            return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
