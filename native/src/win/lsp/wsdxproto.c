/* wsdxproto.c - the wsdx protocol entries (stream and message, with
 * XP1_DISCONNECT_DATA). Each application socket is our own handle
 * (WPUCreateSocketHandle) whose context is a wsock: the portable state
 * machine (core conn.h), the lower TCP socket, and a small send queue.
 *
 * The lower socket is always non-blocking, and its network events are
 * always ours: they signal the wsock's own event, on which a thread-pool
 * wait runs on_lower(). That reads what arrived, pushes the send queue,
 * completes pending overlapped requests and tells the application what it
 * asked to be told (WSPEventSelect's event or WSPAsyncSelect's message),
 * by the same re-enabling rules as Winsock. The application's blocking mode
 * is ours to implement too, by waiting on the lower socket with WSPSelect
 * in short slices (so that a close from another thread ends the wait).
 * What the lower provider delivers is fed to wsdx_conn_ingest / _eof /
 * _fail; what a call may do is asked of wsdx_conn_recv / _shutdown /
 * _send_disconnect / _recv_disconnect / _take_close. Wire format:
 * docs/protocol.md. The extension functions (AcceptEx, ConnectEx,
 * DisconnectEx) are in extensions.c; what both share is in wsock.h. */
#include "wsock.h"

#include <mswsock.h>

#include "frame.h"
#include "linger.h"

#include <stdlib.h>
#include <string.h>

static SRWLOCK g_slock = SRWLOCK_INIT;
volatile LONG wsdx_lsp_live_contexts;

/* ------------------------------------------------------------------ */
/* handles and reference counts */

wsock *ws_get(SOCKET s, LPINT err)
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

