"""The public names (no leading underscore) of each module named on the command line, as JSON,
with the interpreter's version; a module that cannot be imported has null."""

import importlib
import json
import platform
import sys

names = {}
for module in sys.argv[1:]:
    try:
        names[module] = sorted(n for n in dir(importlib.import_module(module)) if n[0] != "_")
    except ImportError:
        names[module] = None
print(json.dumps({"python": platform.python_version(), "build": sys.version, "names": names}))
