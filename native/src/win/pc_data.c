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

/* A wsdx socket of ai's family and the mode, or INVALID_SOCKET with *rc.
 * When the cached entry fails (e.g. its id is gone after `repair`), the
 * catalog is read again and its entry tried once. */
SOCKET pc_open_for(const struct addrinfo *ai, int mode, int *rc)
{
    int v6 = ai->ai_family == AF_INET6;
    if (ai->ai_family != AF_INET && !v6) {
        *rc = -WSDX_WSAEPROTONOSUPPORT;
        return INVALID_SOCKET;
    }
    for (int tries = 0;; tries++) {
        WSAPROTOCOL_INFOW pi;
        *rc = pc_catalog_entry(v6, mode == WSDX_MESSAGE, &pi);
        if (*rc)
            return INVALID_SOCKET;
        SOCKET s = pc__g.ws->socket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &pi, 0,
                                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
        if (s != INVALID_SOCKET)
            return s;
        int err = pc_werr();
        *rc = -err;
        if (tries || !pc_catalog_failed(&pi, err))
            return INVALID_SOCKET;
    }
}

/* Waits for a non-blocking connect on s: the provider reports it
 * writable once the preamble exchange is over, in the except set if it
 * failed (then SO_ERROR says why). Checks for a close every slice. */
static int await_connect(entry *e, SOCKET s, ULONGLONG deadline)
{
    for (;;) {
        if (e->closing)
            return -WSDX_WSAEINTR; /* as closesocket ends another thread's blocking call */
        ULONGLONG now = GetTickCount64();
        if (now >= deadline)
            return -WSDX_WSAETIMEDOUT;
        ULONGLONG left = deadline - now;
        int ms = left < SLICE_MS ? (int)left : SLICE_MS;
        fd_set w, x;
        FD_ZERO(&w);
        FD_ZERO(&x);
        FD_SET(s, &w);
        FD_SET(s, &x);
        TIMEVAL tv = { ms / 1000, (ms % 1000) * 1000 };
        if (pc__g.ws->select(0, NULL, &w, &x, &tv) == SOCKET_ERROR)
            return -pc_werr();
        if (FD_ISSET(s, &x)) {
            int err = 0, len = sizeof err;
            pc__g.ws->getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
            return err ? -err : -WSDX_WSAECONNREFUSED;
        }
        if (FD_ISSET(s, &w))
            return 0;
    }
}

/* One attempt on ai within the deadline: the provider's connect exchanges
 * preambles too, and is told the time left so that it gives up with us. */
static int connect_one(entry *e, const struct addrinfo *ai, ULONGLONG deadline, SOCKET *out)
{
    int rc = 0;
    SOCKET s = pc_open_for(ai, e->mode, &rc);
    if (s == INVALID_SOCKET)
        return rc;
    AcquireSRWLockShared(&e->io); /* the options set_linger writes */
    apply_options(e, s);
    ReleaseSRWLockShared(&e->io);
    ULONGLONG now = GetTickCount64();
    DWORD left = now < deadline ? (DWORD)(deadline - now) : 1;
    u_long nb = 1;
    pc__g.ws->setsockopt(s, SOL_SOCKET, WSDX_LSP_SO_CONNECT_TIMEOUT, (const char *)&left, sizeof left);
    if (pc__g.ws->ioctlsocket(s, FIONBIO, &nb) != 0)
        rc = -pc_werr();
    else if (pc__g.ws->connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0)
        rc = pc_werr() == WSAEWOULDBLOCK ? await_connect(e, s, deadline) : -pc_werr();
    if (rc)
        pc__g.ws->closesocket(s);
    else
        *out = s;
    return rc;
}

/* Tries each address, all within the one deadline (as the in-process
 * backend does); a close ends the attempt. */
static int connect_any(entry *e, const struct addrinfo *list, ULONGLONG deadline, SOCKET *out)
{
    int rc = -WSDX_WSAEHOSTUNREACH;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        rc = connect_one(e, ai, deadline, out);
        if (!rc || rc == -WSDX_WSAEINTR || rc == -WSDX_WSAETIMEDOUT)
            break;
    }
    return rc;
}

