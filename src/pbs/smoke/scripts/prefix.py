"""Print sys.base_prefix, sys.prefix and the stdlib path after importing modules that load
data relative to them."""

import sqlite3  # noqa: F401 - an extension module loaded from the moved tree
import ssl  # noqa: F401
import sys
import sysconfig

print(sys.base_prefix)
print(sys.prefix)
print(sysconfig.get_paths()["stdlib"])
