/* wsdxproto.c - the wsdx protocol entries (stream and message, with
 * XP1_DISCONNECT_DATA). Each application socket is our own handle
 * (WPUCreateSocketHandle) whose context is a wsock: the portable state
 * machine (core conn.h), the lower TCP socket, and a small send queue.
 *
 * The lower socket is always non-blocking; the application's blocking mode
 * is ours to implement, by waiting on the lower socket with WSPSelect in
 * short slices (so that a close from another thread ends the wait). What the
 * lower provider delivers is fed to wsdx_conn_ingest / _eof / _fail; what a
 * call may do is asked of wsdx_conn_recv / _shutdown / _send_disconnect /
 * _recv_disconnect / _take_close. Wire format: docs/protocol.md. */
#include "lsp.h"

#include <mswsock.h>

#include "conn.h"
#include "frame.h"
#include "linger.h"
#include "wsdx.h"

#include <stdlib.h>
#include <string.h>

#define SLICE_MS 200
#define HANDSHAKE_MS 10000
#define CONNECT_MS 30000
#define TXQ_MAX (4 * 1024 * 1024)

typedef struct wsock {
    volatile LONG refs;
    int closed;                 /* under g_slock */
    SOCKET app, low;
    wsdx_lsp_provider *p;
    DWORD catalog_id;
    CRITICAL_SECTION lock;      /* conn, flags, event state */
    CRITICAL_SECTION rxio;      /* one reader of the lower socket at a time */
    CRITICAL_SECTION txio;      /* one writer; guards txq */
    wsdx_conn conn;
    int mode;
    int listening;
    int nonblocking;
    int linger_on, linger_secs;
    uint8_t *txq;               /* bytes accepted from the app, not yet taken by the lower socket */
    size_t txlen;
    int fin_pending;            /* FIN goes out once txq is empty */
    WSAEVENT ev;
    long mask;
    int read_reported;          /* FD_READ re-enabled by the next receive */
    DWORD connect_ms;           /* WSDX_LSP_SO_CONNECT_TIMEOUT; 0: CONNECT_MS, then HANDSHAKE_MS */
    /* listener, under lock: connections whose preamble is not checked yet,
     * and the checked ones waiting for WSPAccept */
    struct pending *hs, *ready;
    int nhs, caphs, nready, capready;
    volatile LONG rejected;     /* peers reset for not being wsdx */
} wsock;

/* An accepted lower connection on its way to the application. */
typedef struct pending {
    SOCKET low;
    DWORD deadline;
    uint8_t in[WSDX_PREAMBLE_LEN];
    size_t have;
    struct sockaddr_storage addr;
    int addrlen;
} pending;

static SRWLOCK g_slock = SRWLOCK_INIT;

/* ------------------------------------------------------------------ */
/* handles and reference counts */

static wsock *get(SOCKET s, LPINT err)
{
    DWORD_PTR ctx = 0;
    int e = 0;
    wsock *w = NULL;
    AcquireSRWLockShared(&g_slock);
    if (wsdx_lsp_up.lpWPUQuerySocketHandleContext &&
        wsdx_lsp_up.lpWPUQuerySocketHandleContext(s, &ctx, &e) == 0 && ctx) {
        w = (wsock *)ctx;
        if (w->closed)
            w = NULL;
        else
            InterlockedIncrement(&w->refs);
    }
    ReleaseSRWLockShared(&g_slock);
    if (!w)
        *err = WSAENOTSOCK;
    return w;
}

static void put(wsock *w)
{
    if (InterlockedDecrement(&w->refs) != 0)
        return;
    wsdx_conn_free(&w->conn);
    free(w->txq);
    free(w->hs);
    free(w->ready);
    DeleteCriticalSection(&w->lock);
    DeleteCriticalSection(&w->rxio);
    DeleteCriticalSection(&w->txio);
    free(w);
}

static int is_closed(wsock *w)
{
    AcquireSRWLockShared(&g_slock);
    int c = w->closed;
    ReleaseSRWLockShared(&g_slock);
    return c;
}

/* ------------------------------------------------------------------ */
/* the lower socket */

static WSATHREADID *tid(WSATHREADID *t)
{
    t->ThreadHandle = GetCurrentThread();
    t->Reserved = 0;
    return t;
}

static int l_nbio(wsdx_lsp_provider *p, SOCKET low, u_long on)
{
    DWORD got = 0;
    int e = 0;
    WSATHREADID t;
    return p->next.lpWSPIoctl(low, FIONBIO, &on, sizeof on, NULL, 0, &got, NULL, NULL, tid(&t), &e) ? e : 0;
}

/* Bytes sent (>= 0), or -WSA code (-WSAEWOULDBLOCK when full). */
static long l_send(wsdx_lsp_provider *p, SOCKET low, const void *b, size_t n)
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
static long l_recv(wsdx_lsp_provider *p, SOCKET low, void *b, size_t n)
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
static int l_wait(wsdx_lsp_provider *p, SOCKET low, int write, int ms)
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

