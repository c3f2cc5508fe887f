/* provider_client.c (Windows) - the installed backend (backend.h): every
 * wsdx.h call becomes a Winsock call on a socket of the installed wsdx
 * catalog entries, so the protocol runs in the layered provider that ws2_32
 * loads into this process (src/win/lsp/wsdxproto.c), not in this file.
 *
 * What is left to do here is what Winsock does not do for wsdx.h:
 *  - handles that are never reused (a slot table with generations), and no
 *    call on a SOCKET value after it was closed: calls hold the entry's io
 *    lock shared, the close takes it exclusive;
 *  - blocking with timeouts over sockets that WSAEventSelect made
 *    non-blocking (select in short slices, so that a close ends the wait);
 *  - FD_CLOSE as a callback: one thread per 63 sockets waits on their
 *    events (WSAEventSelect);
 *  - accepting eagerly: the provider checks a peer's preamble inside
 *    WSPAccept, so each listener has a thread that accepts ahead of the
 *    application, as the in-process backend's notifier does. */
#include "backend.h"
#include "lsp.h"
#include "provider_client.h"

#include <mswsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ws2tcpip.h>

#ifndef TCP_MAXRT
#define TCP_MAXRT 5
#endif

#define SLICE_MS 50
#define GROUP_MAX (WSA_MAXIMUM_WAIT_EVENTS - 1) /* + the group's wake event */
#define CONNECT_DEFAULT_MS 30000

typedef struct group group;

typedef struct entry {
    LONG refs;                /* c.lock */
    uint32_t idx;
    wsdx_socket handle;
    SRWLOCK io;               /* shared: a call uses s; exclusive: s is closed */
    SOCKET s;                 /* INVALID_SOCKET until connected */
    int mode, listener;
    volatile LONG blocking, closing;
    int linger_set, linger_on, linger_secs, abort_ms;
    /* the close event, under c.lock */
    WSAEVENT ev;
    group *grp;
    int close_seen, close_err, close_flags, delivered, in_cb, dead;
    DWORD cb_thread;          /* the thread running fn, while in_cb */
    wsdx_close_fn fn;
    void *ctx;
    /* a listener's accepted sockets, under c.lock */
    SOCKET *ready;
    int nready, capready;
    CONDITION_VARIABLE accepted;
    HANDLE acceptor;
} entry;

struct group {
    WSAEVENT wake;
    entry *e[GROUP_MAX];
    int n;
    group *next;
};

typedef struct {
    entry *e;
    uint32_t gen, next_free;
} slot;

static struct {
    INIT_ONCE once;
    int state;                /* 1 usable, else -WSA */
    const wsdx_winsock *ws;
    WSAPROTOCOL_INFOW info[2][2]; /* [IPv6?][message?] */
    int have[2][2];
    CRITICAL_SECTION lock;    /* the table, groups, close-event state */
    CONDITION_VARIABLE cb_done;
    slot *slots;
    uint32_t nslots, free_head, live;
    group *groups;
} c = { INIT_ONCE_STATIC_INIT, 0, NULL, {{{0}}}, {{0}}, {0}, {0}, NULL, 0, 0, 0, NULL };

static const wsdx_winsock ws2_32 = {
    WSAEnumProtocolsW, WSASocketW, connect, bind, listen, accept, send, recv, select, shutdown,
    WSASendDisconnect, WSARecvDisconnect, setsockopt, getsockopt, getsockname, ioctlsocket,
    closesocket, WSAEventSelect, WSAEnumNetworkEvents, WSAGetLastError,
};

void wsdx_provider_client_use(const wsdx_winsock *ws) { c.ws = ws; }

static int werr(void) { return c.ws->last_error(); }

/* ------------------------------------------------------------ the catalog */

/* Keeps the first wsdx entry of each family and mode. */
static void note_entries(const WSAPROTOCOL_INFOW *pi, int n)
{
    static const GUID proto = WSDX_LSP_GUID_PROTO_INIT;
    for (int i = 0; i < n; i++) {
        if (memcmp(&pi[i].ProviderId, &proto, sizeof proto))
            continue;
        int v6 = pi[i].iAddressFamily == AF_INET6;
        int msg = (pi[i].dwServiceFlags1 & XP1_MESSAGE_ORIENTED) != 0;
        if (!c.have[v6][msg]) {
            c.info[v6][msg] = pi[i];
            c.have[v6][msg] = 1;
        }
    }
}

