/* wsdxproto.c - the WSP functions of the wsdx protocol entries (stream and
 * message, with XP1_DISCONNECT_DATA). Each application socket is our own
 * handle (WPUCreateSocketHandle) whose context is a wsock (wsock.h): the
 * portable state machine (core conn.h), the lower TCP socket, and a send
 * queue. What a call may do is asked of wsdx_conn_recv / _shutdown /
 * _send_disconnect / _recv_disconnect / _take_close; the I/O and the
 * notifications are the socket machinery's (wsock.c, connect.c,
 * listen.c); the extension functions are extensions.c. Wire format:
 * docs/protocol.md. */
#include "wsock.h"

#include "frame.h"
#include "linger.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* sockets and connections */

static int mode_of(const WSAPROTOCOL_INFOW *pi)
{
    return pi && (pi->dwServiceFlags1 & XP1_MESSAGE_ORIENTED) ? WSDX_MESSAGE : WSDX_STREAM;
}

static SOCKET WSPAPI wp_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
                               DWORD flags, LPINT lpErrno)
{
    (void)af; (void)type; (void)protocol; (void)g;
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEPROVIDERFAILEDINIT;
        return INVALID_SOCKET;
    }
    SOCKET low = p->next.lpWSPSocket(p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP,
                                     &p->lower_info, 0, flags | WSA_FLAG_OVERLAPPED, lpErrno);
    if (low == INVALID_SOCKET)
        return INVALID_SOCKET;
    int e = 0;
    wsock *w = wsk_new(p, low, mode_of(pi ? pi : &p->self), pi ? pi->dwCatalogEntryId : p->self_id);
    if (!w) {
        p->next.lpWSPCloseSocket(low, &e);
        *lpErrno = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    SOCKET s = wsk_make_handle(w, lpErrno);
    if (s == INVALID_SOCKET)
        wsk_free(w);
    return s;
}

