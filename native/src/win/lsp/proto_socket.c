/* proto_socket.c - the WSP functions of the wsdx protocol entries (stream
 * and message, with XP1_DISCONNECT_DATA) that make, connect, accept, shut
 * down and close a socket, and the entries' WSP table. Each application
 * socket is our own handle (WPUCreateSocketHandle) whose context is a wsock
 * (wsock.h): the portable state machine (core conn.h), the lower TCP
 * socket, and a send queue. What a call may do is asked of wsdx_conn_*; the
 * I/O and the notifications are the socket machinery's. Data calls are
 * proto_data.c, events proto_events.c, names/options/ioctl proto_control.c.
 * Wire format: docs/protocol.md. */
#include "proto.h"

#include "frame.h"
#include "linger.h"

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
    wsock *w = wsk_new(p, low, mode_of(pi ? pi : &p->self), pi ? pi->dwCatalogEntryId : p->self_id, lpErrno);
    if (!w) {
        p->next.lpWSPCloseSocket(low, &e);
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
        rc = wsk_connect_async(w, name, namelen, w->connect_ms ? w->connect_ms : CONNECT_MS + (DWORD)wsdx_handshake_ms());
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
        *lpErrno = -rc;
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
        if (f && f != -WSAEWOULDBLOCK)
            rc = f;
        else
            rc = wsk_send_frame(w, WSDX_FRAME_DISCONNECT, (const uint8_t *)b, (size_t)n);
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