static int find_entries(void)
{
    DWORD size = 0;
    if (c.ws->enum_protocols(NULL, NULL, &size) != SOCKET_ERROR || werr() != WSAENOBUFS || !size)
        return WSDX_WSAEPROTONOSUPPORT;
    WSAPROTOCOL_INFOW *pi = malloc(size);
    if (!pi)
        return WSDX_WSAENOBUFS;
    int n = c.ws->enum_protocols(NULL, pi, &size);
    if (n != SOCKET_ERROR)
        note_entries(pi, n);
    free(pi);
    return c.have[0][0] && c.have[0][1] ? 0 : WSDX_WSAEPROTONOSUPPORT;
}

static BOOL CALLBACK init_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once; (void)param; (void)ctx;
    WSADATA wd;
    InitializeCriticalSection(&c.lock);
    InitializeConditionVariable(&c.cb_done);
    c.free_head = UINT32_MAX;
    if (!c.ws)
        c.ws = &ws2_32;
    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) {
        c.state = -WSDX_WSAENETDOWN;
        return TRUE;
    }
    int rc = find_entries();
    c.state = rc ? -rc : 1;
    return TRUE;
}

static int ready(void)
{
    InitOnceExecuteOnce(&c.once, init_once, NULL, NULL);
    return c.state;
}

/* ----------------------------------------------------------------- handles */

static entry *entry_new(int mode, int listener)
{
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->refs = 1; /* the table's */
    e->s = INVALID_SOCKET;
    e->mode = mode;
    e->listener = listener;
    e->blocking = 1;
    InitializeSRWLock(&e->io);
    InitializeConditionVariable(&e->accepted);
    EnterCriticalSection(&c.lock);
    if (c.free_head == UINT32_MAX) {
        uint32_t n = c.nslots ? c.nslots * 2 : 64;
        slot *grown = n < WSDX_HANDLE_INSTALLED ? realloc(c.slots, n * sizeof *grown) : NULL;
        if (!grown) {
            LeaveCriticalSection(&c.lock);
            free(e);
            return NULL;
        }
        for (uint32_t i = c.nslots; i < n; i++)
            grown[i] = (slot){ NULL, 1, i + 1 < n ? i + 1 : UINT32_MAX };
        c.slots = grown;
        c.free_head = c.nslots;
        c.nslots = n;
    }
    e->idx = c.free_head;
    slot *sl = &c.slots[e->idx];
    c.free_head = sl->next_free;
    sl->e = e;
    e->handle = (wsdx_socket)(((uint64_t)(sl->gen & 0x7fffffffu) << 32) | WSDX_HANDLE_INSTALLED | e->idx);
    c.live++;
    LeaveCriticalSection(&c.lock);
    return e;
}

static void entry_free(entry *e)
{
    if (e->ev)
        WSACloseEvent(e->ev);
    free(e->ready);
    free(e);
}