static void l_abort_close(wsdx_lsp_provider *p, SOCKET low)
{
    struct linger l;
    int e = 0;
    l.l_onoff = 1;
    l.l_linger = 0;
    p->next.lpWSPSetSockOpt(low, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
    p->next.lpWSPCloseSocket(low, &e);
}

static int send_exact(wsdx_lsp_provider *p, SOCKET low, const uint8_t *b, size_t n, DWORD deadline)
{
    while (n) {
        long k = l_send(p, low, b, n);
        if (k == -WSAEWOULDBLOCK) {
            if ((LONG)(GetTickCount() - deadline) >= 0)
                return WSAETIMEDOUT;
            l_wait(p, low, 1, SLICE_MS);
            continue;
        }
        if (k < 0)
            return (int)-k;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The client's preamble exchange (docs/protocol.md section 1), done by
 * deadline: 0 or the WSA code. */
static int handshake(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD deadline)
{
    uint8_t out[WSDX_PREAMBLE_LEN], in[WSDX_PREAMBLE_LEN];
    wsdx_preamble_encode(out, mode);
    int rc = send_exact(p, low, out, sizeof out, deadline);
    if (rc)
        return rc == WSAETIMEDOUT ? rc : WSAEPROTONOSUPPORT;
    size_t have = 0;
    while (have < sizeof in) {
        long k = l_recv(p, low, in + have, sizeof in - have); /* never more than the preamble */
        if (k == -WSAEWOULDBLOCK) {
            if ((LONG)(GetTickCount() - deadline) >= 0)
                return WSAETIMEDOUT;
            l_wait(p, low, 0, SLICE_MS);
            continue;
        }
        if (k <= 0)
            return WSAEPROTONOSUPPORT; /* FIN or reset before 8 bytes */
        have += (size_t)k;
    }
    return wsdx_preamble_check(in, mode);
}

/* ------------------------------------------------------------------ */
/* receive side: move what the lower socket has into the state machine */

/* Reads what is available (wait: block for at least one event first).
 * Returns 1 when something happened (bytes, FIN, error), else 0. */
static int pump(wsock *w, int wait)
{
    uint8_t buf[16384];
    int progress = 0;
    EnterCriticalSection(&w->rxio);
    for (;;) {
        EnterCriticalSection(&w->lock);
        int want = wsdx_conn_wants_input(&w->conn);
        LeaveCriticalSection(&w->lock);
        if (!want)
            break;
        long k = l_recv(w->p, w->low, buf, sizeof buf);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || progress)
                break;
            if (is_closed(w))
                break;
            l_wait(w->p, w->low, 0, SLICE_MS);
            continue;
        }
        EnterCriticalSection(&w->lock);
        if (k > 0)
            wsdx_conn_ingest(&w->conn, buf, (size_t)k);
        else if (k == 0)
            wsdx_conn_eof(&w->conn);
        else
            wsdx_conn_fail(&w->conn, (int)-k);
        int must_reset = w->conn.must_reset;
        w->conn.must_reset = 0;
        LeaveCriticalSection(&w->lock);
        if (must_reset) {
            struct linger l = { 1, 0 };
            int e = 0;
            w->p->next.lpWSPSetSockOpt(w->low, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
            w->p->next.lpWSPShutdown(w->low, SD_BOTH, &e);
        }
        progress = 1;
        if (k <= 0)
            break;
    }
    LeaveCriticalSection(&w->rxio);
    return progress;
}

static int close_due(wsock *w)
{
    return !w->conn.close_reported && (w->conn.peer_fin || w->conn.peer_error);
}

/* Signal the app's event when something is reportable that the lower
 * provider will not signal again by itself. */
static void kick(wsock *w)
{
    EnterCriticalSection(&w->lock);
    int due = w->ev && (((w->mask & FD_READ) && !w->read_reported && wsdx_rxq_has_ready(&w->conn.rx)) ||
                        ((w->mask & FD_CLOSE) && close_due(w)));
    WSAEVENT ev = w->ev;
    LeaveCriticalSection(&w->lock);
    if (due) {
        int e = 0;
        if (wsdx_lsp_up.lpWPUSetEvent)
            wsdx_lsp_up.lpWPUSetEvent(ev, &e);
        else
            SetEvent(ev);
    }
}

/* ------------------------------------------------------------------ */
/* send side */

/* Pushes the queue to the lower socket; caller holds txio. 0 or WSA code. */
static int flush(wsock *w, int wait)
{
    while (w->txlen) {
        long k = l_send(w->p, w->low, w->txq, w->txlen);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || is_closed(w))
                return WSAEWOULDBLOCK;
            l_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0)
            return (int)-k;
        memmove(w->txq, w->txq + k, w->txlen - (size_t)k);
        w->txlen -= (size_t)k;
    }
    if (w->fin_pending) {
        int e = 0;
        w->fin_pending = 0;
        w->p->next.lpWSPShutdown(w->low, SD_SEND, &e);
    }
    return 0;
}

/* Sends a whole frame (header + payload); caller holds txio and has flushed.
 * Blocking: all of it. Non-blocking: whatever does not fit now is queued. */
static int send_frame(wsock *w, int type, const uint8_t *b, size_t n)
{
    uint8_t *f = (uint8_t *)malloc(WSDX_FRAME_HEADER_LEN + n);
    if (!f)
        return WSAENOBUFS;
    wsdx_frame_header_encode(f, type, (uint32_t)n);
    if (n)
        memcpy(f + WSDX_FRAME_HEADER_LEN, b, n);
    size_t total = WSDX_FRAME_HEADER_LEN + n, off = 0;
    int rc = 0;
    while (off < total) {
        long k = l_send(w->p, w->low, f + off, total - off);
        if (k == -WSAEWOULDBLOCK) {
            if (w->nonblocking) {
                size_t rest = total - off;
                uint8_t *q = (uint8_t *)realloc(w->txq, w->txlen + rest);
                if (!q) {
                    rc = WSAENOBUFS; /* the frame is cut: the connection cannot go on */
                    break;
                }
                memcpy(q + w->txlen, f + off, rest);
                w->txq = q;
                w->txlen += rest;
                off = total;
                break;
            }
            if (is_closed(w)) {
                rc = WSAENOTSOCK;
                break;
            }
            l_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0) {
            rc = (int)-k;
            break;
        }
        off += (size_t)k;
    }
    free(f);
    return rc;
}

/* FIN now, or after the queue drains. Caller holds txio. */
static void send_fin(wsock *w)
{
    if (w->txlen) {
        w->fin_pending = 1;
    } else {
        int e = 0;
        w->p->next.lpWSPShutdown(w->low, SD_SEND, &e);
    }
}

/* ------------------------------------------------------------------ */
/* socket creation */

static wsock *wsock_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id)
{
    wsock *w = (wsock *)calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->refs = 1; /* the handle's reference */
    w->p = p;
    w->low = low;
    w->mode = mode;
    w->catalog_id = catalog_id;
    InitializeCriticalSection(&w->lock);
    InitializeCriticalSection(&w->rxio);
    InitializeCriticalSection(&w->txio);
    wsdx_conn_init(&w->conn, mode);
    return w;
}

static SOCKET make_handle(wsock *w, LPINT lpErrno)
{
    SOCKET s = wsdx_lsp_up.lpWPUCreateSocketHandle(w->catalog_id, (DWORD_PTR)w, lpErrno);
    if (s == INVALID_SOCKET)
        return s;
    w->app = s;
    return s;
}

static int mode_of(const WSAPROTOCOL_INFOW *pi)
{
    return pi && (pi->dwServiceFlags1 & XP1_MESSAGE_ORIENTED) ? WSDX_MESSAGE : WSDX_STREAM;
}

