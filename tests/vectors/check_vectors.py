#!/usr/bin/env python3
"""tests/vectors/check_vectors.py - every test vector in docs/session-key.md
(```vector blocks) is checked twice: the library must print exactly the
listed chain, and the independent reference implementation (reference_key.py,
written from the document) must agree.

The library is reached through a command that takes the vector's `args:`
and the body on stdin and prints {"source":..,"keys":[..],"key":..}:
tests/vectors/key_driver (public API only, built with the tests; the
`session-key-vectors` test) or `sticky-route hash` (the CLI, when built;
the `sticky-route-hash-vectors` test).

usage: check_vectors.py DOC.md [--print] -- COMMAND [ARG...]
  --print: print what the library derives for each vector (to fill the doc).
"""
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_key  # noqa: E402


def parse(doc):
    vectors, cur, inblock = [], None, False
    for line in open(doc, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.strip() == "```vector":
            cur, inblock = {}, True
            continue
        if inblock and line.strip() == "```":
            vectors.append(cur)
            inblock = False
            continue
        if inblock:
            k, _, v = line.partition(":")
            cur[k.strip()] = v.strip()
    return vectors


def reference(v, secret):
    args = shlex.split(v.get("args", ""))
    opt = {"tenant": "", "message_count": 3, "include_system": False,
           "secret": secret, "headers": [], "session_id": None, "fmt": "auto"}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--include-system":
            opt["include_system"] = True
        elif a == "--secret-file":
            i += 1
        elif a == "--tenant":
            i += 1
            opt["tenant"] = args[i]
        elif a == "--messages":
            i += 1
            opt["message_count"] = int(args[i])
        elif a == "--header":
            i += 1
            n, _, val = args[i].partition(":")
            opt["headers"].append((n, val.lstrip(" ")))
        elif a == "--session-id":
            i += 1
            opt["session_id"] = args[i]
        elif a == "--format":
            i += 1
            opt["fmt"] = args[i]
        i += 1
    return reference_key.derive(v["body"].encode("utf-8"), **opt)


def main():
    if "--" not in sys.argv[2:] or sys.argv.index("--") == len(sys.argv) - 1:
        print(__doc__)
        return 2
    sep = sys.argv.index("--")
    doc, command = sys.argv[1], sys.argv[sep + 1:]
    show = "--print" in sys.argv[2:sep]
    vectors = parse(doc)
    if len(vectors) < 12:
        print(f"FAIL: only {len(vectors)} vectors in {doc} (need >= 12)")
        return 1
    secret_path = os.path.join(os.path.dirname(os.path.abspath(doc)), "session-key-secret.txt")
    failures = 0
    for v in vectors:
        args = shlex.split(v.get("args", "").replace("SECRET_FILE", secret_path))
        env = {k: val for k, val in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
        r = subprocess.run([*command, *args], input=v["body"].encode("utf-8"),
                           capture_output=True, env=env)
        out = r.stdout.decode().strip()
        want = f'"source":"{v["source"]}"'
        keys = v["keys"].split()
        if show:
            print(v["name"], "->", out, r.stderr.decode().strip())
            continue
        got_keys = out.split('"keys":[')[1].split("]")[0].replace('"', "").split(",") if r.returncode == 0 else None
        got_keys = [k for k in (got_keys or []) if k]
        secret = None
        if "SECRET_FILE" in v.get("args", ""):
            secret = open(secret_path, "rb").read().rstrip(b"\r\n")
        ref_source, ref_keys = reference(v, secret)
        ok = r.returncode == 0 and want in out and got_keys == keys
        ref_ok = ref_source == v["source"] and ref_keys == keys
        print(("ok  " if ok and ref_ok else "FAIL"), v["name"])
        if not ok:
            print("   library:  ", out, r.stderr.decode().strip())
        if not ref_ok:
            print("   reference:", ref_source, ref_keys)
        if not (ok and ref_ok):
            print("   expected: ", v["source"], keys)
            failures += 1
    print(f"{len(vectors)} vectors, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