/* c.lock held. */
static void unref_locked(entry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

static void unref(entry *e)
{
    EnterCriticalSection(&c.lock);
    unref_locked(e);
    LeaveCriticalSection(&c.lock);
}

/* The live entry of h with a reference, or NULL. */
static entry *lookup(wsdx_socket h)
{
    uint32_t idx = (uint32_t)h & ~WSDX_HANDLE_INSTALLED;
    uint32_t gen = (uint32_t)((uint64_t)h >> 32);
    entry *e = NULL;
    EnterCriticalSection(&c.lock);
    if (idx < c.nslots && c.slots[idx].e && (c.slots[idx].gen & 0x7fffffffu) == gen &&
        !c.slots[idx].e->closing) {
        e = c.slots[idx].e;
        e->refs++;
    }
    LeaveCriticalSection(&c.lock);
    return e;
}

/* c.lock held: the handle is gone; later lookups fail WSAENOTSOCK. */
static void unpublish_locked(entry *e)
{
    slot *sl = &c.slots[e->idx];
    sl->e = NULL;
    sl->gen++;
    sl->next_free = c.free_head;
    c.free_head = e->idx;
    c.live--;
}

/* A call on a connection: the entry with a reference and its io lock held
 * shared, or NULL with *rc set. */
static entry *enter(wsdx_socket h, int *rc)
{
    entry *e = lookup(h);
    if (!e) {
        *rc = -WSDX_WSAENOTSOCK;
        return NULL;
    }
    AcquireSRWLockShared(&e->io);
    if (e->closing) {
        *rc = -WSDX_WSAENOTSOCK;
    } else if (e->listener || e->s == INVALID_SOCKET) {
        *rc = e->listener ? -WSDX_WSAEINVAL : -WSDX_WSAENOTCONN;
    } else {
        *rc = 0;
        return e;
    }
    ReleaseSRWLockShared(&e->io);
    unref(e);
    return NULL;
}

static int leave(entry *e, int rc)
{
    ReleaseSRWLockShared(&e->io);
    unref(e);
    return rc;
}

/* ------------------------------------------------------------ waiting */

/* Waits up to ms for s to be readable or writable. */
static void wait_io(SOCKET s, int write, int ms)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    TIMEVAL tv = { ms / 1000, (ms % 1000) * 1000 };
    c.ws->select(0, write ? NULL : &set, write ? &set : NULL, NULL, &tv);
}

/* One slice of a blocking call: 0 to retry, or the code that ends it. */
static int pause_for(entry *e, int write, ULONGLONG deadline)
{
    if (!e->blocking)
        return -WSDX_WSAEWOULDBLOCK;
    if (e->closing)
        return -WSDX_WSAEINTR;
    ULONGLONG now = GetTickCount64();
    if (deadline && now >= deadline)
        return -WSDX_WSAETIMEDOUT;
    ULONGLONG left = deadline ? deadline - now : SLICE_MS;
    wait_io(e->s, write, left < SLICE_MS ? (int)left : SLICE_MS);
    return 0;
}

static ULONGLONG deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? 0 : GetTickCount64() + (ULONGLONG)timeout_ms + (timeout_ms == 0);
}

/* ------------------------------------------------------ close events */

/* The peer's DISCONNECT frame arrived: the provider reports its length. */
static int disconnect_flags(SOCKET s)
{
    int len = -1, optlen = sizeof len;
    if (c.ws->getsockopt(s, SOL_SOCKET, SO_DISCDATALEN, (char *)&len, &optlen) != 0)
        return 0;
    return len >= 0 ? WSDX_CLOSE_DISCONNECT_DATA : 0;
}

/* Group thread: what did e's event say? */
static void poll_close(entry *e)
{
    if (!TryAcquireSRWLockShared(&e->io)) { /* being closed: its events no longer matter */
        WSAResetEvent(e->ev);
        return;
    }
    WSANETWORKEVENTS ne;
    if (!e->closing && c.ws->enum_network_events(e->s, e->ev, &ne) == 0 && (ne.lNetworkEvents & FD_CLOSE)) {
        int flags = disconnect_flags(e->s);
        EnterCriticalSection(&c.lock);
        if (!e->close_seen) {
            e->close_seen = 1;
            e->close_err = ne.iErrorCode[FD_CLOSE_BIT];
            e->close_flags = flags;
        }
        LeaveCriticalSection(&c.lock);
    } else if (e->closing) {
        WSAResetEvent(e->ev);
    }
    ReleaseSRWLockShared(&e->io);
}

/* c.lock held: the close of e is due to its callback. */
static int due_locked(const entry *e)
{
    return e->close_seen && e->fn && !e->delivered && !e->dead;
}

/* Group thread: calls the callbacks that are due, outside the lock. */
static void deliver(entry **who, int n)
{
    for (int k = 0; k < n; k++) {
        entry *e = who[k];
        EnterCriticalSection(&c.lock);
        if (!due_locked(e)) {
            LeaveCriticalSection(&c.lock);
            continue;
        }
        e->delivered = 1;
        e->in_cb = 1;
        e->cb_thread = GetCurrentThreadId();
        wsdx_close_fn fn = e->fn;
        void *ctx = e->ctx;
        int err = e->close_err, flags = e->close_flags;
        LeaveCriticalSection(&c.lock);
        fn(e->handle, err, flags, ctx);
        EnterCriticalSection(&c.lock);
        e->in_cb = 0;
        WakeAllConditionVariable(&c.cb_done);
        LeaveCriticalSection(&c.lock);
    }
}

