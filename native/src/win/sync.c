/* sync.c (Windows) - locks, condition variables and the clock for the core.
 * SRW locks need no destruction and no allocation. */
#include "host.h"
#include "wsdx.h"

#include <stdlib.h>

void wsdx_mutex_init(wsdx_mutex *m) { InitializeSRWLock(m); }
void wsdx_mutex_destroy(wsdx_mutex *m) { (void)m; }
void wsdx_mutex_lock(wsdx_mutex *m) { AcquireSRWLockExclusive(m); }
void wsdx_mutex_unlock(wsdx_mutex *m) { ReleaseSRWLockExclusive(m); }

int wsdx_mutex_is_locked(wsdx_mutex *m)
{
    if (!TryAcquireSRWLockExclusive(m))
        return 1;
    ReleaseSRWLockExclusive(m);
    return 0;
}

void wsdx_cond_init(wsdx_cond *c) { InitializeConditionVariable(c); }
void wsdx_cond_destroy(wsdx_cond *c) { (void)c; }
void wsdx_cond_broadcast(wsdx_cond *c) { WakeAllConditionVariable(c); }

void wsdx_cond_wait(wsdx_cond *c, wsdx_mutex *m, int64_t deadline)
{
    DWORD ms = INFINITE;
    if (deadline >= 0) {
        int64_t left = deadline - wsdx_now_ms();
        ms = left <= 0 ? 0 : (DWORD)left;
    }
    SleepConditionVariableSRW(c, m, ms, 0);
}

int64_t wsdx_now_ms(void)
{
    return (int64_t)GetTickCount64();
}

void wsdx_sleep_ms(int ms)
{
    Sleep((DWORD)ms);
}

struct spawned {
    void (*fn)(void *);
    void *arg;
};

static DWORD WINAPI spawned_main(LPVOID p)
{
    struct spawned sp = *(struct spawned *)p;
    free(p);
    sp.fn(sp.arg);
    return 0;
}

int wsdx_thread_spawn(void (*fn)(void *), void *arg)
{
    struct spawned *sp = malloc(sizeof *sp);
    if (!sp)
        return -WSDX_WSAENOBUFS;
    sp->fn = fn;
    sp->arg = arg;
    HANDLE t = CreateThread(NULL, 256 * 1024, spawned_main, sp, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!t) {
        free(sp);
        return -WSDX_WSAENOBUFS;
    }
    CloseHandle(t); /* detached: the thread runs on */
    return 0;
}