static int WSPAPI wp_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                             LPWSABUF callee, LPQOS sq, LPQOS gq, LPINT lpErrno)
{
    (void)caller; (void)sq; (void)gq;
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = wsk_connect_prepare(w);
    if (!rc && w->nonblocking)
        rc = wsk_connect_async(w, name, namelen, w->connect_ms ? w->connect_ms : CONNECT_MS + HANDSHAKE_MS);
    else if (!rc) {
        rc = wsk_connect_blocking(w, name, namelen);
        EnterCriticalSection(&w->lock);
        wsk_connect_end(w, rc);
        LeaveCriticalSection(&w->lock);
        if (rc) {
            wsk_replace_lower(w, 1); /* reset it now; the socket stays usable, unconnected */
            EnterCriticalSection(&w->lock);
            w->lower_spent = 0;
            LeaveCriticalSection(&w->lock);
        } else {
            wsk_pump(w, 0); /* what came with the peer's preamble raised no event of its own */
        }
    }
    if (!rc && callee)
        callee->len = 0; /* no connect data */
    wsk_settle(w);
    wsk_put(w);
    if (rc) {
        *lpErrno = rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static SOCKET WSPAPI wp_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC cond,
                               DWORD_PTR data, LPINT lpErrno)
{
    (void)cond; (void)data; /* conditional acceptance is not offered (docs/windows.md) */
    wsock *l = wsk_get(s, lpErrno);
    if (!l)
        return INVALID_SOCKET;
    pending x;
    SOCKET result = INVALID_SOCKET;
    if (!l->listening)
        *lpErrno = WSAEINVAL;
    else if (wsk_next_ready(l, &x))
        result = wsk_adopt(l, &x, addr, addrlen, lpErrno);
    else if (l->nonblocking)
        *lpErrno = WSAEWOULDBLOCK;
    else {
        while (!wsk_is_closed(l) && !wsk_next_ready(l, &x))
            wsk_lower_wait(l->p, l->low, 0, 10); /* a new connection wakes it; handshakes are polled */
        if (wsk_is_closed(l))
            *lpErrno = WSAEINTR;
        else
            result = wsk_adopt(l, &x, addr, addrlen, lpErrno);
    }
    EnterCriticalSection(&l->lock);
    l->told &= ~FD_ACCEPT; /* an accept re-enables FD_ACCEPT */
    LeaveCriticalSection(&l->lock);
    wsk_settle(l);
    wsk_put(l);
    return result;
}

/* ------------------------------------------------------------------ */
/* data */

/* A receive that waits (blocking socket) or not: bytes, or -WSA code. */
static int recv_now(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *fl)
{
    for (;;) {
        EnterCriticalSection(&w->lock);
        int rc = wsk_take(w, bufs, nbufs, n, fl);
        LeaveCriticalSection(&w->lock);
        if (rc != -WSAEWOULDBLOCK)
            return rc;
        if (!wsk_pump(w, !w->nonblocking) && w->nonblocking)
            return rc;
        if (wsk_is_closed(w))
            return -WSAENOTSOCK;
    }
}

/* An overlapped receive: done now (0 or -WSA code, completion notified on
 * success) or pending (-WSA_IO_PENDING) behind any earlier one. */
static int recv_overlapped(wsock *w, const WSABUF *bufs, DWORD nbufs, LPWSAOVERLAPPED ov,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, DWORD *n, DWORD *fl)
{
    ovl *o = wsk_op_new(w, ov, cr, t, bufs, nbufs);
    if (!o)
        return -WSAENOBUFS;
    wsk_pump(w, 0);
    EnterCriticalSection(&w->lock);
    int rc = w->rxops ? -WSAEWOULDBLOCK : wsk_take(w, bufs, nbufs, n, fl);
    if (rc == -WSAEWOULDBLOCK)
        wsk_op_append(&w->rxops, o);
    LeaveCriticalSection(&w->lock);
    if (rc == -WSAEWOULDBLOCK)
        return -WSA_IO_PENDING;
    if (rc < 0 && !(*fl & MSG_PARTIAL)) { /* a cut message completes, with its bytes */
        wsk_op_drop(o, (DWORD)-rc);
        return rc;
    }
    wsk_op_complete(o, rc < 0 ? (DWORD)-rc : 0, *n, *fl); /* an immediate success is notified too */
    return rc < 0 ? rc : 0;
}

static int WSPAPI wp_Recv(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD got, LPDWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    if (flags && (*flags & ~(DWORD)MSG_PUSH_IMMEDIATE)) {
        *lpErrno = WSAEOPNOTSUPP; /* MSG_PEEK, MSG_WAITALL, MSG_OOB: not offered; nothing is taken */
        return SOCKET_ERROR;
    }
    if (!bufs && nbufs) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    DWORD n = 0, fl = 0;
    int rc = ov ? recv_overlapped(w, bufs, nbufs, ov, cr, t, &n, &fl) : recv_now(w, bufs, nbufs, &n, &fl);
    wsk_settle(w);
    wsk_put(w);
    if (rc == -WSA_IO_PENDING) {
        *lpErrno = WSA_IO_PENDING;
        return SOCKET_ERROR;
    }
    if (got)
        *got = n;
    if (flags)
        *flags = fl;
    if (rc < 0) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_RecvFrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
                              struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    int rc = wp_Recv(s, bufs, n, got, flags, ov, cr, t, lpErrno);
    if (rc == 0 && from && fromlen) {
        wsock *w = wsk_get(s, lpErrno);
        if (w) {
            int e = 0;
            w->p->next.lpWSPGetPeerName(w->low, from, fromlen, &e);
            wsk_put(w);
        }
    }
    return rc;
}

/* The caller's buffers as one block: bufs[0] itself, or *tmp (to be freed). */
static const uint8_t *gather(const WSABUF *bufs, DWORD nbufs, size_t n, uint8_t **tmp)
{
    *tmp = NULL;
    if (nbufs == 1)
        return (const uint8_t *)bufs[0].buf;
    *tmp = (uint8_t *)malloc(n ? n : 1);
    for (DWORD i = 0, off = 0; *tmp && i < nbufs; off += bufs[i].len, i++)
        memcpy(*tmp + off, bufs[i].buf, bufs[i].len);
    return *tmp;
}

/* An overlapped send, caller holding txio: the whole frame goes into the
 * queue (in order after what is there) and out as the lower socket takes
 * it; the request completes once all of it is taken. 0 (done now, notified),
 * -WSA_IO_PENDING, or -WSA code. */
static int send_overlapped(wsock *w, const uint8_t *b, size_t n, LPWSAOVERLAPPED ov,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t)
{
    ovl *o = wsk_op_new(w, ov, cr, t, NULL, 0);
    if (!o)
        return -WSAENOBUFS;
    int rc = wsk_txq_frame(w, b, n);
    if (rc) {
        wsk_op_drop(o, (DWORD)rc);
        return -rc;
    }
    o->n = (DWORD)n;
    EnterCriticalSection(&w->lock);
    o->until = w->tx_in;
    int done = !w->txops && w->tx_out >= o->until;
    if (!done)
        wsk_op_append(&w->txops, o);
    LeaveCriticalSection(&w->lock);
    if (!done)
        return -WSA_IO_PENDING;
    wsk_op_complete(o, 0, (DWORD)n, 0);
    return 0;
}

/* A send that waits (blocking socket) or queues what does not fit now. */
static int send_now(wsock *w, const uint8_t *b, size_t n)
{
    int rc = wsk_flush(w, !w->nonblocking);
    if (rc == 0 && (n > 0 || w->mode == WSDX_MESSAGE)) {
        if (w->nonblocking && w->txlen + n > TXQ_MAX)
            rc = WSAEWOULDBLOCK;
        else
            rc = wsk_send_frame(w, WSDX_FRAME_DATA, b, n);
    }
    if (rc == WSAEWOULDBLOCK) {
        EnterCriticalSection(&w->lock);
        w->told &= ~FD_WRITE; /* FD_WRITE again once there is room */
        LeaveCriticalSection(&w->lock);
    }
    return -rc;
}

static int WSPAPI wp_Send(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD sent, DWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    if (flags & ~(DWORD)MSG_DONTROUTE) {
        *lpErrno = WSAEOPNOTSUPP; /* MSG_OOB, MSG_PARTIAL: not offered */
        return SOCKET_ERROR;
    }
    if (!bufs && nbufs) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    size_t n = 0;
    for (DWORD i = 0; i < nbufs; i++)
        n += bufs[i].len;
    uint8_t *tmp = NULL;
    int rc;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    rc = wsdx_conn_send_check(&w->conn);
    LeaveCriticalSection(&w->lock);
    if (!rc && w->mode == WSDX_MESSAGE && n > WSDX_MAX_MESSAGE)
        rc = -WSAEMSGSIZE;
    const uint8_t *b = rc ? NULL : gather(bufs, nbufs, n, &tmp);
    if (!rc && !b)
        rc = -WSAENOBUFS;
    if (!rc)
        rc = ov ? send_overlapped(w, b, n, ov, cr, t) : send_now(w, b, n);
    wsk_tx_leave(w);
    free(tmp);
    wsk_settle(w);
    wsk_put(w);
    if (rc == -WSA_IO_PENDING) {
        *lpErrno = WSA_IO_PENDING;
        return SOCKET_ERROR;
    }
    if (sent)
        *sent = rc ? 0 : (DWORD)n;
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_SendTo(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags,
                            const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)to; (void)tolen; /* connection-oriented: the address is ignored */
    return wp_Send(s, bufs, n, sent, flags, ov, cr, t, lpErrno);
}

static WINBOOL WSPAPI wp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL wait,
                                             LPDWORD flags, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return FALSE;
    wsk_put(w);
    if (!ov || !n) {
        *lpErrno = WSAEFAULT;
        return FALSE;
    }
    if (ov->Internal == WSS_OPERATION_IN_PROGRESS) {
        if (!wait) {
            *lpErrno = WSA_IO_INCOMPLETE;
            return FALSE;
        }
        HANDLE ev = (HANDLE)((ULONG_PTR)ov->hEvent & ~(ULONG_PTR)1);
        if (!ev || WaitForSingleObject(ev, INFINITE) != WAIT_OBJECT_0) {
            *lpErrno = WSA_INVALID_HANDLE; /* waiting needs event-based notification */
            return FALSE;
        }
        /* WPUCompleteOverlappedRequest may set Internal a little after the event */
        while (*(volatile ULONG_PTR *)&ov->Internal == WSS_OPERATION_IN_PROGRESS)
            SwitchToThread();
    }
    MemoryBarrier(); /* InternalHigh is set before Internal leaves WSS_OPERATION_IN_PROGRESS */
    /* the count is WPUCompleteOverlappedRequest's; flags and code are wsk_op_result's */
    *n = (DWORD)ov->InternalHigh;
    if (flags)
        *flags = ov->Offset;
    if (ov->OffsetHigh) {
        *lpErrno = (int)ov->OffsetHigh;
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* shutdown, disconnect data, close */

static int WSPAPI wp_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int fin = 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_shutdown(&w->conn, how, &fin);
    LeaveCriticalSection(&w->lock);
    if (rc == 0 && fin)
        wsk_send_fin(w);
    wsk_tx_leave(w);
    wsk_settle(w); /* SD_RECEIVE ends pending receives */
    wsk_put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_SendDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    const void *b = data ? data->buf : NULL;
    int n = data ? (int)data->len : 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_send_disconnect(&w->conn, b, n);
    LeaveCriticalSection(&w->lock);
    if (rc == 0) {
        int f = wsk_flush(w, !w->nonblocking);
        if (f && f != WSAEWOULDBLOCK)
            rc = -f;
        else
            rc = -wsk_send_frame(w, WSDX_FRAME_DISCONNECT, (const uint8_t *)b, (size_t)n);
        if (rc == 0)
            wsk_send_fin(w);
    }
    wsk_tx_leave(w);
    wsk_put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_RecvDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    wsk_pump(w, 0); /* the DISCONNECT frame may still sit in the lower socket */
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_recv_disconnect(&w->conn, data ? data->buf : NULL, data ? (int)data->len : 0);
    LeaveCriticalSection(&w->lock);
    wsk_put(w);
    if (rc < 0) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    if (data)
        data->len = (ULONG)rc;
    return 0;
}

/* SO_DONTLINGER with data still queued in our layer: the close returned at
 * once; the queue, then FIN, go out here. */
static DWORD WINAPI background_close(LPVOID arg)
{
    wsock *w = (wsock *)arg;
    int e = 0;
    EnterCriticalSection(&w->txio);
    wsk_txq_push(w, 1, (GetTickCount() + 120000) | 1);
    wsk_tx_leave(w);
    if (w->txlen)
        wsk_lower_abort(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    wsk_put(w);
    return 0;
}

static int WSPAPI wp_CloseSocket(SOCKET s, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int e = 0, rc = 0;
    EnterCriticalSection(&w->txio);
    wsk_flush(w, 0); /* whatever the lower socket takes now is no longer "queued" */
    enum wsdx_close_plan plan = wsdx_linger_plan(w->linger_on, w->linger_secs, !w->nonblocking, w->txlen);
    if (plan == WSDX_CLOSE_WOULDBLOCK) {
        wsk_tx_leave(w);
        wsk_put(w);
        *lpErrno = WSAEWOULDBLOCK; /* S10: stays open and usable */
        return SOCKET_ERROR;
    }
    if (plan == WSDX_CLOSE_WAIT) {
        /* blocking, linger n: wait until our queue is delivered or n seconds pass */
        wsk_txq_push(w, 1, (GetTickCount() + (DWORD)w->linger_secs * 1000) | 1);
        plan = w->txlen ? WSDX_CLOSE_ABORT : WSDX_CLOSE_GRACEFUL;
    }
    int background = plan == WSDX_CLOSE_GRACEFUL && w->txlen > 0;
    wsk_tx_leave(w);

    wsk_set_closed(w, 1);
    EnterCriticalSection(&w->lock); /* a connect timer that saw it open is done with the lower socket */
    LeaveCriticalSection(&w->lock);
    wsk_disarm(w); /* from here on the lower socket's events are nobody's */
    wsk_connect_timer_end(w, 1);
    if (w->listening)
        wsk_drop_pending(w);
    if (!background && plan == WSDX_CLOSE_GRACEFUL && w->linger_on && !w->nonblocking) {
        /* blocking linger n: let the lower provider wait for the kernel's queue */
        wsk_lower_nbio(w->p, w->low, 0);
    }

    if (w->low == INVALID_SOCKET) {
        /* a protocol error already reset and closed the lower socket */
    } else if (plan == WSDX_CLOSE_ABORT) {
        wsk_lower_abort(w->p, w->low);
    } else if (background) {
        InterlockedIncrement(&w->refs);
        HANDLE th = CreateThread(NULL, 0, background_close, w, 0, NULL);
        if (th)
            CloseHandle(th);
        else
            background_close(w);
    } else if (w->p->next.lpWSPCloseSocket(w->low, &e) == SOCKET_ERROR) {
        if (e == WSAEWOULDBLOCK) {
            /* non-blocking, linger n, the kernel still holds data: stays open */
            wsk_set_closed(w, 0);
            wsk_arm(w);
            wsk_put(w);
            *lpErrno = WSAEWOULDBLOCK;
            return SOCKET_ERROR;
        }
        rc = e; /* WSAENETDOWN, WSAEINTR, ...: reported below */
    }
    wsk_abort_ops(w); /* before the handle goes: completions name it */
    int e2 = 0;
    wsdx_lsp_up.lpWPUCloseSocketHandle(s, &e2);
    wsk_moved(); /* a WSPSelect over it answers WSAENOTSOCK now */
    wsk_put(w); /* ours */
    wsk_put(w); /* the handle's */
    if (rc) {
        /* the lower provider's close failed: the application hears of it, but
         * its handle is gone all the same (a lower socket in an unknown state
         * cannot be handed back, and a second close could not do better) */
        *lpErrno = rc;
        return SOCKET_ERROR;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* events */

/* WSPEventSelect / WSPAsyncSelect: what to tell, and how. The lower socket
 * is not touched (its events stay ours); as in Winsock, the socket becomes
 * non-blocking and nothing selected before is remembered as told. */
static int select_events(SOCKET s, WSAEVENT ev, HWND wnd, UINT msg, long mask, LPINT lpErrno)
{
    if (mask & ~(long)(FD_READ | FD_WRITE | FD_OOB | FD_ACCEPT | FD_CONNECT | FD_CLOSE)) {
        *lpErrno = WSAEINVAL; /* QoS and address-list events are not offered */
        return SOCKET_ERROR;
    }
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    EnterCriticalSection(&w->lock);
    w->ev = mask ? ev : NULL;
    w->wnd = mask ? wnd : NULL;
    w->msg = msg;
    w->mask = mask;
    w->told = 0;
    w->nonblocking = 1;
    LeaveCriticalSection(&w->lock);
    wsk_settle(w);
    wsk_put(w);
    return 0;
}

static int WSPAPI wp_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !ev) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, ev, NULL, 0, mask, lpErrno);
}

static int WSPAPI wp_AsyncSelect(SOCKET s, HWND wnd, unsigned int msg, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !IsWindow(wnd)) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, NULL, wnd, msg, mask, lpErrno);
}

