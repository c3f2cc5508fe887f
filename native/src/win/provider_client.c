/* provider_client.c (Windows) - the installed backend (backend.h): every
 * wsdx.h call becomes a Winsock call on a socket of the installed wsdx
 * catalog entries, so the protocol runs in the layered provider that ws2_32
 * loads into this process (src/win/lsp/proto_*.c), not in this file.
 *
 * What is left to do here is what Winsock does not do for wsdx.h:
 *  - handles that are never reused (the shared table, core/handles.c), and no
 *    call on a SOCKET value after it was closed: calls hold the entry's io
 *    lock shared, the close takes it exclusive;
 *  - blocking with timeouts over sockets that WSAEventSelect made
 *    non-blocking (select in short slices, so that a close ends the wait);
 *  - FD_CLOSE as a callback: one thread per 63 sockets waits on their
 *    events (WSAEventSelect);
 *  - accepting eagerly: the provider checks a peer's preamble inside
 *    WSPAccept, so each listener has a thread that accepts ahead of the
 *    application, as the in-process backend's notifier does.
 * The roles are split over pc_*.c (pc.h). */
#include "bsd.h"
#include "pc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pc_globals pc__g = { .once = INIT_ONCE_STATIC_INIT };

static const wsdx_winsock ws2_32 = {
    WSAEnumProtocolsW, WSASocketW, connect, bind, listen, accept, send, WSARecv, select, shutdown,
    WSASendDisconnect, WSARecvDisconnect, setsockopt, getsockopt, getsockname, ioctlsocket,
    closesocket, WSAEventSelect, WSAEnumNetworkEvents, WSAGetLastError, WSAProviderConfigChange,
    getaddrinfo, freeaddrinfo,
};

void wsdx_provider_client_use(const wsdx_winsock *ws) { pc__g.ws = ws; }

int pc_werr(void) { return pc__g.ws->last_error(); }

/* ------------------------------------------------------------ setting up */

static BOOL CALLBACK init_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once; (void)param; (void)ctx;
    InitializeCriticalSection(&pc__g.lock);
    InitializeConditionVariable(&pc__g.cb_done);
    wsdx_handles_init(&pc__g.table, WSDX_HANDLE_INSTALLED);
    if (!pc__g.ws)
        pc__g.ws = &ws2_32;
    pc_catalog_setup();
    return TRUE;
}

/* Not kept when it fails: the catalog is read again (pc_catalog.c). */
int pc_ready(void)
{
    InitOnceExecuteOnce(&pc__g.once, init_once, NULL, NULL);
    int st = pc_catalog_ready();
    if (st == 1)
        __atomic_store_n(&pc__g.known, 1, __ATOMIC_RELEASE);
    return st;
}

/* ----------------------------------------------------------------- handles */

entry *pc_entry_new(int mode, int listener)
{
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->s = INVALID_SOCKET;
    e->mode = mode;
    e->listener = listener;
    e->blocking = 1;
    InitializeSRWLock(&e->io);
    InitializeConditionVariable(&e->accepted);
    if (wsdx_handles_add(&pc__g.table, &e->h) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void entry_free(entry *e)
{
    if (e->ev)
        WSACloseEvent(e->ev);
    free(e->ready);
    free(e);
}

void pc_ref(entry *e)
{
    wsdx_hobj_ref(&e->h);
}

void pc_unref(entry *e)
{
    if (wsdx_hobj_unref(&e->h))
        entry_free(e);
}

/* Under the table's lock: an entry being closed takes no new calls. */
static int usable(const wsdx_hobj *o)
{
    return !((const entry *)o)->closing;
}

entry *pc_lookup(wsdx_socket h)
{
    return (entry *)wsdx_handles_acquire(&pc__g.table, h, usable);
}

void pc_unpublish(entry *e)
{
    wsdx_handles_remove(&pc__g.table, &e->h);
    wsdx_handles_ended(&pc__g.table);
}

int pc_enter(wsdx_socket h, entry **out)
{
    entry *e = pc_lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockShared(&e->io);
    int rc = 0;
    if (e->closing)
        rc = -WSDX_WSAENOTSOCK;
    else if (e->listener)
        rc = -WSDX_WSAEINVAL;
    else if (e->s == INVALID_SOCKET)
        rc = -WSDX_WSAENOTCONN;
    if (rc) {
        ReleaseSRWLockShared(&e->io);
        pc_unref(e);
        return rc;
    }
    *out = e;
    return 0;
}

int pc_leave(entry *e, int rc)
{
    ReleaseSRWLockShared(&e->io);
    pc_unref(e);
    return rc;
}

/* ------------------------------------------------------------ names */

static int table_gai(const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **out)
{
    return pc__g.ws->getaddrinfo(host, service, hints, out);
}

int pc_resolve(const char *host, int port, int passive, struct addrinfo **out)
{
    return wsdx_bsd_resolve_with(table_gai, host, port, passive, out);
}

/* ------------------------------------------------------------ waiting */

void pc_wait_io(SOCKET s, int write, int ms)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    TIMEVAL tv = { ms / 1000, (ms % 1000) * 1000 };
    pc__g.ws->select(0, write ? NULL : &set, write ? &set : NULL, NULL, &tv);
}

int pc_pause_for(entry *e, int write, ULONGLONG deadline)
{
    if (!e->blocking)
        return -WSDX_WSAEWOULDBLOCK;
    if (e->closing)
        return -WSDX_WSAEINTR;
    ULONGLONG now = GetTickCount64();
    if (deadline && now >= deadline)
        return -WSDX_WSAETIMEDOUT;
    ULONGLONG left = deadline ? deadline - now : SLICE_MS;
    pc_wait_io(e->s, write, left < SLICE_MS ? (int)left : SLICE_MS);
    return 0;
}

ULONGLONG pc_deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? 0 : GetTickCount64() + (ULONGLONG)timeout_ms + (timeout_ms == 0);
}

int pc_open_handles(void)
{
    return wsdx_handles_live(&pc__g.table);
}

/* ------------------------------------------------------------ the table */

static const wsdx_backend_ops installed = WSDX_BACKEND_TABLE();

const wsdx_backend_ops *wsdx_host_installed_backend(int *err)
{
    *err = pc_ready();
    return *err == 1 ? &installed : NULL;
}

const wsdx_backend_ops *wsdx_host_installed_known(void)
{
    return __atomic_load_n(&pc__g.known, __ATOMIC_ACQUIRE) ? &installed : NULL;
}
