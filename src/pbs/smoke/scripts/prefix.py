"""Print sys.prefix after importing modules that load data relative to it."""

import sqlite3  # noqa: F401 - an extension module loaded from the moved tree
import ssl  # noqa: F401
import sys
import sysconfig

print(sys.prefix)
print(sysconfig.get_paths()["stdlib"])
