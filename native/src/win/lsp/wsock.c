/* wsock.c - a wsdx entry's socket: its handle and references, creation
 * over a lower socket (always non-blocking, its events always ours), and
 * on_lower, the pool wait that hears of them. The receive path is recv.c,
 * the send queue sendq.c, overlapped requests ovl.c, what the application
 * is told notify.c, the lower socket's calls lower_io.c; the WSP functions
 * over it are proto_*.c; connecting is connect.c, listening listen.c. */
#include "wsock.h"

#include <stdlib.h>
#include <string.h>

static SRWLOCK g_slock = SRWLOCK_INIT; /* w->closed, against wsk_get */
volatile LONG wsdx_lsp_live_contexts;

wsock *wsk_get(SOCKET s, LPINT err)
{
    DWORD_PTR ctx = 0;
    int e = 0;
    wsock *w = NULL;
    AcquireSRWLockShared(&g_slock);
    if (wsdx_lsp_up.lpWPUQuerySocketHandleContext &&
        wsdx_lsp_up.lpWPUQuerySocketHandleContext(s, &ctx, &e) == 0 && ctx) {
        w = (wsock *)ctx;
        if (w->closed)
            w = NULL;
        else
            InterlockedIncrement(&w->refs);
    }
    ReleaseSRWLockShared(&g_slock);
    if (!w)
        *err = WSAENOTSOCK;
    return w;
}

void wsk_put(wsock *w)
{
    if (InterlockedDecrement(&w->refs) != 0)
        return;
    wsdx_conn_free(&w->conn);
    if (w->iev)
        CloseHandle(w->iev);
    free(w->txq);
    free(w->hs);
    free(w->ready);
    DeleteCriticalSection(&w->lock);
    DeleteCriticalSection(&w->rxio);
    DeleteCriticalSection(&w->txio);
    free(w);
    InterlockedDecrement(&wsdx_lsp_live_contexts);
}

void wsk_set_closed(wsock *w, int closed)
{
    AcquireSRWLockExclusive(&g_slock);
    w->closed = closed;
    ReleaseSRWLockExclusive(&g_slock);
}

int wsk_is_closed(wsock *w)
{
    AcquireSRWLockShared(&g_slock);
    int c = w->closed;
    ReleaseSRWLockShared(&g_slock);
    return c;
}

/* ------------------------------------------------------------------ */
/* socket creation */

static void CALLBACK on_lower(PVOID arg, BOOLEAN timed_out);

/* The lower socket's events go to w's own event, watched by a pool wait. */
int wsk_arm(wsock *w)
{
    int e = 0;
    if (w->p->next.lpWSPEventSelect(w->low, w->iev, LOWER_EVENTS, &e))
        return -e;
    InterlockedIncrement(&w->refs); /* the wait's */
    if (RegisterWaitForSingleObject(&w->wait, w->iev, on_lower, w, INFINITE, WT_EXECUTEDEFAULT))
        return 0;
    w->wait = NULL;
    InterlockedDecrement(&w->refs);
    return -WSAENOBUFS;
}

/* Ends the wait (and any on_lower still running) before the lower socket
 * is closed or replaced, so on_lower never touches a closed handle that
 * another socket may have been given. Never called from on_lower. */
void wsk_disarm(wsock *w)
{
    if (!w->wait)
        return;
    UnregisterWaitEx(w->wait, INVALID_HANDLE_VALUE);
    w->wait = NULL;
    int e = 0;
    w->p->next.lpWSPEventSelect(w->low, NULL, 0, &e);
    ResetEvent(w->iev);
    wsk_put(w);
}

/* w takes low as its lower socket: non-blocking, its events ours. 0 or -WSA code. */
int wsk_attach_lower(wsock *w, SOCKET low)
{
    w->low = low;
    int rc = wsk_lower_nbio(w->p, low, 1);
    return rc ? rc : wsk_arm(w);
}

/* A wsock over a lower socket, armed; NULL with *err set (WSAENOBUFS, or
 * the lower socket's own code when it cannot be armed; low is then the
 * caller's to close). */
