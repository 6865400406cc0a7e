#!/usr/bin/env python3
"""tests/abi/api_doc.py - the API reference (docs/api.md) is generated from
the doc comments in include/sticky/*.h. With --check it fails when
docs/api.md is out of date or a STICKY_API function has no doc comment
saying what it does, what it returns and since when (the project's rule),
when a doc comment names a parameter (@name) the prototype does not have,
when a header mentions the "seed" (headers speak of the library alone), or
when a header refers to a docs/ file that does not exist, or when a public
struct has no struct id for bindings.

usage: api_doc.py INCLUDE_DIR DOC.md [--check]
"""
import os
import re
import sys

ORDER = ["sticky.h", "version.h", "error.h", "config.h", "context.h", "request.h", "key.h",
         "store.h", "memory_store.h", "select.h", "abi.h", "redis_store.h"]


def functions(path):
    text = open(path).read()
    out = []
    for m in re.finditer(r"(/\*\*(?:(?!\*/).)*\*/)\s*\nSTICKY_API\s+([^;{]*?\b(sticky_\w+)\s*\([^;]*\));"
                         r"|^STICKY_API\s+([^;{]*?\b(sticky_\w+)\s*\([^;]*\));", text, re.S | re.M):
        if m.group(1):
            out.append((m.group(3), m.group(2), m.group(1)))
        else:
            out.append((m.group(5), m.group(4), None))
    return out


def param_names(decl):
    """Parameter names of a prototype text "ret name(type a, type *b)"."""
    start = decl.index("(", decl.index("sticky_")) + 1
    depth, end = 1, start
    while depth:
        depth += {"(": 1, ")": -1}.get(decl[end], 0)
        end += 1
    inner = decl[start:end - 1]
    names = set()
    for p in inner.split(","):
        p = re.sub(r"\[[^\]]*\]", "", p).strip()
        m = re.search(r"(\w+)\s*$", p)
        if m and p != "void" and p != "...":
            names.add(m.group(1))
    return names


def header_problems(include_dir, root):
    """@names that are not parameters, the word seed, missing docs/ files."""
    problems = []
    hdir = os.path.join(include_dir, "sticky")
    # Struct names named beside a struct id (sticky_struct_size() and the
    # Redis store's equivalent), so a binding can check every layout.
    struct_ids = set()
    for h in os.listdir(hdir):
        for line in open(os.path.join(hdir, h)):
            if re.search(r"STICKY_(REDIS_STORE_)?STRUCT_[A-Z_]+ = \d+", line):
                struct_ids.update(re.findall(r"\b(sticky_\w+)\b", line))
    for h in sorted(os.listdir(hdir)):
        if not h.endswith(".h"):
            continue
        path = os.path.join(hdir, h)
        text = open(path).read()
        for name, decl, comment in functions(path):
            if comment is None:
                continue
            params = param_names(decl)
            for at in sorted(set(re.findall(r"@(\w+)", comment))):
                if at not in params:
                    problems.append(f"{h}: {name}: @{at} is not a parameter "
                                    f"({', '.join(sorted(params)) or 'none'})")
        for struct in re.findall(r"typedef struct (sticky_\w+) \{", text):
            if struct not in struct_ids:
                problems.append(f"{h}: struct {struct} has no struct id for bindings "
                                "(enum sticky_struct_id in abi.h, or the Redis store's)")
        if re.search(r"\bseed\b", text, re.I):
            problems.append(f"{h}: mentions the seed; public headers speak of the library alone")
        for ref in sorted(set(re.findall(r"\bdocs/[\w.-]+\.md\b", text))):
            if not os.path.exists(os.path.join(root, ref)):
                problems.append(f"{h}: refers to {ref}, which does not exist")
    return problems


def clean(comment):
    lines = comment.strip()[3:-2].splitlines()
    return "\n".join(re.sub(r"^\s*\* ?", "", l) for l in lines).strip()


def header_summary(path):
    m = re.match(r"/\*\s*\n?(.*?)\*/", open(path).read(), re.S)
    return re.sub(r"^\s*\* ?", "", m.group(1), flags=re.M).strip() if m else ""


def render(include_dir):
    hdir = os.path.join(include_dir, "sticky")
    names = [h for h in ORDER if os.path.exists(os.path.join(hdir, h))]
    names += sorted(h for h in os.listdir(hdir) if h.endswith(".h") and h not in names)
    out = ["# libsticky API reference", "",
           "Generated from the doc comments in `include/sticky/*.h` by",
           "`tests/abi/api_doc.py` (the `api-doc` test fails when this file is out",
           "of date). The headers are the source of truth; struct fields and enum",
           "values are documented there.", ""]
    missing = []
    for h in names:
        path = os.path.join(hdir, h)
        fns = functions(path)
        out += [f"## `<sticky/{h}>`", "", header_summary(path), ""]
        for name, decl, comment in fns:
            decl = re.sub(r"\s+", " ", decl).strip()
            out += [f"### `{name}`", "", "```c", decl + ";", "```", ""]
            if comment is None:
                missing.append(name)
                continue
            body = clean(comment)
            if "Since:" not in body or "Returns" not in body and "void" not in decl.split(name)[0]:
                missing.append(name)
            out += [body, ""]
    return "\n".join(out).rstrip() + "\n", missing


def main():
    include_dir, doc = sys.argv[1], sys.argv[2]
    text, missing = render(include_dir)
    if "--check" in sys.argv:
        ok = True
        if missing:
            print("functions without a complete doc comment (what / Returns / Since):", ", ".join(missing))
            ok = False
        root = os.path.dirname(os.path.dirname(os.path.abspath(doc)))
        for p in header_problems(include_dir, root):
            print("header:", p)
            ok = False
        if not os.path.exists(doc) or open(doc).read() != text:
            print(f"{doc} is out of date: run tests/abi/api_doc.py {include_dir} {doc}")
            ok = False
        print("api doc: ok" if ok else "api doc: FAIL")
        return 0 if ok else 1
    open(doc, "w").write(text)
    print(f"wrote {doc}; missing docs: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
