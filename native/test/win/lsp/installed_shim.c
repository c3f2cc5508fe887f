/* installed_shim.c - runs a wsdx.h test program on the installed backend
 * (src/win/provider_client.c) under Wine. Wine never loads a layered
 * provider, so the Winsock calls the backend makes are routed here straight
 * to the provider's WSP table (fake_ws2.c starts it over Wine's ws2_32), the
 * way ws2_32 would route them to an installed wsdx entry. Linked into the
 * test .exe; a constructor sets it up before main. */
#include "fake_ws2.h"
#include "provider_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local int t_err;
static WSATHREADID tid;

static int fail(int err)
{
    t_err = err;
    return SOCKET_ERROR;
}

#define CALL(expr)                  \
    int err_ = 0;                   \
    int rc_ = (expr);               \
    return rc_ == SOCKET_ERROR ? fail(err_) : rc_

static int WSAAPI sh_enum(LPINT protos, LPWSAPROTOCOL_INFOW buf, LPDWORD len)
{
    (void)protos;
    DWORD need = 2 * sizeof(WSAPROTOCOL_INFOW);
    if (!buf || *len < need) {
        *len = need;
        return fail(WSAENOBUFS);
    }
    buf[0] = g_pi_stream;
    buf[1] = g_pi_msg;
    return 2;
}

static SOCKET WSAAPI sh_socket(int af, int type, int proto, LPWSAPROTOCOL_INFOW pi, GROUP g, DWORD flags)
{
    int err = 0;
    SOCKET s = T_stream.lpWSPSocket(af, type, proto, pi, g, flags, &err);
    if (s == INVALID_SOCKET)
        t_err = err;
    return s;
}

static int WSAAPI sh_connect(SOCKET s, const struct sockaddr *a, int n)
{
    CALL(T_stream.lpWSPConnect(s, a, n, NULL, NULL, NULL, NULL, &err_));
}
static int WSAAPI sh_bind(SOCKET s, const struct sockaddr *a, int n) { CALL(T_stream.lpWSPBind(s, a, n, &err_)); }
static int WSAAPI sh_listen(SOCKET s, int backlog) { CALL(T_stream.lpWSPListen(s, backlog, &err_)); }

static SOCKET WSAAPI sh_accept(SOCKET s, struct sockaddr *a, int *n)
{
    int err = 0;
    SOCKET r = T_stream.lpWSPAccept(s, a, n, NULL, 0, &err);
    if (r == INVALID_SOCKET)
        t_err = err;
    return r;
}

static int WSAAPI sh_send(SOCKET s, const char *b, int n, int flags)
{
    WSABUF wb = { (ULONG)n, (char *)b };
    DWORD sent = 0;
    int err = 0;
    if (T_stream.lpWSPSend(s, &wb, 1, &sent, (DWORD)flags, NULL, NULL, &tid, &err) == SOCKET_ERROR)
        return fail(err);
    return (int)sent;
}

/* ws2_32's WSARecv hands the provider's *lpNumberOfBytesRecvd and *lpFlags
 * back as they are, error or not (WSPRecv: on WSAEMSGSIZE "MSG_PARTIAL is set
 * in lpFlags"); a non-overlapped call passes no overlapped structure. */
static int WSAAPI sh_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD fl,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr)
{
    int err = 0;
    if (T_stream.lpWSPRecv(s, b, nb, got, fl, ov, cr, &tid, &err) == SOCKET_ERROR)
        return fail(err);
    return 0;
}

static int WSAAPI sh_select(int n, fd_set *r, fd_set *w, fd_set *x, const PTIMEVAL t)
{
    CALL(T_stream.lpWSPSelect(n, r, w, x, t, &err_));
}
static int WSAAPI sh_shutdown(SOCKET s, int how) { CALL(T_stream.lpWSPShutdown(s, how, &err_)); }
static int WSAAPI sh_senddisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPSendDisconnect(s, d, &err_)); }
static int WSAAPI sh_recvdisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPRecvDisconnect(s, d, &err_)); }
/* ---- test hook: a close event that arrives while a call holds the socket
 * exclusively (wsdx_set_linger holds its entry's io lock around SO_LINGER) */
static CRITICAL_SECTION sel_lock;
static struct { SOCKET s; WSAEVENT ev; } sel[256]; /* the latest WSAEventSelect per socket */
static volatile LONG gate_armed, gate_in;

