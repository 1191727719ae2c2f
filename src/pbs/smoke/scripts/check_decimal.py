"""decimal runs on the C implementation (libmpdec) and computes at high precision."""

import _decimal
import decimal
import sys

if decimal.Decimal is not _decimal.Decimal:
    sys.exit(f"decimal uses {decimal.Decimal.__module__}, not _decimal")
decimal.getcontext().prec = 100
root = decimal.Decimal(2).sqrt()
assert str(root).startswith("1.41421356237309504880168872420969807856967187537694"), root
assert len(str(root)) == 101, len(str(root))
print(f"libmpdec {decimal.__libmpdec_version__}, sqrt(2) to 100 digits")
