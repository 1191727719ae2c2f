/* glibc 2.27's memfd_create and mlock2: the system calls; ENOSYS from an older kernel. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int memfd_create(const char *name, unsigned int flags)
{
    return (int)syscall(__NR_memfd_create, name, flags);
}

int mlock2(const void *addr, size_t length, unsigned int flags)
{
    return (int)syscall(__NR_mlock2, addr, length, flags);
}
