"""bindings/python/tests/test_layout.py - the package's struct
declarations (sticky/_ffi.py) against the C headers, field by field: a C
program generated from the declarations prints sizeof and offsetof of
every declared field as the compiler sees the headers, and each must equal
cffi's. Catches what the load-time size check cannot: fields transcribed
in the wrong order, or renamed. Needs a C compiler (CC, else cc) and the
headers (STICKY_INCLUDE_DIR, set by meson)."""
import os
import shutil
import subprocess

import pytest

from sticky import _ffi

ffi = _ffi.ffi
HEADERS = {"sticky_redis_store_options": "sticky/redis_store.h",
           "sticky_redis_store_stats": "sticky/redis_store.h"}


def declared_structs():
    return sorted(set(_ffi.STRUCT_IDS) | set(_ffi.REDIS_STRUCT_IDS))


def test_every_declared_field_matches_the_headers(tmp_path):
    include = os.environ.get("STICKY_INCLUDE_DIR")
    cc = os.environ.get("CC") or shutil.which("cc")
    if not include or not cc:
        if os.environ.get("CI") == "true":
            pytest.fail("STICKY_INCLUDE_DIR / a C compiler missing")
        pytest.skip("needs STICKY_INCLUDE_DIR and a C compiler")
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <sticky/sticky.h>",
             "#include <sticky/shm.h>", "#include <sticky/redis_store.h>", "int main(void) {"]
    expected = []
    for struct in declared_structs():
        lines.append(f'printf("{struct} %zu\\n", sizeof({struct}));')
        expected.append(f"{struct} {ffi.sizeof(struct)}")
        for name, field in ffi.typeof(struct).fields:
            lines.append(f'printf("{struct}.{name} %zu\\n", offsetof({struct}, {name}));')
            expected.append(f"{struct}.{name} {field.offset}")
    lines += ["return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run(cc.split() + ["-std=c11", "-I", include, "-o", str(exe), str(src)],
                   check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    assert [g for g in got if g] == expected
