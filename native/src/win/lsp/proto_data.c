/* proto_data.c - the data calls of the wsdx protocol entries: WSPRecv,
 * WSPSend (blocking, non-blocking, overlapped), their -From/-To forms,
 * WSPGetOverlappedResult, and WSASendMsg (SIO_EXT_SENDMSG). */
#include "proto.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

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
        wsk_op_drop(o, rc);
        return rc;
    }
    wsk_op_complete(o, rc < 0 ? rc : 0, *n, *fl); /* an immediate success is notified too */
    return rc < 0 ? rc : 0;
}

int WSPAPI wp_Recv(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD got, LPDWORD flags,
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

int WSPAPI wp_RecvFrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
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
        wsk_op_drop(o, rc);
        return rc;
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

/* A send that waits (blocking socket) or queues what does not fit now.
 * 0 or -WSA code. */
static int send_now(wsock *w, const uint8_t *b, size_t n)
{
    int rc = wsk_flush(w, !w->nonblocking);
    if (rc == 0 && (n > 0 || w->mode == WSDX_MESSAGE)) {
        if (w->nonblocking && w->txlen + n > TXQ_MAX)
            rc = -WSAEWOULDBLOCK;
        else
            rc = wsk_send_frame(w, WSDX_FRAME_DATA, b, n);
    }
    if (rc == -WSAEWOULDBLOCK) {
        EnterCriticalSection(&w->lock);
        w->told &= ~FD_WRITE; /* FD_WRITE again once there is room */
        LeaveCriticalSection(&w->lock);
    }
    return rc;
}

int WSPAPI wp_Send(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD sent, DWORD flags,
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

int WSPAPI wp_SendTo(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags,
                            const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)to; (void)tolen; /* connection-oriented: the address is ignored */
    return wp_Send(s, bufs, n, sent, flags, ov, cr, t, lpErrno);
}

WINBOOL WSPAPI wp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL wait,
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
    /* the count is WPUCompleteOverlappedRequest's; flags and code are ovl.c op_result's */
    *n = (DWORD)ov->InternalHigh;
    if (flags)
        *flags = ov->Offset;
    if (ov->OffsetHigh) {
        *lpErrno = (int)ov->OffsetHigh;
        return FALSE;
    }
    return TRUE;
}

/* SIO_EXT_SENDMSG: WSASendMsg on a wsdx handle (ws2_32 sends it here once
 * SIO_BSP_HANDLE named our handle): the buffers go out as one WSPSend, in
 * DATA frames; control data is not offered. 0 or -WSA code (-WSA_IO_PENDING). */
int wp_ext_sendmsg(SOCKET s, WSASENDMSG *m, DWORD len, LPWSATHREADID t)
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
