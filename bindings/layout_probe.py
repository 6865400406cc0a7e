"""bindings/layout_probe.py - for the bindings' layout tests (Python cffi,
LuaJIT cdef): what the C compiler says of the public headers. Given
{struct: [field, ...]}, a generated C program prints "struct size" and
"struct.field offset" lines in that order; a binding's test prints the
same from its own declarations and compares. Test helper, not shipped."""
import os
import shutil
import subprocess

import pytest


def toolchain():
    """(include dir, C compiler command); skips without them, fails in CI."""
    include = os.environ.get("STICKY_INCLUDE_DIR")
    cc = os.environ.get("CC") or shutil.which("cc")
    if not include or not cc:
        if os.environ.get("CI") == "true":
            pytest.fail("STICKY_INCLUDE_DIR / a C compiler missing")
        pytest.skip("needs STICKY_INCLUDE_DIR and a C compiler")
    return include, cc.split()


def layout_lines(structs):
    """The lines a layout dump prints, as (label, C expression) pairs."""
    out = []
    for st in sorted(structs):
        out.append((st, f"sizeof({st})"))
        out += [(f"{st}.{f}", f"offsetof({st}, {f})") for f in structs[st]]
    return out


def compiler_layout(structs, workdir, headers=("sticky/sticky.h",)):
    """The compiler's "label value" lines for @structs (see layout_lines)."""
    include, cc = toolchain()
    lines = ["#include <stddef.h>", "#include <stdio.h>"]
    lines += [f"#include <{h}>" for h in headers]
    lines.append("int main(void) {")
    lines += [f'printf("{label} %zu\\n", (size_t){expr});'
              for label, expr in layout_lines(structs)]
    lines += ["return 0;", "}"]
    src = os.path.join(workdir, "layout.c")
    exe = os.path.join(workdir, "layout")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(cc + ["-std=c11", "-I", include, "-o", exe, src], check=True)
    return subprocess.run([exe], check=True, capture_output=True, text=True).stdout.splitlines()