/* The events due now, each told once (they are re-enabled as in Winsock);
 * resets the event it is given, atomically with taking the record. */
static int WSPAPI wp_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    if (!ne) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (!w->listening)
        wsk_pump(w, 0);
    memset(ne, 0, sizeof *ne);
    int e = 0;
    EnterCriticalSection(&w->lock);
    if (w->listening)
        wsk_advance(w);
    if (ev)
        wsdx_lsp_up.lpWPUResetEvent(ev, &e);
    ne->lNetworkEvents = wsk_due_events(w, ne->iErrorCode, 1);
    LeaveCriticalSection(&w->lock);
    wsk_put(w);
    return 0;
}

/* What select() would say of w now: k 0 readable (data, the end, a reset,
 * disconnect data; a listener: a checked connection), 1 writable (connected,
 * the preamble exchange over, and room), 2 exceptional (a failed connect). */
static int ready_now(wsock *w, int k)
{
    if (k == 0) {
        if (w->listening)
            return wsk_listener_ready(w);
        wsk_pump(w, 0);
        EnterCriticalSection(&w->lock);
        int yes = wsdx_rxq_has_ready(&w->conn.rx) || w->conn.peer_fin || w->conn.peer_error || w->conn.disc_received;
        LeaveCriticalSection(&w->lock);
        return yes;
    }
    if (k == 1)
        return w->conn.connected && w->txlen == 0 && w->low != INVALID_SOCKET && wsk_lower_wait(w->p, w->low, 1, 0) == 1;
    int err = 0, len = sizeof err, e2 = 0;
    if (w->low != INVALID_SOCKET)
        w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e2);
    return (err != 0 && !w->conn.connected) || (w->connect_done && w->connect_err && !w->conn.connected);
}

