"""Call the os functions that need glibc newer than pbs's floor (pbs's toolchain supplies them);
each must work on this kernel. Those the build lacks are the api check's business."""

import os
import subprocess
import sys
import tempfile

called = []
with tempfile.TemporaryDirectory() as scratch:
    source = os.path.join(scratch, "source")
    with open(source, "wb") as handle:
        handle.write(b"hello world")
    fd = os.open(source, os.O_RDWR)
    if hasattr(os, "memfd_create"):
        memfd = os.memfd_create("pbs", os.MFD_CLOEXEC)
        os.write(memfd, b"x")
        os.close(memfd)
        called.append("memfd_create")
    if hasattr(os, "copy_file_range"):
        target = os.open(os.path.join(scratch, "target"), os.O_RDWR | os.O_CREAT)
        assert os.copy_file_range(fd, target, 5) == 5
        os.close(target)
        called.append("copy_file_range")
    if hasattr(os, "RWF_DSYNC"):
        assert os.pwritev(fd, [b"HELLO"], 0, os.RWF_DSYNC) == 5
        buffer = bytearray(5)
        assert os.preadv(fd, [buffer], 0) == 5 and buffer == b"HELLO"
        called.append("pwritev2")
    os.close(fd)
if hasattr(os, "getrandom"):
    assert len(os.getrandom(16)) == 16
    called.append("getrandom")
# close_range behind subprocess's close_fds
assert subprocess.run([sys.executable, "-c", "pass"], close_fds=True).returncode == 0
called.append("subprocess close_fds")
print(", ".join(called))
