/* pc_data.c (Windows) - the installed backend's connections: connect (the
 * provider exchanges preambles inside WSPConnect), options, send/receive
 * with blocking in slices, shutdown and disconnect data. */
#include "bsd.h"
#include "pc.h"

#include <stdlib.h>
static void apply_options(entry *e, SOCKET s)
{
    if (e->linger_set) {
        struct linger l = { (u_short)e->linger_on, (u_short)e->linger_secs };
        pc__g.ws->setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l);
    }
    if (e->abort_ms > 0) {
        DWORD secs = ((DWORD)e->abort_ms + 999) / 1000;
        pc__g.ws->setsockopt(s, IPPROTO_TCP, TCP_MAXRT, (const char *)&secs, sizeof secs);
    }
}

/* ------------------------------------------------------------ connections */

wsdx_socket pc_socket_open(int mode)
{
    int st = pc_ready();
    if (st < 0)
        return st;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    entry *e = pc_entry_new(mode, 0);
    return e ? e->h.handle : -WSDX_WSAENOBUFS;
}

/* A wsdx socket of ai's family and the mode, or INVALID_SOCKET with *rc. */
SOCKET pc_open_for(const struct addrinfo *ai, int mode, int *rc)
{
    int v6 = ai->ai_family == AF_INET6;
    if (ai->ai_family != AF_INET && !v6) {
        *rc = -WSDX_WSAEPROTONOSUPPORT;
        return INVALID_SOCKET;
    }
    WSAPROTOCOL_INFOW *pi = &pc__g.info[v6][mode == WSDX_MESSAGE];
    if (!pc__g.have[v6][mode == WSDX_MESSAGE]) {
        *rc = -WSDX_WSAEPROTONOSUPPORT;
        return INVALID_SOCKET;
    }
    SOCKET s = pc__g.ws->socket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, pi, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        *rc = -pc_werr();
    return s;
}

/* Tries each address; the provider's WSPConnect also exchanges preambles,
 * within the one deadline it is given. */
static int connect_any(entry *e, const struct addrinfo *list, DWORD timeout_ms, SOCKET *out)
{
    int rc = -WSDX_WSAEHOSTUNREACH;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        SOCKET s = pc_open_for(ai, e->mode, &rc);
        if (s == INVALID_SOCKET)
            continue;
        apply_options(e, s);
        pc__g.ws->setsockopt(s, SOL_SOCKET, WSDX_LSP_SO_CONNECT_TIMEOUT, (const char *)&timeout_ms, sizeof timeout_ms);
        if (pc__g.ws->connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0) {
            *out = s;
            return 0;
        }
        rc = -pc_werr();
        pc__g.ws->closesocket(s);
    }
    return rc;
}

int pc_connect(wsdx_socket h, const char *host, int port, int timeout_ms)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockExclusive(&e->io); /* one connect at a time; no call meanwhile */
    int rc = e->listener ? -WSDX_WSAEINVAL : wsdx_check_peer(host, port);
    if (!rc && e->s != INVALID_SOCKET)
        rc = -WSDX_WSAEISCONN;
    struct addrinfo *list = NULL;
    if (!rc)
        rc = wsdx_bsd_resolve(host, port, 0, &list);
    SOCKET s = INVALID_SOCKET;
    if (!rc)
        rc = connect_any(e, list, timeout_ms > 0 ? (DWORD)timeout_ms : CONNECT_DEFAULT_MS, &s);
    if (list)
        freeaddrinfo(list);
    if (!rc && e->closing)
        rc = -WSDX_WSAEINTR;
    if (!rc && (rc = pc_attach(e, s)) != 0)
        pc__g.ws->closesocket(s);
    else if (rc && s != INVALID_SOCKET)
        pc__g.ws->closesocket(s);
    ReleaseSRWLockExclusive(&e->io);
    pc_unref(e);
    return rc;
}

int pc_local_port(wsdx_socket h)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockShared(&e->io);
    struct sockaddr_storage ss;
    int len = sizeof ss, rc = -WSDX_WSAENOTCONN;
    if (e->s != INVALID_SOCKET && !e->closing) {
        if (pc__g.ws->getsockname(e->s, (struct sockaddr *)&ss, &len) != 0)
            rc = -pc_werr();
        else
            rc = wsdx_bsd_port_of(&ss);
    }
    ReleaseSRWLockShared(&e->io);
    pc_unref(e);
    return rc;
}

/* ------------------------------------------------------------ options */

