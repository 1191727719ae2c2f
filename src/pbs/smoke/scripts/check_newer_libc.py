"""Call the os functions that need glibc newer than pbs's floor (pbs's toolchain supplies them);
each must work on this kernel. Those the build lacks are the api check's business.

Under an emulator (PBS_EMULATOR names it) a call the emulator does not implement fails as on
a kernel too old for it: ENOSYS, or EOPNOTSUPP where glibc's wrapper (and pbs's) turns a missing
pwritev2 with flags into that. The wrapper did its job, so that is reported, not failed.
Natively both fail: the kernels pbs supports have every one of these calls."""

import errno
import os
import subprocess
import sys
import tempfile

EMULATOR = os.environ.get("PBS_EMULATOR")
UNIMPLEMENTED = (errno.ENOSYS, errno.EOPNOTSUPP)
called = []


def attempt(name, call):
    try:
        call()
    except OSError as error:
        if error.errno not in UNIMPLEMENTED or not EMULATOR:
            raise
        called.append(f"{name} ({errno.errorcode[error.errno]}: {EMULATOR} lacks the call)")
    else:
        called.append(name)


def memfd():
    fd = os.memfd_create("pbs", os.MFD_CLOEXEC)
    os.write(fd, b"x")
    os.close(fd)


def copy_range(source_fd, scratch):
    target = os.open(os.path.join(scratch, "target"), os.O_RDWR | os.O_CREAT)
    try:
        assert os.copy_file_range(source_fd, target, 5) == 5
    finally:
        os.close(target)


def vectored(fd):
    assert os.pwritev(fd, [b"HELLO"], 0, os.RWF_DSYNC) == 5
    buffer = bytearray(5)
    assert os.preadv(fd, [buffer], 0) == 5 and buffer == b"HELLO"


with tempfile.TemporaryDirectory() as scratch:
    source = os.path.join(scratch, "source")
    with open(source, "wb") as handle:
        handle.write(b"hello world")
    fd = os.open(source, os.O_RDWR)
    if hasattr(os, "memfd_create"):
        attempt("memfd_create", memfd)
    if hasattr(os, "copy_file_range"):
        attempt("copy_file_range", lambda: copy_range(fd, scratch))
    if hasattr(os, "RWF_DSYNC"):
        attempt("pwritev2", lambda: vectored(fd))
    os.close(fd)
if hasattr(os, "getrandom"):
    attempt("getrandom", lambda: os.getrandom(16))
# close_range behind subprocess's close_fds
assert subprocess.run([sys.executable, "-c", "pass"], close_fds=True).returncode == 0
called.append("subprocess close_fds")
print(", ".join(called))
