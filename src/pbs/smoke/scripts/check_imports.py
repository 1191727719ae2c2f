"""Import every module named on the command line; list the ones that fail."""

import importlib
import sys

failures = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is what this reports
        failures.append(f"{name} ({type(exc).__name__}: {exc})")
if failures:
    print(f"cannot import {len(failures)} module(s): " + "; ".join(failures))
    sys.exit(1)
print(f"{len(sys.argv) - 1} modules")