static SOCKET WSPAPI wp_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
                               DWORD flags, LPINT lpErrno)
{
    (void)af; (void)type; (void)protocol; (void)g;
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEPROVIDERFAILEDINIT;
        return INVALID_SOCKET;
    }
    SOCKET low = p->next.lpWSPSocket(p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP,
                                     &p->lower_info, 0, flags | WSA_FLAG_OVERLAPPED, lpErrno);
    if (low == INVALID_SOCKET)
        return INVALID_SOCKET;
    int e = 0;
    wsock *w = wsock_new(p, low, mode_of(pi ? pi : &p->self), pi ? pi->dwCatalogEntryId : p->self_id);
    if (!w || l_nbio(p, low, 1)) {
        p->next.lpWSPCloseSocket(low, &e);
        if (w)
            put(w);
        *lpErrno = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    SOCKET s = make_handle(w, lpErrno);
    if (s == INVALID_SOCKET) {
        p->next.lpWSPCloseSocket(low, &e);
        put(w);
    }
    return s;
}

static int WSPAPI wp_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                             LPWSABUF callee, LPQOS sq, LPQOS gq, LPINT lpErrno)
{
    (void)caller; (void)sq; (void)gq;
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    EnterCriticalSection(&w->lock);
    if (w->conn.connected)
        rc = WSAEISCONN;
    else if (w->listening)
        rc = WSAEINVAL;
    LeaveCriticalSection(&w->lock);
    /* one deadline for the connect and the preamble when the app set one */
    DWORD deadline = GetTickCount() + (w->connect_ms ? w->connect_ms : CONNECT_MS);
    if (!rc && w->p->next.lpWSPConnect(w->low, name, namelen, NULL, NULL, NULL, NULL, &rc) == SOCKET_ERROR) {
        if (rc == WSAEWOULDBLOCK) {
            /* The connect and the preamble exchange run to completion here,
             * for non-blocking sockets too (see docs/windows.md). */
            rc = WSAETIMEDOUT;
            while ((LONG)(GetTickCount() - deadline) < 0 && !is_closed(w)) {
                if (l_wait(w->p, w->low, 1, SLICE_MS) == 1) {
                    int err = 0, len = sizeof err, e = 0;
                    w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e);
                    rc = err;
                    break;
                }
            }
        }
    } else {
        rc = 0;
    }
    if (!rc)
        rc = handshake(w->p, w->low, w->mode, w->connect_ms ? deadline : GetTickCount() + HANDSHAKE_MS);
    if (rc && rc != WSAEISCONN && rc != WSAEINVAL) {
        /* Not a wsdx peer (or no connection): reset it, keep the app socket
         * usable and unconnected with a fresh lower socket. */
        int e = 0;
        l_abort_close(w->p, w->low);
        SOCKET low = w->p->next.lpWSPSocket(w->p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP,
                                            &w->p->lower_info, 0, WSA_FLAG_OVERLAPPED, &e);
        if (low != INVALID_SOCKET)
            l_nbio(w->p, low, 1);
        w->low = low;
    } else if (!rc) {
        EnterCriticalSection(&w->lock);
        wsdx_conn_established(&w->conn);
        LeaveCriticalSection(&w->lock);
        if (callee)
            callee->len = 0; /* no connect data */
    }
    put(w);
    if (rc) {
        *lpErrno = rc;
        return SOCKET_ERROR;
    }
    return 0;
}

/* Listener, under l->lock: appends to a pending list; 0 when out of memory. */
static int push_pending(pending **list, int *n, int *cap, const pending *x)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        pending *grown = (pending *)realloc(*list, (size_t)c * sizeof *grown);
        if (!grown)
            return 0;
        *list = grown;
        *cap = c;
    }
    (*list)[(*n)++] = *x;
    return 1;
}

static void reject(wsock *l, SOCKET low)
{
    l_abort_close(l->p, low); /* not a wsdx peer: reset it and go on serving the others */
    InterlockedIncrement(&l->rejected);
}

/* Takes every connection the lower listener has and sends each our
 * preamble (8 bytes: an empty send buffer takes them at once). */
