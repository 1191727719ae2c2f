/* glibc 2.26's preadv2 and pwritev2, and their 64-bit-offset names (the same functions where
   off_t has 64 bits, distinct ones on 32-bit targets). Without the system call, as glibc:
   flags 0 falls back to preadv/pwritev (readv/writev at offset -1), other flags fail with
   EOPNOTSUPP. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t transfer(int writing, int fd, const struct iovec *iov, int count,
                        off64_t offset, int flags)
{
    /* The kernel takes the offset as low and high words; a 64-bit kernel ignores the high
       one, which is the low one's upper half there. */
    ssize_t done = syscall(writing ? __NR_pwritev2 : __NR_preadv2, fd, iov, count, (long)offset,
                           (long)((uint64_t)offset >> 32), flags);
    if (done >= 0 || errno != ENOSYS)
        return done;
    if (flags != 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    if (offset == -1)
        return writing ? writev(fd, iov, count) : readv(fd, iov, count);
    return writing ? pwritev64(fd, iov, count, offset) : preadv64(fd, iov, count, offset);
}

ssize_t preadv64v2(int fd, const struct iovec *iov, int count, off64_t offset, int flags)
{
    return transfer(0, fd, iov, count, offset, flags);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int count, off64_t offset, int flags)
{
    return transfer(1, fd, iov, count, offset, flags);
}

ssize_t preadv2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return transfer(0, fd, iov, count, offset, flags);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return transfer(1, fd, iov, count, offset, flags);
}
