"""Operators on subclasses of built-in types dispatch as CPython defines.

CPython tells slot wrappers apart by their function addresses (typeobject.c): a build that
folds functions with identical code into one address (identical code folding in a linker or in
BOLT) crashes or computes wrongly here. Each case runs in a child, so a crash is reported as
the case that crashed.
"""

import subprocess
import sys

CASES = {
    "tuple + list subclass raises TypeError": """
class L(list): pass
try:
    (3,) + L([1, 2])
except TypeError:
    pass
else:
    raise SystemExit("no TypeError")
""",
    "list + tuple subclass raises TypeError": """
class T(tuple): pass
try:
    [3] + T((1, 2))
except TypeError:
    pass
else:
    raise SystemExit("no TypeError")
""",
    "datetime subclass + int raises TypeError": """
import datetime
class D(datetime.datetime): pass
try:
    result = D(2002, 3, 2, 17, 6) + 1
except TypeError:
    pass
else:
    raise SystemExit(f"returned {result!r}")
""",
    "reflected operators of int subclasses": """
class I(int):
    def __radd__(self, other): return "radd"
assert I(2) + 1 == 3, "int's own addition"
assert 1 + I(2) == "radd", "the subclass's reflected addition"
""",
}

failures = []
for name, code in CASES.items():
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if child.returncode != 0:
        reason = child.stderr.strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
        if child.returncode < 0:
            reason = [f"killed by signal {-child.returncode}"]
        failures.append(f"{name}: {reason[0]}")
if failures:
    sys.exit("\n".join(failures))
print(f"{len(CASES)} cases of operator dispatch on subclasses of built-in types")