static void take_new(wsock *l)
{
    for (;;) {
        pending x;
        memset(&x, 0, sizeof x);
        x.addrlen = sizeof x.addr;
        int e = 0;
        x.low = l->p->next.lpWSPAccept(l->low, (struct sockaddr *)&x.addr, &x.addrlen, NULL, 0, &e);
        if (x.low == INVALID_SOCKET)
            return;
        /* the accepted lower socket inherits the listener's event selection: cancel it */
        l->p->next.lpWSPEventSelect(x.low, NULL, 0, &e);
        l_nbio(l->p, x.low, 1);
        uint8_t out[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(out, l->mode);
        x.deadline = GetTickCount() + HANDSHAKE_MS;
        if (l_send(l->p, x.low, out, sizeof out) != (long)sizeof out || !push_pending(&l->hs, &l->nhs, &l->caphs, &x))
            reject(l, x.low);
    }
}

/* 1 checked, 0 not yet, -1 not a wsdx peer of our mode (or too slow). */
static int preamble_step(wsock *l, pending *x, DWORD now)
{
    while (x->have < WSDX_PREAMBLE_LEN) {
        long k = l_recv(l->p, x->low, x->in + x->have, WSDX_PREAMBLE_LEN - x->have); /* never more */
        if (k == -WSAEWOULDBLOCK)
            return (LONG)(now - x->deadline) >= 0 ? -1 : 0;
        if (k <= 0)
            return -1; /* FIN or reset before 8 bytes */
        x->have += (size_t)k;
    }
    return wsdx_preamble_check(x->in, l->mode) == 0 ? 1 : -1;
}

/* Listener, under l->lock: advances every handshake at once, so a slow
 * or silent peer holds up nobody; checked connections become ready. */
static void advance(wsock *l)
{
    take_new(l);
    DWORD now = GetTickCount();
    for (int i = 0; i < l->nhs;) {
        int v = preamble_step(l, &l->hs[i], now);
        if (v == 0) {
            i++;
            continue;
        }
        if (v < 0 || !push_pending(&l->ready, &l->nready, &l->capready, &l->hs[i]))
            reject(l, l->hs[i].low);
        l->hs[i] = l->hs[--l->nhs];
    }
}

/* Listener: the next checked connection (1), or 0. */
static int next_ready(wsock *l, pending *out)
{
    EnterCriticalSection(&l->lock);
    advance(l);
    int got = l->nready > 0;
    if (got) {
        *out = l->ready[0];
        memmove(l->ready, l->ready + 1, (size_t)--l->nready * sizeof *l->ready);
    }
    LeaveCriticalSection(&l->lock);
    return got;
}

static int listener_ready(wsock *l)
{
    EnterCriticalSection(&l->lock);
    advance(l);
    int yes = l->nready > 0;
    LeaveCriticalSection(&l->lock);
    return yes;
}

/* Listener being closed: connections never handed out are reset. */
static void drop_pending(wsock *l)
{
    EnterCriticalSection(&l->lock);
    for (int i = 0; i < l->nhs; i++)
        l_abort_close(l->p, l->hs[i].low);
    for (int i = 0; i < l->nready; i++)
        l_abort_close(l->p, l->ready[i].low);
    l->nhs = l->nready = 0;
    LeaveCriticalSection(&l->lock);
}

/* A checked lower connection becomes an application socket. */
static SOCKET adopt(wsock *l, pending *x, struct sockaddr *addr, LPINT addrlen, LPINT lpErrno)
{
    wsock *w = wsock_new(l->p, x->low, l->mode, l->catalog_id);
    if (!w) {
        l_abort_close(l->p, x->low);
        *lpErrno = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    wsdx_conn_established(&w->conn);
    w->linger_on = l->linger_on;
    w->linger_secs = l->linger_secs;
    SOCKET s = make_handle(w, lpErrno);
    if (s == INVALID_SOCKET) {
        int e = 0;
        l->p->next.lpWSPCloseSocket(x->low, &e);
        put(w);
        return s;
    }
    if (addr && addrlen) {
        int n = *addrlen < x->addrlen ? *addrlen : x->addrlen;
        memcpy(addr, &x->addr, (size_t)(n > 0 ? n : 0));
        *addrlen = x->addrlen;
    }
    return s;
}

static SOCKET WSPAPI wp_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC cond,
                               DWORD_PTR data, LPINT lpErrno)
{
    (void)cond; (void)data; /* conditional acceptance is not offered (docs/windows.md) */
    wsock *l = get(s, lpErrno);
    if (!l)
        return INVALID_SOCKET;
    pending x;
    SOCKET result = INVALID_SOCKET;
    if (!l->listening)
        *lpErrno = WSAEINVAL;
    else if (next_ready(l, &x))
        result = adopt(l, &x, addr, addrlen, lpErrno);
    else if (l->nonblocking)
        *lpErrno = WSAEWOULDBLOCK;
    else {
        while (!is_closed(l) && !next_ready(l, &x))
            l_wait(l->p, l->low, 0, 10); /* a new connection wakes it; handshakes are polled */
        if (is_closed(l))
            *lpErrno = WSAEINTR;
        else
            result = adopt(l, &x, addr, addrlen, lpErrno);
    }
    put(l);
    return result;
}

/* ------------------------------------------------------------------ */
/* data */

static int WSPAPI wp_Recv(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD got, LPDWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    (void)t;
    if (cr) {
        *lpErrno = WSAEOPNOTSUPP; /* completion routines: not offered on wsdx entries */
        return SOCKET_ERROR;
    }
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    size_t cap = 0;
    for (DWORD i = 0; i < nbufs; i++)
        cap += bufs[i].len;
    uint8_t *tmp = nbufs == 1 ? (uint8_t *)bufs[0].buf : (uint8_t *)malloc(cap ? cap : 1);
    int rc;
    if (!tmp) {
        rc = -WSAENOBUFS;
    } else {
        for (;;) {
            EnterCriticalSection(&w->lock);
            rc = wsdx_conn_recv(&w->conn, tmp, cap);
            if (rc != -WSAEWOULDBLOCK)
                w->read_reported = 0; /* a receive re-enables FD_READ */
            LeaveCriticalSection(&w->lock);
            if (rc != -WSAEWOULDBLOCK)
                break;
            /* overlapped requests are completed before returning (docs/windows.md) */
            int wait = !w->nonblocking || ov;
            if (!pump(w, wait) && !wait)
                break;
            if (is_closed(w)) {
                rc = -WSAENOTSOCK;
                break;
            }
        }
    }
    int n = rc >= 0 ? rc : (rc == -WSAEMSGSIZE ? (int)cap : 0);
    if (tmp && nbufs != 1) {
        size_t off = 0;
        for (DWORD i = 0; i < nbufs && off < (size_t)n; i++) {
            size_t c = bufs[i].len < (size_t)n - off ? bufs[i].len : (size_t)n - off;
            memcpy(bufs[i].buf, tmp + off, c);
            off += c;
        }
        free(tmp);
    }
    kick(w);
    put(w);
    if (got)
        *got = (DWORD)n;
    if (flags)
        *flags = rc == -WSAEMSGSIZE ? MSG_PARTIAL : 0;
    if (ov) {
        ov->Internal = rc >= 0 ? 0 : (ULONG_PTR)(-rc);
        ov->InternalHigh = (ULONG_PTR)n;
        ov->Offset = flags ? *flags : 0;
        if (ov->hEvent)
            SetEvent(ov->hEvent);
    }
    if (rc < 0) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_RecvFrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
                              struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    int rc = wp_Recv(s, bufs, n, got, flags, ov, cr, t, lpErrno);
    if (rc == 0 && from && fromlen) {
        wsock *w = get(s, lpErrno);
        if (w) {
            int e = 0;
            w->p->next.lpWSPGetPeerName(w->low, from, fromlen, &e);
            put(w);
        }
    }
    return rc;
}

static int WSPAPI wp_Send(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD sent, DWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    (void)t;
    if (cr) {
        *lpErrno = WSAEOPNOTSUPP;
        return SOCKET_ERROR;
    }
    if (flags & MSG_OOB) {
        *lpErrno = WSAEOPNOTSUPP;
        return SOCKET_ERROR;
    }
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    size_t n = 0;
    for (DWORD i = 0; i < nbufs; i++)
        n += bufs[i].len;
    int rc = 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int chk = wsdx_conn_send_check(&w->conn);
    LeaveCriticalSection(&w->lock);
    if (chk)
        rc = -chk;
    else if (w->mode == WSDX_MESSAGE && n > WSDX_MAX_MESSAGE)
        rc = WSAEMSGSIZE;
    else if ((rc = flush(w, !w->nonblocking || ov != NULL)) == 0 && (n > 0 || w->mode == WSDX_MESSAGE)) {
        if (w->nonblocking && w->txlen + n > TXQ_MAX) {
            rc = WSAEWOULDBLOCK;
        } else {
            const uint8_t *b = (const uint8_t *)bufs[0].buf;
            uint8_t *tmp = NULL;
            if (nbufs > 1) {
                tmp = (uint8_t *)malloc(n ? n : 1);
                if (!tmp)
                    rc = WSAENOBUFS;
                for (DWORD i = 0, off = 0; tmp && i < nbufs; off += bufs[i].len, i++)
                    memcpy(tmp + off, bufs[i].buf, bufs[i].len);
                b = tmp;
            }
            if (!rc)
                rc = send_frame(w, WSDX_FRAME_DATA, b, n);
            free(tmp);
        }
    }
    LeaveCriticalSection(&w->txio);
    put(w);
    if (sent)
        *sent = rc ? 0 : (DWORD)n;
    if (ov) {
        ov->Internal = (ULONG_PTR)rc;
        ov->InternalHigh = rc ? 0 : (ULONG_PTR)n;
        if (ov->hEvent)
            SetEvent(ov->hEvent);
    }
    if (rc) {
        *lpErrno = rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_SendTo(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags,
                            const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno)
{
    (void)to; (void)tolen; /* connection-oriented: the address is ignored */
    return wp_Send(s, bufs, n, sent, flags, ov, cr, t, lpErrno);
}

static WINBOOL WSPAPI wp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL wait,
                                             LPDWORD flags, LPINT lpErrno)
{
    (void)wait;
    wsock *w = get(s, lpErrno);
    if (!w)
        return FALSE;
    put(w);
    /* every overlapped request on a wsdx entry has completed when its call returned */
    *n = (DWORD)ov->InternalHigh;
    if (flags)
        *flags = ov->Offset;
    if (ov->Internal) {
        *lpErrno = (int)ov->Internal;
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* shutdown, disconnect data, close */

static int WSPAPI wp_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int fin = 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_shutdown(&w->conn, how, &fin);
    LeaveCriticalSection(&w->lock);
    if (rc == 0 && fin)
        send_fin(w);
    LeaveCriticalSection(&w->txio);
    put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_SendDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    const void *b = data ? data->buf : NULL;
    int n = data ? (int)data->len : 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_send_disconnect(&w->conn, b, n);
    LeaveCriticalSection(&w->lock);
    if (rc == 0) {
        int f = flush(w, !w->nonblocking);
        if (f && f != WSAEWOULDBLOCK)
            rc = -f;
        else
            rc = -send_frame(w, WSDX_FRAME_DISCONNECT, (const uint8_t *)b, (size_t)n);
        if (rc == 0)
            send_fin(w);
    }
    LeaveCriticalSection(&w->txio);
    put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_RecvDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    pump(w, 0); /* the DISCONNECT frame may still sit in the lower socket */
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_recv_disconnect(&w->conn, data ? data->buf : NULL, data ? (int)data->len : 0);
    LeaveCriticalSection(&w->lock);
    put(w);
    if (rc < 0) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    if (data)
        data->len = (ULONG)rc;
    return 0;
}

typedef struct {
    wsock *w;
} bg_close;

/* SO_DONTLINGER with data still queued in our layer: the close returned at
 * once; the queue, then FIN, go out here. */
static DWORD WINAPI background_close(LPVOID arg)
{
    wsock *w = (wsock *)arg;
    int e = 0;
    EnterCriticalSection(&w->txio);
    DWORD deadline = GetTickCount() + 120000;
    while (w->txlen && (LONG)(GetTickCount() - deadline) < 0) {
        long k = l_send(w->p, w->low, w->txq, w->txlen);
        if (k == -WSAEWOULDBLOCK) {
            l_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0)
            break;
        memmove(w->txq, w->txq + k, w->txlen - (size_t)k);
        w->txlen -= (size_t)k;
    }
    LeaveCriticalSection(&w->txio);
    if (w->txlen)
        l_abort_close(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    put(w);
    return 0;
}

static int WSPAPI wp_CloseSocket(SOCKET s, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int e = 0, rc = 0;
    EnterCriticalSection(&w->txio);
    flush(w, 0); /* whatever the lower socket takes now is no longer "queued" */
    enum wsdx_close_plan plan = wsdx_linger_plan(w->linger_on, w->linger_secs, !w->nonblocking, w->txlen);
    if (plan == WSDX_CLOSE_WOULDBLOCK) {
        LeaveCriticalSection(&w->txio);
        put(w);
        *lpErrno = WSAEWOULDBLOCK; /* S10: stays open and usable */
        return SOCKET_ERROR;
    }
    if (plan == WSDX_CLOSE_WAIT) {
        /* blocking, linger n: wait until our queue is delivered or n seconds pass */
        DWORD deadline = GetTickCount() + (DWORD)w->linger_secs * 1000;
        while (w->txlen && (LONG)(GetTickCount() - deadline) < 0) {
            long k = l_send(w->p, w->low, w->txq, w->txlen);
            if (k == -WSAEWOULDBLOCK) {
                l_wait(w->p, w->low, 1, SLICE_MS);
                continue;
            }
            if (k < 0)
                break;
            memmove(w->txq, w->txq + k, w->txlen - (size_t)k);
            w->txlen -= (size_t)k;
        }
        plan = w->txlen ? WSDX_CLOSE_ABORT : WSDX_CLOSE_GRACEFUL;
    }
    int background = plan == WSDX_CLOSE_GRACEFUL && w->txlen > 0;
    if (!background && plan == WSDX_CLOSE_GRACEFUL && w->linger_on && !w->nonblocking && !w->ev) {
        /* blocking linger n: let the lower provider wait for the kernel's queue */
        l_nbio(w->p, w->low, 0);
    }
    LeaveCriticalSection(&w->txio);

    AcquireSRWLockExclusive(&g_slock);
    w->closed = 1;
    ReleaseSRWLockExclusive(&g_slock);
    if (w->listening)
        drop_pending(w);

    if (plan == WSDX_CLOSE_ABORT) {
        l_abort_close(w->p, w->low);
    } else if (background) {
        InterlockedIncrement(&w->refs);
        e = 0;
        w->p->next.lpWSPEventSelect(w->low, NULL, 0, &e);
        HANDLE th = CreateThread(NULL, 0, background_close, w, 0, NULL);
        if (th)
            CloseHandle(th);
        else
            background_close(w);
    } else if (w->p->next.lpWSPCloseSocket(w->low, &e) == SOCKET_ERROR) {
        if (e == WSAEWOULDBLOCK) {
            /* non-blocking, linger n, the kernel still holds data: stays open */
            AcquireSRWLockExclusive(&g_slock);
            w->closed = 0;
            ReleaseSRWLockExclusive(&g_slock);
            put(w);
            *lpErrno = WSAEWOULDBLOCK;
            return SOCKET_ERROR;
        }
        rc = e; /* the lower socket is gone anyway */
    }
    wsdx_lsp_up.lpWPUCloseSocketHandle(s, &e);
    put(w); /* ours */
    put(w); /* the handle's */
    (void)rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* events */

static int WSPAPI wp_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    long lower_mask = mask ? (mask | FD_READ | FD_CLOSE | FD_WRITE) : 0;
    int rc = w->p->next.lpWSPEventSelect(w->low, ev, lower_mask, lpErrno);
    if (rc == 0) {
        EnterCriticalSection(&w->lock);
        w->ev = mask ? ev : NULL;
        w->mask = mask;
        w->read_reported = 0;
        w->nonblocking = 1; /* as WSAEventSelect does */
        LeaveCriticalSection(&w->lock);
        kick(w);
    }
    put(w);
    return rc;
}

static int WSPAPI wp_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    WSANETWORKEVENTS lne;
    memset(&lne, 0, sizeof lne);
    if (w->p->next.lpWSPEnumNetworkEvents(w->low, ev, &lne, lpErrno) == SOCKET_ERROR) {
        put(w);
        return SOCKET_ERROR;
    }
    memset(ne, 0, sizeof *ne);
    long pass = lne.lNetworkEvents & w->mask & (FD_CONNECT | FD_ACCEPT | FD_OOB);
    ne->lNetworkEvents = pass;
    for (int i = 0; i < FD_MAX_EVENTS; i++)
        if (pass & (1L << i))
            ne->iErrorCode[i] = lne.iErrorCode[i];
    if (lne.lNetworkEvents & (FD_READ | FD_CLOSE))
        pump(w, 0);
    if (lne.lNetworkEvents & FD_CLOSE) {
        int err = lne.iErrorCode[FD_CLOSE_BIT];
        EnterCriticalSection(&w->lock);
        if (err)
            wsdx_conn_fail(&w->conn, err); /* no effect when a clean end came first */
        LeaveCriticalSection(&w->lock);
    }
    if ((lne.lNetworkEvents & FD_WRITE) && (w->mask & FD_WRITE)) {
        EnterCriticalSection(&w->txio);
        int f = flush(w, 0);
        LeaveCriticalSection(&w->txio);
        if (f == 0) {
            ne->lNetworkEvents |= FD_WRITE;
            ne->iErrorCode[FD_WRITE_BIT] = lne.iErrorCode[FD_WRITE_BIT];
        }
    }
    EnterCriticalSection(&w->lock);
    if ((w->mask & FD_READ) && !w->read_reported && wsdx_rxq_has_ready(&w->conn.rx)) {
        ne->lNetworkEvents |= FD_READ;
        w->read_reported = 1;
    }
    int err = 0, fl = 0;
    if ((w->mask & FD_CLOSE) && wsdx_conn_take_close(&w->conn, &err, &fl)) {
        ne->lNetworkEvents |= FD_CLOSE; /* once, after the data before it is readable (R5) */
        ne->iErrorCode[FD_CLOSE_BIT] = err;
    }
    LeaveCriticalSection(&w->lock);
    put(w);
    return 0;
}

static int WSPAPI wp_AsyncSelect(SOCKET s, HWND wnd, unsigned int msg, __LONG32 ev, LPINT lpErrno)
{
    (void)wnd; (void)msg; (void)ev;
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    put(w);
    *lpErrno = WSAEOPNOTSUPP; /* window messages: not offered on wsdx entries (docs/windows.md) */
    return SOCKET_ERROR;
}

static int WSPAPI wp_Select(int nfds, fd_set *r, fd_set *wr, fd_set *x, const PTIMEVAL t, LPINT lpErrno)
{
    (void)nfds;
    fd_set in_r, in_w, in_x;
    FD_ZERO(&in_r);
    FD_ZERO(&in_w);
    FD_ZERO(&in_x);
    if (r) in_r = *r;
    if (wr) in_w = *wr;
    if (x) in_x = *x;
    if (r) FD_ZERO(r);
    if (wr) FD_ZERO(wr);
    if (x) FD_ZERO(x);
    DWORD limit = t ? (DWORD)(t->tv_sec * 1000 + t->tv_usec / 1000) : INFINITE;
    DWORD start = GetTickCount();
    for (;;) {
        int ready = 0;
        fd_set *sets[3] = { &in_r, &in_w, &in_x };
        fd_set *outs[3] = { r, wr, x };
        for (int k = 0; k < 3; k++)
            for (u_int i = 0; i < sets[k]->fd_count; i++) {
                int e = 0;
                SOCKET s = sets[k]->fd_array[i];
                wsock *w = get(s, &e);
                if (!w) {
                    *lpErrno = WSAENOTSOCK;
                    return SOCKET_ERROR;
                }
                int yes = 0;
                if (k == 0) {
                    if (!w->listening)
                        pump(w, 0);
                    EnterCriticalSection(&w->lock);
                    yes = wsdx_rxq_has_ready(&w->conn.rx) || w->conn.peer_fin || w->conn.peer_error ||
                          w->conn.disc_received;
                    LeaveCriticalSection(&w->lock);
                    if (w->listening)
                        yes = listener_ready(w);
                } else if (k == 1) {
                    yes = w->txlen == 0 && l_wait(w->p, w->low, 1, 0) == 1;
                } else {
                    int err = 0, len = sizeof err, e2 = 0;
                    w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e2);
                    yes = err != 0;
                }
                put(w);
                if (yes && outs[k]) {
                    FD_SET(s, outs[k]);
                    ready++;
                }
            }
        if (ready)
            return ready;
        DWORD spent = GetTickCount() - start;
        if (limit != INFINITE && spent >= limit)
            return 0;
        Sleep(limit == INFINITE || limit - spent > 10 ? 10 : limit - spent);
    }
}

/* ------------------------------------------------------------------ */
/* names, options, control */

#define SIMPLE_LOWER(call)              \
    wsock *w = get(s, lpErrno);         \
    if (!w)                             \
        return SOCKET_ERROR;            \
    int rc_ = (call);                   \
    put(w);                             \
    return rc_;

static int WSPAPI wp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPBind(w->low, name, namelen, lpErrno))
}

