/* passthru.c - the transparent entries: every WSP call goes straight to the
 * lower provider. The lower provider is IFS, so its socket handles are given
 * to the application unchanged; we only remember which lower provider owns a
 * handle (several of our entries may sit on different lower providers) and
 * observe shutdowns. Error codes, including FD_CLOSE's, are never changed. */
#include "lsp.h"

#include <stdlib.h>

#define NBUCKETS 1024

typedef struct node {
    SOCKET s;
    wsdx_lsp_provider *p;
    struct node *next;
} node;

static node *g_map[NBUCKETS];
static SRWLOCK g_maplock = SRWLOCK_INIT;

static unsigned bucket(SOCKET s) { return (unsigned)(((ULONG_PTR)s >> 2) % NBUCKETS); }

static void map_put(SOCKET s, wsdx_lsp_provider *p)
{
    node *n = (node *)malloc(sizeof *n);
    if (!n)
        return; /* lookups fall back to the first transparent provider */
    n->s = s;
    n->p = p;
    AcquireSRWLockExclusive(&g_maplock);
    n->next = g_map[bucket(s)];
    g_map[bucket(s)] = n;
    ReleaseSRWLockExclusive(&g_maplock);
}

static void map_del(SOCKET s)
{
    AcquireSRWLockExclusive(&g_maplock);
    for (node **pp = &g_map[bucket(s)]; *pp; pp = &(*pp)->next)
        if ((*pp)->s == s) {
            node *n = *pp;
            *pp = n->next;
            free(n);
            break;
        }
    ReleaseSRWLockExclusive(&g_maplock);
}

static wsdx_lsp_provider *lower_of(SOCKET s)
{
    wsdx_lsp_provider *p = NULL;
    AcquireSRWLockShared(&g_maplock);
    for (node *n = g_map[bucket(s)]; n && !p; n = n->next)
        if (n->s == s)
            p = n->p;
    ReleaseSRWLockShared(&g_maplock);
    return p ? p : wsdx_lsp_first_provider(0);
}

void wsdx_lsp_passthru_reset(void)
{
    AcquireSRWLockExclusive(&g_maplock);
    for (int i = 0; i < NBUCKETS; i++)
        while (g_map[i]) {
            node *n = g_map[i];
            g_map[i] = n->next;
            free(n);
        }
    ReleaseSRWLockExclusive(&g_maplock);
}

#define LOWER_OR_FAIL(s, ret)                \
    wsdx_lsp_provider *p = lower_of(s);     \
    if (!p) {                               \
        *lpErrno = WSAENOTSOCK;             \
        return ret;                         \
    }

static SOCKET WSPAPI pt_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
                               DWORD flags, LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(0);
    if (!p) {
        *lpErrno = WSAEPROVIDERFAILEDINIT;
        return INVALID_SOCKET;
    }
    /* A base provider is started with, and creates sockets for, its own entry. */
    LPWSAPROTOCOL_INFOW info = p->lower_info.ProtocolChain.ChainLen == BASE_PROTOCOL ? &p->lower_info : pi;
    SOCKET s = p->next.lpWSPSocket(af, type, protocol, info, g, flags, lpErrno);
    if (s != INVALID_SOCKET)
        map_put(s, p);
    return s;
}

static SOCKET WSPAPI pt_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC cond,
                               DWORD_PTR data, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, INVALID_SOCKET);
    SOCKET a = p->next.lpWSPAccept(s, addr, addrlen, cond, data, lpErrno);
    if (a != INVALID_SOCKET)
        map_put(a, p);
    return a;
}

static int WSPAPI pt_AsyncSelect(SOCKET s, HWND w, unsigned int msg, __LONG32 ev, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPAsyncSelect(s, w, msg, ev, lpErrno);
}

static int WSPAPI pt_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPBind(s, name, namelen, lpErrno);
}

static int WSPAPI pt_CancelBlockingCall(LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_first_provider(0);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPCancelBlockingCall(lpErrno);
}

static int WSPAPI pt_CloseSocket(SOCKET s, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    int rc = p->next.lpWSPCloseSocket(s, lpErrno);
    InterlockedIncrement(&wsdx_lsp_obs.closes);
    if (rc == 0)
        map_del(s);
    return rc;
}

static int WSPAPI pt_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                             LPWSABUF callee, LPQOS sq, LPQOS gq, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPConnect(s, name, namelen, caller, callee, sq, gq, lpErrno);
}

static int WSPAPI pt_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    if (p->next.lpWSPDuplicateSocket(s, pid, pi, lpErrno) == SOCKET_ERROR)
        return SOCKET_ERROR;
    /* The target process must come back through this entry, so it gets our
     * entry; dwProviderReserved is the lower provider's handle to the
     * duplicate, which its WSPSocket(FROM_PROTOCOL_INFO) needs: kept, as the
     * SDK's LSP sample (spi.cpp, WSPDuplicateSocket) keeps it. */
    DWORD_PTR reserved = pi->dwProviderReserved;
    *pi = p->self;
    pi->dwProviderReserved = reserved;
    return 0;
}

static int WSPAPI pt_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    int rc = p->next.lpWSPEnumNetworkEvents(s, ev, ne, lpErrno);
    if (rc == 0 && (ne->lNetworkEvents & FD_CLOSE))
        InterlockedIncrement(&wsdx_lsp_obs.fd_close_seen); /* observed, passed on unchanged */
    return rc;
}