/* Is e ready for a connect? 0 or -WSA. */
static int connect_check(entry *e, const char *host, int port)
{
    int rc = e->listener ? -WSDX_WSAEINVAL : wsdx_check_peer(host, port);
    AcquireSRWLockShared(&e->io);
    if (!rc && e->s != INVALID_SOCKET)
        rc = -WSDX_WSAEISCONN;
    ReleaseSRWLockShared(&e->io);
    return rc;
}

/* The name lookup and the connect run without e->io, so that calls meanwhile
 * fail WSAENOTCONN at once and wsdx_close ends the connect within a slice;
 * only the attach of the connected socket takes it exclusive. */
int pc_connect(wsdx_socket h, const char *host, int port, int timeout_ms)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    if (InterlockedCompareExchange(&e->connecting, 1, 0)) {
        pc_unref(e);
        return -WSDX_WSAEINPROGRESS; /* one connect at a time, as the in-process backend */
    }
    ULONGLONG deadline = GetTickCount64() + (ULONGLONG)(timeout_ms > 0 ? timeout_ms : CONNECT_DEFAULT_MS);
    int rc = connect_check(e, host, port);
    struct addrinfo *list = NULL;
    if (!rc)
        rc = pc_resolve(host, port, 0, &list);
    SOCKET s = INVALID_SOCKET;
    if (!rc)
        rc = e->closing ? -WSDX_WSAEINTR : connect_any(e, list, deadline, &s);
    if (list)
        pc__g.ws->freeaddrinfo(list);
    if (!rc) {
        AcquireSRWLockExclusive(&e->io);
        rc = e->closing ? -WSDX_WSAEINTR : pc_attach(e, s);
        pc_release_exclusive(e);
        if (rc)
            pc__g.ws->closesocket(s);
    }
    InterlockedExchange(&e->connecting, 0);
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
    pc_release_exclusive(e);
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

/* pc_enter for a call with a caller's buffer: 0 with *out entered, or -WSA
 * (WSAEFAULT for a negative length or a missing buffer; nothing held). */
static int enter_with(wsdx_socket h, const void *buf, int len, entry **out)
{
    int rc = pc_enter(h, out);
    if (rc)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return pc_leave(*out, -WSDX_WSAEFAULT);
    return 0;
}

int pc_send(wsdx_socket h, const void *buf, int len)
{
    entry *e;
    int rc = enter_with(h, buf, len, &e);
    if (rc)
        return rc;
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

/* One WSARecv: the count, or -WSA code. A message cut to len is the count
 * with WSDX_MSG_PARTIAL in *flags (WSARecv: WSAEMSGSIZE and MSG_PARTIAL set);
 * a WSAEMSGSIZE without MSG_PARTIAL is the fatal one (a frame over the limit). */
static int recv_once(SOCKET s, void *buf, int len, int *flags)
{
    WSABUF b = { (ULONG)len, (char *)buf };
    DWORD got = 0, fl = 0;
    if (pc__g.ws->recv(s, &b, 1, &got, &fl, NULL, NULL) == 0)
        return (int)got;
    int err = pc_werr();
    if (err == WSAEMSGSIZE && (fl & MSG_PARTIAL)) {
        *flags = WSDX_MSG_PARTIAL;
        return len;
    }
    return -err;
}

int pc_recv(wsdx_socket h, void *buf, int len, int timeout_ms, int *flags)
{
    entry *e;
    int rc = enter_with(h, buf, len, &e);
    if (rc)
        return rc;
    ULONGLONG deadline = pc_deadline_after(timeout_ms);
    for (;;) {
        int n = recv_once(e->s, buf, len, flags);
        if (n >= 0)
            return pc_leave(e, n);
        rc = n == -WSAEWOULDBLOCK ? pc_pause_for(e, 0, deadline) : n;
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
    int rc = enter_with(h, data, len, &e);
    if (rc)
        return rc;
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
    int rc = enter_with(h, buf, cap, &e);
    if (rc)
        return rc;
    WSABUF b = { (ULONG)cap, (char *)buf };
    if (pc__g.ws->recv_disconnect(e->s, &b) != 0)
        return pc_leave(e, -pc_werr());
    return pc_leave(e, (int)b.len);
}
