/* sync.c (POSIX) - mutexes, condition variables and the clock for the core. */
#include "host.h"
#include "wsdx.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

void wsdx_mutex_init(wsdx_mutex *m) { pthread_mutex_init(m, NULL); }
void wsdx_mutex_destroy(wsdx_mutex *m) { pthread_mutex_destroy(m); }
void wsdx_mutex_lock(wsdx_mutex *m) { pthread_mutex_lock(m); }
void wsdx_mutex_unlock(wsdx_mutex *m) { pthread_mutex_unlock(m); }

int wsdx_mutex_is_locked(wsdx_mutex *m)
{
    if (pthread_mutex_trylock(m) != 0)
        return 1;
    pthread_mutex_unlock(m);
    return 0;
}

void wsdx_cond_init(wsdx_cond *c)
{
    /* monotonic, so that a wall-clock change cannot stretch a timeout */
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

void wsdx_cond_destroy(wsdx_cond *c) { pthread_cond_destroy(c); }
void wsdx_cond_broadcast(wsdx_cond *c) { pthread_cond_broadcast(c); }

void wsdx_cond_wait(wsdx_cond *c, wsdx_mutex *m, int64_t deadline)
{
    if (deadline < 0) {
        pthread_cond_wait(c, m);
        return;
    }
    struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000L};
    pthread_cond_timedwait(c, m, &ts);
}

int64_t wsdx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wsdx_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

struct spawned {
    void (*fn)(void *);
    void *arg;
};

static void *spawned_main(void *p)
{
    struct spawned sp = *(struct spawned *)p;
    free(p);
    sp.fn(sp.arg);
    return NULL;
}

int wsdx_thread_spawn(void (*fn)(void *), void *arg)
{
    struct spawned *sp = malloc(sizeof *sp);
    pthread_t t;
    pthread_attr_t a;
    if (!sp)
        return -WSDX_WSAENOBUFS;
    sp->fn = fn;
    sp->arg = arg;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024); /* a connect and a preamble: little stack */
    int rc = pthread_create(&t, &a, spawned_main, sp);
    pthread_attr_destroy(&a);
    if (rc) {
        free(sp);
        return -WSDX_WSAENOBUFS;
    }
    return 0;
}