/* Sleeps until some socket moved on or the time is up: 0 when it is up. */
static int await_any(LONG seen, DWORD start, DWORD limit)
{
    DWORD spent = GetTickCount() - start;
    if (limit != INFINITE && spent >= limit)
        return 0;
    /* every change on_lower sees is a move; the slice bounds what it cannot
     * see (a closed socket, a lower socket's buffer room without FD_WRITE) */
    wsk_await_move(seen, limit == INFINITE || limit - spent > SLICE_MS ? SLICE_MS : limit - spent);
    return 1;
}

/* Since Vista ws2_32 sends select() to the provider whose handle
 * SIO_BSP_HANDLE_SELECT returned (wp_Ioctl answers with ours). */
static int WSPAPI wp_Select(int nfds, fd_set *r, fd_set *wr, fd_set *x, const PTIMEVAL t, LPINT lpErrno)
{
    (void)nfds;
    fd_set in_r, in_w, in_x;
    FD_ZERO(&in_r);
    FD_ZERO(&in_w);
    FD_ZERO(&in_x);
    if (r) in_r = *r;
    if (wr) in_w = *wr;
    if (x) in_x = *x;
    if (r) FD_ZERO(r);
    if (wr) FD_ZERO(wr);
    if (x) FD_ZERO(x);
    DWORD limit = t ? (DWORD)(t->tv_sec * 1000 + t->tv_usec / 1000) : INFINITE;
    DWORD start = GetTickCount();
    for (;;) {
        LONG seen = wsk_moves(); /* before looking: a move after it wakes us */
        int ready = 0;
        fd_set *sets[3] = { &in_r, &in_w, &in_x };
        fd_set *outs[3] = { r, wr, x };
        for (int k = 0; k < 3; k++)
            for (u_int i = 0; i < sets[k]->fd_count; i++) {
                int e = 0;
                SOCKET s = sets[k]->fd_array[i];
                wsock *w = wsk_get(s, &e);
                if (!w) {
                    *lpErrno = WSAENOTSOCK;
                    return SOCKET_ERROR;
                }
                int yes = ready_now(w, k);
                wsk_put(w);
                if (yes && outs[k]) {
                    FD_SET(s, outs[k]);
                    ready++;
                }
            }
        if (ready)
            return ready;
        if (!await_any(seen, start, limit))
            return 0;
    }
}