void ws_put(wsock *w)
{
    if (InterlockedDecrement(&w->refs) != 0)
        return;
    wsdx_conn_free(&w->conn);
    if (w->iev)
        CloseHandle(w->iev);
    free(w->txq);
    free(w->hs);
    free(w->ready);
    DeleteCriticalSection(&w->lock);
    DeleteCriticalSection(&w->rxio);
    DeleteCriticalSection(&w->txio);
    free(w);
    InterlockedDecrement(&wsdx_lsp_live_contexts);
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

#define PUMP_TRY (-1) /* pump's wait: not at all, and only if no other thread is reading */

/* Reads what is available (wait: block for at least one event first).
 * Returns 1 when something happened (bytes, FIN, error), else 0. */
static int pump(wsock *w, int wait)
{
    uint8_t buf[16384];
    int progress = 0;
    if (wait == PUMP_TRY) {
        if (!TryEnterCriticalSection(&w->rxio))
            return 0; /* that reader ingests, then settles */
        wait = 0;
    } else {
        EnterCriticalSection(&w->rxio);
    }
    for (;;) {
        EnterCriticalSection(&w->lock);
        int want = wsdx_conn_wants_input(&w->conn);
        int there = wsdx_rxq_has_ready(&w->conn.rx) || w->conn.disc_received;
        LeaveCriticalSection(&w->lock);
        if (!want)
            break;
        if (wait && there && !progress) {
            progress = 1; /* on_lower read it while our caller looked: nothing to wait for */
            break;
        }
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

/* Under w->lock: the selected events the application may be told of now,
 * by Winsock's re-enabling rules (FD_READ again after a receive, FD_ACCEPT
 * after an accept, FD_WRITE after a send that would block, FD_CONNECT and
 * FD_CLOSE once). consume: mark them told. */
static long due_events(wsock *w, int errs[FD_MAX_EVENTS], int consume)
{
    long m = w->mask & ~w->told, due = 0;
    if ((m & FD_READ) && !w->listening && wsdx_rxq_has_ready(&w->conn.rx))
        due |= FD_READ;
    if ((m & FD_WRITE) && w->conn.connected && !w->txlen)
        due |= FD_WRITE;
    if ((m & FD_ACCEPT) && w->listening && w->nready > 0)
        due |= FD_ACCEPT;
    if ((m & FD_CONNECT) && w->connect_done) {
        due |= FD_CONNECT;
        errs[FD_CONNECT_BIT] = w->connect_err;
    }
    int fl = 0;
    if ((w->mask & FD_CLOSE) && (consume ? wsdx_conn_take_close(&w->conn, &errs[FD_CLOSE_BIT], &fl) : close_due(w))) {
        due |= FD_CLOSE; /* once, after the data before it is readable (R5) */
        if (!consume)
            errs[FD_CLOSE_BIT] = w->conn.peer_error;
    }
    if (consume)
        w->told |= due & ~FD_CLOSE;
    return due;
}

/* Tells the application what is due: its event is set (it enumerates), or
 * one window message per event is posted, under the lock so that two
 * threads' messages never overtake each other (FD_CLOSE comes last). */
static void notify(wsock *w)
{
    int errs[FD_MAX_EVENTS] = { 0 }, e = 0;
    EnterCriticalSection(&w->lock);
    WSAEVENT ev = w->ev;
    long due = ev || w->wnd ? due_events(w, errs, w->wnd != NULL) : 0;
    for (int i = 0; w->wnd && i < FD_MAX_EVENTS; i++)
        if (due & (1L << i))
            wsdx_lsp_up.lpWPUPostMessage(w->wnd, w->msg, (WPARAM)w->app, (LPARAM)WSAMAKESELECTREPLY(1L << i, errs[i]));
    LeaveCriticalSection(&w->lock);
    if (due && ev)
        wsdx_lsp_up.lpWPUSetEvent(ev, &e);
}

/* ------------------------------------------------------------------ */
/* overlapped requests */

ovl *ws_op_new(wsock *w, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                   const WSABUF *bufs, DWORD nbufs)
{
    ovl *o = (ovl *)calloc(1, sizeof *o + nbufs * sizeof(WSABUF));
    if (!o)
        return NULL;
    o->w = w;
    o->target = w->app;
    o->ov = ov;
    o->cr = cr;
    if (t)
        o->thread = *t;
    o->bufs = (WSABUF *)(o + 1); /* the caller's array may live on its stack */
    o->nbufs = nbufs;
    if (nbufs)
        memcpy(o->bufs, bufs, nbufs * sizeof(WSABUF));
    ov->Internal = WSS_OPERATION_IN_PROGRESS;
    InterlockedIncrement(&w->refs);
    return o;
}

/* The request's result where WSPGetOverlappedResult finds it. */
static void op_result(ovl *o, DWORD err, DWORD n, DWORD flags)
{
    o->err = err;
    o->n = n;
    o->flags = flags;
    o->ov->Offset = flags;
    o->ov->OffsetHigh = err;
    o->ov->InternalHigh = n;
    o->ov->Internal = err; /* no longer WSS_OPERATION_IN_PROGRESS */
}

/* A request that failed before it was pending: no completion is notified. */
void ws_op_drop(ovl *o, DWORD err)
{
    wsock *w = o->w, *into = o->into;
    op_result(o, err, 0, 0);
    free(o);
    if (into)
        ws_put(into);
    ws_put(w);
}

static void CALLBACK run_routine(DWORD_PTR arg)
{
    ovl *o = (ovl *)arg;
    o->cr(o->err, o->n, o->ov, o->flags);
    free(o);
}

/* Notifies completion as the application asked: its completion routine as
 * an APC in the thread that made the request, else the event and the
 * completion port (WPUCompleteOverlappedRequest; our handles are not IFS). */
void ws_op_complete(ovl *o, DWORD err, DWORD n, DWORD flags)
{
    wsock *w = o->w, *into = o->into;
    SOCKET app = o->target;
    int e = 0;
    if (into)
        ws_put(into);
    op_result(o, err, n, flags);
    if (o->cr) {
        if (wsdx_lsp_up.lpWPUQueueApc(&o->thread, run_routine, (DWORD_PTR)o, &e) != 0)
            free(o); /* the thread is gone: nobody is left to tell */
    } else {
        LPWSAOVERLAPPED ov = o->ov;
        free(o);
        wsdx_lsp_complete_request(app, ov, err, n, &e);
    }
    ws_put(w);
}

void ws_op_append(ovl **list, ovl *o)
{
    while (*list)
        list = &(*list)->next;
    *list = o;
}

/* Under w->lock: one receive into the caller's buffers: bytes (>= 0) or
 * -WSA code, with *n and *flags as WSPRecv reports them (a message cut to
 * the buffers: -WSAEMSGSIZE, all of them filled, MSG_PARTIAL). */
static int take(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *flags)
{
    size_t cap = 0;
    for (DWORD i = 0; i < nbufs; i++)
        cap += bufs[i].len;
    uint8_t *tmp = nbufs == 1 ? (uint8_t *)bufs[0].buf : (uint8_t *)malloc(cap ? cap : 1);
    if (!tmp)
        return -WSAENOBUFS;
    int rc = wsdx_conn_recv(&w->conn, tmp, cap);
    if (rc != -WSAEWOULDBLOCK)
        w->told &= ~FD_READ; /* a receive re-enables FD_READ */
    size_t got = rc >= 0 ? (size_t)rc : rc == -WSAEMSGSIZE ? cap : 0;
    for (DWORD i = 0, off = 0; nbufs != 1 && i < nbufs && off < got; i++) {
        size_t c = bufs[i].len < got - off ? bufs[i].len : got - off;
        memcpy(bufs[i].buf, tmp + off, c);
        off += (DWORD)c;
    }
    if (nbufs != 1)
        free(tmp);
    *n = (DWORD)got;
    *flags = rc == -WSAEMSGSIZE ? MSG_PARTIAL : 0;
    return rc;
}

static void finish_accepts(wsock *l);
static void finish_connect(wsock *w);

/* Completes, oldest first, the pending requests that can complete now. */
static void finish_ops(wsock *w)
{
    if (w->listening)
        finish_accepts(w);
    finish_connect(w);
    for (;;) {
        DWORD n = 0, fl = 0;
        int rc = 0;
        EnterCriticalSection(&w->lock);
        ovl *o = w->rxops;
        if (o && (rc = take(w, o->bufs, o->nbufs, &n, &fl)) == -WSAEWOULDBLOCK)
            o = NULL;
        if (o)
            w->rxops = o->next;
        LeaveCriticalSection(&w->lock);
        if (!o)
            break;
        ws_op_complete(o, rc < 0 ? (DWORD)-rc : 0, n, fl);
    }
    for (;;) {
        EnterCriticalSection(&w->lock);
        ovl *o = w->txops;
        if (o && !w->tx_err && w->tx_out < o->until)
            o = NULL;
        if (o)
            w->txops = o->next;
        int err = w->tx_err;
        LeaveCriticalSection(&w->lock);
        if (!o)
            break;
        ws_op_complete(o, (DWORD)err, err ? 0 : o->n, 0);
    }
}

/* Close: what is still pending completes with WSA_OPERATION_ABORTED. */
static void abort_ops(wsock *w)
{
    EnterCriticalSection(&w->lock);
    ovl *lists[4] = { w->rxops, w->txops, w->acceptops, w->connect_op };
    w->rxops = w->txops = w->acceptops = w->connect_op = NULL;
    LeaveCriticalSection(&w->lock);
    for (ovl **l = lists; l < lists + 4; l++)
        while (*l) {
            ovl *next = (*l)->next;
            ws_op_complete(*l, WSA_OPERATION_ABORTED, 0, 0);
            *l = next;
        }
}

/* WSPSelect sleeps until some socket's state moved on: g_moves counts the
 * moves, and a mover wakes the sleepers only when there are any. */
static SRWLOCK g_sel_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE g_sel_cv = CONDITION_VARIABLE_INIT;
static volatile LONG g_moves, g_sleepers;

static void moved(void)
{
    InterlockedIncrement(&g_moves);
    if (InterlockedCompareExchange(&g_sleepers, 0, 0)) {
        AcquireSRWLockExclusive(&g_sel_lock); /* a sleeper that saw the old count is asleep by now */
        ReleaseSRWLockExclusive(&g_sel_lock);
        WakeAllConditionVariable(&g_sel_cv);
    }
}

/* Sleeps up to ms unless g_moves has left seen. */
static void await_move(LONG seen, DWORD ms)
{
    AcquireSRWLockExclusive(&g_sel_lock);
    InterlockedIncrement(&g_sleepers);
    if (InterlockedCompareExchange(&g_moves, 0, 0) == seen)
        SleepConditionVariableSRW(&g_sel_cv, &g_sel_lock, ms, 0);
    InterlockedDecrement(&g_sleepers);
    ReleaseSRWLockExclusive(&g_sel_lock);
}

/* After anything that may have changed what is due: pending requests first
 * (they take the data), then what the application is told. */
void ws_settle(wsock *w)
{
    finish_ops(w);
    notify(w);
    moved();
}

/* ------------------------------------------------------------------ */
/* send side */

/* Appends to the send queue; caller holds txio. 0 or WSAENOBUFS. */
static int txq_put(wsock *w, const uint8_t *b, size_t n)
{
    uint8_t *q = (uint8_t *)realloc(w->txq, w->txlen + n);
    if (!q)
        return WSAENOBUFS;
    memcpy(q + w->txlen, b, n);
    w->txq = q;
    w->txlen += n;
    EnterCriticalSection(&w->lock);
    w->tx_in += n;
    LeaveCriticalSection(&w->lock);
    return 0;
}

/* Moves the queue to the lower socket; caller holds txio. wait: while the
 * lower socket is full, wait in slices until deadline (0: none, but a close
 * from another thread ends the wait). 0 once empty, else WSAEWOULDBLOCK
 * (not waiting, or waited out) or the lower provider's code. */
static int txq_push(wsock *w, int wait, DWORD deadline)
{
    while (w->txlen) {
        long k = l_send(w->p, w->low, w->txq, w->txlen);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || (deadline ? (LONG)(GetTickCount() - deadline) >= 0 : is_closed(w)))
                return WSAEWOULDBLOCK;
            l_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0) {
            EnterCriticalSection(&w->lock);
            w->tx_err = (int)-k;
            LeaveCriticalSection(&w->lock);
            return (int)-k;
        }
        memmove(w->txq, w->txq + k, w->txlen - (size_t)k);
        w->txlen -= (size_t)k;
        EnterCriticalSection(&w->lock);
        w->tx_out += (uint64_t)k;
        LeaveCriticalSection(&w->lock);
    }
    return 0;
}

/* The queue, then a pending FIN; caller holds txio. 0 or WSA code. */
int ws_flush(wsock *w, int wait)
{
    int rc = txq_push(w, wait, 0);
    if (rc)
        return rc;
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
                rc = txq_put(w, f + off, total - off); /* WSAENOBUFS: the frame is cut, the connection cannot go on */
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

static void CALLBACK on_lower(PVOID arg, BOOLEAN timed_out);
static void connect_step(wsock *w, const WSANETWORKEVENTS *ne);

/* The lower socket's events go to w's own event, watched by a pool wait. */
static int arm(wsock *w)
{
    int e = 0;
    if (w->p->next.lpWSPEventSelect(w->low, w->iev, LOWER_EVENTS, &e))
        return e;
    InterlockedIncrement(&w->refs); /* the wait's */
    if (RegisterWaitForSingleObject(&w->wait, w->iev, on_lower, w, INFINITE, WT_EXECUTEDEFAULT))
        return 0;
    w->wait = NULL;
    InterlockedDecrement(&w->refs);
    return WSAENOBUFS;
}

/* Ends the wait (and any on_lower still running) before the lower socket
 * is closed or replaced, so on_lower never touches a closed handle that
 * another socket may have been given. Never called from on_lower. */
static void disarm(wsock *w)
{
    if (!w->wait)
        return;
    UnregisterWaitEx(w->wait, INVALID_HANDLE_VALUE);
    w->wait = NULL;
    int e = 0;
    w->p->next.lpWSPEventSelect(w->low, NULL, 0, &e);
    ResetEvent(w->iev);
    ws_put(w);
}

/* A wsock over a lower socket, armed; NULL when out of resources (low is
 * then the caller's to close). */
static wsock *wsock_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id)
{
    wsock *w = (wsock *)calloc(1, sizeof *w);
    if (!w)
        return NULL;
    InterlockedIncrement(&wsdx_lsp_live_contexts);
    w->refs = 1; /* the handle's reference */
    w->p = p;
    w->low = low;
    w->mode = mode;
    w->catalog_id = catalog_id;
    InitializeCriticalSection(&w->lock);
    InitializeCriticalSection(&w->rxio);
    InitializeCriticalSection(&w->txio);
    wsdx_conn_init(&w->conn, mode);
    w->iev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!w->iev || l_nbio(p, low, 1) || arm(w)) {
        int e = 0;
        p->next.lpWSPEventSelect(low, NULL, 0, &e);
        ws_put(w);
        return NULL;
    }
    return w;
}

