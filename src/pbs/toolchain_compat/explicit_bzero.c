/* glibc 2.25's explicit_bzero, and the checked name _FORTIFY_SOURCE calls instead. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

void explicit_bzero(void *s, size_t n)
{
    memset(s, 0, n);
    /* The compiler must assume the zeroed memory is read: the stores stay. */
    __asm__ __volatile__("" : : "r"(s) : "memory");
}

void __explicit_bzero_chk(void *s, size_t n, size_t object_size)
{
    if (n > object_size)
        abort();
    explicit_bzero(s, n);
}