static DWORD WINAPI group_main(LPVOID arg)
{
    group *gp = arg;
    for (;;) {
        WSAEVENT evs[GROUP_MAX + 1];
        entry *who[GROUP_MAX];
        EnterCriticalSection(&c.lock);
        int n = gp->n;
        evs[0] = gp->wake;
        for (int i = 0; i < n; i++) {
            who[i] = gp->e[i];
            who[i]->refs++;
            evs[i + 1] = who[i]->ev;
        }
        LeaveCriticalSection(&c.lock);
        WSAWaitForMultipleEvents((DWORD)n + 1, evs, FALSE, WSA_INFINITE, FALSE);
        WSAResetEvent(gp->wake);
        for (int i = 0; i < n; i++)
            if (WaitForSingleObject(evs[i + 1], 0) == WAIT_OBJECT_0)
                poll_close(who[i]);
        deliver(who, n);
        EnterCriticalSection(&c.lock);
        for (int i = 0; i < n; i++)
            unref_locked(who[i]);
        LeaveCriticalSection(&c.lock);
    }
    return 0;
}

/* c.lock held: a group with room, started if new. */
static group *group_with_room_locked(void)
{
    for (group *gp = c.groups; gp; gp = gp->next)
        if (gp->n < GROUP_MAX)
            return gp;
    group *gp = calloc(1, sizeof *gp);
    if (!gp || !(gp->wake = WSACreateEvent())) {
        free(gp);
        return NULL;
    }
    HANDLE th = CreateThread(NULL, 64 * 1024, group_main, gp, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!th) {
        WSACloseEvent(gp->wake);
        free(gp);
        return NULL;
    }
    CloseHandle(th); /* groups live as long as the process */
    gp->next = c.groups;
    c.groups = gp;
    return gp;
}

/* A connected s becomes e's: FD_CLOSE is watched from now on. 0 or -WSA. */
static int attach(entry *e, SOCKET s)
{
    WSAEVENT ev = WSACreateEvent();
    if (ev == WSA_INVALID_EVENT)
        return -WSDX_WSAENOBUFS;
    if (c.ws->event_select(s, ev, FD_CLOSE) != 0) {
        int rc = -werr();
        WSACloseEvent(ev);
        return rc;
    }
    EnterCriticalSection(&c.lock);
    group *gp = group_with_room_locked();
    if (gp) {
        e->s = s;
        e->ev = ev;
        e->grp = gp;
        gp->e[gp->n++] = e;
        e->refs++; /* the group's */
        WSASetEvent(gp->wake);
    }
    LeaveCriticalSection(&c.lock);
    if (!gp) {
        c.ws->event_select(s, NULL, 0);
        WSACloseEvent(ev);
        return -WSDX_WSAENOBUFS;
    }
    return 0;
}

/* c.lock held: e leaves its group (its event may still be waited on once). */
static void detach_locked(entry *e)
{
    group *gp = e->grp;
    if (!gp)
        return;
    for (int i = 0; i < gp->n; i++) {
        if (gp->e[i] == e) {
            gp->e[i] = gp->e[--gp->n];
            break;
        }
    }
    e->grp = NULL;
    WSASetEvent(gp->wake);
    unref_locked(e); /* the group's */
}

static void apply_options(entry *e, SOCKET s)
{
    if (e->linger_set) {
        struct linger l = { (u_short)e->linger_on, (u_short)e->linger_secs };
        c.ws->setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l);
    }
    if (e->abort_ms > 0) {
        DWORD secs = ((DWORD)e->abort_ms + 999) / 1000;
        c.ws->setsockopt(s, IPPROTO_TCP, TCP_MAXRT, (const char *)&secs, sizeof secs);
    }
}

/* ------------------------------------------------------------ connections */

static wsdx_socket pc_socket_open(int mode)
{
    int st = ready();
    if (st < 0)
        return st;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    entry *e = entry_new(mode, 0);
    return e ? e->handle : -WSDX_WSAENOBUFS;
}

