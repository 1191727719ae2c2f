/* glibc 2.34's close_range: the system call; ENOSYS from an older kernel. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

int close_range(unsigned int fd, unsigned int max_fd, int flags)
{
    return (int)syscall(__NR_close_range, fd, max_fd, flags);
}