wsock *wsk_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id, int *err)
{
    wsock *w = (wsock *)calloc(1, sizeof *w);
    *err = WSAENOBUFS;
    if (!w)
        return NULL;
    InterlockedIncrement(&wsdx_lsp_live_contexts);
    w->refs = 1; /* the handle's reference */
    w->p = p;
    w->low = low;
    w->mode = mode;
    w->catalog_id = catalog_id;
    InitializeCriticalSection(&w->lock);
    InitializeCriticalSection(&w->rxio);
    InitializeCriticalSection(&w->txio);
    wsdx_conn_init(&w->conn, mode);
    w->iev = CreateEventW(NULL, TRUE, FALSE, NULL);
    int rc = w->iev ? wsk_attach_lower(w, low) : -WSAENOBUFS;
    if (rc) {
        int e = 0;
        *err = -rc;
        p->next.lpWSPEventSelect(low, NULL, 0, &e);
        wsk_put(w);
        return NULL;
    }
    return w;
}

/* Undoes wsock_new (no handle was made): the lower socket is closed. */
void wsk_free(wsock *w)
{
    int e = 0;
    wsk_disarm(w);
    w->p->next.lpWSPCloseSocket(w->low, &e);
    wsk_put(w);
}

/* Swaps in a fresh lower socket (connect failed, DisconnectEx): the old one
 * is reset (abort) or closed gracefully. 0 or -WSA code (then no lower socket
 * is left: later calls fail as on a broken connection). */
int wsk_replace_lower(wsock *w, int abort)
{
    int e = 0;
    wsk_disarm(w);
    if (abort)
        wsk_lower_abort(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    w->low = w->p->next.lpWSPSocket(w->p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP, &w->p->lower_info, 0,
                                    WSA_FLAG_OVERLAPPED, &e);
    if (w->low == INVALID_SOCKET)
        return e ? -e : -WSAENOBUFS;
    return wsk_attach_lower(w, w->low);
}

/* The pool wait: the lower socket reported something. */
static void CALLBACK on_lower(PVOID arg, BOOLEAN timed_out)
{
    wsock *w = (wsock *)arg;
    WSANETWORKEVENTS ne;
    int e = 0;
    (void)timed_out;
    memset(&ne, 0, sizeof ne);
    if (w->p->next.lpWSPEnumNetworkEvents(w->low, w->iev, &ne, &e) == SOCKET_ERROR) {
        ResetEvent(w->iev);
        return;
    }
    EnterCriticalSection(&w->lock);
    int connecting = w->connecting;
    if (connecting)
        wsk_connect_step(w, &ne);
    LeaveCriticalSection(&w->lock);
    if (w->listening) {
        EnterCriticalSection(&w->lock);
        wsk_advance(w); /* new connections, and preambles arriving on them */
        LeaveCriticalSection(&w->lock);
    } else if (connecting) {
        wsk_pump(w, PUMP_TRY); /* what came with the peer's preamble, if it is through */
    } else {
        if (ne.lNetworkEvents & (FD_READ | FD_CLOSE))
            wsk_pump(w, PUMP_TRY);
        if ((ne.lNetworkEvents & FD_CLOSE) && ne.iErrorCode[FD_CLOSE_BIT]) {
            EnterCriticalSection(&w->lock);
            if (w->conn.connected) /* during the preamble, WSPConnect sees it itself */
                wsdx_conn_fail(&w->conn, ne.iErrorCode[FD_CLOSE_BIT]); /* no effect when a clean end came first */
            LeaveCriticalSection(&w->lock);
        }
        if (ne.lNetworkEvents & FD_WRITE)
            wsk_tx_kick(w);
    }
    wsk_settle(w);
}

SOCKET wsk_make_handle(wsock *w, LPINT lpErrno)
{
    SOCKET s = wsdx_lsp_up.lpWPUCreateSocketHandle(w->catalog_id, (DWORD_PTR)w, lpErrno);
    if (s == INVALID_SOCKET)
        return s;
    w->app = s;
    return s;
}