static int WSPAPI wp_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = w->p->next.lpWSPListen(w->low, backlog, lpErrno);
    if (rc == 0)
        w->listening = 1;
    put(w);
    return rc;
}

static int WSPAPI wp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetPeerName(w->low, name, len, lpErrno))
}

static int WSPAPI wp_GetSockName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPGetSockName(w->low, name, len, lpErrno))
}

static int WSPAPI wp_GetSockOpt(SOCKET s, int level, int opt, char *val, LPINT len, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    if (level == SOL_SOCKET && opt == SO_PROTOCOL_INFOW) {
        if (!len || *len < (int)sizeof(WSAPROTOCOL_INFOW)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            *(WSAPROTOCOL_INFOW *)val = w->p->self;
            *len = sizeof(WSAPROTOCOL_INFOW);
        }
    } else if (level == SOL_SOCKET && opt == WSDX_LSP_SO_CONNECT_TIMEOUT) {
        if (!val || !len || *len < (int)sizeof(DWORD)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            *(DWORD *)val = w->connect_ms;
            *len = sizeof(DWORD);
        }
    } else if (level == SOL_SOCKET && (opt == SO_DISCDATALEN || opt == WSDX_LSP_SO_REJECTED)) {
        if (!val || !len || *len < (int)sizeof(int)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            EnterCriticalSection(&w->lock);
            *(int *)val = opt == WSDX_LSP_SO_REJECTED ? (int)w->rejected
                          : w->conn.disc_received ? w->conn.disc_len : -1;
            LeaveCriticalSection(&w->lock);
            *len = sizeof(int);
        }
    } else if (level == SOL_SOCKET && (opt == SO_LINGER || opt == SO_DONTLINGER || opt == SO_TYPE)) {
        if (opt == SO_LINGER && len && *len >= (int)sizeof(struct linger)) {
            struct linger *l = (struct linger *)val;
            l->l_onoff = (u_short)w->linger_on;
            l->l_linger = (u_short)w->linger_secs;
            *len = sizeof(struct linger);
        } else if (opt != SO_LINGER && len && *len >= (int)sizeof(int)) {
            *(int *)val = opt == SO_TYPE ? w->p->self.iSocketType : !w->linger_on;
            *len = sizeof(int);
        } else {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        }
    } else {
        rc = w->p->next.lpWSPGetSockOpt(w->low, level, opt, val, len, lpErrno);
    }
    put(w);
    return rc;
}

