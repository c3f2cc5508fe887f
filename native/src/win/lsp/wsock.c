/* wsock.c - the machinery of a wsdx entry's socket: handles and
 * references; the lower socket (always non-blocking, its events always
 * ours: on_lower); the receive pump into the state machine; what the
 * application is told (WSPEventSelect / WSPAsyncSelect, by Winsock's
 * re-enabling rules); overlapped requests and their completion; the send
 * queue; WSPSelect's wake-ups. The WSP functions over it are wsdxproto.c;
 * connecting is connect.c, listening listen.c. */
#include "wsock.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

static SRWLOCK g_slock = SRWLOCK_INIT; /* w->closed, against wsk_get */
volatile LONG wsdx_lsp_live_contexts;

wsock *wsk_get(SOCKET s, LPINT err)
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

void wsk_put(wsock *w)
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

void wsk_set_closed(wsock *w, int closed)
{
    AcquireSRWLockExclusive(&g_slock);
    w->closed = closed;
    ReleaseSRWLockExclusive(&g_slock);
}

int wsk_is_closed(wsock *w)
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

int wsk_lower_nbio(wsdx_lsp_provider *p, SOCKET low, u_long on)
{
    DWORD got = 0;
    int e = 0;
    WSATHREADID t;
    return p->next.lpWSPIoctl(low, FIONBIO, &on, sizeof on, NULL, 0, &got, NULL, NULL, tid(&t), &e) ? e : 0;
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

/* ------------------------------------------------------------------ */
/* receive side: move what the lower socket has into the state machine */

/* Reads what is available (wait: block for at least one event first).
 * Returns 1 when something happened (bytes, FIN, error), else 0. */
/* A protocol error: the peer gets RST now. Windows sends RST only from
 * closesocket with a zero linger timeout, never from shutdown ("Graceful
 * Shutdown, Linger Options, and Socket Closure"), so the lower socket is
 * closed abortively at once. The application's handle stays until it closes
 * it: its calls fail as on a reset connection (conn.peer_error), and the
 * lower socket reads INVALID_SOCKET from here on (calls on it fail
 * WSAENOTSOCK). Both I/O locks are held, so no reader or writer is using the
 * lower handle while it goes. */
static void reset_lower(wsock *w)
{
    EnterCriticalSection(&w->txio);
    EnterCriticalSection(&w->rxio);
    EnterCriticalSection(&w->lock);
    SOCKET low = w->low;
    w->low = INVALID_SOCKET;
    w->txlen = 0; /* nothing more goes out on a reset connection */
    w->fin_pending = 0;
    LeaveCriticalSection(&w->lock);
    if (low != INVALID_SOCKET) {
        int e = 0;
        w->p->next.lpWSPEventSelect(low, NULL, 0, &e); /* its events end here; the pool wait stays, idle */
        wsk_lower_abort(w->p, low);
    }
    LeaveCriticalSection(&w->rxio);
    LeaveCriticalSection(&w->txio);
}

int wsk_pump(wsock *w, int wait)
{
    uint8_t buf[16384];
    int progress = 0, must_reset = 0;
    if (wait == PUMP_TRY) {
        if (!TryEnterCriticalSection(&w->rxio)) {
            /* That reader ingests, then settles: the caller's own settle may
             * come before the ingest (a WSPSelect's pump held rxio), and
             * what on_lower saw (FD_CLOSE comes once) would never be told. */
            InterlockedExchange(&w->pump_missed, 1);
            return 0;
        }
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
        long k = wsk_lower_recv(w->p, w->low, buf, sizeof buf);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || progress)
                break;
            if (wsk_is_closed(w))
                break;
            wsk_lower_wait(w->p, w->low, 0, SLICE_MS);
            continue;
        }
        EnterCriticalSection(&w->lock);
        if (k > 0)
            wsdx_conn_ingest(&w->conn, buf, (size_t)k);
        else if (k == 0)
            wsdx_conn_eof(&w->conn);
        else
            wsdx_conn_fail(&w->conn, (int)-k);
        must_reset |= w->conn.must_reset;
        w->conn.must_reset = 0;
        LeaveCriticalSection(&w->lock);
        progress = 1;
        if (k <= 0 || must_reset)
            break;
    }
    LeaveCriticalSection(&w->rxio);
    if (must_reset)
        reset_lower(w);
    /* A PUMP_TRY refused before this exchange settles after its own pump
     * call, so after our ingest only if it was refused after the exchange;
     * else we settle here (all interlocked: one order). */
    if (InterlockedExchange(&w->pump_missed, 0))
        wsk_settle(w);
    return progress;
}

static int close_due(wsock *w)
{
    return wsdx_conn_close_due(&w->conn);
}

