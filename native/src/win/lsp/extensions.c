/* extensions.c - the extension functions of the wsdx entries that must
 * know wsdx handles (the lower provider's would be handed ours and fail):
 * DisconnectEx, AcceptEx, GetAcceptExSockaddrs, ConnectEx, given out by
 * WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER). Their completions are the
 * socket machinery's (listen.c wsk_finish_accepts, connect.c wsk_finish_connect). */
#include "wsock.h"

#include <string.h>

/* DisconnectEx on a wsdx socket: the queued data, then FIN (a graceful
 * close, as S7), then the lower connection is let go; the handle stays
 * valid and may connect again (TF_REUSE_SOCKET or not: a wsdx handle
 * costs nothing to keep). The work is done before it returns; with an
 * OVERLAPPED, completion is notified as for any immediate success.
 * 0 or -WSA code. */
static int disconnect(wsock *w)
{
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = w->conn.connected && !w->listening ? 0 : -WSAENOTCONN;
    LeaveCriticalSection(&w->lock);
    if (!rc)
        rc = wsk_flush(w, 1);
    if (!rc) {
        int e = 0;
        w->p->next.lpWSPShutdown(w->low, SD_SEND, &e);
        EnterCriticalSection(&w->rxio); /* no reader on the old lower socket */
        rc = wsk_replace_lower(w, 0);       /* graceful: no linger set by us */
        EnterCriticalSection(&w->lock);
        wsdx_conn_free(&w->conn);
        wsdx_conn_init(&w->conn, w->mode); /* unconnected again */
        w->fin_pending = 0;
        w->told = 0;
        LeaveCriticalSection(&w->lock);
        InterlockedExchange(&w->pump_missed, 0); /* a read refused meanwhile was for the old lower socket */
        LeaveCriticalSection(&w->rxio);
    }
    wsk_tx_leave(w);
    return rc;
}

static WINBOOL PASCAL wp_DisconnectEx(SOCKET s, LPOVERLAPPED ov, DWORD flags, DWORD reserved)
{
    int e = 0; /* the Windows code, for GetLastError */
    wsock *w = reserved || (flags & ~(DWORD)TF_REUSE_SOCKET) ? NULL : wsk_get(s, &e);
    if (!w && !e)
        e = WSAEINVAL;
    if (w) {
        int rc = disconnect(w);
        ovl *o = ov ? wsk_op_new(w, ov, NULL, NULL, NULL, 0) : NULL;
        if (o && !rc)
            wsk_op_complete(o, 0, 0, 0);
        else if (o)
            wsk_op_drop(o, rc);
        e = -rc;
        wsk_put(w);
    }
    SetLastError((DWORD)e);
    return e == 0;
}

/* AcceptEx: the next checked connection goes to the caller's unused
 * socket of the same entry; the addresses follow the data part of the
 * buffer (GetAcceptExSockaddrs below reads them). Asynchronous unless a
 * connection is ready now; a data part makes it wait for the first data. */
static WINBOOL PASCAL wp_AcceptEx(SOCKET ls, SOCKET as, PVOID out, DWORD rxlen, DWORD llen, DWORD rlen, LPDWORD got,
                                  LPOVERLAPPED ov)
{
    int e = 0; /* the Windows code, for GetLastError */
    wsock *l = wsk_get(ls, &e), *a = l ? wsk_get(as, &e) : NULL;
    DWORD need = l ? (DWORD)l->p->self.iMaxSockAddr + 16 : 0;
    if (l && a && (!ov || !out || llen < need || rlen < need))
        e = !ov || !out ? WSAEFAULT : WSAEINVAL;
    else if (l && a) {
        EnterCriticalSection(&a->lock);
        int fresh = !a->conn.connected && !a->connecting && !a->listening;
        LeaveCriticalSection(&a->lock);
        if (!l->listening || !fresh || a->p != l->p || a->mode != l->mode)
            e = WSAEINVAL;
    }
    ovl *o = NULL;
    if (!e) {
        WSABUF data = { rxlen, (char *)out };
        o = wsk_op_new(l, ov, NULL, NULL, &data, 1);
        e = o ? 0 : WSAENOBUFS;
    }
    if (o) {
        o->into = a; /* the request's reference now */
        a = NULL;
        o->local_len = llen;
        o->remote_len = rlen;
        EnterCriticalSection(&l->lock);
        wsk_advance(l);
        wsk_op_append(&l->acceptops, o);
        LeaveCriticalSection(&l->lock);
        wsk_settle(l); /* a connection already checked is taken now */
        e = WSA_IO_PENDING;
        if (got)
            *got = 0;
    }
    if (a)
        wsk_put(a);
    if (l)
        wsk_put(l);
    SetLastError((DWORD)e);
    return FALSE; /* done at once or not, completion is notified */
}