static int WSPAPI wp_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (level == SOL_SOCKET && opt == WSDX_LSP_SO_CONNECT_TIMEOUT) { /* ours alone */
        int rc = 0;
        if (!val || len < (int)sizeof(DWORD)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            w->connect_ms = *(const DWORD *)val;
        }
        put(w);
        return rc;
    }
    /* the lower socket gets every other option (its linger drives the FIN/RST) */
    int rc = w->p->next.lpWSPSetSockOpt(w->low, level, opt, val, len, lpErrno);
    if (rc == 0 && level == SOL_SOCKET) {
        if (opt == SO_LINGER && val && len >= (int)sizeof(struct linger)) {
            const struct linger *l = (const struct linger *)val;
            w->linger_on = l->l_onoff != 0;
            w->linger_secs = l->l_linger;
        } else if (opt == SO_DONTLINGER && val && len >= (int)sizeof(int)) {
            w->linger_on = *(const int *)val == 0;
        }
    }
    put(w);
    return rc;
}

/* A fresh non-blocking lower TCP socket for w's provider, or INVALID_SOCKET. */
static SOCKET fresh_lower(wsdx_lsp_provider *p)
{
    int e = 0;
    SOCKET low = p->next.lpWSPSocket(p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP, &p->lower_info, 0,
                                     WSA_FLAG_OVERLAPPED, &e);
    if (low != INVALID_SOCKET)
        l_nbio(p, low, 1);
    return low;
}