/* Under w->lock: the selected events the application may be told of now,
 * by Winsock's re-enabling rules (FD_READ again after a receive, FD_ACCEPT
 * after an accept, FD_WRITE after a send that would block, FD_CONNECT and
 * FD_CLOSE once). consume: mark them told. */
long wsk_due_events(wsock *w, int errs[FD_MAX_EVENTS], int consume)
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
    long due = ev || w->wnd ? wsk_due_events(w, errs, w->wnd != NULL) : 0;
    for (int i = 0; w->wnd && i < FD_MAX_EVENTS; i++)
        if (due & (1L << i))
            wsdx_lsp_up.lpWPUPostMessage(w->wnd, w->msg, (WPARAM)w->app, (LPARAM)WSAMAKESELECTREPLY(1L << i, errs[i]));
    LeaveCriticalSection(&w->lock);
    if (due && ev)
        wsdx_lsp_up.lpWPUSetEvent(ev, &e);
}

/* ------------------------------------------------------------------ */
/* overlapped requests */

ovl *wsk_op_new(wsock *w, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
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

/* The request's result where WSPGetOverlappedResult finds it. The provider
 * owns only Offset (flags) and OffsetHigh (the WSA code); Internal and
 * InternalHigh are WPUCompleteOverlappedRequest's, which sets InternalHigh
 * (the byte count) and then Internal, possibly after it returned and from
 * another thread (WSAOVERLAPPED, Windows Sockets SPI: "the SAN service
 * provider exclusively controls only the Offset and OffsetHigh members";
 * WPUCompleteOverlappedRequest remarks). */
void wsk_op_result(ovl *o, DWORD err, DWORD n, DWORD flags)
{
    o->err = err;
    o->n = n;
    o->flags = flags;
    o->ov->Offset = flags;
    o->ov->OffsetHigh = err;
}

/* Where no WPUCompleteOverlappedRequest follows (an APC, a request failed at
 * once), the provider ends the request itself: the count first, then
 * Internal, which leaves WSS_OPERATION_IN_PROGRESS last. Internal holds an
 * NTSTATUS, never a WSA code (10054 would read as a success). */
static void op_done(ovl *o)
{
    o->ov->InternalHigh = o->n;
    MemoryBarrier();
    o->ov->Internal = o->err ? (ULONG_PTR)0xC0000001L /* STATUS_UNSUCCESSFUL */ : 0 /* STATUS_SUCCESS */;
}

/* A request that failed before it was pending: no completion is notified. */
void wsk_op_drop(ovl *o, DWORD err)
{
    wsock *w = o->w, *into = o->into;
    wsk_op_result(o, err, 0, 0);
    op_done(o);
    free(o);
    if (into)
        wsk_put(into);
    wsk_put(w);
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
void wsk_op_complete(ovl *o, DWORD err, DWORD n, DWORD flags)
{
    wsock *w = o->w, *into = o->into;
    SOCKET app = o->target;
    int e = 0;
    if (into)
        wsk_put(into);
    wsk_op_result(o, err, n, flags);
    if (o->cr) {
        op_done(o); /* just before the APC is queued: nobody else writes them */
        if (wsdx_lsp_up.lpWPUQueueApc(&o->thread, run_routine, (DWORD_PTR)o, &e) != 0)
            free(o); /* the thread is gone: nobody is left to tell */
    } else {
        LPWSAOVERLAPPED ov = o->ov;
        free(o);
        wsdx_lsp_complete_request(app, ov, err, n, &e);
    }
    wsk_put(w);
}

void wsk_op_append(ovl **list, ovl *o)
{
    while (*list)
        list = &(*list)->next;
    *list = o;
}

/* Under w->lock: one receive into the caller's buffers: bytes (>= 0) or
 * -WSA code, with *n and *flags as WSPRecv reports them (a message cut to
 * the buffers: -WSAEMSGSIZE, all of them filled, MSG_PARTIAL). */
int wsk_take(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *flags)
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

/* Completes, oldest first, the pending requests that can complete now. */
static void finish_ops(wsock *w)
{
    if (w->listening)
        wsk_finish_accepts(w);
    wsk_finish_connect(w);
    for (;;) {
        DWORD n = 0, fl = 0;
        int rc = 0;
        EnterCriticalSection(&w->lock);
        ovl *o = w->rxops;
        if (o && (rc = wsk_take(w, o->bufs, o->nbufs, &n, &fl)) == -WSAEWOULDBLOCK)
            o = NULL;
        if (o)
            w->rxops = o->next;
        LeaveCriticalSection(&w->lock);
        if (!o)
            break;
        wsk_op_complete(o, rc < 0 ? (DWORD)-rc : 0, n, fl);
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
        wsk_op_complete(o, (DWORD)err, err ? 0 : o->n, 0);
    }
}

/* Close: what is still pending completes with WSA_OPERATION_ABORTED. */
void wsk_abort_ops(wsock *w)
{
    EnterCriticalSection(&w->lock);
    ovl *lists[4] = { w->rxops, w->txops, w->acceptops, w->connect_op };
    w->rxops = w->txops = w->acceptops = w->connect_op = NULL;
    LeaveCriticalSection(&w->lock);
    for (ovl **l = lists; l < lists + 4; l++)
        while (*l) {
            ovl *next = (*l)->next;
            wsk_op_complete(*l, WSA_OPERATION_ABORTED, 0, 0);
            *l = next;
        }
}

/* WSPSelect sleeps until some socket's state moved on: g_moves counts the
 * moves, and a mover wakes the sleepers only when there are any. */
static SRWLOCK g_sel_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE g_sel_cv = CONDITION_VARIABLE_INIT;
static volatile LONG g_moves, g_sleepers;

/* The count of moves so far (WSPSelect looks at it before it looks). */
LONG wsk_moves(void)
{
    return InterlockedCompareExchange(&g_moves, 0, 0);
}

void wsk_moved(void)
{
    InterlockedIncrement(&g_moves);
    if (InterlockedCompareExchange(&g_sleepers, 0, 0)) {
        AcquireSRWLockExclusive(&g_sel_lock); /* a sleeper that saw the old count is asleep by now */
        ReleaseSRWLockExclusive(&g_sel_lock);
        WakeAllConditionVariable(&g_sel_cv);
    }
}

/* Sleeps up to ms unless g_moves has left seen. */
void wsk_await_move(LONG seen, DWORD ms)
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
void wsk_settle(wsock *w)
{
    wsk_connect_timer_end(w, 0); /* an attempt that is over needs no deadline */
    finish_ops(w);
    notify(w);
    wsk_moved();
}

/* ------------------------------------------------------------------ */
/* send side */

/* Appends to the send queue; caller holds txio. 0 or WSAENOBUFS. */
int wsk_txq_put(wsock *w, const uint8_t *b, size_t n)
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
int wsk_txq_push(wsock *w, int wait, DWORD deadline)
{
    while (w->txlen) {
        long k = wsk_lower_send(w->p, w->low, w->txq, w->txlen);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || (deadline ? (LONG)(GetTickCount() - deadline) >= 0 : wsk_is_closed(w)))
                return WSAEWOULDBLOCK;
            wsk_lower_wait(w->p, w->low, 1, SLICE_MS);
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

/* A whole DATA frame into the queue (an empty one only in message mode),
 * then what the lower socket takes now; on_lower sends the rest. Caller
 * holds txio. 0 or the WSA code. */
int wsk_txq_frame(wsock *w, const uint8_t *b, size_t n)
{
    uint8_t h[WSDX_FRAME_HEADER_LEN];
    wsdx_frame_header_encode(h, WSDX_FRAME_DATA, (uint32_t)n);
    int rc = n || w->mode == WSDX_MESSAGE ? wsk_txq_put(w, h, sizeof h) : 0;
    if (!rc && n)
        rc = wsk_txq_put(w, b, n);
    if (!rc && (rc = wsk_txq_push(w, 0, 0)) == WSAEWOULDBLOCK)
        rc = 0;
    return rc;
}

/* The queue, then a pending FIN; caller holds txio. 0 or WSA code. */
int wsk_flush(wsock *w, int wait)
{
    int rc = wsk_txq_push(w, wait, 0);
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
int wsk_send_frame(wsock *w, int type, const uint8_t *b, size_t n)
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
        long k = wsk_lower_send(w->p, w->low, f + off, total - off);
        if (k == -WSAEWOULDBLOCK) {
            if (w->nonblocking) {
                rc = wsk_txq_put(w, f + off, total - off); /* WSAENOBUFS: the frame is cut, the connection cannot go on */
                break;
            }
            if (wsk_is_closed(w)) {
                rc = WSAENOTSOCK;
                break;
            }
            wsk_lower_wait(w->p, w->low, 1, SLICE_MS);
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

/* FD_WRITE: room in the lower socket. FD_WRITE comes once per send that
 * would block, so a kick must never be lost: when txio is busy, the flag
 * tells its holder to flush once more as it leaves (wsk_tx_leave). Two
 * on_lower calls may run at once (a pool wait on a manual-reset event),
 * and a sender may hold txio right after its send would block: then the
 * holder, not this caller, flushes. */
void wsk_tx_kick(wsock *w)
{
    InterlockedExchange(&w->tx_kick, 1);
    while (InterlockedCompareExchange(&w->tx_kick, 0, 0) && TryEnterCriticalSection(&w->txio)) {
        InterlockedExchange(&w->tx_kick, 0); /* cleared by the holder, before it flushes */
        wsk_flush(w, 0);
        LeaveCriticalSection(&w->txio);
    }
}

/* Leaves txio, then flushes for a kick that came while it was held. */
void wsk_tx_leave(wsock *w)
{
    LeaveCriticalSection(&w->txio);
    while (InterlockedCompareExchange(&w->tx_kick, 0, 0) && TryEnterCriticalSection(&w->txio)) {
        InterlockedExchange(&w->tx_kick, 0);
        wsk_flush(w, 0);
        LeaveCriticalSection(&w->txio);
    }
}

/* FIN now, or after the queue drains. Caller holds txio. */
void wsk_send_fin(wsock *w)
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

/* The lower socket's events go to w's own event, watched by a pool wait. */
int wsk_arm(wsock *w)
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
void wsk_disarm(wsock *w)
{
    if (!w->wait)
        return;
    UnregisterWaitEx(w->wait, INVALID_HANDLE_VALUE);
    w->wait = NULL;
    int e = 0;
    w->p->next.lpWSPEventSelect(w->low, NULL, 0, &e);
    ResetEvent(w->iev);
    wsk_put(w);
}

/* w takes low as its lower socket: non-blocking, its events ours. 0 or WSA code. */
int wsk_attach_lower(wsock *w, SOCKET low)
{
    w->low = low;
    int rc = wsk_lower_nbio(w->p, low, 1);
    return rc ? rc : wsk_arm(w);
}

/* A wsock over a lower socket, armed; NULL when out of resources (low is
 * then the caller's to close). */
wsock *wsk_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id)
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
    if (!w->iev || wsk_attach_lower(w, low)) {
        int e = 0;
        p->next.lpWSPEventSelect(low, NULL, 0, &e);
        wsk_put(w);
        return NULL;
    }
    return w;
}

/* Undoes wsock_new (no handle was made): the lower socket is closed. */
void wsk_free(wsock *w)
{
    int e = 0;
    wsk_disarm(w);
    w->p->next.lpWSPCloseSocket(w->low, &e);
    wsk_put(w);
}

/* Swaps in a fresh lower socket (connect failed, DisconnectEx): the old one
 * is reset (abort) or closed gracefully. 0 or WSA code (then no lower socket
 * is left: later calls fail as on a broken connection). */
int wsk_replace_lower(wsock *w, int abort)
{
    int e = 0;
    wsk_disarm(w);
    if (abort)
        wsk_lower_abort(w->p, w->low);
    else
        w->p->next.lpWSPCloseSocket(w->low, &e);
    w->low = w->p->next.lpWSPSocket(w->p->lower_info.iAddressFamily, SOCK_STREAM, IPPROTO_TCP, &w->p->lower_info, 0,
                                    WSA_FLAG_OVERLAPPED, &e);
    if (w->low == INVALID_SOCKET)
        return e ? e : WSAENOBUFS;
    return wsk_attach_lower(w, w->low);
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
        wsk_connect_step(w, &ne);
    LeaveCriticalSection(&w->lock);
    if (w->listening) {
        EnterCriticalSection(&w->lock);
        wsk_advance(w); /* new connections, and preambles arriving on them */
        LeaveCriticalSection(&w->lock);
    } else if (connecting) {
        wsk_pump(w, PUMP_TRY); /* what came with the peer's preamble, if it is through */
    } else {
        if (ne.lNetworkEvents & (FD_READ | FD_CLOSE))
            wsk_pump(w, PUMP_TRY);
        if ((ne.lNetworkEvents & FD_CLOSE) && ne.iErrorCode[FD_CLOSE_BIT]) {
            EnterCriticalSection(&w->lock);
            if (w->conn.connected) /* during the preamble, WSPConnect sees it itself */
                wsdx_conn_fail(&w->conn, ne.iErrorCode[FD_CLOSE_BIT]); /* no effect when a clean end came first */
            LeaveCriticalSection(&w->lock);
        }
        if (ne.lNetworkEvents & FD_WRITE)
            wsk_tx_kick(w);
    }
    wsk_settle(w);
}

SOCKET wsk_make_handle(wsock *w, LPINT lpErrno)
{
    SOCKET s = wsdx_lsp_up.lpWPUCreateSocketHandle(w->catalog_id, (DWORD_PTR)w, lpErrno);
    if (s == INVALID_SOCKET)
        return s;
    w->app = s;
    return s;
}