/* SIO_EXT_POLL: WSAPoll over wsdx handles (ws2_32 sends it here once
 * SIO_BSP_HANDLE_POLL named our handle). pd is the WSAPOLLDATA, in and out:
 * revents and result filled as WSAPoll reports them. 0 or -WSA code. */
static int ext_poll(WSAPOLLDATA *pd, DWORD len)
{
    if (!pd || len < sizeof *pd || (len - sizeof *pd) / sizeof(WSAPOLLFD) < pd->fds)
        return -WSAEFAULT;
    DWORD limit = pd->timeout < 0 ? INFINITE : (DWORD)pd->timeout;
    DWORD start = GetTickCount();
    for (;;) {
        LONG seen = wsk_moves();
        int ready = 0;
        for (ULONG i = 0; i < pd->fds; i++) {
            WSAPOLLFD *f = &pd->fdArray[i];
            int e = 0;
            f->revents = 0;
            if (f->events & ~(POLLRDNORM | POLLRDBAND | POLLWRNORM))
                return -WSAEINVAL; /* as WSAPoll: only these may be asked for */
            wsock *w = wsk_get(f->fd, &e);
            if (!w) {
                f->revents = POLLNVAL;
            } else {
                if ((f->events & POLLRDNORM) && ready_now(w, 0))
                    f->revents |= POLLRDNORM;
                if ((f->events & POLLWRNORM) && ready_now(w, 1))
                    f->revents |= POLLWRNORM;
                if (ready_now(w, 2))
                    f->revents |= POLLERR | POLLHUP; /* reported whether asked for or not */
                EnterCriticalSection(&w->lock);
                if (w->conn.peer_fin || w->conn.peer_error)
                    f->revents |= POLLHUP;
                LeaveCriticalSection(&w->lock);
                wsk_put(w);
            }
            ready += f->revents != 0;
        }
        if (ready) {
            pd->result = ready;
            return 0;
        }
        if (!await_any(seen, start, limit)) {
            pd->result = 0;
            return 0;
        }
    }
}