/* DisconnectEx on a wsdx socket: the queued data, then FIN (a graceful
 * close, as S7), then the lower connection is let go; the handle stays
 * valid and may connect again (TF_REUSE_SOCKET or not: a wsdx handle
 * costs nothing to keep). It completes before it returns; an OVERLAPPED
 * is filled and its event set as for an immediate completion. */
static WINBOOL PASCAL wp_DisconnectEx(SOCKET s, LPOVERLAPPED ov, DWORD flags, DWORD reserved)
{
    int rc = 0;
    wsock *w = reserved || (flags & ~(DWORD)TF_REUSE_SOCKET) ? NULL : get(s, &rc);
    if (!w && !rc)
        rc = WSAEINVAL;
    if (w) {
        EnterCriticalSection(&w->txio);
        EnterCriticalSection(&w->rxio);
        EnterCriticalSection(&w->lock);
        rc = w->conn.connected && !w->listening ? 0 : WSAENOTCONN;
        LeaveCriticalSection(&w->lock);
        SOCKET low = rc ? INVALID_SOCKET : fresh_lower(w->p);
        if (!rc && low == INVALID_SOCKET)
            rc = WSAENOBUFS;
        if (!rc && (rc = flush(w, 1)) == 0) {
            int e = 0;
            w->p->next.lpWSPShutdown(w->low, SD_SEND, &e);
            w->p->next.lpWSPCloseSocket(w->low, &e); /* graceful: no linger set by us */
            if (w->ev)
                w->p->next.lpWSPEventSelect(low, w->ev, w->mask | FD_READ | FD_CLOSE | FD_WRITE, &e);
            EnterCriticalSection(&w->lock);
            wsdx_conn_free(&w->conn);
            wsdx_conn_init(&w->conn, w->mode); /* unconnected again */
            w->low = low;
            w->fin_pending = 0;
            LeaveCriticalSection(&w->lock);
        } else if (low != INVALID_SOCKET) {
            int e = 0;
            w->p->next.lpWSPCloseSocket(low, &e);
        }
        LeaveCriticalSection(&w->rxio);
        LeaveCriticalSection(&w->txio);
        put(w);
    }
    if (ov) {
        ov->Internal = (ULONG_PTR)rc;
        ov->InternalHigh = 0;
        if (ov->hEvent)
            SetEvent(ov->hEvent);
    }
    SetLastError((DWORD)rc);
    return rc == 0;
}

