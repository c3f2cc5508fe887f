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

static int WSAAPI sh_recv(SOCKET s, char *b, int n, int flags)
{
    WSABUF wb = { (ULONG)n, b };
    DWORD got = 0, fl = (DWORD)flags;
    int err = 0;
    if (T_stream.lpWSPRecv(s, &wb, 1, &got, &fl, NULL, NULL, &tid, &err) == SOCKET_ERROR)
        return fail(err);
    return (int)got;
}

static int WSAAPI sh_select(int n, fd_set *r, fd_set *w, fd_set *x, const PTIMEVAL t)
{
    CALL(T_stream.lpWSPSelect(n, r, w, x, t, &err_));
}
static int WSAAPI sh_shutdown(SOCKET s, int how) { CALL(T_stream.lpWSPShutdown(s, how, &err_)); }
static int WSAAPI sh_senddisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPSendDisconnect(s, d, &err_)); }
static int WSAAPI sh_recvdisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPRecvDisconnect(s, d, &err_)); }
static int WSAAPI sh_setsockopt(SOCKET s, int lv, int o, const char *v, int n)
{
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
static int WSAAPI sh_eventselect(SOCKET s, WSAEVENT e, __LONG32 m) { CALL(T_stream.lpWSPEventSelect(s, e, m, &err_)); }
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
    int rc = fake_ws2_start();
    wsdx_provider_client_use(&shim);
    int b = rc ? -rc : wsdx_use_backend(WSDX_BACKEND_INSTALLED);
    printf("installed backend through the provider's WSP table: %s (%d)\n",
           b == WSDX_BACKEND_INSTALLED ? "in use" : "FAILED", b);
    if (b != WSDX_BACKEND_INSTALLED)
        exit(1);
}