static int WSPAPI pt_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPEventSelect(s, ev, mask, lpErrno);
}

static WINBOOL WSPAPI pt_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL wait,
                                             LPDWORD flags, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, FALSE);
    return p->next.lpWSPGetOverlappedResult(s, ov, n, wait, flags, lpErrno);
}

static int WSPAPI pt_GetPeerName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPGetPeerName(s, name, len, lpErrno);
}

static int WSPAPI pt_GetSockName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPGetSockName(s, name, len, lpErrno);
}

static int WSPAPI pt_GetSockOpt(SOCKET s, int level, int opt, char *val, LPINT len, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPGetSockOpt(s, level, opt, val, len, lpErrno);
}

static WINBOOL WSPAPI pt_GetQOSByName(SOCKET s, LPWSABUF name, LPQOS q, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, FALSE);
    return p->next.lpWSPGetQOSByName(s, name, q, lpErrno);
}

static int WSPAPI pt_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
                           LPDWORD ret, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
                           LPWSATHREADID tid, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPIoctl(s, code, in, inlen, out, outlen, ret, ov, cr, tid, lpErrno);
}

static SOCKET WSPAPI pt_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                                 LPWSABUF callee, LPQOS sq, LPQOS gq, DWORD flags, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, INVALID_SOCKET);
    return p->next.lpWSPJoinLeaf(s, name, namelen, caller, callee, sq, gq, flags, lpErrno);
}

static int WSPAPI pt_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPListen(s, backlog, lpErrno);
}

static int WSPAPI pt_Recv(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid,
                          LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPRecv(s, bufs, n, got, flags, ov, cr, tid, lpErrno);
}

static int WSPAPI pt_RecvDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    InterlockedIncrement(&wsdx_lsp_obs.recv_disconnects);
    return p->next.lpWSPRecvDisconnect(s, data, lpErrno);
}

static int WSPAPI pt_RecvFrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
                              struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPRecvFrom(s, bufs, n, got, flags, from, fromlen, ov, cr, tid, lpErrno);
}

static int WSPAPI pt_Select(int nfds, fd_set *r, fd_set *w, fd_set *e, const PTIMEVAL t, LPINT lpErrno)
{
    SOCKET any = INVALID_SOCKET;
    if (r && r->fd_count)
        any = r->fd_array[0];
    else if (w && w->fd_count)
        any = w->fd_array[0];
    else if (e && e->fd_count)
        any = e->fd_array[0];
    wsdx_lsp_provider *p = any != INVALID_SOCKET ? lower_of(any) : wsdx_lsp_first_provider(0);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPSelect(nfds, r, w, e, t, lpErrno);
}

static int WSPAPI pt_Send(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid,
                          LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPSend(s, bufs, n, sent, flags, ov, cr, tid, lpErrno);
}

static int WSPAPI pt_SendDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    InterlockedIncrement(&wsdx_lsp_obs.send_disconnects);
    return p->next.lpWSPSendDisconnect(s, data, lpErrno);
}

static int WSPAPI pt_SendTo(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags,
                            const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPSendTo(s, bufs, n, sent, flags, to, tolen, ov, cr, tid, lpErrno);
}

static int WSPAPI pt_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    return p->next.lpWSPSetSockOpt(s, level, opt, val, len, lpErrno);
}

static int WSPAPI pt_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
    LOWER_OR_FAIL(s, SOCKET_ERROR);
    InterlockedIncrement(&wsdx_lsp_obs.shutdowns);
    return p->next.lpWSPShutdown(s, how, lpErrno);
}

void wsdx_lsp_fill_passthru(WSPPROC_TABLE *t)
{
    t->lpWSPAccept = pt_Accept;
    t->lpWSPAsyncSelect = pt_AsyncSelect;
    t->lpWSPBind = pt_Bind;
    t->lpWSPCancelBlockingCall = pt_CancelBlockingCall;
    t->lpWSPCleanup = NULL; /* set by WSPStartup */
    t->lpWSPCloseSocket = pt_CloseSocket;
    t->lpWSPConnect = pt_Connect;
    t->lpWSPDuplicateSocket = pt_DuplicateSocket;
    t->lpWSPEnumNetworkEvents = pt_EnumNetworkEvents;
    t->lpWSPEventSelect = pt_EventSelect;
    t->lpWSPGetOverlappedResult = pt_GetOverlappedResult;
    t->lpWSPGetPeerName = pt_GetPeerName;
    t->lpWSPGetSockName = pt_GetSockName;
    t->lpWSPGetSockOpt = pt_GetSockOpt;
    t->lpWSPGetQOSByName = pt_GetQOSByName;
    t->lpWSPIoctl = pt_Ioctl;
    t->lpWSPJoinLeaf = pt_JoinLeaf;
    t->lpWSPListen = pt_Listen;
    t->lpWSPRecv = pt_Recv;
    t->lpWSPRecvDisconnect = pt_RecvDisconnect;
    t->lpWSPRecvFrom = pt_RecvFrom;
    t->lpWSPSelect = pt_Select;
    t->lpWSPSend = pt_Send;
    t->lpWSPSendDisconnect = pt_SendDisconnect;
    t->lpWSPSendTo = pt_SendTo;
    t->lpWSPSetSockOpt = pt_SetSockOpt;
    t->lpWSPShutdown = pt_Shutdown;
    t->lpWSPSocket = pt_Socket;
}
