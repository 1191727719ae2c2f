"""ctypes in a static interpreter: it imports (with no `pythonapi`, and no library to load),
and libffi calls a Python callback from C and back."""

import ctypes

assert ctypes.pythonapi is None
try:
    ctypes.CDLL("libc.so")
except OSError as exc:
    refused = str(exc)
else:
    raise AssertionError("a static interpreter loaded a shared library")

add_type = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_long)
add = add_type(lambda a, b: a + b)
assert add(40, 2) == 42


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


assert ctypes.sizeof(Point) == 8 and Point(1, 2).y == 2
print(f"callback and structures; CDLL refused: {refused}")
