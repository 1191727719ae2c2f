"""Run by a venv's python: the wheel pip installed imports from the venv's site-packages."""

import sys

import pbs_smoke_wheel

assert sys.prefix != sys.base_prefix, "not running in a venv"
assert pbs_smoke_wheel.VALUE == 42
assert pbs_smoke_wheel.__file__.startswith(sys.prefix), pbs_smoke_wheel.__file__
print(f"pip installed a wheel into a venv based on {sys.base_prefix}")
