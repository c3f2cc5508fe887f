/* pc_listen.c (Windows) - the installed backend's listeners: an acceptor
 * thread per listener accepts ahead of the application (the provider checks
 * each peer's preamble inside WSPAccept) and queues for wsdx_accept. */
#include "bsd.h"
#include "pc.h"

#include <stdlib.h>
#include <string.h>
/* ------------------------------------------------------------ listeners */

/* Listener thread: accepts (the provider checks preambles and resets peers
 * that are not wsdx) and queues the connections for wsdx_accept. */
static DWORD WINAPI acceptor_main(LPVOID arg)
{
    entry *l = arg;
    for (;;) {
        AcquireSRWLockShared(&l->io);
        if (l->closing) {
            ReleaseSRWLockShared(&l->io);
            break;
        }
        SOCKET a = pc__g.ws->accept(l->s, NULL, NULL); /* non-blocking: handshakes go on meanwhile */
        if (a == INVALID_SOCKET)
            pc_wait_io(l->s, 0, SLICE_MS); /* the provider's select advances the handshakes */
        ReleaseSRWLockShared(&l->io);
        if (a == INVALID_SOCKET)
            continue;
        EnterCriticalSection(&pc__g.lock);
        if (l->nready == l->capready) {
            int cap = l->capready ? l->capready * 2 : 16;
            SOCKET *grown = realloc(l->ready, (size_t)cap * sizeof *grown);
            if (grown) {
                l->ready = grown;
                l->capready = cap;
            }
        }
        int queued = l->nready < l->capready;
        if (queued) {
            l->ready[l->nready++] = a;
            WakeAllConditionVariable(&l->accepted);
        }
        LeaveCriticalSection(&pc__g.lock);
        if (!queued)
            pc__g.ws->closesocket(a);
    }
    pc_unref(l); /* the thread's */
    return 0;
}

/* Binds and listens s on the first address of host:port. */
static int bind_listen(entry *l, const char *host, int port, int backlog)
{
    struct addrinfo *list = NULL;
    int rc = pc_resolve(host, port, 1, &list);
    if (rc)
        return rc;
    SOCKET s = pc_open_for(list, l->mode, &rc);
    if (s != INVALID_SOCKET) {
        u_long on = 1;
        if (pc__g.ws->bind(s, list->ai_addr, (int)list->ai_addrlen) != 0 ||
            pc__g.ws->listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0 ||
            pc__g.ws->ioctlsocket(s, FIONBIO, &on) != 0) {
            rc = -pc_werr();
            pc__g.ws->closesocket(s);
        } else {
            l->s = s;
        }
    }
    pc__g.ws->freeaddrinfo(list);
    return rc;
}

void pc_abandon(entry *e)
{
    pc_unpublish(e);
    pc_unref(e); /* the table's */
}

wsdx_socket pc_listen(const char *host, int port, int mode, int backlog)
{
    int st = pc_ready();
    if (st < 0)
        return st;
    if (!host || port < 0 || port > 65535)
        return -WSDX_WSAEINVAL;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    entry *l = pc_entry_new(mode, 1);
    if (!l)
        return -WSDX_WSAENOBUFS;
    int rc = bind_listen(l, host, port, backlog);
    if (rc) {
        pc_abandon(l);
        return rc;
    }
    pc_ref(l); /* the acceptor thread's */
    l->acceptor = CreateThread(NULL, 64 * 1024, acceptor_main, l, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!l->acceptor) {
        pc__g.ws->closesocket(l->s);
        pc_unref(l);
        pc_abandon(l);
        return -WSDX_WSAENOBUFS;
    }
    return l->h.handle;
}

/* pc__g.lock held: the next queued connection, or INVALID_SOCKET. */
static SOCKET pop_ready_locked(entry *l)
{
    if (!l->nready)
        return INVALID_SOCKET;
    SOCKET a = l->ready[0];
    memmove(l->ready, l->ready + 1, (size_t)--l->nready * sizeof *l->ready);
    return a;
}

static wsdx_socket adopt(int mode, SOCKET a)
{
    entry *e = pc_entry_new(mode, 0);
    int rc = e ? pc_attach(e, a) : -WSDX_WSAENOBUFS;
    if (rc) {
        pc__g.ws->closesocket(a);
        if (e)
            pc_abandon(e);
        return rc;
    }
    return e->h.handle;
}

wsdx_socket pc_accept(wsdx_socket lh, int timeout_ms)
{
    entry *l = pc_lookup(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    if (!l->listener) {
        pc_unref(l);
        return -WSDX_WSAEINVAL;
    }
    ULONGLONG deadline = pc_deadline_after(timeout_ms);
    SOCKET a = INVALID_SOCKET;
    int rc = 0;
    EnterCriticalSection(&pc__g.lock);
    for (;;) {
        if (l->closing) {
            rc = -WSDX_WSAEINTR;
            break;
        }
        if ((a = pop_ready_locked(l)) != INVALID_SOCKET)
            break;
        ULONGLONG now = GetTickCount64();
        if (timeout_ms == 0) {
            rc = -WSDX_WSAEWOULDBLOCK;
            break;
        }
        if (deadline && now >= deadline) {
            rc = -WSDX_WSAETIMEDOUT;
            break;
        }
        DWORD wait = deadline ? (DWORD)(deadline - now) : SLICE_MS;
        SleepConditionVariableCS(&l->accepted, &pc__g.lock, wait < SLICE_MS ? wait : SLICE_MS);
    }
    LeaveCriticalSection(&pc__g.lock);
    int mode = l->mode;
    pc_unref(l);
    return a != INVALID_SOCKET ? adopt(mode, a) : rc;
}

int64_t pc_listener_rejected(wsdx_socket lh)
{
    entry *l = pc_lookup(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    int n = 0, len = sizeof n;
    int64_t rc = -WSDX_WSAEINVAL;
    AcquireSRWLockShared(&l->io);
    if (l->listener && !l->closing)
        rc = pc__g.ws->getsockopt(l->s, SOL_SOCKET, WSDX_LSP_SO_REJECTED, (char *)&n, &len) == 0 ? n : -pc_werr();
    ReleaseSRWLockShared(&l->io);
    pc_unref(l);
    return rc;
}
