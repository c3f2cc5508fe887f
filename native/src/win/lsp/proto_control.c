/* proto_control.c - the wsdx protocol entries' names, options and control
 * calls: bind, listen, peer and socket names, socket options, WSPIoctl, and
 * the calls not offered (duplicate, join leaf, QoS by name). */
#include "proto.h"

/* ------------------------------------------------------------------ */
/* names, options, control */

#define SIMPLE_LOWER(call)              \
    wsock *w = wsk_get(s, lpErrno);         \
    if (!w)                             \
        return SOCKET_ERROR;            \
    int rc_ = (call);                   \
    wsk_put(w);                             \
    return rc_;

int WSPAPI wp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPBind(w->low, name, namelen, lpErrno))
}

int WSPAPI wp_Listen(SOCKET s, int backlog, LPINT lpErrno)
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

int WSPAPI wp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetPeerName(w->low, name, len, lpErrno))
}

int WSPAPI wp_GetSockName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetSockName(w->low, name, len, lpErrno))
}

/* The code of a connect that failed on our side, or 0. Read under the lock
 * and from connect_err alone: the except set reports the failure as soon as
 * wsk_connect_end has stored it, and a reader that looked at lower_spent
 * without the lock could miss it and get the lower socket's 0 (seen under
 * load as a timed-out connect reported WSAECONNREFUSED). */
static int connect_failure(wsock *w)
{
    EnterCriticalSection(&w->lock);
    int err = w->connect_done && !w->conn.connected ? w->connect_err : 0;
    LeaveCriticalSection(&w->lock);
    return err;
}

int WSPAPI wp_GetSockOpt(SOCKET s, int level, int opt, char *val, LPINT len, LPINT lpErrno)
{
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0, err;
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
    } else if (level == SOL_SOCKET && opt == SO_ERROR && (err = connect_failure(w)) != 0) {
        if (!val || !len || *len < (int)sizeof(int)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else { /* a failed non-blocking connect's code (a preamble mismatch is ours, not TCP's) */
            *(int *)val = err;
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

int WSPAPI wp_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno)
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

int WSPAPI wp_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
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
        int r = code == SIO_EXT_POLL ? wp_ext_poll((WSAPOLLDATA *)in, inlen) : wp_ext_sendmsg(s, (WSASENDMSG *)in, inlen, t);
        if (r < 0) {
            *lpErrno = -r;
            rc = SOCKET_ERROR;
        } else if (ret) {
            *ret = code == SIO_EXT_POLL ? inlen : 0;
        }
    } else if (code == SIO_EXT_SELECT || code == SIO_BASE_HANDLE) {
        /* SIO_EXT_SELECT: select() reaches WSPSelect (proto_events.c); SIO_BASE_HANDLE
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

int WSPAPI wp_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    (void)pid; (void)pi;
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    wsk_put(w);
    *lpErrno = WSAEOPNOTSUPP; /* the state machine lives in this process */
    return SOCKET_ERROR;
}

SOCKET WSPAPI wp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                                 LPWSABUF callee, LPQOS sq, LPQOS gq, DWORD flags, LPINT lpErrno)
{
    (void)s; (void)name; (void)namelen; (void)caller; (void)callee; (void)sq; (void)gq; (void)flags;
    *lpErrno = WSAEOPNOTSUPP;
    return INVALID_SOCKET;
}

WINBOOL WSPAPI wp_GetQOSByName(SOCKET s, LPWSABUF name, LPQOS q, LPINT lpErrno)
{
    (void)s; (void)name; (void)q;
    *lpErrno = WSAEOPNOTSUPP;
    return FALSE;
}

int WSPAPI wp_CancelBlockingCall(LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPCancelBlockingCall(lpErrno);
}