/* Undoes wsock_new (no handle was made): the lower socket is closed. */
static void wsock_free(wsock *w)
{
    int e = 0;
    disarm(w);
    w->p->next.lpWSPCloseSocket(w->low, &e);
    ws_put(w);
}

/* Swaps in a fresh lower socket (connect failed, DisconnectEx): the old one
 * is reset (abort) or closed gracefully. 0 or WSA code (then no lower socket
 * is left: later calls fail as on a broken connection). */
int ws_replace_lower(wsock *w, int abort)
{
    int e = 0;
    disarm(w);
    if (abort)
        l_abort_close(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    w->low = w->p->next.lpWSPSocket(w->p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP, &w->p->lower_info, 0,
                                    WSA_FLAG_OVERLAPPED, &e);
    if (w->low == INVALID_SOCKET)
        return e ? e : WSAENOBUFS;
    int rc = l_nbio(w->p, w->low, 1);
    return rc ? rc : arm(w);
}

/* The pool wait: the lower socket reported something. */
static void CALLBACK on_lower(PVOID arg, BOOLEAN timed_out)
{
    wsock *w = (wsock *)arg;
    WSANETWORKEVENTS ne;
    int e = 0;
    (void)timed_out;
    memset(&ne, 0, sizeof ne);
    if (w->p->next.lpWSPEnumNetworkEvents(w->low, w->iev, &ne, &e) == SOCKET_ERROR) {
        ResetEvent(w->iev);
        return;
    }
    EnterCriticalSection(&w->lock);
    int connecting = w->connecting;
    if (connecting)
        connect_step(w, &ne);
    LeaveCriticalSection(&w->lock);
    if (w->listening) {
        EnterCriticalSection(&w->lock);
        ws_advance(w); /* new connections, and preambles arriving on them */
        LeaveCriticalSection(&w->lock);
    } else if (connecting) {
        pump(w, PUMP_TRY); /* what came with the peer's preamble, if it is through */
    } else {
        if (ne.lNetworkEvents & (FD_READ | FD_CLOSE))
            pump(w, PUMP_TRY);
        if ((ne.lNetworkEvents & FD_CLOSE) && ne.iErrorCode[FD_CLOSE_BIT]) {
            EnterCriticalSection(&w->lock);
            if (w->conn.connected) /* during the preamble, WSPConnect sees it itself */
                wsdx_conn_fail(&w->conn, ne.iErrorCode[FD_CLOSE_BIT]); /* no effect when a clean end came first */
            LeaveCriticalSection(&w->lock);
        }
        if ((ne.lNetworkEvents & FD_WRITE) && TryEnterCriticalSection(&w->txio)) {
            ws_flush(w, 0); /* a holder of txio is sending, and flushes itself */
            LeaveCriticalSection(&w->txio);
        }
    }
    ws_settle(w);
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
    if (!w) {
        p->next.lpWSPCloseSocket(low, &e);
        *lpErrno = WSAENOBUFS;
        return INVALID_SOCKET;
    }
    SOCKET s = make_handle(w, lpErrno);
    if (s == INVALID_SOCKET)
        wsock_free(w);
    return s;
}

/* ------------------------------------------------------------------ */
/* connecting */

/* Under w->lock: a connect ends, blocking or not. On failure the lower
 * connection is to be reset (a peer that is not wsdx sees RST when the
 * socket closes or connects again) and the socket stays unconnected. */
static void connect_end(wsock *w, int rc)
{
    w->connecting = 0;
    w->connect_done = 1;
    w->connect_err = rc;
    if (!rc) {
        wsdx_conn_established(&w->conn);
        return;
    }
    struct linger l = { 1, 0 };
    int e = 0;
    w->p->next.lpWSPSetSockOpt(w->low, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
    w->lower_spent = 1;
}

/* Under w->lock: a non-blocking connect goes on as the lower socket
 * reports: the TCP connect, our preamble, then the peer's (never more than
 * its 8 bytes: what follows is the state machine's). */
static void connect_step(wsock *w, const WSANETWORKEVENTS *ne)
{
    if (w->connecting == 1) {
        if (!(ne->lNetworkEvents & FD_CONNECT))
            return;
        if (ne->iErrorCode[FD_CONNECT_BIT]) {
            connect_end(w, ne->iErrorCode[FD_CONNECT_BIT]);
            return;
        }
        uint8_t out[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(out, w->mode);
        if (l_send(w->p, w->low, out, sizeof out) != (long)sizeof out) { /* a new socket's buffer takes 8 bytes */
            connect_end(w, WSAEPROTONOSUPPORT);
            return;
        }
        w->connecting = 2;
    }
    while (w->pre_have < WSDX_PREAMBLE_LEN) {
        long k = l_recv(w->p, w->low, w->pre_in + w->pre_have, WSDX_PREAMBLE_LEN - w->pre_have);
        if (k == -WSAEWOULDBLOCK)
            return;
        if (k <= 0) {
            connect_end(w, WSAEPROTONOSUPPORT); /* FIN or reset before 8 bytes: not a wsdx peer */
            return;
        }
        w->pre_have += (size_t)k;
    }
    connect_end(w, wsdx_preamble_check(w->pre_in, w->mode));
}

/* The deadline of a non-blocking connect: one pool timer per attempt,
 * holding a reference; a stale one finds its attempt over. */
typedef struct {
    wsock *w;
    unsigned gen;
} connect_deadline;

static void CALLBACK connect_timer(PTP_CALLBACK_INSTANCE inst, PVOID arg, PTP_TIMER timer)
{
    connect_deadline *d = (connect_deadline *)arg;
    wsock *w = d->w;
    (void)inst;
    EnterCriticalSection(&w->lock);
    if (w->connecting && w->connect_gen == d->gen && !is_closed(w))
        connect_end(w, WSAETIMEDOUT);
    LeaveCriticalSection(&w->lock);
    ws_settle(w);
    CloseThreadpoolTimer(timer);
    free(d);
    ws_put(w);
}

/* A non-blocking connect: under way (WSAEWOULDBLOCK, FD_CONNECT when the
 * preamble exchange is over), or failed at once. */
int ws_connect_async(wsock *w, const struct sockaddr *name, int namelen, DWORD ms)
{
    connect_deadline *d = (connect_deadline *)malloc(sizeof *d);
    PTP_TIMER t = d ? CreateThreadpoolTimer(connect_timer, d, NULL) : NULL;
    if (!t) {
        free(d);
        return WSAENOBUFS;
    }
    EnterCriticalSection(&w->lock);
    w->connecting = 1;
    w->pre_have = 0;
    d->w = w;
    d->gen = ++w->connect_gen;
    int rc = 0;
    if (w->p->next.lpWSPConnect(w->low, name, namelen, NULL, NULL, NULL, NULL, &rc) == 0) {
        WSANETWORKEVENTS now; /* connected at once: go on as FD_CONNECT would */
        memset(&now, 0, sizeof now);
        now.lNetworkEvents = FD_CONNECT;
        connect_step(w, &now);
        rc = WSAEWOULDBLOCK;
    }
    if (rc != WSAEWOULDBLOCK)
        w->connecting = 0;
    LeaveCriticalSection(&w->lock);
    if (rc != WSAEWOULDBLOCK) {
        CloseThreadpoolTimer(t);
        free(d);
        return rc;
    }
    InterlockedIncrement(&w->refs); /* the timer's */
    ULARGE_INTEGER due;
    due.QuadPart = (ULONGLONG)(-(LONGLONG)ms * 10000); /* relative, in 100 ns */
    FILETIME ft;
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(t, &ft, 0, 0);
    return WSAEWOULDBLOCK;
}

/* A blocking connect: the TCP connect and the preamble exchange, done by
 * the deadlines. 0 or the WSA code. */
static int connect_blocking(wsock *w, const struct sockaddr *name, int namelen)
{
    /* one deadline for the connect and the preamble when the app set one */
    DWORD deadline = GetTickCount() + (w->connect_ms ? w->connect_ms : CONNECT_MS);
    int rc = 0;
    if (w->p->next.lpWSPConnect(w->low, name, namelen, NULL, NULL, NULL, NULL, &rc) == SOCKET_ERROR) {
        if (rc != WSAEWOULDBLOCK)
            return rc;
        rc = WSAETIMEDOUT;
        while ((LONG)(GetTickCount() - deadline) < 0 && !is_closed(w)) {
            if (l_wait(w->p, w->low, 1, SLICE_MS) == 1) {
                int err = 0, len = sizeof err, e = 0;
                w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e);
                rc = err;
                break;
            }
        }
        if (rc)
            return rc;
    }
    return handshake(w->p, w->low, w->mode, w->connect_ms ? deadline : GetTickCount() + HANDSHAKE_MS);
}

/* May w connect now? Then a fresh start (and a fresh lower socket after a
 * failed attempt). 0 or the WSA code. */
int ws_connect_prepare(wsock *w)
{
    int rc = 0;
    EnterCriticalSection(&w->lock);
    if (w->connecting)
        rc = WSAEALREADY;
    else if (w->conn.connected)
        rc = WSAEISCONN;
    else if (w->listening)
        rc = WSAEINVAL;
    int spent = !rc && w->lower_spent;
    if (!rc) {
        w->connect_done = 0;
        w->told &= ~FD_CONNECT;
        w->lower_spent = 0;
    }
    LeaveCriticalSection(&w->lock);
    return spent ? ws_replace_lower(w, 1) : rc;
}

static int WSPAPI wp_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller,
                             LPWSABUF callee, LPQOS sq, LPQOS gq, LPINT lpErrno)
{
    (void)caller; (void)sq; (void)gq;
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = ws_connect_prepare(w);
    if (!rc && w->nonblocking)
        rc = ws_connect_async(w, name, namelen, w->connect_ms ? w->connect_ms : CONNECT_MS + HANDSHAKE_MS);
    else if (!rc) {
        rc = connect_blocking(w, name, namelen);
        EnterCriticalSection(&w->lock);
        connect_end(w, rc);
        LeaveCriticalSection(&w->lock);
        if (rc) {
            ws_replace_lower(w, 1); /* reset it now; the socket stays usable, unconnected */
            EnterCriticalSection(&w->lock);
            w->lower_spent = 0;
            LeaveCriticalSection(&w->lock);
        } else {
            pump(w, 0); /* what came with the peer's preamble raised no event of its own */
        }
    }
    if (!rc && callee)
        callee->len = 0; /* no connect data */
    ws_settle(w);
    ws_put(w);
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
        /* its preamble's arrival wakes the listener's on_lower */
        l->p->next.lpWSPEventSelect(x.low, l->iev, FD_READ | FD_CLOSE, &e);
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
void ws_advance(wsock *l)
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
    ws_advance(l);
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
    ws_advance(l);
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
        wsock_free(w);
        return s;
    }
    pump(w, 0); /* what came after the preamble raised no event of ours yet */
    if (addr && addrlen) {
        int n = *addrlen < x->addrlen ? *addrlen : x->addrlen;
        memcpy(addr, &x->addr, (size_t)(n > 0 ? n : 0));
        *addrlen = x->addrlen;
    }
    return s;
}

