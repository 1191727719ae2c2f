"""ctypes (libffi) calls into libc, and libc calls back into Python."""

import ctypes
import ctypes.util

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
assert libc.strlen(b"hello") == 5

values = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
compare_type = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)
)


def compare(a, b):
    return a[0] - b[0]


libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), compare_type(compare))
assert list(values) == [1, 2, 3, 4, 5], list(values)
print("strlen and qsort with a Python callback")