static int resolve(const char *host, int port, int passive, struct addrinfo **out)
{
    struct addrinfo hints;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%d", port);
    return getaddrinfo(host && *host ? host : NULL, service, &hints, out) == 0 ? 0 : WSDX_WSAEHOSTUNREACH;
}

/* A wsdx socket of ai's family and the mode, or INVALID_SOCKET with *rc. */
static SOCKET open_for(const struct addrinfo *ai, int mode, int *rc)
{
    int v6 = ai->ai_family == AF_INET6;
    if (ai->ai_family != AF_INET && !v6) {
        *rc = -WSDX_WSAEPROTONOSUPPORT;
        return INVALID_SOCKET;
    }
    WSAPROTOCOL_INFOW *pi = &c.info[v6][mode == WSDX_MESSAGE];
    if (!c.have[v6][mode == WSDX_MESSAGE]) {
        *rc = -WSDX_WSAEPROTONOSUPPORT;
        return INVALID_SOCKET;
    }
    SOCKET s = c.ws->socket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, pi, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        *rc = -werr();
    return s;
}

/* Tries each address; the provider's WSPConnect also exchanges preambles,
 * within the one deadline it is given. */
static int connect_any(entry *e, const struct addrinfo *list, DWORD timeout_ms, SOCKET *out)
{
    int rc = -WSDX_WSAEHOSTUNREACH;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        SOCKET s = open_for(ai, e->mode, &rc);
        if (s == INVALID_SOCKET)
            continue;
        apply_options(e, s);
        c.ws->setsockopt(s, SOL_SOCKET, WSDX_LSP_SO_CONNECT_TIMEOUT, (const char *)&timeout_ms, sizeof timeout_ms);
        if (c.ws->connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0) {
            *out = s;
            return 0;
        }
        rc = -werr();
        c.ws->closesocket(s);
    }
    return rc;
}

static int pc_connect(wsdx_socket h, const char *host, int port, int timeout_ms)
{
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    int rc = 0;
    AcquireSRWLockExclusive(&e->io); /* one connect at a time; no call meanwhile */
    if (e->listener || !host || port <= 0 || port > 65535)
        rc = -WSDX_WSAEINVAL;
    else if (e->s != INVALID_SOCKET)
        rc = -WSDX_WSAEISCONN;
    struct addrinfo *list = NULL;
    if (!rc)
        rc = -resolve(host, port, 0, &list);
    SOCKET s = INVALID_SOCKET;
    if (!rc)
        rc = connect_any(e, list, timeout_ms > 0 ? (DWORD)timeout_ms : CONNECT_DEFAULT_MS, &s);
    if (list)
        freeaddrinfo(list);
    if (!rc && e->closing)
        rc = -WSDX_WSAEINTR;
    if (!rc && (rc = attach(e, s)) != 0)
        c.ws->closesocket(s);
    else if (rc && s != INVALID_SOCKET)
        c.ws->closesocket(s);
    ReleaseSRWLockExclusive(&e->io);
    unref(e);
    return rc;
}

static int pc_local_port(wsdx_socket h)
{
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockShared(&e->io);
    struct sockaddr_storage ss;
    int len = sizeof ss, rc = -WSDX_WSAENOTCONN;
    if (e->s != INVALID_SOCKET && !e->closing) {
        if (c.ws->getsockname(e->s, (struct sockaddr *)&ss, &len) != 0)
            rc = -werr();
        else
            rc = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    }
    ReleaseSRWLockShared(&e->io);
    unref(e);
    return rc;
}

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
        SOCKET a = c.ws->accept(l->s, NULL, NULL); /* non-blocking: handshakes go on meanwhile */
        if (a == INVALID_SOCKET)
            wait_io(l->s, 0, SLICE_MS); /* the provider's select advances the handshakes */
        ReleaseSRWLockShared(&l->io);
        if (a == INVALID_SOCKET)
            continue;
        EnterCriticalSection(&c.lock);
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
        LeaveCriticalSection(&c.lock);
        if (!queued)
            c.ws->closesocket(a);
    }
    unref(l); /* the thread's */
    return 0;
}

