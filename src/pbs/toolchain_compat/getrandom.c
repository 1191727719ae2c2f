/* glibc 2.25's getrandom and getentropy: the system call; ENOSYS from an older kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t getrandom(void *buffer, size_t length, unsigned int flags)
{
    return syscall(__NR_getrandom, buffer, length, flags);
}

/* As glibc's: at most 256 bytes (EIO beyond), retried on EINTR, blocking until seeded. */
int getentropy(void *buffer, size_t length)
{
    if (length > 256) {
        errno = EIO;
        return -1;
    }
    unsigned char *next = buffer, *end = next + length;
    while (next < end) {
        ssize_t got = syscall(__NR_getrandom, next, (size_t)(end - next), 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (got == 0) {
            errno = EIO;
            return -1;
        }
        next += got;
    }
    return 0;
}
