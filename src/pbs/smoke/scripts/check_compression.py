"""Round trips through every bundled compressor (zstd only where the version has it), and the
features distributions build them with: xz's own container format, zstd's worker threads."""

import bz2
import lzma
import os
import zlib

data = b"portable python " * 1000
codecs = {"zlib": zlib, "bz2": bz2, "lzma": lzma}
try:
    from compression import zstd  # 3.14+
except ImportError as exc:
    if exc.name not in ("compression", "compression.zstd"):
        raise  # the package exists but its C module is broken
    zstd = None
else:
    codecs["zstd"] = zstd
for name, module in codecs.items():
    packed = module.compress(data)
    assert len(packed) < len(data) and module.decompress(packed) == data, name
assert lzma.decompress(lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_SHA256)) == data
summary = ", ".join(codecs)
if zstd is not None:
    # A static libzstd built without ZSTD_MULTITHREAD refuses any worker (bounds (0, 0)).
    workers = zstd.CompressionParameter.nb_workers
    assert workers.bounds()[1] > 0, f"zstd without threads: nb_workers bounds {workers.bounds()}"
    big = os.urandom(1 << 20) * 8  # several of zstd's jobs, so the workers really share it
    compressor = zstd.ZstdCompressor(options={workers: 2})
    packed = compressor.compress(big, mode=zstd.ZstdCompressor.FLUSH_FRAME)
    assert zstd.decompress(packed) == big
    summary += "; zstd with 2 workers"
print(summary)
