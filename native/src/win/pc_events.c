/* pc_events.c (Windows) - FD_CLOSE of the installed backend as a callback:
 * each connection's close event is waited on by a group thread (up to 63
 * events each, WSAEventSelect), which calls the callback outside the lock. */
#include "pc.h"

#include <stdlib.h>
/* ------------------------------------------------------ close events */

/* The peer's disconnect data is non-empty (an empty DISCONNECT frame is a FIN
 * alone, protocol.md 2): the provider reports its length. */
static int disconnect_flags(SOCKET s)
{
    int len = -1, optlen = sizeof len;
    if (pc__g.ws->getsockopt(s, SOL_SOCKET, SO_DISCDATALEN, (char *)&len, &optlen) != 0)
        return 0;
    return len > 0 ? WSDX_CLOSE_DISCONNECT_DATA : 0;
}

/* A close event must not be lost while e->io is held exclusive (connect's
 * attach, set_linger, close): FD_CLOSE is signalled once, and the group
 * thread cannot read it then. Winsock keeps the recorded network events in
 * the socket until WSAEnumNetworkEvents reads them, so only the wake-up
 * needs carrying over, without a timer:
 *   group thread:  ResetEvent(ev); X: repoll = 1; T: TryAcquireShared(io)
 *   holder:        R: ReleaseExclusive(io); Y: if (exchange(repoll, 0)) SetEvent(ev)
 * X, T, R and Y are interlocked (full barriers, one total order). If T
 * fails, the lock was held when T read it, so R comes after T, and
 * X < T < R < Y: Y sees repoll == 1 (or a later holder's Y took it and set
 * ev itself) and sets ev after the reset, and the group thread polls again.
 * If T succeeds, the group thread reads the events itself. A stale repoll
 * costs one spurious poll, never a lost one. (TryAcquireSRWLockShared fails
 * only while an exclusive owner holds or waits for the lock; a waiter ends
 * through pc_release_exclusive too.) */
void pc_release_exclusive(entry *e)
{
    ReleaseSRWLockExclusive(&e->io);
    if (InterlockedExchange(&e->repoll, 0) && e->ev)
        WSASetEvent(e->ev);
}

/* Group thread: what did e's event say? */
static void poll_close(entry *e)
{
    WSAResetEvent(e->ev); /* before X: a set by the holder's Y must survive */
    InterlockedExchange(&e->repoll, 1);
    if (!TryAcquireSRWLockShared(&e->io))
        return; /* the holder's pc_release_exclusive sets ev again */
    InterlockedExchange(&e->repoll, 0);
    WSANETWORKEVENTS ne;
    if (!e->closing && pc__g.ws->enum_network_events(e->s, e->ev, &ne) == 0 && (ne.lNetworkEvents & FD_CLOSE)) {
        int flags = disconnect_flags(e->s);
        EnterCriticalSection(&pc__g.lock);
        if (!e->close_seen) {
            e->close_seen = 1;
            e->close_err = ne.iErrorCode[FD_CLOSE_BIT];
            e->close_flags = flags;
        }
        LeaveCriticalSection(&pc__g.lock);
    }
    ReleaseSRWLockShared(&e->io);
}

/* pc__g.lock held: the close of e is due to its callback. */
int pc_due_locked(const entry *e)
{
    return e->close_seen && e->fn && !e->delivered && !e->dead;
}

/* Group thread: calls the callbacks that are due, outside the lock. */
static void deliver(entry **who, int n)
{
    for (int k = 0; k < n; k++) {
        entry *e = who[k];
        EnterCriticalSection(&pc__g.lock);
        if (!pc_due_locked(e)) {
            LeaveCriticalSection(&pc__g.lock);
            continue;
        }
        e->delivered = 1;
        e->in_cb = 1;
        e->cb_thread = GetCurrentThreadId();
        wsdx_close_fn fn = e->fn;
        void *ctx = e->ctx;
        int err = e->close_err, flags = e->close_flags;
        LeaveCriticalSection(&pc__g.lock);
        fn(e->h.handle, err, flags, ctx);
        EnterCriticalSection(&pc__g.lock);
        e->in_cb = 0;
        WakeAllConditionVariable(&pc__g.cb_done);
        LeaveCriticalSection(&pc__g.lock);
    }
}