/* AcceptEx: the accept socket takes over a checked connection (its own,
 * unused lower socket is closed). 0, or the WSA code (the connection is
 * then reset). */
static int graft(wsock *a, pending *x, wsock *l)
{
    int e = 0;
    if (is_closed(a)) {
        l_abort_close(l->p, x->low);
        return WSA_OPERATION_ABORTED;
    }
    disarm(a);
    a->p->next.lpWSPCloseSocket(a->low, &e);
    a->low = x->low;
    if (l_nbio(a->p, a->low, 1) || arm(a)) {
        l_abort_close(a->p, a->low);
        a->low = INVALID_SOCKET;
        return WSAENOBUFS;
    }
    EnterCriticalSection(&a->lock);
    wsdx_conn_established(&a->conn);
    a->linger_on = l->linger_on;
    a->linger_secs = l->linger_secs;
    LeaveCriticalSection(&a->lock);
    pump(a, 0); /* what came after the preamble raised no event of a's yet */
    return 0;
}

/* The address areas after AcceptEx's data: each a sockaddr at its start. */
static void put_addresses(ovl *o, pending *x)
{
    uint8_t *area = (uint8_t *)o->bufs[0].buf + o->bufs[0].len;
    struct sockaddr_storage local;
    int len = sizeof local, e = 0;
    memset(&local, 0, sizeof local);
    o->into->p->next.lpWSPGetSockName(x->low, (struct sockaddr *)&local, &len, &e);
    memset(area, 0, o->local_len + o->remote_len);
    memcpy(area, &local, (size_t)len < o->local_len ? (size_t)len : o->local_len);
    memcpy(area + o->local_len, &x->addr, (size_t)x->addrlen < o->remote_len ? (size_t)x->addrlen : o->remote_len);
}

