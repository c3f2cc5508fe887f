/* sync.c (Windows) - locks, condition variables and the clock for the core.
 * SRW locks need no destruction and no allocation. */
#include "host.h"

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
