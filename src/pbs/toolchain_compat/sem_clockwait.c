/* glibc 2.30's sem_clockwait. The running glibc's own when it has one; otherwise
   sem_timedwait on CLOCK_REALTIME deadlines re-derived from the requested clock in slices of
   at most 50 ms, so that a jump of the wall clock delays the return by one slice at most. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <time.h>

typedef int (*sem_clockwait_fn)(sem_t *, clockid_t, const struct timespec *);

static sem_clockwait_fn glibc_sem_clockwait(void)
{
    static sem_clockwait_fn found;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        sem_clockwait_fn f = (sem_clockwait_fn)dlvsym(RTLD_DEFAULT, "sem_clockwait", "GLIBC_2.30");
        __atomic_store_n(&found, f, __ATOMIC_RELAXED);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&found, __ATOMIC_RELAXED);
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    sem_clockwait_fn own = glibc_sem_clockwait();
    if (own)
        return own(sem, clock, abstime);
    if (clock == CLOCK_REALTIME)
        return sem_timedwait(sem, abstime);
    if (clock != CLOCK_MONOTONIC) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        struct timespec now, deadline;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = (abstime->tv_sec - now.tv_sec) * 1000000000LL
                         + (abstime->tv_nsec - now.tv_nsec);
        if (left <= 0) {
            if (sem_trywait(sem) == 0)
                return 0;
            if (errno == EAGAIN)
                errno = ETIMEDOUT;
            return -1;
        }
        if (left > 50000000LL)
            left = 50000000LL;
        clock_gettime(CLOCK_REALTIME, &deadline);
        long long ns = deadline.tv_nsec + left;
        deadline.tv_sec += ns / 1000000000LL;
        deadline.tv_nsec = ns % 1000000000LL;
        if (sem_timedwait(sem, &deadline) == 0)
            return 0;
        if (errno != ETIMEDOUT)
            return -1;
    }
}