/* SIO_EXT_SENDMSG: WSASendMsg on a wsdx handle (ws2_32 sends it here once
 * SIO_BSP_HANDLE named our handle): the buffers go out as one WSPSend, in
 * DATA frames; control data is not offered. 0 or -WSA code (-WSA_IO_PENDING). */
static int ext_sendmsg(SOCKET s, WSASENDMSG *m, DWORD len, LPWSATHREADID t)
{
    if (!m || len < sizeof *m || !m->lpMsg)
        return -WSAEFAULT;
    if (m->lpMsg->Control.len)
        return -WSAEOPNOTSUPP; /* no ancillary data on a wsdx connection */
    int e = 0;
    if (wp_Send(s, m->lpMsg->lpBuffers, m->lpMsg->dwBufferCount, m->lpNumberOfBytesSent, m->dwFlags,
                m->lpOverlapped, m->lpCompletionRoutine, t, &e) == SOCKET_ERROR)
        return -e;
    return 0;
}

/* ------------------------------------------------------------------ */
/* names, options, control */

#define SIMPLE_LOWER(call)              \
    wsock *w = wsk_get(s, lpErrno);         \
    if (!w)                             \
        return SOCKET_ERROR;            \
    int rc_ = (call);                   \
    wsk_put(w);                             \
    return rc_;

static int WSPAPI wp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPBind(w->low, name, namelen, lpErrno))
}

static int WSPAPI wp_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = w->p->next.lpWSPListen(w->low, backlog, lpErrno);
    if (rc == 0)
        w->listening = 1;
    wsk_put(w);
    return rc;
}

static int WSPAPI wp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetPeerName(w->low, name, len, lpErrno))
}

static int WSPAPI wp_GetSockName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetSockName(w->low, name, len, lpErrno))
}

