/* lower_io.c - calls on a wsdx socket's lower TCP socket, through the lower
 * provider's WSP table: mode, send, receive, wait, abortive close. */
#include "wsock.h"

static WSATHREADID *tid(WSATHREADID *t)
{
    t->ThreadHandle = GetCurrentThread();
    t->Reserved = 0;
    return t;
}

int wsk_lower_nbio(wsdx_lsp_provider *p, SOCKET low, u_long on)
{
    DWORD got = 0;
    int e = 0;
    WSATHREADID t;
    return p->next.lpWSPIoctl(low, FIONBIO, &on, sizeof on, NULL, 0, &got, NULL, NULL, tid(&t), &e) ? -e : 0;
}

/* Bytes sent (>= 0), or -WSA code (-WSAEWOULDBLOCK when full). */
long wsk_lower_send(wsdx_lsp_provider *p, SOCKET low, const void *b, size_t n)
{
    WSABUF wb;
    DWORD sent = 0;
    int e = 0;
    WSATHREADID t;
    wb.buf = (char *)b;
    wb.len = (ULONG)n;
    if (p->next.lpWSPSend(low, &wb, 1, &sent, 0, NULL, NULL, tid(&t), &e) == SOCKET_ERROR)
        return -(long)e;
    return (long)sent;
}

/* Bytes read, 0 at FIN, or -WSA code. */
long wsk_lower_recv(wsdx_lsp_provider *p, SOCKET low, void *b, size_t n)
{
    WSABUF wb;
    DWORD got = 0, flags = 0;
    int e = 0;
    WSATHREADID t;
    wb.buf = (char *)b;
    wb.len = (ULONG)n;
    if (p->next.lpWSPRecv(low, &wb, 1, &got, &flags, NULL, NULL, tid(&t), &e) == SOCKET_ERROR)
        return -(long)e;
    return (long)got;
}

/* 1 ready (or in error), 0 timeout, -WSA code. */
int wsk_lower_wait(wsdx_lsp_provider *p, SOCKET low, int write, int ms)
{
    fd_set a, x;
    FD_ZERO(&a);
    FD_ZERO(&x);
    FD_SET(low, &a);
    FD_SET(low, &x);
    TIMEVAL tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    int e = 0;
    int rc = p->next.lpWSPSelect(0, write ? NULL : &a, write ? &a : NULL, &x, &tv, &e);
    if (rc == SOCKET_ERROR)
        return -e;
    return rc > 0;
}

void wsk_lower_abort(wsdx_lsp_provider *p, SOCKET low)
{
    struct linger l;
    int e = 0;
    l.l_onoff = 1;
    l.l_linger = 0;
    p->next.lpWSPSetSockOpt(low, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
    p->next.lpWSPCloseSocket(low, &e);
}
