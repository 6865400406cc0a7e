"""bindings/lua/t/test_layout.py - the Lua cdef (lib/resty/sticky/cdef.lua)
against the C headers, field by field: a C program generated from the
cdef's struct fields prints sizeof / offsetof as the compiler sees the
headers, and LuaJIT's ffi.sizeof / ffi.offsetof (run inside nginx) must
print the same; every function prototype, redeclared after the headers,
compiles without a conflict. Also the load-time check: a library of another version or
struct size, or a missing one, is refused with a message naming it.
Needs a C compiler (CC, else cc), STICKY_INCLUDE_DIR and STICKY_LIBRARY
(set by meson)."""
import os
import re
import subprocess
import sys

import pytest

import harness
from luarun import run_lua

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from layout_probe import compiler_layout, layout_lines, toolchain  # noqa: E402

CDEF_LUA = os.path.join(harness.LUA_LIB, "resty", "sticky", "cdef.lua")


def cdef_structs():
    """{struct: [field, ...]} from the cdef text, in declaration order."""
    text = open(CDEF_LUA).read()
    cdef = text[text.index("_M.CDEF = [[") + 12:]
    cdef = cdef[:cdef.index("]]")]
    structs = {}
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} \1;", cdef, re.S):
        fields = []
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            fp = re.search(r"\(\*(\w+)\)", decl)
            name = fp.group(1) if fp else re.search(r"(\w+)\s*(\[\d+\])?$", decl).group(1)
            fields.append(name)
        structs[m.group(1)] = fields
    return structs


def test_cdef_parses():
    s = cdef_structs()
    assert "sticky_decision" in s and s["sticky_decision"][-1] == "model"
    assert s["sticky_config"][2] == "log_fn"


def test_every_declared_field_matches_the_headers(tmp_path):
    structs = cdef_structs()
    expected = compiler_layout(structs, str(tmp_path))
    lua_lines = ['local ffi = require "ffi"', 'require "resty.sticky.cdef"']
    for label, _ in layout_lines(structs):
        st, _, field = label.partition(".")
        value = (f'ffi.offsetof("{st}", "{field}")' if field else f'ffi.sizeof("{st}")')
        lua_lines.append(f'emit("{label}", {value})')
    got = run_lua(str(tmp_path / "lua"), "\n".join(lua_lines))
    assert got == expected
    assert len(expected) > 100   # every struct, every field


def cdef_functions():
    """The function prototypes of the cdef text, one string each."""
    text = open(CDEF_LUA).read()
    cdef = text[text.index("_M.CDEF = [[") + 12:]
    cdef = cdef[:cdef.index("]]")]
    cdef = re.sub(r"typedef struct \w+ \{.*?\} \w+;", "", cdef, flags=re.S)
    cdef = re.sub(r"typedef struct \w+ \w+;", "", cdef)
    return [d.strip() + ";" for d in cdef.split(";") if "(" in d]


def test_every_declared_function_matches_the_headers(tmp_path):
    # redeclared after the headers: any difference in a return or
    # parameter type is a "conflicting types" compile error
    include, cc = toolchain()
    protos = cdef_functions()
    assert len(protos) > 25 and any("sticky_select(" in p for p in protos)
    src = tmp_path / "protos.c"
    src.write_text("#include <sticky/sticky.h>\n" + "\n".join(protos) + "\n")
    p = subprocess.run(cc + ["-std=c11", "-Werror", "-I", include, "-c", "-o",
                                     str(tmp_path / "protos.o"), str(src)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def library():
    lib = os.environ.get("STICKY_LIBRARY")
    if not lib:
        pytest.skip("needs STICKY_LIBRARY")
    return lib


def test_load_checks_the_real_library(tmp_path):
    lib = library()
    got = run_lua(str(tmp_path), """
        local loader = require "resty.sticky.loader"
        local l, where, version = loader.load(%r)
        emit("loaded", where, version)
    """ % lib)
    assert got[0].startswith("loaded " + lib + " 0.5."), got


def test_load_uses_STICKY_LIBRARY(tmp_path):
    lib = library()
    env = dict(os.environ, STICKY_LIBRARY=lib)
    got = run_lua(str(tmp_path), """
        local _, where = require("resty.sticky.loader").load()
        emit("loaded", where)
    """, env_names=["STICKY_LIBRARY"], env=env)
    assert got == ["loaded " + lib]


def test_missing_library_is_a_clear_error(tmp_path):
    got = run_lua(str(tmp_path), """
        require("resty.sticky.loader").load("/nonexistent/libsticky.so.0")
    """)
    assert got[0].startswith("LUA-ERROR resty.sticky: cannot load libsticky"), got
    assert "/nonexistent/libsticky.so.0" in got[0]


# A stand-in for the library's version and struct-size functions, so the
# check can be shown a library of another release.
STUB = """
local ffi = require "ffi"
local cdef = require "resty.sticky.cdef"
local function stub(number, bad_struct)
    return {
        sticky_version_number = function() return number end,
        sticky_version_string = function() return "%d.%d.0" end,
        sticky_struct_size = function(id)
            for name, sid in pairs(cdef.STRUCT_IDS) do
                if sid == id then
                    return ffi.sizeof(name) + (name == bad_struct and 8 or 0)
                end
            end
            return 0
        end,
    }
end
local loader = require "resty.sticky.loader"
"""


def test_other_version_is_refused(tmp_path):
    got = run_lua(str(tmp_path), STUB % (0, 4) + """
        local ok, err = pcall(loader.check, stub(0x000400), "/opt/old/libsticky.so.0")
        emit(tostring(ok), err)
        ok = pcall(loader.check, stub(0x000503), "/x")
        emit("patch-ok", tostring(ok))
    """)
    assert got[0].startswith("false resty.sticky: /opt/old/libsticky.so.0 is libsticky 0.4.0 "
                             "(version 0.4); this module's cdef is for 0.5.x"), got
    assert got[1] == "patch-ok true"


def test_other_struct_size_is_refused(tmp_path):
    got = run_lua(str(tmp_path), STUB % (0, 5) + """
        local ok, err = pcall(loader.check, stub(0x000500, "sticky_decision"), "/x/libsticky.so.0")
        emit(tostring(ok), err)
    """)
    assert got[0].startswith("false resty.sticky: /x/libsticky.so.0 (libsticky 0.5.0) has "
                             "sizeof(sticky_decision) = "), got
    assert "layout mismatch, refusing to load" in got[0]