static int WSPAPI wp_GetSockOpt(SOCKET s, int level, int opt, char *val, LPINT len, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    if (level == SOL_SOCKET && opt == SO_PROTOCOL_INFOW) {
        if (!len || *len < (int)sizeof(WSAPROTOCOL_INFOW)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            *(WSAPROTOCOL_INFOW *)val = w->p->self;
            *len = sizeof(WSAPROTOCOL_INFOW);
        }
    } else if (level == SOL_SOCKET && opt == WSDX_LSP_SO_CONNECT_TIMEOUT) {
        if (!val || !len || *len < (int)sizeof(DWORD)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            *(DWORD *)val = w->connect_ms;
            *len = sizeof(DWORD);
        }
    } else if (level == SOL_SOCKET && opt == SO_ERROR && w->lower_spent) {
        if (!val || !len || *len < (int)sizeof(int)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else { /* a failed non-blocking connect's code (a preamble mismatch is ours, not TCP's) */
            EnterCriticalSection(&w->lock);
            *(int *)val = w->connect_err;
            LeaveCriticalSection(&w->lock);
            *len = sizeof(int);
        }
    } else if (level == SOL_SOCKET && (opt == SO_DISCDATALEN || opt == WSDX_LSP_SO_REJECTED)) {
        if (!val || !len || *len < (int)sizeof(int)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            EnterCriticalSection(&w->lock);
            *(int *)val = opt == WSDX_LSP_SO_REJECTED ? (int)w->rejected
                          : w->conn.disc_received ? w->conn.disc_len : -1;
            LeaveCriticalSection(&w->lock);
            *len = sizeof(int);
        }
    } else if (level == SOL_SOCKET && (opt == SO_LINGER || opt == SO_DONTLINGER || opt == SO_TYPE)) {
        if (opt == SO_LINGER && len && *len >= (int)sizeof(struct linger)) {
            struct linger *l = (struct linger *)val;
            l->l_onoff = (u_short)w->linger_on;
            l->l_linger = (u_short)w->linger_secs;
            *len = sizeof(struct linger);
        } else if (opt != SO_LINGER && len && *len >= (int)sizeof(int)) {
            *(int *)val = opt == SO_TYPE ? w->p->self.iSocketType : !w->linger_on;
            *len = sizeof(int);
        } else {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        }
    } else {
        rc = w->p->next.lpWSPGetSockOpt(w->low, level, opt, val, len, lpErrno);
    }
    wsk_put(w);
    return rc;
}

static int WSPAPI wp_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (level == SOL_SOCKET && (opt == SO_UPDATE_ACCEPT_CONTEXT || opt == SO_UPDATE_CONNECT_CONTEXT)) {
        wsk_put(w); /* AcceptEx / ConnectEx left the socket complete: nothing to update */
        return 0;
    }
    if (level == SOL_SOCKET && opt == WSDX_LSP_SO_CONNECT_TIMEOUT) { /* ours alone */
        int rc = 0;
        if (!val || len < (int)sizeof(DWORD)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            w->connect_ms = *(const DWORD *)val;
        }
        wsk_put(w);
        return rc;
    }
    /* the lower socket gets every other option (its linger drives the FIN/RST) */
    int rc = w->p->next.lpWSPSetSockOpt(w->low, level, opt, val, len, lpErrno);
    if (rc == 0 && level == SOL_SOCKET) {
        if (opt == SO_LINGER && val && len >= (int)sizeof(struct linger)) {
            const struct linger *l = (const struct linger *)val;
            w->linger_on = l->l_onoff != 0;
            w->linger_secs = l->l_linger;
        } else if (opt == SO_DONTLINGER && val && len >= (int)sizeof(int)) {
            w->linger_on = *(const int *)val == 0;
        }
    }
    wsk_put(w);
    return rc;
}

