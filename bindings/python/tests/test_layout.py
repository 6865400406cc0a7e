"""bindings/python/tests/test_layout.py - the package's struct
declarations (sticky/_ffi.py) against the C headers, field by field: a C
program generated from the declarations prints sizeof and offsetof of
every declared field as the compiler sees the headers, and each must equal
cffi's. Catches what the load-time size check cannot: fields transcribed
in the wrong order, or renamed. Needs a C compiler (CC, else cc) and the
headers (STICKY_INCLUDE_DIR, set by meson)."""
import os
import sys

from sticky import _ffi

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from layout_probe import compiler_layout, layout_lines  # noqa: E402

ffi = _ffi.ffi


def declared_structs():
    names = set(_ffi.STRUCT_IDS) | set(_ffi.REDIS_STRUCT_IDS)
    return {n: [f for f, _ in ffi.typeof(n).fields] for n in names}


def test_every_declared_field_matches_the_headers(tmp_path):
    structs = declared_structs()
    expected = compiler_layout(structs, str(tmp_path),
                               ("sticky/sticky.h", "sticky/shm.h", "sticky/redis_store.h"))
    ours = []
    for label, _ in layout_lines(structs):
        st, _, field = label.partition(".")
        ours.append(f"{label} {ffi.offsetof(st, field) if field else ffi.sizeof(st)}")
    assert ours == expected