/* SIO_GET_EXTENSION_FUNCTION_POINTER for DisconnectEx: ours (1), or not that GUID (0). */
static int our_extension(LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret, LPINT lpErrno, int *rc)
{
    static const GUID disconnect_ex = WSAID_DISCONNECTEX;
    if (!in || inlen < sizeof(GUID) || memcmp(in, &disconnect_ex, sizeof(GUID)))
        return 0;
    if (!out || outlen < sizeof(LPFN_DISCONNECTEX)) {
        *lpErrno = WSAEFAULT;
        *rc = SOCKET_ERROR;
        return 1;
    }
    *(LPFN_DISCONNECTEX *)out = wp_DisconnectEx;
    if (ret)
        *ret = sizeof(LPFN_DISCONNECTEX);
    *rc = 0;
    return 1;
}

static int WSPAPI wp_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
                           LPDWORD ret, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
                           LPWSATHREADID t, LPINT lpErrno)
{
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    if (code == (DWORD)FIONBIO) {
        if (!in || inlen < sizeof(u_long)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else if (!*(u_long *)in && w->ev) {
            *lpErrno = WSAEINVAL; /* WSAEventSelect is active */
            rc = SOCKET_ERROR;
        } else {
            w->nonblocking = *(u_long *)in != 0; /* the lower socket stays non-blocking */
            if (ret)
                *ret = 0;
        }
    } else if (code == (DWORD)FIONREAD) {
        if (!out || outlen < sizeof(u_long)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            pump(w, 0);
            EnterCriticalSection(&w->lock);
            u_long n = wsdx_rxq_has_ready(&w->conn.rx) ? w->conn.rx.ready : 0;
            if (w->mode == WSDX_MESSAGE && n >= 4)
                n -= 4; /* record header of the first message (approximation) */
            LeaveCriticalSection(&w->lock);
            *(u_long *)out = n;
            if (ret)
                *ret = sizeof(u_long);
        }
    } else if (code == SIO_GET_EXTENSION_FUNCTION_POINTER && our_extension(in, inlen, out, outlen, ret, lpErrno, &rc)) {
        /* DisconnectEx knows wsdx handles; the lower provider's would not */
    } else {
        /* unknown codes and other GUIDs go to the lower provider, on the lower socket */
        rc = w->p->next.lpWSPIoctl(w->low, code, in, inlen, out, outlen, ret, ov, cr, t, lpErrno);
    }
    put(w);
    return rc;
}

static int WSPAPI wp_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    (void)pid; (void)pi;
    wsock *w = get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    put(w);
    *lpErrno = WSAEOPNOTSUPP; /* the state machine lives in this process */
    return SOCKET_ERROR;
}

static SOCKET WSPAPI wp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                                 LPWSABUF callee, LPQOS sq, LPQOS gq, DWORD flags, LPINT lpErrno)
{
    (void)s; (void)name; (void)namelen; (void)caller; (void)callee; (void)sq; (void)gq; (void)flags;
    *lpErrno = WSAEOPNOTSUPP;
    return INVALID_SOCKET;
}

static WINBOOL WSPAPI wp_GetQOSByName(SOCKET s, LPWSABUF name, LPQOS q, LPINT lpErrno)
{
    (void)s; (void)name; (void)q;
    *lpErrno = WSAEOPNOTSUPP;
    return FALSE;
}

static int WSPAPI wp_CancelBlockingCall(LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPCancelBlockingCall(lpErrno);
}

static INT WSPAPI wp_AddressToString(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW pi, LPWSTR str,
                                     LPDWORD strlen_, LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPAddressToString(sa, salen, &p->lower_info, str, strlen_, lpErrno);
}

static INT WSPAPI wp_StringToAddress(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW pi, LPSOCKADDR sa,
                                     LPINT salen, LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(1);
    if (!p) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return p->next.lpWSPStringToAddress(str, af, &p->lower_info, sa, salen, lpErrno);
}

void wsdx_lsp_fill_proto(WSPPROC_TABLE *t)
{
    t->lpWSPAccept = wp_Accept;
    t->lpWSPAddressToString = wp_AddressToString;
    t->lpWSPAsyncSelect = wp_AsyncSelect;
    t->lpWSPBind = wp_Bind;
    t->lpWSPCancelBlockingCall = wp_CancelBlockingCall;
    t->lpWSPCleanup = NULL; /* set by WSPStartup */
    t->lpWSPCloseSocket = wp_CloseSocket;
    t->lpWSPConnect = wp_Connect;
    t->lpWSPDuplicateSocket = wp_DuplicateSocket;
    t->lpWSPEnumNetworkEvents = wp_EnumNetworkEvents;
    t->lpWSPEventSelect = wp_EventSelect;
    t->lpWSPGetOverlappedResult = wp_GetOverlappedResult;
    t->lpWSPGetPeerName = wp_GetPeerName;
    t->lpWSPGetSockName = wp_GetSockName;
    t->lpWSPGetSockOpt = wp_GetSockOpt;
    t->lpWSPGetQOSByName = wp_GetQOSByName;
    t->lpWSPIoctl = wp_Ioctl;
    t->lpWSPJoinLeaf = wp_JoinLeaf;
    t->lpWSPListen = wp_Listen;
    t->lpWSPRecv = wp_Recv;
    t->lpWSPRecvDisconnect = wp_RecvDisconnect;
    t->lpWSPRecvFrom = wp_RecvFrom;
    t->lpWSPSelect = wp_Select;
    t->lpWSPSend = wp_Send;
    t->lpWSPSendDisconnect = wp_SendDisconnect;
    t->lpWSPSendTo = wp_SendTo;
    t->lpWSPSetSockOpt = wp_SetSockOpt;
    t->lpWSPShutdown = wp_Shutdown;
    t->lpWSPSocket = wp_Socket;
    t->lpWSPStringToAddress = wp_StringToAddress;
}