static int WSPAPI wp_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
                           LPDWORD ret, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
                           LPWSATHREADID t, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    if (code == (DWORD)FIONBIO) {
        if (!in || inlen < sizeof(u_long)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else if (!*(u_long *)in && (w->ev || w->wnd)) {
            *lpErrno = WSAEINVAL; /* WSPEventSelect / WSPAsyncSelect is active */
            rc = SOCKET_ERROR;
        } else {
            w->nonblocking = *(u_long *)in != 0; /* the lower socket stays non-blocking */
            if (ret)
                *ret = 0;
        }
    } else if (code == (DWORD)FIONREAD) {
        if (!out || outlen < sizeof(u_long)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            wsk_pump(w, 0);
            EnterCriticalSection(&w->lock);
            u_long n = wsdx_rxq_has_ready(&w->conn.rx) ? w->conn.rx.ready : 0;
            if (w->mode == WSDX_MESSAGE && n >= 4)
                n -= 4; /* record header of the first message (approximation) */
            LeaveCriticalSection(&w->lock);
            *(u_long *)out = n;
            if (ret)
                *ret = sizeof(u_long);
        }
    } else if (code == SIO_BSP_HANDLE || code == SIO_BSP_HANDLE_SELECT || code == SIO_BSP_HANDLE_POLL) {
        /* ours, so that ws2_32 routes select(), WSAPoll() and WSASendMsg() here
         * (Winsock IOCTLs: an LSP that must see them answers these itself) */
        if (!out || outlen < sizeof(SOCKET)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            *(SOCKET *)out = s;
            if (ret)
                *ret = sizeof(SOCKET);
        }
    } else if (code == SIO_EXT_POLL || code == SIO_EXT_SENDMSG) {
        int r = code == SIO_EXT_POLL ? ext_poll((WSAPOLLDATA *)in, inlen) : ext_sendmsg(s, (WSASENDMSG *)in, inlen, t);
        if (r < 0) {
            *lpErrno = -r;
            rc = SOCKET_ERROR;
        } else if (ret) {
            *ret = code == SIO_EXT_POLL ? inlen : 0;
        }
    } else if (code == SIO_EXT_SELECT || code == SIO_BASE_HANDLE) {
        /* SIO_EXT_SELECT: select() reaches WSPSelect (above); SIO_BASE_HANDLE
         * names an IFS handle, which a wsdx socket does not have */
        *lpErrno = WSAEOPNOTSUPP;
        rc = SOCKET_ERROR;
    } else if (code == SIO_GET_EXTENSION_FUNCTION_POINTER) {
        /* the extension functions that must know wsdx handles are ours
         * (extensions.c); any other (TransmitFile, TransmitPackets, WSARecvMsg,
         * ...) would get the lower socket, not ours: WSAEINVAL, as the SDK's
         * LSP sample answers a GUID it does not know */
        if (!wsk_extension(in, inlen, out, outlen, ret, lpErrno, &rc)) {
            *lpErrno = WSAEINVAL;
            rc = SOCKET_ERROR;
        }
    } else if (ov || cr) {
        /* passed down, it would complete on the lower socket, never on our
         * handle's completion port: refused */
        *lpErrno = WSAEOPNOTSUPP;
        rc = SOCKET_ERROR;
    } else {
        /* other codes, synchronous, go to the lower provider, on the lower socket */
        rc = w->p->next.lpWSPIoctl(w->low, code, in, inlen, out, outlen, ret, NULL, NULL, t, lpErrno);
    }
    wsk_put(w);
    return rc;
}

static int WSPAPI wp_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    (void)pid; (void)pi;
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    wsk_put(w);
    *lpErrno = WSAEOPNOTSUPP; /* the state machine lives in this process */
    return SOCKET_ERROR;
}

static SOCKET WSPAPI wp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                                 LPWSABUF callee, LPQOS sq, LPQOS gq, DWORD flags, LPINT lpErrno)
{
    (void)s; (void)name; (void)namelen; (void)caller; (void)callee; (void)sq; (void)gq; (void)flags;
    *lpErrno = WSAEOPNOTSUPP;
    return INVALID_SOCKET;
}

static WINBOOL WSPAPI wp_GetQOSByName(SOCKET s, LPWSABUF name, LPQOS q, LPINT lpErrno)
{
    (void)s; (void)name; (void)q;
    *lpErrno = WSAEOPNOTSUPP;
    return FALSE;
}

static int WSPAPI wp_CancelBlockingCall(LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPCancelBlockingCall(lpErrno);
}

void wsdx_lsp_fill_proto(WSPPROC_TABLE *t)
{
    t->lpWSPAccept = wp_Accept;
    t->lpWSPAsyncSelect = wp_AsyncSelect;
    t->lpWSPBind = wp_Bind;
    t->lpWSPCancelBlockingCall = wp_CancelBlockingCall;
    t->lpWSPCleanup = NULL; /* set by WSPStartup */
    t->lpWSPCloseSocket = wp_CloseSocket;
    t->lpWSPConnect = wp_Connect;
    t->lpWSPDuplicateSocket = wp_DuplicateSocket;
    t->lpWSPEnumNetworkEvents = wp_EnumNetworkEvents;
    t->lpWSPEventSelect = wp_EventSelect;
    t->lpWSPGetOverlappedResult = wp_GetOverlappedResult;
    t->lpWSPGetPeerName = wp_GetPeerName;
    t->lpWSPGetSockName = wp_GetSockName;
    t->lpWSPGetSockOpt = wp_GetSockOpt;
    t->lpWSPGetQOSByName = wp_GetQOSByName;
    t->lpWSPIoctl = wp_Ioctl;
    t->lpWSPJoinLeaf = wp_JoinLeaf;
    t->lpWSPListen = wp_Listen;
    t->lpWSPRecv = wp_Recv;
    t->lpWSPRecvDisconnect = wp_RecvDisconnect;
    t->lpWSPRecvFrom = wp_RecvFrom;
    t->lpWSPSelect = wp_Select;
    t->lpWSPSend = wp_Send;
    t->lpWSPSendDisconnect = wp_SendDisconnect;
    t->lpWSPSendTo = wp_SendTo;
    t->lpWSPSetSockOpt = wp_SetSockOpt;
    t->lpWSPShutdown = wp_Shutdown;
    t->lpWSPSocket = wp_Socket;
}