/* Listener: pending AcceptEx requests take the checked connections, oldest
 * first. With a data part, the request then waits as a receive on the
 * accept socket (completion still goes to the listener's handle). */
static void finish_accepts(wsock *l)
{
    for (;;) {
        pending x;
        ovl *o = NULL;
        EnterCriticalSection(&l->lock);
        if (l->acceptops && l->nready > 0) {
            o = l->acceptops;
            l->acceptops = o->next;
            o->next = NULL;
            x = l->ready[0];
            memmove(l->ready, l->ready + 1, (size_t)--l->nready * sizeof *l->ready);
        }
        LeaveCriticalSection(&l->lock);
        if (!o)
            return;
        int rc = graft(o->into, &x, l);
        if (rc) {
            ws_op_complete(o, (DWORD)rc, 0, 0);
            continue;
        }
        put_addresses(o, &x);
        if (!o->bufs[0].len) {
            ws_op_complete(o, 0, 0, 0);
            continue;
        }
        wsock *a = o->into; /* the request moves over, with its reference on a */
        o->into = NULL;
        o->w = a;
        ws_put(l);
        EnterCriticalSection(&a->lock);
        ws_op_append(&a->rxops, o);
        LeaveCriticalSection(&a->lock);
        ws_settle(a);
    }
}

/* A finished ConnectEx: its send data goes out first, as one message. */
static void finish_connect(wsock *w)
{
    EnterCriticalSection(&w->lock);
    ovl *o = w->connect_op && !w->connecting && w->connect_done ? w->connect_op : NULL;
    if (o)
        w->connect_op = NULL;
    int err = w->connect_err;
    LeaveCriticalSection(&w->lock);
    if (!o)
        return;
    DWORD n = o->bufs[0].len;
    if (!err && n && o->bufs[0].buf) {
        uint8_t h[WSDX_FRAME_HEADER_LEN];
        wsdx_frame_header_encode(h, WSDX_FRAME_DATA, n);
        EnterCriticalSection(&w->txio);
        err = txq_put(w, h, sizeof h);
        if (!err && n)
            err = txq_put(w, (const uint8_t *)o->bufs[0].buf, n);
        if (!err && (err = txq_push(w, 0, 0)) == WSAEWOULDBLOCK)
            err = 0; /* on_lower sends the rest */
        LeaveCriticalSection(&w->txio);
    }
    ws_op_complete(o, (DWORD)err, err ? 0 : n, 0);
}