static DWORD WINAPI group_main(LPVOID arg)
{
    group *gp = arg;
    for (;;) {
        WSAEVENT evs[GROUP_MAX + 1];
        entry *who[GROUP_MAX];
        EnterCriticalSection(&pc__g.lock);
        int n = gp->n;
        evs[0] = gp->wake;
        for (int i = 0; i < n; i++) {
            who[i] = gp->e[i];
            pc_ref(who[i]); /* the loop's, while it waits without the lock */
            evs[i + 1] = who[i]->ev;
        }
        LeaveCriticalSection(&pc__g.lock);
        WSAWaitForMultipleEvents((DWORD)n + 1, evs, FALSE, WSA_INFINITE, FALSE);
        WSAResetEvent(gp->wake);
        for (int i = 0; i < n; i++)
            if (WaitForSingleObject(evs[i + 1], 0) == WAIT_OBJECT_0)
                poll_close(who[i]);
        deliver(who, n);
        EnterCriticalSection(&pc__g.lock);
        for (int i = 0; i < n; i++)
            pc_unref(who[i]);
        LeaveCriticalSection(&pc__g.lock);
    }
    return 0;
}

/* pc__g.lock held: a group with room, started if new. */
static group *group_with_room_locked(void)
{
    for (group *gp = pc__g.groups; gp; gp = gp->next)
        if (gp->n < GROUP_MAX)
            return gp;
    group *gp = calloc(1, sizeof *gp);
    if (!gp || !(gp->wake = WSACreateEvent())) {
        free(gp);
        return NULL;
    }
    HANDLE th = CreateThread(NULL, 64 * 1024, group_main, gp, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!th) {
        WSACloseEvent(gp->wake);
        free(gp);
        return NULL;
    }
    CloseHandle(th); /* groups live as long as the process */
    gp->next = pc__g.groups;
    pc__g.groups = gp;
    return gp;
}

/* A connected s becomes e's: FD_CLOSE is watched from now on. 0 or -WSA. */
int pc_attach(entry *e, SOCKET s)
{
    WSAEVENT ev = WSACreateEvent();
    if (ev == WSA_INVALID_EVENT)
        return -WSDX_WSAENOBUFS;
    if (pc__g.ws->event_select(s, ev, FD_CLOSE) != 0) {
        int rc = -pc_werr();
        WSACloseEvent(ev);
        return rc;
    }
    EnterCriticalSection(&pc__g.lock);
    group *gp = group_with_room_locked();
    if (gp) {
        e->s = s;
        e->ev = ev;
        e->grp = gp;
        gp->e[gp->n++] = e;
        pc_ref(e); /* the group's */
        WSASetEvent(gp->wake);
    }
    LeaveCriticalSection(&pc__g.lock);
    if (!gp) {
        pc__g.ws->event_select(s, NULL, 0);
        WSACloseEvent(ev);
        return -WSDX_WSAENOBUFS;
    }
    return 0;
}

/* pc__g.lock held: e leaves its group (its event may still be waited on once). */
void pc_detach_locked(entry *e)
{
    group *gp = e->grp;
    if (!gp)
        return;
    for (int i = 0; i < gp->n; i++) {
        if (gp->e[i] == e) {
            gp->e[i] = gp->e[--gp->n];
            break;
        }
    }
    e->grp = NULL;
    WSASetEvent(gp->wake);
    pc_unref(e); /* the group's */
}

/* ------------------------------------------------------------------ close */

int pc_on_close(wsdx_socket h, wsdx_close_fn fn, void *ctx)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    EnterCriticalSection(&pc__g.lock);
    e->fn = fn;
    e->ctx = ctx;
    if (pc_due_locked(e) && e->grp)
        WSASetEvent(e->grp->wake); /* it already happened: the group thread delivers it now */
    LeaveCriticalSection(&pc__g.lock);
    pc_unref(e);
    return 0;
}
