#!/usr/bin/env python3
"""examples/prefork-gateway/check_control.py - the control run: the same
gateway with --no-shm (every worker on its own memory store and health) must
fail each of the three checks, and fail them as a verdict (exit status 1
with one FAIL line per check), not by crashing."""
import subprocess
import sys

r = subprocess.run([sys.argv[1], "--workers", "4", "--check", "--no-shm"],
                   capture_output=True, text=True, timeout=60)
fails = [l for l in r.stdout.splitlines() if l.startswith("FAIL ")]
print(r.stdout, end="")
if r.returncode != 1 or len(fails) != 3:
    print(f"control: expected exit 1 with 3 FAIL lines, got exit {r.returncode} "
          f"with {len(fails)}", file=sys.stderr)
    sys.exit(1)
print("control: without the segment all three checks fail, as they must")