static SOCKET WSPAPI wp_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen, LPCONDITIONPROC cond,
                               DWORD_PTR data, LPINT lpErrno)
{
    (void)cond; (void)data; /* conditional acceptance is not offered (docs/windows.md) */
    wsock *l = ws_get(s, lpErrno);
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
    EnterCriticalSection(&l->lock);
    l->told &= ~FD_ACCEPT; /* an accept re-enables FD_ACCEPT */
    LeaveCriticalSection(&l->lock);
    ws_settle(l);
    ws_put(l);
    return result;
}

/* ------------------------------------------------------------------ */
/* data */

/* A receive that waits (blocking socket) or not: bytes, or -WSA code. */
static int recv_now(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *fl)
{
    for (;;) {
        EnterCriticalSection(&w->lock);
        int rc = take(w, bufs, nbufs, n, fl);
        LeaveCriticalSection(&w->lock);
        if (rc != -WSAEWOULDBLOCK)
            return rc;
        if (!pump(w, !w->nonblocking) && w->nonblocking)
            return rc;
        if (is_closed(w))
            return -WSAENOTSOCK;
    }
}

/* An overlapped receive: done now (0 or -WSA code, completion notified on
 * success) or pending (-WSA_IO_PENDING) behind any earlier one. */
static int recv_overlapped(wsock *w, const WSABUF *bufs, DWORD nbufs, LPWSAOVERLAPPED ov,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, DWORD *n, DWORD *fl)
{
    ovl *o = ws_op_new(w, ov, cr, t, bufs, nbufs);
    if (!o)
        return -WSAENOBUFS;
    pump(w, 0);
    EnterCriticalSection(&w->lock);
    int rc = w->rxops ? -WSAEWOULDBLOCK : take(w, bufs, nbufs, n, fl);
    if (rc == -WSAEWOULDBLOCK)
        ws_op_append(&w->rxops, o);
    LeaveCriticalSection(&w->lock);
    if (rc == -WSAEWOULDBLOCK)
        return -WSA_IO_PENDING;
    if (rc < 0 && rc != -WSAEMSGSIZE) {
        ws_op_drop(o, (DWORD)-rc);
        return rc;
    }
    ws_op_complete(o, rc < 0 ? (DWORD)-rc : 0, *n, *fl); /* an immediate success is notified too */
    return rc < 0 ? rc : 0;
}

static int WSPAPI wp_Recv(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD got, LPDWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    if (!bufs && nbufs) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    DWORD n = 0, fl = 0;
    int rc = ov ? recv_overlapped(w, bufs, nbufs, ov, cr, t, &n, &fl) : recv_now(w, bufs, nbufs, &n, &fl);
    ws_settle(w);
    ws_put(w);
    if (rc == -WSA_IO_PENDING) {
        *lpErrno = WSA_IO_PENDING;
        return SOCKET_ERROR;
    }
    if (got)
        *got = n;
    if (flags)
        *flags = fl;
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
        wsock *w = ws_get(s, lpErrno);
        if (w) {
            int e = 0;
            w->p->next.lpWSPGetPeerName(w->low, from, fromlen, &e);
            ws_put(w);
        }
    }
    return rc;
}

/* The caller's buffers as one block: bufs[0] itself, or *tmp (to be freed). */
static const uint8_t *gather(const WSABUF *bufs, DWORD nbufs, size_t n, uint8_t **tmp)
{
    *tmp = NULL;
    if (nbufs == 1)
        return (const uint8_t *)bufs[0].buf;
    *tmp = (uint8_t *)malloc(n ? n : 1);
    for (DWORD i = 0, off = 0; *tmp && i < nbufs; off += bufs[i].len, i++)
        memcpy(*tmp + off, bufs[i].buf, bufs[i].len);
    return *tmp;
}

/* An overlapped send, caller holding txio: the whole frame goes into the
 * queue (in order after what is there) and out as the lower socket takes
 * it; the request completes once all of it is taken. 0 (done now, notified),
 * -WSA_IO_PENDING, or -WSA code. */
static int send_overlapped(wsock *w, const uint8_t *b, size_t n, LPWSAOVERLAPPED ov,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t)
{
    ovl *o = ws_op_new(w, ov, cr, t, NULL, 0);
    if (!o)
        return -WSAENOBUFS;
    uint8_t h[WSDX_FRAME_HEADER_LEN];
    wsdx_frame_header_encode(h, WSDX_FRAME_DATA, (uint32_t)n);
    int rc = n || w->mode == WSDX_MESSAGE ? txq_put(w, h, sizeof h) : 0; /* no empty stream frames */
    if (!rc && n)
        rc = txq_put(w, b, n);
    if (!rc && (rc = txq_push(w, 0, 0)) == WSAEWOULDBLOCK)
        rc = 0; /* the lower socket takes the rest later (on_lower) */
    if (rc) {
        ws_op_drop(o, (DWORD)rc);
        return -rc;
    }
    o->n = (DWORD)n;
    EnterCriticalSection(&w->lock);
    o->until = w->tx_in;
    int done = !w->txops && w->tx_out >= o->until;
    if (!done)
        ws_op_append(&w->txops, o);
    LeaveCriticalSection(&w->lock);
    if (!done)
        return -WSA_IO_PENDING;
    ws_op_complete(o, 0, (DWORD)n, 0);
    return 0;
}

/* A send that waits (blocking socket) or queues what does not fit now. */
static int send_now(wsock *w, const uint8_t *b, size_t n)
{
    int rc = ws_flush(w, !w->nonblocking);
    if (rc == 0 && (n > 0 || w->mode == WSDX_MESSAGE)) {
        if (w->nonblocking && w->txlen + n > TXQ_MAX)
            rc = WSAEWOULDBLOCK;
        else
            rc = send_frame(w, WSDX_FRAME_DATA, b, n);
    }
    if (rc == WSAEWOULDBLOCK) {
        EnterCriticalSection(&w->lock);
        w->told &= ~FD_WRITE; /* FD_WRITE again once there is room */
        LeaveCriticalSection(&w->lock);
    }
    return -rc;
}