/* GetAcceptExSockaddrs: each area is an int length, then the sockaddr (as
 * mswsock's own GetAcceptExSockaddrs reads it, so either works). */
static void PASCAL wp_GetAcceptExSockaddrs(PVOID out, DWORD rxlen, DWORD llen, DWORD rlen, struct sockaddr **local,
                                           LPINT local_len, struct sockaddr **remote, LPINT remote_len)
{
    uint8_t *area = (uint8_t *)out + rxlen;
    (void)rlen;
    memcpy(local_len, area, sizeof(int));
    *local = (struct sockaddr *)(area + sizeof(int));
    memcpy(remote_len, area + llen, sizeof(int));
    *remote = (struct sockaddr *)(area + llen + sizeof(int));
}

/* ConnectEx: a non-blocking connect whatever the socket's mode, on a bound
 * socket; completes when the preamble exchange is over and the send data
 * (one message, in message mode) is queued. */
static WINBOOL PASCAL wp_ConnectEx(SOCKET s, const struct sockaddr *name, int namelen, PVOID buf, DWORD len,
                                   LPDWORD sent, LPOVERLAPPED ov)
{
    int e = 0;
    wsock *w = wsk_get(s, &e);
    int rc = -e; /* 0 or -WSA code; GetLastError gets the code */
    if (w && (!ov || !name))
        rc = -WSAEFAULT;
    if (w && !rc) {
        struct sockaddr_storage me;
        int mel = sizeof me;
        if (w->p->next.lpWSPGetSockName(w->low, (struct sockaddr *)&me, &mel, &e))
            rc = -WSAEINVAL; /* ConnectEx wants a bound socket */
        else if (w->mode == WSDX_MESSAGE && len > WSDX_MAX_MESSAGE)
            rc = -WSAEMSGSIZE;
    }
    if (w && !rc)
        rc = wsk_connect_prepare(w);
    ovl *o = NULL;
    if (w && !rc) {
        WSABUF data = { len, (char *)buf };
        o = wsk_op_new(w, ov, NULL, NULL, &data, 1);
        rc = o ? 0 : -WSAENOBUFS;
    }
    if (o) {
        EnterCriticalSection(&w->lock);
        w->connect_op = o;
        LeaveCriticalSection(&w->lock);
        rc = wsk_connect_async(w, name, namelen, w->connect_ms ? w->connect_ms : CONNECT_MS + (DWORD)wsdx_handshake_ms());
        if (rc != -WSAEWOULDBLOCK) {
            EnterCriticalSection(&w->lock);
            w->connect_op = NULL;
            LeaveCriticalSection(&w->lock);
            wsk_op_drop(o, rc);
        } else {
            rc = -WSA_IO_PENDING;
            if (sent)
                *sent = 0;
            wsk_settle(w);
        }
    }
    if (w)
        wsk_put(w);
    SetLastError((DWORD)-rc);
    return FALSE;
}

/* SIO_GET_EXTENSION_FUNCTION_POINTER: ours for the functions that must know
 * wsdx handles (1), or not one of those GUIDs (0). */
int wsk_extension(LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret, LPINT lpErrno, int *rc)
{
    static const struct {
        GUID id;
        void *fn;
    } ours[] = {
        { WSAID_DISCONNECTEX, (void *)wp_DisconnectEx },
        { WSAID_ACCEPTEX, (void *)wp_AcceptEx },
        { WSAID_CONNECTEX, (void *)wp_ConnectEx },
        { WSAID_GETACCEPTEXSOCKADDRS, (void *)wp_GetAcceptExSockaddrs },
    };
    if (!in || inlen < sizeof(GUID))
        return 0;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        if (memcmp(in, &ours[i].id, sizeof(GUID)))
            continue;
        if (!out || outlen < sizeof(void *)) {
            *lpErrno = WSAEFAULT;
            *rc = SOCKET_ERROR;
            return 1;
        }
        *(void **)out = ours[i].fn;
        if (ret)
            *ret = sizeof(void *);
        *rc = 0;
        return 1;
    }
    return 0;
}
