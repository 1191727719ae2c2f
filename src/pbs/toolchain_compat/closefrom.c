/* glibc 2.34's closefrom: close_range, else every descriptor listed in /proc/self/fd. Like
   glibc's, it cannot fail: it aborts when neither way works. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

void closefrom(int lowfd)
{
    if (lowfd < 0)
        lowfd = 0;
    if (syscall(__NR_close_range, (unsigned int)lowfd, ~0U, 0) == 0)
        return;
    DIR *listing = opendir("/proc/self/fd");
    if (listing == NULL)
        abort();
    int own = dirfd(listing);
    /* Closing while reading may skip entries: read again until a pass closes nothing. */
    for (int closed = 1; closed;) {
        closed = 0;
        rewinddir(listing);
        for (struct dirent *entry; (entry = readdir(listing)) != NULL;) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
                continue;
            int fd = atoi(entry->d_name);
            if (fd >= lowfd && fd != own) {
                close(fd);
                closed = 1;
            }
        }
    }
    closedir(listing);
}