static int WSPAPI wp_Send(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD sent, DWORD flags,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                          LPINT lpErrno)
{
    if (flags & MSG_OOB) {
        *lpErrno = WSAEOPNOTSUPP;
        return SOCKET_ERROR;
    }
    if (!bufs && nbufs) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    size_t n = 0;
    for (DWORD i = 0; i < nbufs; i++)
        n += bufs[i].len;
    uint8_t *tmp = NULL;
    int rc;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    rc = wsdx_conn_send_check(&w->conn);
    LeaveCriticalSection(&w->lock);
    if (!rc && w->mode == WSDX_MESSAGE && n > WSDX_MAX_MESSAGE)
        rc = -WSAEMSGSIZE;
    const uint8_t *b = rc ? NULL : gather(bufs, nbufs, n, &tmp);
    if (!rc && !b)
        rc = -WSAENOBUFS;
    if (!rc)
        rc = ov ? send_overlapped(w, b, n, ov, cr, t) : send_now(w, b, n);
    LeaveCriticalSection(&w->txio);
    free(tmp);
    ws_settle(w);
    ws_put(w);
    if (rc == -WSA_IO_PENDING) {
        *lpErrno = WSA_IO_PENDING;
        return SOCKET_ERROR;
    }
    if (sent)
        *sent = rc ? 0 : (DWORD)n;
    if (rc) {
        *lpErrno = -rc;
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
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return FALSE;
    ws_put(w);
    if (!ov || !n) {
        *lpErrno = WSAEFAULT;
        return FALSE;
    }
    if (ov->Internal == WSS_OPERATION_IN_PROGRESS) {
        if (!wait) {
            *lpErrno = WSA_IO_INCOMPLETE;
            return FALSE;
        }
        if (!ov->hEvent || WaitForSingleObject(ov->hEvent, INFINITE) != WAIT_OBJECT_0) {
            *lpErrno = WSA_INVALID_HANDLE; /* waiting needs event-based notification */
            return FALSE;
        }
    }
    /* op_result() left the outcome here */
    *n = (DWORD)ov->InternalHigh;
    if (flags)
        *flags = ov->Offset;
    if (ov->OffsetHigh) {
        *lpErrno = (int)ov->OffsetHigh;
        return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* shutdown, disconnect data, close */

static int WSPAPI wp_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
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
    ws_settle(w); /* SD_RECEIVE ends pending receives */
    ws_put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_SendDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    const void *b = data ? data->buf : NULL;
    int n = data ? (int)data->len : 0;
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_send_disconnect(&w->conn, b, n);
    LeaveCriticalSection(&w->lock);
    if (rc == 0) {
        int f = ws_flush(w, !w->nonblocking);
        if (f && f != WSAEWOULDBLOCK)
            rc = -f;
        else
            rc = -send_frame(w, WSDX_FRAME_DISCONNECT, (const uint8_t *)b, (size_t)n);
        if (rc == 0)
            send_fin(w);
    }
    LeaveCriticalSection(&w->txio);
    ws_put(w);
    if (rc) {
        *lpErrno = -rc;
        return SOCKET_ERROR;
    }
    return 0;
}

static int WSPAPI wp_RecvDisconnect(SOCKET s, LPWSABUF data, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    pump(w, 0); /* the DISCONNECT frame may still sit in the lower socket */
    EnterCriticalSection(&w->lock);
    int rc = wsdx_conn_recv_disconnect(&w->conn, data ? data->buf : NULL, data ? (int)data->len : 0);
    LeaveCriticalSection(&w->lock);
    ws_put(w);
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
    txq_push(w, 1, (GetTickCount() + 120000) | 1);
    LeaveCriticalSection(&w->txio);
    if (w->txlen)
        l_abort_close(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    ws_put(w);
    return 0;
}

static int WSPAPI wp_CloseSocket(SOCKET s, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int e = 0, rc = 0;
    EnterCriticalSection(&w->txio);
    ws_flush(w, 0); /* whatever the lower socket takes now is no longer "queued" */
    enum wsdx_close_plan plan = wsdx_linger_plan(w->linger_on, w->linger_secs, !w->nonblocking, w->txlen);
    if (plan == WSDX_CLOSE_WOULDBLOCK) {
        LeaveCriticalSection(&w->txio);
        ws_put(w);
        *lpErrno = WSAEWOULDBLOCK; /* S10: stays open and usable */
        return SOCKET_ERROR;
    }
    if (plan == WSDX_CLOSE_WAIT) {
        /* blocking, linger n: wait until our queue is delivered or n seconds pass */
        txq_push(w, 1, (GetTickCount() + (DWORD)w->linger_secs * 1000) | 1);
        plan = w->txlen ? WSDX_CLOSE_ABORT : WSDX_CLOSE_GRACEFUL;
    }
    int background = plan == WSDX_CLOSE_GRACEFUL && w->txlen > 0;
    LeaveCriticalSection(&w->txio);

    AcquireSRWLockExclusive(&g_slock);
    w->closed = 1;
    ReleaseSRWLockExclusive(&g_slock);
    EnterCriticalSection(&w->lock); /* a connect timer that saw it open is done with the lower socket */
    LeaveCriticalSection(&w->lock);
    disarm(w); /* from here on the lower socket's events are nobody's */
    if (w->listening)
        drop_pending(w);
    if (!background && plan == WSDX_CLOSE_GRACEFUL && w->linger_on && !w->nonblocking) {
        /* blocking linger n: let the lower provider wait for the kernel's queue */
        l_nbio(w->p, w->low, 0);
    }

    if (plan == WSDX_CLOSE_ABORT) {
        l_abort_close(w->p, w->low);
    } else if (background) {
        InterlockedIncrement(&w->refs);
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
            arm(w);
            ws_put(w);
            *lpErrno = WSAEWOULDBLOCK;
            return SOCKET_ERROR;
        }
        rc = e; /* the lower socket is gone anyway */
    }
    abort_ops(w); /* before the handle goes: completions name it */
    wsdx_lsp_up.lpWPUCloseSocketHandle(s, &e);
    moved(); /* a WSPSelect over it answers WSAENOTSOCK now */
    ws_put(w); /* ours */
    ws_put(w); /* the handle's */
    (void)rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* events */

/* WSPEventSelect / WSPAsyncSelect: what to tell, and how. The lower socket
 * is not touched (its events stay ours); as in Winsock, the socket becomes
 * non-blocking and nothing selected before is remembered as told. */
static int select_events(SOCKET s, WSAEVENT ev, HWND wnd, UINT msg, long mask, LPINT lpErrno)
{
    if (mask & ~(long)(FD_READ | FD_WRITE | FD_OOB | FD_ACCEPT | FD_CONNECT | FD_CLOSE)) {
        *lpErrno = WSAEINVAL; /* QoS and address-list events are not offered */
        return SOCKET_ERROR;
    }
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    EnterCriticalSection(&w->lock);
    w->ev = mask ? ev : NULL;
    w->wnd = mask ? wnd : NULL;
    w->msg = msg;
    w->mask = mask;
    w->told = 0;
    w->nonblocking = 1;
    LeaveCriticalSection(&w->lock);
    ws_settle(w);
    ws_put(w);
    return 0;
}

static int WSPAPI wp_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !ev) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, ev, NULL, 0, mask, lpErrno);
}

