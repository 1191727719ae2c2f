"""Import the extension module built into the directory given as argument, and call it."""

import sys

sys.path.insert(0, sys.argv[1])
import pbs_smoke_ext  # found through the path just added

assert pbs_smoke_ext.add(2, 3) == 5
print(f"pbs_smoke_ext.add(2, 3) == 5 from {pbs_smoke_ext.__file__.rsplit('/', 1)[-1]}")
