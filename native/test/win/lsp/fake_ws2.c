/* fake_ws2.c - ws2_32's part for the provider tests under Wine (which never
 * loads a layered provider): a fake catalog, a fake lower provider whose
 * 30-entry WSP table is implemented over Wine's real ws2_32, and the upcall
 * table (WPUCreateSocketHandle & co. over a handle map whose handles are
 * never reused). fake_ws2_start() starts the provider for a wsdx stream
 * entry, a wsdx message entry and a transparent entry. Used by harness.c
 * and by the installed-backend test (client_shim.c). */
#include "fake_ws2.h"

#include <mswsock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* the fake lower provider: WSP table over Wine's ws2_32 */

#define ERRNO(rc, bad) do { if ((rc) == (bad)) *lpErrno = WSAGetLastError(); } while (0)

int g_installed; /* the tables are ws2_32 itself, over the installed catalog entries */

static SOCKET WSPAPI fk_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
                               DWORD flags, LPINT lpErrno)
{
    SOCKET s = WSASocketW(af, type, protocol, g_installed ? pi : NULL, g, flags);
    ERRNO(s, INVALID_SOCKET);
    return s;
}
static SOCKET WSPAPI fk_Accept(SOCKET s, struct sockaddr *a, LPINT al, LPCONDITIONPROC c, DWORD_PTR d, LPINT lpErrno)
{
    SOCKET r = WSAAccept(s, a, al, c, d);
    ERRNO(r, INVALID_SOCKET);
    return r;
}
static INT WSPAPI fk_AddressToString(LPSOCKADDR sa, DWORD sl, LPWSAPROTOCOL_INFOW pi, LPWSTR str, LPDWORD len, LPINT lpErrno)
{
    (void)pi;
    INT r = WSAAddressToStringW(sa, sl, NULL, str, len);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static INT WSPAPI fk_StringToAddress(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW pi, LPSOCKADDR sa, LPINT len, LPINT lpErrno)
{
    (void)pi;
    INT r = WSAStringToAddressW(str, af, NULL, sa, len);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_AsyncSelect(SOCKET s, HWND w, unsigned int m, __LONG32 e, LPINT lpErrno)
{
    int r = WSAAsyncSelect(s, w, m, e);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_Bind(SOCKET s, const struct sockaddr *n, int l, LPINT lpErrno)
{
    int r = bind(s, n, l);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_CancelBlockingCall(LPINT lpErrno) { (void)lpErrno; return 0; }
int fk_cleanups;
static int WSPAPI fk_Cleanup(LPINT lpErrno) { (void)lpErrno; fk_cleanups++; return 0; }
/* Which lower sockets have SO_LINGER {1, 0}: Windows sends RST only when
 * such a socket is closed ("Graceful Shutdown, Linger Options, and Socket
 * Closure": an abortive close is closesocket with a zero linger timeout;
 * shutdown never resets). g_abortive_closes counts those closes. */
static SOCKET g_linger0[4096];
static CRITICAL_SECTION g_linger_lock;
static INIT_ONCE g_linger_once = INIT_ONCE_STATIC_INIT;
volatile LONG g_abortive_closes;
static BOOL CALLBACK linger_init(PINIT_ONCE o, PVOID p, PVOID *c)
{
    (void)o; (void)p; (void)c;
    InitializeCriticalSection(&g_linger_lock);
    return TRUE;
}
/* Marks (on) or unmarks s; with on < 0, unmarks and says whether it was marked. */
static int linger0(SOCKET s, int on)
{
    InitOnceExecuteOnce(&g_linger_once, linger_init, NULL, NULL);
    int was = 0;
    EnterCriticalSection(&g_linger_lock);
    for (size_t i = 0; i < sizeof g_linger0 / sizeof g_linger0[0]; i++)
        if (g_linger0[i] == s && s) {
            was = 1;
            g_linger0[i] = 0;
        }
    for (size_t i = 0; on > 0 && i < sizeof g_linger0 / sizeof g_linger0[0]; i++)
        if (!g_linger0[i]) {
            g_linger0[i] = s;
            break;
        }
    LeaveCriticalSection(&g_linger_lock);
    return was;
}
static int WSPAPI fk_CloseSocket(SOCKET s, LPINT lpErrno)
{
    int abortive = linger0(s, -1);
    int r = closesocket(s);
    ERRNO(r, SOCKET_ERROR);
    if (r == 0 && abortive)
        InterlockedIncrement(&g_abortive_closes);
    return r;
}
static int WSPAPI fk_Connect(SOCKET s, const struct sockaddr *n, int l, LPWSABUF a, LPWSABUF b, LPQOS q, LPQOS g, LPINT lpErrno)
{
    int r = WSAConnect(s, n, l, a, b, q, g);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
DWORD_PTR g_dup_reserved; /* the dwProviderReserved the lower provider last gave a duplicate */
static int WSPAPI fk_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    int r = WSADuplicateSocketW(s, pid, pi);
    ERRNO(r, SOCKET_ERROR);
    if (r == 0)
        g_dup_reserved = pi->dwProviderReserved;
    return r;
}
static int WSPAPI fk_EnumNetworkEvents(SOCKET s, WSAEVENT e, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    int r = WSAEnumNetworkEvents(s, e, ne);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_EventSelect(SOCKET s, WSAEVENT e, __LONG32 m, LPINT lpErrno)
{
    int r = WSAEventSelect(s, e, m);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static WINBOOL WSPAPI fk_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL w, LPDWORD f, LPINT lpErrno)
{
    WINBOOL r = WSAGetOverlappedResult(s, ov, n, w, f);
    ERRNO(r, FALSE);
    return r;
}
static int WSPAPI fk_GetPeerName(SOCKET s, struct sockaddr *n, LPINT l, LPINT lpErrno)
{
    int r = getpeername(s, n, l);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_GetSockName(SOCKET s, struct sockaddr *n, LPINT l, LPINT lpErrno)
{
    int r = getsockname(s, n, l);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_GetSockOpt(SOCKET s, int lv, int o, char *v, LPINT l, LPINT lpErrno)
{
    int r = getsockopt(s, lv, o, v, l);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static WINBOOL WSPAPI fk_GetQOSByName(SOCKET s, LPWSABUF n, LPQOS q, LPINT lpErrno)
{
    (void)s; (void)n; (void)q;
    *lpErrno = WSAEOPNOTSUPP;
    return FALSE;
}
static int WSPAPI fk_Ioctl(SOCKET s, DWORD c, LPVOID i, DWORD il, LPVOID o, DWORD ol, LPDWORD ret,
                           LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)t;
    if ((c == SIO_BSP_HANDLE || c == SIO_BSP_HANDLE_SELECT || c == SIO_BSP_HANDLE_POLL) && !g_installed) {
        /* the base provider (msafd) names its own socket; Wine's ws2_32 does not know these codes */
        if (!o || ol < sizeof(SOCKET)) {
            *lpErrno = WSAEFAULT;
            return SOCKET_ERROR;
        }
        *(SOCKET *)o = s;
        if (ret)
            *ret = sizeof(SOCKET);
        return 0;
    }
    int r = WSAIoctl(s, c, i, il, o, ol, ret, ov, cr);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static SOCKET WSPAPI fk_JoinLeaf(SOCKET s, const struct sockaddr *n, int l, LPWSABUF a, LPWSABUF b, LPQOS q, LPQOS g, DWORD f, LPINT lpErrno)
{
    (void)s; (void)n; (void)l; (void)a; (void)b; (void)q; (void)g; (void)f;
    *lpErrno = WSAEOPNOTSUPP;
    return INVALID_SOCKET;
}
static int WSPAPI fk_Listen(SOCKET s, int b, LPINT lpErrno)
{
    int r = listen(s, b);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_Recv(SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD f, LPWSAOVERLAPPED ov,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)t;
    int r = WSARecv(s, b, n, got, f, ov, cr);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_RecvDisconnect(SOCKET s, LPWSABUF d, LPINT lpErrno)
{
    int r = WSARecvDisconnect(s, d);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_RecvFrom(SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD f, struct sockaddr *fr, LPINT fl,
                              LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)t;
    int r = WSARecvFrom(s, b, n, got, f, fr, fl, ov, cr);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_Select(int n, fd_set *r, fd_set *w, fd_set *x, const PTIMEVAL t, LPINT lpErrno)
{
    int rc = select(n, r, w, x, t);
    ERRNO(rc, SOCKET_ERROR);
    return rc;
}
volatile LONG g_preempt_ms;
static int WSPAPI fk_Send(SOCKET s, LPWSABUF b, DWORD n, LPDWORD sent, DWORD f, LPWSAOVERLAPPED ov,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)t;
    int r = WSASend(s, b, n, sent, f, ov, cr);
    ERRNO(r, SOCKET_ERROR);
    /* A thread may lose its CPU at any point; on a busy machine, right after
     * the kernel refused a send (which re-enables FD_WRITE: "FD_WRITE ... after
     * a send ... failed with WSAEWOULDBLOCK", WSAEventSelect docs) room may
     * come and FD_WRITE be recorded before the sender runs again. g_preempt_ms
     * widens that window so a row sees it every time. */
    if (r == SOCKET_ERROR && *lpErrno == WSAEWOULDBLOCK && g_preempt_ms)
        Sleep((DWORD)g_preempt_ms);
    return r;
}
static int WSPAPI fk_SendDisconnect(SOCKET s, LPWSABUF d, LPINT lpErrno)
{
    int r = WSASendDisconnect(s, d);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_SendTo(SOCKET s, LPWSABUF b, DWORD n, LPDWORD sent, DWORD f, const struct sockaddr *to, int tl,
                            LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)t;
    int r = WSASendTo(s, b, n, sent, f, to, tl, ov, cr);
    ERRNO(r, SOCKET_ERROR);
    return r;
}
static int WSPAPI fk_SetSockOpt(SOCKET s, int lv, int o, const char *v, int l, LPINT lpErrno)
{
    int r = setsockopt(s, lv, o, v, l);
    ERRNO(r, SOCKET_ERROR);
    if (r == 0 && lv == SOL_SOCKET && o == SO_LINGER && v && l >= (int)sizeof(struct linger)) {
        const struct linger *lg = (const struct linger *)v;
        linger0(s, lg->l_onoff && !lg->l_linger);
    } else if (r == 0 && lv == SOL_SOCKET && o == SO_DONTLINGER) {
        linger0(s, 0);
    }
    return r;
}
static int WSPAPI fk_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
    int r = shutdown(s, how);
    ERRNO(r, SOCKET_ERROR);
    return r;
}

static void fill_fake(WSPPROC_TABLE *t)
{
    t->lpWSPAccept = fk_Accept;
    t->lpWSPAddressToString = fk_AddressToString;
    t->lpWSPAsyncSelect = fk_AsyncSelect;
    t->lpWSPBind = fk_Bind;
    t->lpWSPCancelBlockingCall = fk_CancelBlockingCall;
    t->lpWSPCleanup = fk_Cleanup;
    t->lpWSPCloseSocket = fk_CloseSocket;
    t->lpWSPConnect = fk_Connect;
    t->lpWSPDuplicateSocket = fk_DuplicateSocket;
    t->lpWSPEnumNetworkEvents = fk_EnumNetworkEvents;
    t->lpWSPEventSelect = fk_EventSelect;
    t->lpWSPGetOverlappedResult = fk_GetOverlappedResult;
    t->lpWSPGetPeerName = fk_GetPeerName;
    t->lpWSPGetSockName = fk_GetSockName;
    t->lpWSPGetSockOpt = fk_GetSockOpt;
    t->lpWSPGetQOSByName = fk_GetQOSByName;
    t->lpWSPIoctl = fk_Ioctl;
    t->lpWSPJoinLeaf = fk_JoinLeaf;
    t->lpWSPListen = fk_Listen;
    t->lpWSPRecv = fk_Recv;
    t->lpWSPRecvDisconnect = fk_RecvDisconnect;
    t->lpWSPRecvFrom = fk_RecvFrom;
    t->lpWSPSelect = fk_Select;
    t->lpWSPSend = fk_Send;
    t->lpWSPSendDisconnect = fk_SendDisconnect;
    t->lpWSPSendTo = fk_SendTo;
    t->lpWSPSetSockOpt = fk_SetSockOpt;
    t->lpWSPShutdown = fk_Shutdown;
    t->lpWSPSocket = fk_Socket;
    t->lpWSPStringToAddress = fk_StringToAddress;
}

int g_bad_lower; /* 1: the lower provider returns a table with a NULL entry */

static int WSPAPI fake_WSPStartup(WORD v, LPWSPDATA d, LPWSAPROTOCOL_INFOW pi, WSPUPCALLTABLE up, LPWSPPROC_TABLE t)
{
    (void)pi; (void)up;
    d->wVersion = d->wHighVersion = v;
    lstrcpyW(d->szDescription, L"fake lower provider over Wine ws2_32");
    fill_fake(t);
    if (g_bad_lower)
        t->lpWSPGetQOSByName = NULL;
    return 0;
}


/* The seam (production: lower.c). */
int wsdx_lsp_find_lower(const WSAPROTOCOL_INFOW *self, wsdx_lsp_lower_ref *out)
{
    memset(out, 0, sizeof *out);
    if (self->ProtocolChain.ChainLen < 2 || self->ProtocolChain.ChainEntries[0] != LAYER_ID)
        return WSAEPROVIDERFAILEDINIT;
    out->start = fake_WSPStartup;
    out->info = *self;
    out->info.ProtocolChain.ChainLen = BASE_PROTOCOL;
    out->info.dwCatalogEntryId = self->ProtocolChain.ChainEntries[1];
    out->info.dwServiceFlags1 = 0x20066;
    out->info.iSocketType = SOCK_STREAM;
    out->info.iProtocol = IPPROTO_TCP;
    return 0;
}

/* ------------------------------------------------------------------ */
/* upcalls: handle map (handles are never reused) */

typedef struct {
    SOCKET h;
    DWORD cat;
    DWORD_PTR ctx;
    int live;
    HANDLE port; /* fake_associate_port() */
    ULONG_PTR key;
} hentry;
static hentry g_h[65536]; /* handles are never reused: room for every row */
static int g_nh;
static CRITICAL_SECTION g_hlock;

static SOCKET WSPAPI up_CreateSocketHandle(DWORD cat, DWORD_PTR ctx, LPINT err)
{
    EnterCriticalSection(&g_hlock);
    if (g_nh >= (int)(sizeof g_h / sizeof g_h[0])) {
        LeaveCriticalSection(&g_hlock);
        fprintf(stderr, "fake ws2_32: the handle table is full (%d handles made)\n", g_nh);
        *err = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    hentry *e = &g_h[g_nh];
    e->h = (SOCKET)(0x40000 + 4 * g_nh);
    e->cat = cat;
    e->ctx = ctx;
    e->live = 1;
    g_nh++;
    LeaveCriticalSection(&g_hlock);
    return e->h;
}
static hentry *hfind(SOCKET s)
{
    if (s < 0x40000 || (s - 0x40000) % 4)
        return NULL;
    size_t i = (size_t)(s - 0x40000) / 4;
    return i < (size_t)g_nh ? &g_h[i] : NULL;
}
static int WSPAPI up_QuerySocketHandleContext(SOCKET s, PDWORD_PTR ctx, LPINT err)
{
    EnterCriticalSection(&g_hlock);
    hentry *e = hfind(s);
    int ok = e && e->live;
    if (ok)
        *ctx = e->ctx;
    LeaveCriticalSection(&g_hlock);
    if (!ok) {
        *err = WSAENOTSOCK;
        return SOCKET_ERROR;
    }
    return 0;
}
static int WSPAPI up_CloseSocketHandle(SOCKET s, LPINT err)
{
    EnterCriticalSection(&g_hlock);
    hentry *e = hfind(s);
    int ok = e && e->live;
    if (ok)
        e->live = 0;
    LeaveCriticalSection(&g_hlock);
    if (!ok) {
        *err = WSAENOTSOCK;
        return SOCKET_ERROR;
    }
    return 0;
}
/* CreateIoCompletionPort for one of our handles, as the kernel keeps it. */
int fake_associate_port(SOCKET s, HANDLE port, ULONG_PTR key)
{
    if (g_installed) /* a real handle of the installed provider */
        return CreateIoCompletionPort((HANDLE)s, port, key, 0) ? 0 : -1;
    EnterCriticalSection(&g_hlock);
    hentry *e = hfind(s);
    if (e && e->live) {
        e->port = port;
        e->key = key;
    }
    LeaveCriticalSection(&g_hlock);
    return e && e->live ? 0 : -1;
}

/* The seam (production: lower.c, ws2_32's WPUCompleteOverlappedRequest), as
 * Windows does it: the notification happens later, on another thread
 * ("there may be some slight delay after WPUCompleteOverlappedRequest
 * returns before these values appear, since processing may occur
 * asynchronously", WPUCompleteOverlappedRequest remarks). It then sets
 * InternalHigh to the byte count and after it Internal (to an NTSTATUS,
 * never WSS_OPERATION_IN_PROGRESS), posts a packet to the handle's
 * completion port unless the event's low bit says not to, and sets the
 * event. The provider owns only Offset and OffsetHigh on this path: a
 * request whose Internal it changed before the call is counted in
 * g_early_results. */
typedef struct completion {
    struct completion *next;
    LPWSAOVERLAPPED ov;
    DWORD err, n;
    HANDLE port;
    ULONG_PTR key;
} completion;
static completion *g_cq, **g_cq_tail = &g_cq;
static CRITICAL_SECTION g_cq_lock;
static HANDLE g_cq_ev;
volatile LONG g_early_results, g_completions;

static DWORD WINAPI completer(LPVOID arg)
{
    (void)arg;
    for (;;) {
        WaitForSingleObject(g_cq_ev, INFINITE);
        for (;;) {
            EnterCriticalSection(&g_cq_lock);
            completion *c = g_cq;
            if (c && !(g_cq = c->next))
                g_cq_tail = &g_cq;
            LeaveCriticalSection(&g_cq_lock);
            if (!c)
                break;
            Sleep(1); /* late: the caller has long returned */
            c->ov->InternalHigh = c->n;
            MemoryBarrier();
            c->ov->Internal = c->err ? (ULONG_PTR)0xC0000001L : 0;
            if (c->port && !((ULONG_PTR)c->ov->hEvent & 1))
                PostQueuedCompletionStatus(c->port, c->n, c->key, c->ov);
            if (c->ov->hEvent)
                SetEvent((HANDLE)((ULONG_PTR)c->ov->hEvent & ~(ULONG_PTR)1));
            InterlockedIncrement(&g_completions);
            free(c);
        }
    }
    return 0;
}

int wsdx_lsp_complete_request(SOCKET s, LPWSAOVERLAPPED ov, DWORD err, DWORD n, LPINT lpErrno)
{
    EnterCriticalSection(&g_hlock);
    hentry *e = hfind(s);
    HANDLE port = e && e->live ? e->port : NULL;
    ULONG_PTR key = e ? e->key : 0;
    LeaveCriticalSection(&g_hlock);
    if (!e) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    if (ov->Internal != WSS_OPERATION_IN_PROGRESS)
        InterlockedIncrement(&g_early_results);
    completion *c = (completion *)calloc(1, sizeof *c);
    if (!c) {
        *lpErrno = WSAENOBUFS;
        return SOCKET_ERROR;
    }
    c->ov = ov;
    c->err = err;
    c->n = n;
    c->port = port;
    c->key = key;
    EnterCriticalSection(&g_cq_lock);
    *g_cq_tail = c;
    g_cq_tail = &c->next;
    LeaveCriticalSection(&g_cq_lock);
    SetEvent(g_cq_ev);
    return 0;
}

int handles_made(void)
{
    EnterCriticalSection(&g_hlock);
    int n = g_nh;
    LeaveCriticalSection(&g_hlock);
    return n;
}

int live_handles(void)
{
    int n = 0;
    EnterCriticalSection(&g_hlock);
    for (int i = 0; i < g_nh; i++)
        n += g_h[i].live;
    LeaveCriticalSection(&g_hlock);
    return n;
}
static WSAEVENT WSPAPI up_CreateEvent(LPINT err) { *err = 0; return WSACreateEvent(); }
static BOOL WSPAPI up_CloseEvent(WSAEVENT e, LPINT err) { *err = 0; return WSACloseEvent(e); }
static BOOL WSPAPI up_SetEvent(WSAEVENT e, LPINT err) { *err = 0; return WSASetEvent(e); }
static BOOL WSPAPI up_ResetEvent(WSAEVENT e, LPINT err) { *err = 0; return WSAResetEvent(e); }
static BOOL WSPAPI up_PostMessage(HWND w, UINT m, WPARAM wp, LPARAM lp) { return PostMessageW(w, m, wp, lp); }
/* ws2_32 hands the provider a real handle of the calling thread in WSATHREADID. */
static int WSPAPI up_QueueApc(LPWSATHREADID t, LPWSAUSERAPC fn, DWORD_PTR ctx, LPINT err)
{
    if (!QueueUserAPC((PAPCFUNC)(void *)fn, t->ThreadHandle, ctx)) {
        *err = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* catalog entries handed to WSPStartup */

WSAPROTOCOL_INFOW entry(DWORD id, const GUID *g, DWORD flags, int type, int proto, const wchar_t *name)
{
    WSAPROTOCOL_INFOW pi;
    memset(&pi, 0, sizeof pi);
    pi.dwServiceFlags1 = flags;
    pi.ProviderId = *g;
    pi.dwCatalogEntryId = id;
    pi.ProtocolChain.ChainLen = 2;
    pi.ProtocolChain.ChainEntries[0] = LAYER_ID;
    pi.ProtocolChain.ChainEntries[1] = BASE_TCP4_ID;
    pi.iVersion = 2;
    pi.iAddressFamily = AF_INET;
    pi.iMaxSockAddr = sizeof(struct sockaddr_in);
    pi.iMinSockAddr = sizeof(struct sockaddr_in);
    pi.iSocketType = type;
    pi.iProtocol = proto;
    pi.dwMessageSize = (flags & XP1_MESSAGE_ORIENTED) ? WSDX_MAX_MESSAGE : 0;
    lstrcpynW(pi.szProtocol, name, WSAPROTOCOL_LEN + 1);
    return pi;
}

WSAPROTOCOL_INFOW g_pi_stream, g_pi_msg, g_pi_pt;
WSPPROC_TABLE T_stream, T_msg, T_pt;
WSPUPCALLTABLE g_up;

int fake_ws2_start(void)
{
    WSADATA wd;
    WSAStartup(MAKEWORD(2, 2), &wd);
    InitializeCriticalSection(&g_hlock);
    InitializeCriticalSection(&g_cq_lock);
    g_cq_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    CloseHandle(CreateThread(NULL, 0, completer, NULL, 0, NULL));

    memset(&g_up, 0, sizeof g_up);
    g_up.lpWPUCreateSocketHandle = up_CreateSocketHandle;
    g_up.lpWPUQuerySocketHandleContext = up_QuerySocketHandleContext;
    g_up.lpWPUCloseSocketHandle = up_CloseSocketHandle;
    g_up.lpWPUCreateEvent = up_CreateEvent;
    g_up.lpWPUCloseEvent = up_CloseEvent;
    g_up.lpWPUSetEvent = up_SetEvent;
    g_up.lpWPUResetEvent = up_ResetEvent;
    g_up.lpWPUPostMessage = up_PostMessage;
    g_up.lpWPUQueueApc = up_QueueApc;

    g_pi_stream = entry(9001, &wsdx_lsp_guid_proto,
                        XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | XP1_GRACEFUL_CLOSE | XP1_DISCONNECT_DATA,
                        SOCK_STREAM, WSDX_LSP_PROTO_STREAM, L"wsdx stream over [MSAFD Tcpip [TCP/IP]]");
    g_pi_msg = entry(9002, &wsdx_lsp_guid_proto,
                     XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | XP1_GRACEFUL_CLOSE | XP1_DISCONNECT_DATA |
                         XP1_MESSAGE_ORIENTED,
                     SOCK_SEQPACKET, WSDX_LSP_PROTO_MESSAGE, L"wsdx message over [MSAFD Tcpip [TCP/IP]]");
    g_pi_pt = entry(9003, &wsdx_lsp_guid_chain, 0x20066 & ~XP1_IFS_HANDLES, SOCK_STREAM, IPPROTO_TCP,
                    L"wsdx over [MSAFD Tcpip [TCP/IP]]");
    WSPDATA d;
    int rc1 = WSPStartup(MAKEWORD(2, 2), &d, &g_pi_stream, g_up, &T_stream);
    int rc2 = WSPStartup(MAKEWORD(2, 2), &d, &g_pi_msg, g_up, &T_msg);
    int rc3 = WSPStartup(MAKEWORD(2, 2), &d, &g_pi_pt, g_up, &T_pt);
    return rc1 ? rc1 : rc2 ? rc2 : rc3;
}

/* The installed mode (Windows, provider installed): the three tables are
 * ws2_32 itself and the entries are the catalog's, so every row runs
 * through ws2_32 and the provider it loaded from the catalog. 0, or
 * WSAEPROVIDERFAILEDINIT when the catalog has no wsdx entries. */
int fake_ws2_start_installed(void)
{
    WSADATA wd;
    WSAStartup(MAKEWORD(2, 2), &wd);
    InitializeCriticalSection(&g_hlock);
    g_installed = 1;
    DWORD size = 0;
    WSAEnumProtocolsW(NULL, NULL, &size);
    WSAPROTOCOL_INFOW *c = (WSAPROTOCOL_INFOW *)malloc(size ? size : 1);
    int n = c ? WSAEnumProtocolsW(NULL, c, &size) : SOCKET_ERROR;
    DWORD layer = 0;
    WSCEnumProtocols(NULL, NULL, &size, &(int){ 0 });
    WSAPROTOCOL_INFOW *all = (WSAPROTOCOL_INFOW *)malloc(size ? size : 1);
    int na = all ? WSCEnumProtocols(NULL, all, &size, &(int){ 0 }) : SOCKET_ERROR;
    for (int i = 0; i < na; i++) /* the hidden layer entry is not in WSAEnumProtocols */
        if (IsEqualGUID(&all[i].ProviderId, &wsdx_lsp_guid_layer))
            layer = all[i].dwCatalogEntryId;
    int found = 0;
    for (int i = 0; i < n; i++) {
        WSAPROTOCOL_INFOW *e = &c[i];
        if (e->iAddressFamily != AF_INET)
            continue;
        if (IsEqualGUID(&e->ProviderId, &wsdx_lsp_guid_proto) && e->iProtocol == WSDX_LSP_PROTO_STREAM)
            g_pi_stream = *e, found |= 1;
        else if (IsEqualGUID(&e->ProviderId, &wsdx_lsp_guid_proto) && e->iProtocol == WSDX_LSP_PROTO_MESSAGE)
            g_pi_msg = *e, found |= 2;
        else if (layer && e->ProtocolChain.ChainLen > 1 && e->ProtocolChain.ChainEntries[0] == layer &&
                 e->iProtocol == IPPROTO_TCP)
            g_pi_pt = *e, found |= 4;
    }
    free(c);
    free(all);
    fill_fake(&T_stream);
    fill_fake(&T_msg);
    fill_fake(&T_pt);
    return found == 7 ? 0 : WSAEPROVIDERFAILEDINIT;
}

/* ------------------------------------------------------------------ */
/* ws2_32's routing of select(), WSAPoll() and WSASendMsg() (Vista and later)
 *
 * ws2_32 does not call the provider a socket was made by: it asks that
 * provider's WSPIoctl for the handle to use (SIO_BSP_HANDLE_SELECT for
 * select, SIO_BSP_HANDLE_POLL for WSAPoll, SIO_BSP_HANDLE for WSASendMsg)
 * and goes to the provider that owns the handle returned: its WSPSelect,
 * its WSPIoctl(SIO_EXT_POLL) / WSPIoctl(SIO_EXT_SENDMSG) when that is a
 * layered provider's own handle, else the base provider's own select / poll /
 * sendmsg on the base handle (Winsock IOCTLs: SIO_BSP_HANDLE_SELECT,
 * SIO_BSP_HANDLE_POLL, SIO_EXT_POLL, SIO_EXT_SENDMSG). A provider that
 * passes those ioctls down is bypassed. */

/* The table of the provider whose handle s is, or NULL (a base socket). */
static WSPPROC_TABLE *owner(SOCKET s)
{
    EnterCriticalSection(&g_hlock);
    hentry *e = hfind(s);
    DWORD cat = e && e->live ? e->cat : 0;
    LeaveCriticalSection(&g_hlock);
    return cat == g_pi_stream.dwCatalogEntryId ? &T_stream : cat == g_pi_msg.dwCatalogEntryId ? &T_msg : NULL;
}

/* The handle s's provider names for code, or INVALID_SOCKET (*err set). */
static SOCKET route(SOCKET s, DWORD code, int *err)
{
    WSPPROC_TABLE *t = owner(s);
    if (!t)
        return s; /* a base socket answers with itself */
    SOCKET h = INVALID_SOCKET;
    DWORD ret = 0;
    WSATHREADID tid = { GetCurrentThread(), 0 };
    if (t->lpWSPIoctl(s, code, NULL, 0, &h, sizeof h, &ret, NULL, NULL, &tid, err))
        return INVALID_SOCKET;
    return h;
}

int ws2_select(fd_set *r, fd_set *w, fd_set *x, const TIMEVAL *tv, int *err)
{
    fd_set *sets[3] = { r, w, x };
    SOCKET app[3 * FD_SETSIZE], to[3 * FD_SETSIZE];
    int m = 0;
    WSPPROC_TABLE *t = NULL;
    for (int k = 0; k < 3; k++)
        for (u_int i = 0; sets[k] && i < sets[k]->fd_count; i++) {
            app[m] = sets[k]->fd_array[i];
            to[m] = route(app[m], SIO_BSP_HANDLE_SELECT, err);
            if (to[m] == INVALID_SOCKET)
                return SOCKET_ERROR;
            if (!m)
                t = owner(to[m]); /* the first socket's provider runs the select */
            sets[k]->fd_array[i] = to[m++];
        }
    int n;
    if (t) {
        n = t->lpWSPSelect(0, r, w, x, (const PTIMEVAL)tv, err);
    } else {
        n = select(0, r, w, x, (PTIMEVAL)tv);
        if (n == SOCKET_ERROR)
            *err = WSAGetLastError();
    }
    for (int k = 0; k < 3; k++) /* back to the application's handles */
        for (u_int i = 0; sets[k] && i < sets[k]->fd_count; i++)
            for (int j = 0; j < m; j++)
                if (to[j] == sets[k]->fd_array[i]) {
                    sets[k]->fd_array[i] = app[j];
                    break;
                }
    return n;
}

int ws2_poll(WSAPOLLFD *fds, ULONG n, INT timeout, int *err)
{
    SOCKET first = n ? route(fds[0].fd, SIO_BSP_HANDLE_POLL, err) : INVALID_SOCKET;
    if (n && first == INVALID_SOCKET)
        return SOCKET_ERROR;
    WSPPROC_TABLE *t = n ? owner(first) : NULL;
    if (!t) { /* the base provider polls the base handles */
        SOCKET app[64];
        for (ULONG i = 0; i < n && i < 64; i++) {
            app[i] = fds[i].fd;
            fds[i].fd = route(app[i], SIO_BSP_HANDLE_POLL, err);
        }
        int r = WSAPoll(fds, n, timeout);
        if (r == SOCKET_ERROR)
            *err = WSAGetLastError();
        for (ULONG i = 0; i < n && i < 64; i++)
            fds[i].fd = app[i];
        return r;
    }
    size_t len = sizeof(WSAPOLLDATA) + n * sizeof(WSAPOLLFD);
    WSAPOLLDATA *pd = (WSAPOLLDATA *)calloc(1, len);
    if (!pd) {
        *err = WSAENOBUFS;
        return SOCKET_ERROR;
    }
    pd->fds = n;
    pd->timeout = timeout;
    memcpy(pd->fdArray, fds, n * sizeof(WSAPOLLFD));
    DWORD ret = 0;
    WSATHREADID tid = { GetCurrentThread(), 0 };
    int rc = t->lpWSPIoctl(first, SIO_EXT_POLL, pd, (DWORD)len, pd, (DWORD)len, &ret, NULL, NULL, &tid, err);
    if (rc == 0) {
        memcpy(fds, pd->fdArray, n * sizeof(WSAPOLLFD));
        rc = pd->result;
    }
    free(pd);
    return rc;
}

int ws2_sendmsg(SOCKET s, WSAMSG *m, DWORD flags, DWORD *sent, int *err)
{
    SOCKET h = route(s, SIO_BSP_HANDLE, err);
    if (h == INVALID_SOCKET)
        return SOCKET_ERROR;
    WSPPROC_TABLE *t = owner(h);
    if (!t) { /* the base provider's WSASendMsg on the base handle */
        LPFN_WSASENDMSG fn = NULL;
        GUID g = WSAID_WSASENDMSG;
        DWORD ret = 0;
        if (WSAIoctl(h, SIO_GET_EXTENSION_FUNCTION_POINTER, &g, sizeof g, &fn, sizeof fn, &ret, NULL, NULL) || !fn ||
            fn(h, m, flags, sent, NULL, NULL)) {
            *err = WSAGetLastError();
            return SOCKET_ERROR;
        }
        return 0;
    }
    WSASENDMSG sm = { m, flags, sent, NULL, NULL };
    DWORD ret = 0;
    WSATHREADID tid = { GetCurrentThread(), 0 };
    return t->lpWSPIoctl(h, SIO_EXT_SENDMSG, &sm, sizeof sm, NULL, 0, &ret, NULL, NULL, &tid, err);
}

/* The seams, exported by the harness exe for wsdx-lsp-test.dll (dll_seams.c). */
__declspec(dllexport) int fake_find_lower(const WSAPROTOCOL_INFOW *self, wsdx_lsp_lower_ref *out)
{
    return wsdx_lsp_find_lower(self, out);
}
__declspec(dllexport) int fake_complete_request(SOCKET s, LPWSAOVERLAPPED ov, DWORD err, DWORD n, LPINT lpErrno)
{
    return wsdx_lsp_complete_request(s, ov, err, n, lpErrno);
}