static int WSPAPI wp_AsyncSelect(SOCKET s, HWND wnd, unsigned int msg, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !IsWindow(wnd)) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, NULL, wnd, msg, mask, lpErrno);
}

/* The events due now, each told once (they are re-enabled as in Winsock);
 * resets the event it is given, atomically with taking the record. */
static int WSPAPI wp_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    if (!ne) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (!w->listening)
        pump(w, 0);
    memset(ne, 0, sizeof *ne);
    int e = 0;
    EnterCriticalSection(&w->lock);
    if (w->listening)
        ws_advance(w);
    if (ev)
        wsdx_lsp_up.lpWPUResetEvent(ev, &e);
    ne->lNetworkEvents = due_events(w, ne->iErrorCode, 1);
    LeaveCriticalSection(&w->lock);
    ws_put(w);
    return 0;
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
        LONG seen = InterlockedCompareExchange(&g_moves, 0, 0); /* before looking: a move after it wakes us */
        int ready = 0;
        fd_set *sets[3] = { &in_r, &in_w, &in_x };
        fd_set *outs[3] = { r, wr, x };
        for (int k = 0; k < 3; k++)
            for (u_int i = 0; i < sets[k]->fd_count; i++) {
                int e = 0;
                SOCKET s = sets[k]->fd_array[i];
                wsock *w = ws_get(s, &e);
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
                } else if (k == 1) { /* writable: connected (the preamble exchange is over) and room */
                    yes = w->conn.connected && w->txlen == 0 && l_wait(w->p, w->low, 1, 0) == 1;
                } else { /* a failed connect */
                    int err = 0, len = sizeof err, e2 = 0;
                    w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e2);
                    yes = err != 0 || (w->connect_done && w->connect_err && !w->conn.connected);
                }
                ws_put(w);
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
        /* every change on_lower sees is a move; the slice bounds what it cannot
         * see (a closed socket, a lower socket's buffer room without FD_WRITE) */
        await_move(seen, limit == INFINITE || limit - spent > SLICE_MS ? SLICE_MS : limit - spent);
    }
}

/* ------------------------------------------------------------------ */
/* names, options, control */

#define SIMPLE_LOWER(call)              \
    wsock *w = ws_get(s, lpErrno);         \
    if (!w)                             \
        return SOCKET_ERROR;            \
    int rc_ = (call);                   \
    ws_put(w);                             \
    return rc_;

static int WSPAPI wp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
    SIMPLE_LOWER(w->p->next.lpWSPBind(w->low, name, namelen, lpErrno))
}

static int WSPAPI wp_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = w->p->next.lpWSPListen(w->low, backlog, lpErrno);
    if (rc == 0)
        w->listening = 1;
    ws_put(w);
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
    wsock *w = ws_get(s, lpErrno);
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
    } else if (level == SOL_SOCKET && opt == SO_ERROR && w->lower_spent) {
        if (!val || !len || *len < (int)sizeof(int)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else { /* a failed non-blocking connect's code (a preamble mismatch is ours, not TCP's) */
            EnterCriticalSection(&w->lock);
            *(int *)val = w->connect_err;
            LeaveCriticalSection(&w->lock);
            *len = sizeof(int);
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
    ws_put(w);
    return rc;
}

static int WSPAPI wp_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (level == SOL_SOCKET && (opt == SO_UPDATE_ACCEPT_CONTEXT || opt == SO_UPDATE_CONNECT_CONTEXT)) {
        ws_put(w); /* AcceptEx / ConnectEx left the socket complete: nothing to update */
        return 0;
    }
    if (level == SOL_SOCKET && opt == WSDX_LSP_SO_CONNECT_TIMEOUT) { /* ours alone */
        int rc = 0;
        if (!val || len < (int)sizeof(DWORD)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else {
            w->connect_ms = *(const DWORD *)val;
        }
        ws_put(w);
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
    ws_put(w);
    return rc;
}

static int WSPAPI wp_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen,
                           LPDWORD ret, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
                           LPWSATHREADID t, LPINT lpErrno)
{
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    int rc = 0;
    if (code == (DWORD)FIONBIO) {
        if (!in || inlen < sizeof(u_long)) {
            *lpErrno = WSAEFAULT;
            rc = SOCKET_ERROR;
        } else if (!*(u_long *)in && (w->ev || w->wnd)) {
            *lpErrno = WSAEINVAL; /* WSPEventSelect / WSPAsyncSelect is active */
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
    } else if (code == SIO_GET_EXTENSION_FUNCTION_POINTER && ws_extension(in, inlen, out, outlen, ret, lpErrno, &rc)) {
        /* the extension functions that must know wsdx handles are ours (extensions.c) */
    } else {
        /* unknown codes and other GUIDs go to the lower provider, on the lower socket */
        rc = w->p->next.lpWSPIoctl(w->low, code, in, inlen, out, outlen, ret, ov, cr, t, lpErrno);
    }
    ws_put(w);
    return rc;
}

static int WSPAPI wp_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    (void)pid; (void)pi;
    wsock *w = ws_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    ws_put(w);
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

void wsdx_lsp_fill_proto(WSPPROC_TABLE *t)
{
    t->lpWSPAccept = wp_Accept;
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
}