/* Binds and listens s on the first address of host:port. */
static int bind_listen(entry *l, const char *host, int port, int backlog)
{
    struct addrinfo *list = NULL;
    int rc = -resolve(host, port, 1, &list);
    if (rc)
        return rc;
    SOCKET s = open_for(list, l->mode, &rc);
    if (s != INVALID_SOCKET) {
        u_long on = 1;
        if (c.ws->bind(s, list->ai_addr, (int)list->ai_addrlen) != 0 ||
            c.ws->listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0 ||
            c.ws->ioctlsocket(s, FIONBIO, &on) != 0) {
            rc = -werr();
            c.ws->closesocket(s);
        } else {
            l->s = s;
        }
    }
    freeaddrinfo(list);
    return rc;
}

/* An entry that never reached the application. */
static void abandon(entry *e)
{
    EnterCriticalSection(&c.lock);
    unpublish_locked(e);
    unref_locked(e);
    LeaveCriticalSection(&c.lock);
}

static wsdx_socket pc_listen(const char *host, int port, int mode, int backlog)
{
    int st = ready();
    if (st < 0)
        return st;
    if (!host || port < 0 || port > 65535)
        return -WSDX_WSAEINVAL;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    entry *l = entry_new(mode, 1);
    if (!l)
        return -WSDX_WSAENOBUFS;
    int rc = bind_listen(l, host, port, backlog);
    if (rc) {
        abandon(l);
        return rc;
    }
    EnterCriticalSection(&c.lock);
    l->refs++; /* the acceptor thread's */
    LeaveCriticalSection(&c.lock);
    l->acceptor = CreateThread(NULL, 64 * 1024, acceptor_main, l, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!l->acceptor) {
        c.ws->closesocket(l->s);
        unref(l);
        abandon(l);
        return -WSDX_WSAENOBUFS;
    }
    return l->handle;
}

/* c.lock held: the next queued connection, or INVALID_SOCKET. */
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
    entry *e = entry_new(mode, 0);
    int rc = e ? attach(e, a) : -WSDX_WSAENOBUFS;
    if (rc) {
        c.ws->closesocket(a);
        if (e)
            abandon(e);
        return rc;
    }
    return e->handle;
}

static wsdx_socket pc_accept(wsdx_socket lh, int timeout_ms)
{
    entry *l = lookup(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    if (!l->listener) {
        unref(l);
        return -WSDX_WSAEINVAL;
    }
    ULONGLONG deadline = deadline_after(timeout_ms);
    SOCKET a = INVALID_SOCKET;
    int rc = 0;
    EnterCriticalSection(&c.lock);
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
        SleepConditionVariableCS(&l->accepted, &c.lock, wait < SLICE_MS ? wait : SLICE_MS);
    }
    LeaveCriticalSection(&c.lock);
    int mode = l->mode;
    unref(l);
    return a != INVALID_SOCKET ? adopt(mode, a) : rc;
}

