/* The two fortified stdio functions of glibc that clang's profile runtime (Debian's build, made
 * with _FORTIFY_SOURCE) calls and musl does not have. Linked only into instrumented programs,
 * hidden so that no shared object exports them; the object-size checks are dropped, as an
 * unfortified build would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((visibility("hidden"))) int __fprintf_chk(FILE *stream, int flag,
                                                        const char *format, ...) {
    (void)flag;
    va_list args;
    va_start(args, format);
    int written = vfprintf(stream, format, args);
    va_end(args);
    return written;
}

__attribute__((visibility("hidden"))) int __snprintf_chk(char *buffer, size_t size, int flag,
                                                         size_t buffer_size, const char *format,
                                                         ...) {
    (void)flag;
    (void)buffer_size;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(buffer, size, format, args);
    va_end(args);
    return written;
}
