"""Round trips through every bundled compressor (zstd only where the version has it)."""

import bz2
import lzma
import zlib

data = b"portable python " * 1000
codecs = {"zlib": zlib, "bz2": bz2, "lzma": lzma}
try:
    from compression import zstd  # 3.14+
except ImportError as exc:
    if exc.name not in ("compression", "compression.zstd"):
        raise  # the package exists but its C module is broken
else:
    codecs["zstd"] = zstd
for name, module in codecs.items():
    packed = module.compress(data)
    assert len(packed) < len(data) and module.decompress(packed) == data, name
print(", ".join(codecs))
