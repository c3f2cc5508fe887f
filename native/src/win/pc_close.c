/* pc_close.c (Windows) - wsdx_close on the installed backend: the provider
 * carries out the linger policy in closesocket; no handle and no callback
 * after it returns. */
#include "pc.h"

#include <stdlib.h>
static void finish(entry *e)
{
    EnterCriticalSection(&pc__g.lock);
    e->dead = 1;
    pc_detach_locked(e);
    pc_unpublish(e);
    while (e->in_cb && e->cb_thread != GetCurrentThreadId())
        SleepConditionVariableCS(&pc__g.cb_done, &pc__g.lock, INFINITE);
    SOCKET *queued = e->ready;
    int n = e->nready;
    e->ready = NULL;
    e->nready = 0;
    pc_unref(e); /* the table's */
    LeaveCriticalSection(&pc__g.lock);
    for (int i = 0; i < n; i++)
        pc__g.ws->closesocket(queued[i]); /* accepted, never taken: the peer sees a close */
    free(queued);
}

/* Closes s under the linger policy; WSAEWOULDBLOCK (S10) leaves it open. */
static int close_socket(entry *e)
{
    if (e->s == INVALID_SOCKET)
        return 0;
    if (e->listener)
        return pc__g.ws->closesocket(e->s) == 0 ? 0 : -pc_werr();
    pc__g.ws->event_select(e->s, NULL, 0);
    u_long nb = !e->blocking; /* the provider's linger wait follows the blocking mode (S9, S10) */
    pc__g.ws->ioctlsocket(e->s, FIONBIO, &nb);
    if (pc__g.ws->closesocket(e->s) == 0)
        return 0;
    int err = pc_werr();
    if (err == WSAEWOULDBLOCK)
        pc__g.ws->event_select(e->s, e->ev, FD_CLOSE);
    return -err;
}

int pc_close(wsdx_socket h)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    if (InterlockedExchange(&e->closing, 1)) { /* another thread is closing it */
        pc_unref(e);
        return -WSDX_WSAENOTSOCK;
    }
    EnterCriticalSection(&pc__g.lock);
    WakeAllConditionVariable(&e->accepted);
    LeaveCriticalSection(&pc__g.lock);
    AcquireSRWLockExclusive(&e->io); /* calls in progress see closing and leave */
    int rc = close_socket(e);
    if (rc == -WSDX_WSAEWOULDBLOCK)
        InterlockedExchange(&e->closing, 0);
    else
        e->s = INVALID_SOCKET;
    pc_release_exclusive(e);
    if (rc != -WSDX_WSAEWOULDBLOCK) {
        if (e->acceptor) {
            WaitForSingleObject(e->acceptor, INFINITE);
            CloseHandle(e->acceptor);
        }
        finish(e);
        rc = 0; /* the socket is gone whatever the provider said */
    }
    pc_unref(e);
    return rc;
}