int pc_set_blocking(wsdx_socket h, int blocking)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    InterlockedExchange(&e->blocking, blocking != 0);
    pc_unref(e);
    return 0;
}

int pc_set_linger(wsdx_socket h, int onoff, int seconds)
{
    if (onoff && (seconds < 0 || seconds > 65535))
        return -WSDX_WSAEINVAL;
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockExclusive(&e->io);
    e->linger_set = 1;
    e->linger_on = onoff != 0;
    e->linger_secs = onoff ? seconds : 0;
    int rc = 0;
    if (e->s != INVALID_SOCKET && !e->listener) {
        struct linger l = { (u_short)e->linger_on, (u_short)e->linger_secs };
        if (pc__g.ws->setsockopt(e->s, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l) != 0)
            rc = -pc_werr();
    }
    ReleaseSRWLockExclusive(&e->io);
    pc_unref(e);
    return rc;
}

int pc_set_abort_timeout(wsdx_socket h, int ms)
{
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc;
    if (ms < 0)
        return pc_leave(e, -WSDX_WSAEINVAL);
    DWORD secs = ((DWORD)ms + 999) / 1000; /* TCP_MAXRT counts seconds; 0 restores the default */
    e->abort_ms = ms;
    if (pc__g.ws->setsockopt(e->s, IPPROTO_TCP, TCP_MAXRT, (const char *)&secs, sizeof secs) != 0)
        rc = -pc_werr();
    return pc_leave(e, rc);
}

/* ------------------------------------------------------------------ data */

int pc_send(wsdx_socket h, const void *buf, int len)
{
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return pc_leave(e, -WSDX_WSAEFAULT);
    int total = 0;
    for (;;) {
        int n = pc__g.ws->send(e->s, (const char *)buf + total, len - total, 0);
        if (n >= 0) {
            total += n;
            if (total == len || e->mode == WSDX_MESSAGE)
                return pc_leave(e, total);
            continue;
        }
        int err = pc_werr();
        rc = err == WSAEWOULDBLOCK ? pc_pause_for(e, 1, 0) : -err;
        if (rc)
            return pc_leave(e, total ? total : rc);
    }
}

int pc_recv(wsdx_socket h, void *buf, int len, int timeout_ms)
{
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return pc_leave(e, -WSDX_WSAEFAULT);
    ULONGLONG deadline = pc_deadline_after(timeout_ms);
    for (;;) {
        int n = pc__g.ws->recv(e->s, buf, len, 0);
        if (n >= 0)
            return pc_leave(e, n);
        int err = pc_werr();
        rc = err == WSAEWOULDBLOCK ? pc_pause_for(e, 0, deadline) : -err;
        if (rc)
            return pc_leave(e, rc);
    }
}

int pc_shutdown(wsdx_socket h, int how)
{
    int bad_how = how < WSDX_SD_RECEIVE || how > WSDX_SD_BOTH;
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc == -WSDX_WSAENOTCONN && bad_how ? -WSDX_WSAEINVAL : rc;
    if (bad_how)
        return pc_leave(e, -WSDX_WSAEINVAL);
    return pc_leave(e, pc__g.ws->shutdown(e->s, how) == 0 ? 0 : -pc_werr());
}

int pc_send_disconnect(wsdx_socket h, const void *data, int len)
{
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc;
    if (len < 0 || (len > 0 && !data))
        return pc_leave(e, -WSDX_WSAEFAULT);
    WSABUF b = { (ULONG)len, (char *)data };
    for (;;) { /* the provider may need room for the frame: wait for it, as blocking sockets do */
        if (pc__g.ws->send_disconnect(e->s, len ? &b : NULL) == 0)
            return pc_leave(e, 0);
        int err = pc_werr();
        if (err != WSAEWOULDBLOCK || e->closing)
            return pc_leave(e, err == WSAEWOULDBLOCK ? -WSDX_WSAEINTR : -err);
        pc_wait_io(e->s, 1, SLICE_MS);
    }
}

int pc_recv_disconnect(wsdx_socket h, void *buf, int cap)
{
    entry *e;
    int rc = pc_enter(h, &e);
    if (rc)
        return rc;
    if (cap < 0 || (cap > 0 && !buf))
        return pc_leave(e, -WSDX_WSAEFAULT);
    WSABUF b = { (ULONG)cap, (char *)buf };
    if (pc__g.ws->recv_disconnect(e->s, &b) != 0)
        return pc_leave(e, -pc_werr());
    return pc_leave(e, (int)b.len);
}