static void note_select(SOCKET s, WSAEVENT ev)
{
    EnterCriticalSection(&sel_lock);
    int i = 0;
    while (i < 255 && sel[i].s && sel[i].s != s)
        i++;
    sel[i].s = s;
    sel[i].ev = ev;
    LeaveCriticalSection(&sel_lock);
}

static WSAEVENT event_of(SOCKET s)
{
    WSAEVENT ev = NULL;
    EnterCriticalSection(&sel_lock);
    for (int i = 0; i < 256 && sel[i].s; i++)
        if (sel[i].s == s)
            ev = sel[i].ev;
    LeaveCriticalSection(&sel_lock);
    return ev;
}

/* The next SO_LINGER set holds until gate_hold is done. */
void installed_shim_gate_linger(void) { InterlockedExchange(&gate_armed, 1); }
/* 1 once the gated SO_LINGER is holding. */
int installed_shim_gate_holding(void) { return InterlockedCompareExchange(&gate_in, 0, 0); }

/* Inside the gated SO_LINGER: waits for the peer's close to reach s (s
 * readable), then for the group thread to have taken the close event (seen
 * set, then reset; or never seen set for 2 s: it was taken before we looked). */
static void gate_hold(SOCKET s)
{
    WSAEVENT ev = event_of(s);
    int err = 0, seen = 0;
    InterlockedExchange(&gate_in, 1);
    for (int i = 0; i < 5000; i++) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(s, &r);
        TIMEVAL tv = { 0, 1000 };
        if (T_stream.lpWSPSelect(0, &r, NULL, NULL, &tv, &err) == 1)
            break;
    }
    for (int i = 0; ev && i < 2000; i++) {
        int set = WaitForSingleObject(ev, 0) == WAIT_OBJECT_0;
        if (seen && !set)
            break;
        seen |= set;
        Sleep(1);
    }
    InterlockedExchange(&gate_in, 0);
}

static int WSAAPI sh_setsockopt(SOCKET s, int lv, int o, const char *v, int n)
{
    if (lv == SOL_SOCKET && o == SO_LINGER && InterlockedExchange(&gate_armed, 0))
        gate_hold(s);
    CALL(T_stream.lpWSPSetSockOpt(s, lv, o, v, n, &err_));
}
static int WSAAPI sh_getsockopt(SOCKET s, int lv, int o, char *v, int *n)
{
    CALL(T_stream.lpWSPGetSockOpt(s, lv, o, v, n, &err_));
}
static int WSAAPI sh_getsockname(SOCKET s, struct sockaddr *a, int *n) { CALL(T_stream.lpWSPGetSockName(s, a, n, &err_)); }
static int WSAAPI sh_ioctl(SOCKET s, __LONG32 cmd, u_long *arg)
{
    DWORD ret = 0;
    CALL(T_stream.lpWSPIoctl(s, (DWORD)cmd, arg, sizeof *arg, arg, sizeof *arg, &ret, NULL, NULL, &tid, &err_));
}
static int WSAAPI sh_close(SOCKET s) { CALL(T_stream.lpWSPCloseSocket(s, &err_)); }
static int WSAAPI sh_eventselect(SOCKET s, WSAEVENT e, __LONG32 m)
{
    if (e)
        note_select(s, e);
    CALL(T_stream.lpWSPEventSelect(s, e, m, &err_));
}
static int WSAAPI sh_enumevents(SOCKET s, WSAEVENT e, LPWSANETWORKEVENTS ne)
{
    CALL(T_stream.lpWSPEnumNetworkEvents(s, e, ne, &err_));
}
static int WSAAPI sh_last_error(void) { return t_err; }

static const wsdx_winsock shim = {
    sh_enum, sh_socket, sh_connect, sh_bind, sh_listen, sh_accept, sh_send, sh_recv, sh_select,
    sh_shutdown, sh_senddisc, sh_recvdisc, sh_setsockopt, sh_getsockopt, sh_getsockname, sh_ioctl,
    sh_close, sh_eventselect, sh_enumevents, sh_last_error,
};

__attribute__((constructor)) static void use_installed_backend(void)
{
    InitializeCriticalSection(&sel_lock);
    int rc = fake_ws2_start();
    wsdx_provider_client_use(&shim);
    int b = rc ? -rc : wsdx_use_backend(WSDX_BACKEND_INSTALLED);
    printf("installed backend through the provider's WSP table: %s (%d)\n",
           b == WSDX_BACKEND_INSTALLED ? "in use" : "FAILED", b);
    if (b != WSDX_BACKEND_INSTALLED)
        exit(1);
}
