"""A static interpreter refuses the extension module built into the directory given as argument
with an ImportError: it can load no shared object."""

import sys

sys.path.insert(0, sys.argv[1])
try:
    import pbs_smoke_ext  # found through the path just added
except ImportError as exc:
    print(f"import pbs_smoke_ext refused: {exc}")
else:
    raise AssertionError(f"a static interpreter loaded {pbs_smoke_ext.__file__}")