static int64_t pc_listener_rejected(wsdx_socket lh)
{
    entry *l = lookup(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    int n = 0, len = sizeof n;
    int64_t rc = -WSDX_WSAEINVAL;
    AcquireSRWLockShared(&l->io);
    if (l->listener && !l->closing)
        rc = c.ws->getsockopt(l->s, SOL_SOCKET, WSDX_LSP_SO_REJECTED, (char *)&n, &len) == 0 ? n : -werr();
    ReleaseSRWLockShared(&l->io);
    unref(l);
    return rc;
}

/* ------------------------------------------------------------ options */

static int pc_set_blocking(wsdx_socket h, int blocking)
{
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    InterlockedExchange(&e->blocking, blocking != 0);
    unref(e);
    return 0;
}

static int pc_set_linger(wsdx_socket h, int onoff, int seconds)
{
    if (onoff && (seconds < 0 || seconds > 65535))
        return -WSDX_WSAEINVAL;
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    AcquireSRWLockExclusive(&e->io);
    e->linger_set = 1;
    e->linger_on = onoff != 0;
    e->linger_secs = onoff ? seconds : 0;
    int rc = 0;
    if (e->s != INVALID_SOCKET && !e->listener) {
        struct linger l = { (u_short)e->linger_on, (u_short)e->linger_secs };
        if (c.ws->setsockopt(e->s, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l) != 0)
            rc = -werr();
    }
    ReleaseSRWLockExclusive(&e->io);
    unref(e);
    return rc;
}

static int pc_set_abort_timeout(wsdx_socket h, int ms)
{
    int rc;
    entry *e = enter(h, &rc);
    if (!e)
        return rc;
    if (ms < 0)
        return leave(e, -WSDX_WSAEINVAL);
    DWORD secs = ((DWORD)ms + 999) / 1000; /* TCP_MAXRT counts seconds; 0 restores the default */
    e->abort_ms = ms;
    if (c.ws->setsockopt(e->s, IPPROTO_TCP, TCP_MAXRT, (const char *)&secs, sizeof secs) != 0)
        rc = -werr();
    return leave(e, rc);
}

/* ------------------------------------------------------------------ data */

static int pc_send(wsdx_socket h, const void *buf, int len)
{
    int rc;
    entry *e = enter(h, &rc);
    if (!e)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return leave(e, -WSDX_WSAEFAULT);
    int total = 0;
    for (;;) {
        int n = c.ws->send(e->s, (const char *)buf + total, len - total, 0);
        if (n >= 0) {
            total += n;
            if (total == len || e->mode == WSDX_MESSAGE)
                return leave(e, total);
            continue;
        }
        int err = werr();
        rc = err == WSAEWOULDBLOCK ? pause_for(e, 1, 0) : -err;
        if (rc)
            return leave(e, total ? total : rc);
    }
}

static int pc_recv(wsdx_socket h, void *buf, int len, int timeout_ms)
{
    int rc;
    entry *e = enter(h, &rc);
    if (!e)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return leave(e, -WSDX_WSAEFAULT);
    ULONGLONG deadline = deadline_after(timeout_ms);
    for (;;) {
        int n = c.ws->recv(e->s, buf, len, 0);
        if (n >= 0)
            return leave(e, n);
        int err = werr();
        rc = err == WSAEWOULDBLOCK ? pause_for(e, 0, deadline) : -err;
        if (rc)
            return leave(e, rc);
    }
}

static int pc_shutdown(wsdx_socket h, int how)
{
    int rc, bad_how = how < WSDX_SD_RECEIVE || how > WSDX_SD_BOTH;
    entry *e = enter(h, &rc);
    if (!e)
        return rc == -WSDX_WSAENOTCONN && bad_how ? -WSDX_WSAEINVAL : rc;
    if (bad_how)
        return leave(e, -WSDX_WSAEINVAL);
    return leave(e, c.ws->shutdown(e->s, how) == 0 ? 0 : -werr());
}

static int pc_send_disconnect(wsdx_socket h, const void *data, int len)
{
    int rc;
    entry *e = enter(h, &rc);
    if (!e)
        return rc;
    if (len < 0 || (len > 0 && !data))
        return leave(e, -WSDX_WSAEFAULT);
    WSABUF b = { (ULONG)len, (char *)data };
    for (;;) { /* the provider may need room for the frame: wait for it, as blocking sockets do */
        if (c.ws->send_disconnect(e->s, len ? &b : NULL) == 0)
            return leave(e, 0);
        int err = werr();
        if (err != WSAEWOULDBLOCK || e->closing)
            return leave(e, err == WSAEWOULDBLOCK ? -WSDX_WSAEINTR : -err);
        wait_io(e->s, 1, SLICE_MS);
    }
}

static int pc_recv_disconnect(wsdx_socket h, void *buf, int cap)
{
    int rc;
    entry *e = enter(h, &rc);
    if (!e)
        return rc;
    if (cap < 0 || (cap > 0 && !buf))
        return leave(e, -WSDX_WSAEFAULT);
    WSABUF b = { (ULONG)cap, (char *)buf };
    if (c.ws->recv_disconnect(e->s, &b) != 0)
        return leave(e, -werr());
    return leave(e, (int)b.len);
}

/* ------------------------------------------------------------------ close */

static int pc_on_close(wsdx_socket h, wsdx_close_fn fn, void *ctx)
{
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    EnterCriticalSection(&c.lock);
    e->fn = fn;
    e->ctx = ctx;
    if (due_locked(e) && e->grp)
        WSASetEvent(e->grp->wake); /* it already happened: the group thread delivers it now */
    LeaveCriticalSection(&c.lock);
    unref(e);
    return 0;
}

/* After a successful close: no handle, no callback from now on. */
static void finish(entry *e)
{
    EnterCriticalSection(&c.lock);
    e->dead = 1;
    detach_locked(e);
    unpublish_locked(e);
    while (e->in_cb && e->cb_thread != GetCurrentThreadId())
        SleepConditionVariableCS(&c.cb_done, &c.lock, INFINITE);
    SOCKET *queued = e->ready;
    int n = e->nready;
    e->ready = NULL;
    e->nready = 0;
    unref_locked(e); /* the table's */
    LeaveCriticalSection(&c.lock);
    for (int i = 0; i < n; i++)
        c.ws->closesocket(queued[i]); /* accepted, never taken: the peer sees a close */
    free(queued);
}

/* Closes s under the linger policy; WSAEWOULDBLOCK (S10) leaves it open. */
static int close_socket(entry *e)
{
    if (e->s == INVALID_SOCKET)
        return 0;
    if (e->listener)
        return c.ws->closesocket(e->s) == 0 ? 0 : -werr();
    c.ws->event_select(e->s, NULL, 0);
    u_long nb = !e->blocking; /* the provider's linger wait follows the blocking mode (S9, S10) */
    c.ws->ioctlsocket(e->s, FIONBIO, &nb);
    if (c.ws->closesocket(e->s) == 0)
        return 0;
    int err = werr();
    if (err == WSAEWOULDBLOCK)
        c.ws->event_select(e->s, e->ev, FD_CLOSE);
    return -err;
}

static int pc_close(wsdx_socket h)
{
    entry *e = lookup(h);
    if (!e)
        return -WSDX_WSAENOTSOCK;
    if (InterlockedExchange(&e->closing, 1)) { /* another thread is closing it */
        unref(e);
        return -WSDX_WSAENOTSOCK;
    }
    EnterCriticalSection(&c.lock);
    WakeAllConditionVariable(&e->accepted);
    LeaveCriticalSection(&c.lock);
    AcquireSRWLockExclusive(&e->io); /* calls in progress see closing and leave */
    int rc = close_socket(e);
    if (rc == -WSDX_WSAEWOULDBLOCK)
        InterlockedExchange(&e->closing, 0);
    else
        e->s = INVALID_SOCKET;
    ReleaseSRWLockExclusive(&e->io);
    if (rc != -WSDX_WSAEWOULDBLOCK) {
        if (e->acceptor) {
            WaitForSingleObject(e->acceptor, INFINITE);
            CloseHandle(e->acceptor);
        }
        finish(e);
        rc = 0; /* the socket is gone whatever the provider said */
    }
    unref(e);
    return rc;
}

static int pc_open_handles(void)
{
    EnterCriticalSection(&c.lock);
    int n = (int)c.live;
    LeaveCriticalSection(&c.lock);
    return n;
}

/* ------------------------------------------------------------ the table */

static const wsdx_backend_ops installed = {
    .socket_open = pc_socket_open,
    .connect = pc_connect,
    .listen = pc_listen,
    .local_port = pc_local_port,
    .accept = pc_accept,
    .listener_rejected = pc_listener_rejected,
    .set_blocking = pc_set_blocking,
    .send = pc_send,
    .recv = pc_recv,
    .shutdown = pc_shutdown,
    .send_disconnect = pc_send_disconnect,
    .recv_disconnect = pc_recv_disconnect,
    .set_linger = pc_set_linger,
    .set_abort_timeout = pc_set_abort_timeout,
    .close = pc_close,
    .on_close = pc_on_close,
    .open_handles = pc_open_handles,
};

const wsdx_backend_ops *wsdx_host_installed_backend(void)
{
    return ready() == 1 ? &installed : NULL;
}

const wsdx_backend_ops *wsdx_host_installed_known(void)
{
    return __atomic_load_n(&c.state, __ATOMIC_ACQUIRE) == 1 ? &installed : NULL;
}
