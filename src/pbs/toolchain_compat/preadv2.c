/* glibc 2.26's preadv2 and pwritev2 (and their 64-bit-offset names, the same functions where
   off_t has 64 bits). Without the system call, as glibc: flags 0 falls back to
   preadv/pwritev (readv/writev at offset -1), other flags fail with EOPNOTSUPP. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(off_t) == 8 && sizeof(long) == 8, "written for 64-bit targets");

static ssize_t transfer(int writing, int fd, const struct iovec *iov, int count, off_t offset,
                        int flags)
{
    /* The kernel takes the offset as low and high words: all in the low one on LP64. */
    ssize_t done = syscall(writing ? __NR_pwritev2 : __NR_preadv2, fd, iov, count, (long)offset,
                           0L, flags);
    if (done >= 0 || errno != ENOSYS)
        return done;
    if (flags != 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    if (offset == -1)
        return writing ? writev(fd, iov, count) : readv(fd, iov, count);
    return writing ? pwritev(fd, iov, count, offset) : preadv(fd, iov, count, offset);
}

ssize_t preadv64v2(int fd, const struct iovec *iov, int count, __off64_t offset, int flags)
{
    return transfer(0, fd, iov, count, offset, flags);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int count, __off64_t offset, int flags)
{
    return transfer(1, fd, iov, count, offset, flags);
}

ssize_t preadv2(int, const struct iovec *, int, off_t, int) __attribute__((alias("preadv64v2")));
ssize_t pwritev2(int, const struct iovec *, int, off_t, int) __attribute__((alias("pwritev64v2")));
