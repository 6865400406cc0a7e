#!/usr/bin/env python3
"""tests/replay/check_readme_demo.py - the README's demo output is true.

Reads the quickstart command from README.md the way .ci/run does (the ```sh
block after <!-- quickstart-command -->), takes its sticky-route commands
(hash turn 1, hash turn 2, gen | replay --human), runs them as written from
the source root with the README's tool path replaced by the built binary,
and compares what they print with the ```console block after
<!-- quickstart-output -->. Only the decision latency figures (p50, p99:
timings, different on every run) are masked; every other character must
match. On a mismatch it prints a diff and the real output.

With --update it rewrites that block with the real output instead (after a
change of the library's behaviour or of the demo's command; then check the
explanation below the block, which quotes no figure of it but says what
they show).

usage: check_readme_demo.py [--update] README.md STICKY_ROUTE
"""
import difflib
import os
import re
import shlex
import subprocess
import sys

LATENCY = re.compile(r"^(decision latency\s+p50 )\d+( ns, p99 )\d+( ns)$")


def block_after(lines, marker, fence):
    """The lines of the first ```FENCE block after the line MARKER."""
    found, inblock, out = False, False, []
    for line in lines:
        if not found:
            found = line == marker
            continue
        if not inblock:
            inblock = line.startswith("```" + fence)
            continue
        if line.startswith("```"):
            return out
        out.append(line)
    return None


def mask(lines):
    return [LATENCY.sub(r"\1N\2N\3", line) for line in lines]


def replace_block(text, marker, fence, new_lines):
    """TEXT with the first ```FENCE block after MARKER replaced by NEW_LINES."""
    lines = text.split("\n")
    start = lines.index(marker)
    begin = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```" + fence))
    end = next(i for i in range(begin + 1, len(lines)) if lines[i].startswith("```"))
    return "\n".join(lines[:begin + 1] + new_lines + lines[end:])


def main():
    args = sys.argv[1:]
    update = args[:1] == ["--update"]
    if update:
        args = args[1:]
    readme, tool = args[0], os.path.abspath(args[1])
    root = os.path.dirname(os.path.abspath(readme))
    lines = open(readme, encoding="utf-8").read().splitlines()
    quickstart = block_after(lines, "<!-- quickstart-command -->", "sh")
    shown = block_after(lines, "<!-- quickstart-output -->", "console")
    if not quickstart or shown is None:
        print("FAIL: README.md lacks the quickstart command or its output block "
              "(<!-- quickstart-command --> / <!-- quickstart-output -->)")
        return 1

    # The demo: the `&&`-separated commands of the quickstart that run
    # sticky-route (after apt-get, meson setup, meson compile).
    commands = [c.strip() for c in " ".join(quickstart).split("&&")]
    demo = [c for c in commands if shlex.split(c)[0].endswith("sticky-route")]
    if len(demo) != 3 or commands[-3:] != demo:
        print("FAIL: expected the quickstart to end with three sticky-route commands "
              "(hash, hash, gen | replay), found:", demo)
        return 1
    readme_tool = shlex.split(demo[0])[0]
    script = " && ".join(demo).replace(readme_tool, shlex.quote(tool))
    print("running:", script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "STICKY_"))}
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=root, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: the demo exited {r.returncode}\n{r.stdout}{r.stderr}")
        return 1
    actual = r.stdout.splitlines()
    if not any(LATENCY.match(line) for line in actual):
        print("FAIL: no 'decision latency' line in the demo output:\n" + r.stdout)
        return 1
    if update:
        text = open(readme, encoding="utf-8").read()
        with open(readme, "w", encoding="utf-8") as f:
            f.write(replace_block(text, "<!-- quickstart-output -->", "console", actual))
        print(f"updated README.md's demo output ({len(actual)} lines)")
        return 0
    if mask(actual) != mask(shown):
        print("FAIL: README.md's demo output differs from what the demo prints "
              "(latency figures masked):")
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
            mask(shown), mask(actual), "README.md", "demo", lineterm=""))
        print("real output:\n" + r.stdout)
        return 1
    print(f"ok: README.md's demo output matches ({len(actual)} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
