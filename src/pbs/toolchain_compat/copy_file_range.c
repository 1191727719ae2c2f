/* glibc 2.27's copy_file_range: the system call; ENOSYS from an older kernel. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

ssize_t copy_file_range(int infd, __off64_t *pinoff, int outfd, __off64_t *poutoff,
                        size_t length, unsigned int flags)
{
    return syscall(__NR_copy_file_range, infd, pinoff, outfd, poutoff, length, flags);
}
