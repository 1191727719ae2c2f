/* Calls every glibc function newer than 2.17 that pbs's sysroot defines, through the
   declarations its headers show; prints one "name result errno" line each. argv[1]: a
   scratch file. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long result)
{
    printf("%s %ld %d\n", name, result, result < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
    int file = open(argv[argc - 1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(file, "hello world", 11);
    int copy = open(argv[argc - 1], O_RDWR);
    report("memfd_create", memfd_create("pbs", MFD_CLOEXEC));
    off_t from = 0, to = 11;
    report("copy_file_range", copy_file_range(file, &from, copy, &to, 5, 0));
    char buffer[6] = {0};
    struct iovec part = {buffer, 5};
    long got = preadv2(file, &part, 1, 6, 0);
    report(strcmp(buffer, "world") == 0 ? "preadv2-reads-world" : "preadv2", got);
    report("pwritev2-dsync", pwritev2(file, &part, 1, 0, RWF_DSYNC));
    unsigned char random[32];
    report("getrandom", getrandom(random, sizeof random, 0));
    report("getentropy", getentropy(random, sizeof random));
    explicit_bzero(random, sizeof random);
    report("close_range", close_range(copy, copy, 0));
    report("closed-by-close_range", fcntl(copy, F_GETFD));
    closefrom(file);
    report("closed-by-closefrom", fcntl(file, F_GETFD));
    sem_t semaphore;
    sem_init(&semaphore, 0, 0);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 1;
    report("sem_clockwait", sem_clockwait(&semaphore, CLOCK_MONOTONIC, &deadline));
    return 0;
}
