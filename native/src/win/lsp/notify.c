/* notify.c - what the application is told of a wsdx socket: the events due
 * by Winsock's re-enabling rules (WSPEventSelect / WSPAsyncSelect), and
 * WSPSelect's wake-ups; wsk_settle runs after anything that may change them. */
#include "wsock.h"

static int close_due(wsock *w)
{
    return wsdx_conn_close_due(&w->conn);
}

/* Under w->lock: the selected events the application may be told of now,
 * by Winsock's re-enabling rules (FD_READ again after a receive, FD_ACCEPT
 * after an accept, FD_WRITE after a send that would block, FD_CONNECT and
 * FD_CLOSE once). consume: mark them told. */
long wsk_due_events(wsock *w, int errs[FD_MAX_EVENTS], int consume)
{
    long m = w->mask & ~w->told, due = 0;
    if ((m & FD_READ) && !w->listening && wsdx_rxq_has_ready(&w->conn.rx))
        due |= FD_READ;
    if ((m & FD_WRITE) && w->conn.connected && !w->txlen)
        due |= FD_WRITE;
    if ((m & FD_ACCEPT) && w->listening && w->nready > 0)
        due |= FD_ACCEPT;
    if ((m & FD_CONNECT) && w->connect_done) {
        due |= FD_CONNECT;
        errs[FD_CONNECT_BIT] = w->connect_err;
    }
    int fl = 0;
    if ((w->mask & FD_CLOSE) && (consume ? wsdx_conn_take_close(&w->conn, &errs[FD_CLOSE_BIT], &fl) : close_due(w))) {
        due |= FD_CLOSE; /* once, after the data before it is readable (R5) */
        if (!consume)
            errs[FD_CLOSE_BIT] = w->conn.peer_error;
    }
    if (consume)
        w->told |= due & ~FD_CLOSE;
    return due;
}

/* Tells the application what is due: its event is set (it enumerates), or
 * one window message per event is posted, under the lock so that two
 * threads' messages never overtake each other (FD_CLOSE comes last). */
static void notify(wsock *w)
{
    int errs[FD_MAX_EVENTS] = { 0 }, e = 0;
    EnterCriticalSection(&w->lock);
    WSAEVENT ev = w->ev;
    long due = ev || w->wnd ? wsk_due_events(w, errs, w->wnd != NULL) : 0;
    for (int i = 0; w->wnd && i < FD_MAX_EVENTS; i++)
        if (due & (1L << i))
            wsdx_lsp_up.lpWPUPostMessage(w->wnd, w->msg, (WPARAM)w->app, (LPARAM)WSAMAKESELECTREPLY(1L << i, errs[i]));
    LeaveCriticalSection(&w->lock);
    if (due && ev)
        wsdx_lsp_up.lpWPUSetEvent(ev, &e);
}

/* WSPSelect sleeps until some socket's state moved on: g_moves counts the
 * moves, and a mover wakes the sleepers only when there are any. */
static SRWLOCK g_sel_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE g_sel_cv = CONDITION_VARIABLE_INIT;
static volatile LONG g_moves, g_sleepers;

/* The count of moves so far (WSPSelect looks at it before it looks). */
LONG wsk_moves(void)
{
    return InterlockedCompareExchange(&g_moves, 0, 0);
}

void wsk_moved(void)
{
    InterlockedIncrement(&g_moves);
    if (InterlockedCompareExchange(&g_sleepers, 0, 0)) {
        AcquireSRWLockExclusive(&g_sel_lock); /* a sleeper that saw the old count is asleep by now */
        ReleaseSRWLockExclusive(&g_sel_lock);
        WakeAllConditionVariable(&g_sel_cv);
    }
}

/* Sleeps up to ms unless g_moves has left seen. */
void wsk_await_move(LONG seen, DWORD ms)
{
    AcquireSRWLockExclusive(&g_sel_lock);
    InterlockedIncrement(&g_sleepers);
    if (InterlockedCompareExchange(&g_moves, 0, 0) == seen)
        SleepConditionVariableSRW(&g_sel_cv, &g_sel_lock, ms, 0);
    InterlockedDecrement(&g_sleepers);
    ReleaseSRWLockExclusive(&g_sel_lock);
}

/* After anything that may have changed what is due: pending requests first
 * (they take the data), then what the application is told. */
void wsk_settle(wsock *w)
{
    wsk_connect_timer_end(w, 0); /* an attempt that is over needs no deadline */
    wsk_finish_ops(w);
    notify(w);
    wsk_moved();
}
