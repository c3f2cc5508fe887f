/* connect.c - connecting a wsdx entry's socket: blocking (the TCP connect
 * and the preamble exchange before WSPConnect returns) or not (driven by
 * on_lower through wsk_connect_step, with a pool timer for the deadline),
 * and ConnectEx's completion. docs/protocol.md section 1. */
#include "wsock.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

/* All of b to the lower socket by deadline: 0 or -WSA code. */
static int send_exact(wsdx_lsp_provider *p, SOCKET low, const uint8_t *b, size_t n, DWORD deadline)
{
    while (n) {
        long k = wsk_lower_send(p, low, b, n);
        if (k == -WSAEWOULDBLOCK) {
            if ((LONG)(GetTickCount() - deadline) >= 0)
                return -WSAETIMEDOUT;
            wsk_lower_wait(p, low, 1, SLICE_MS);
            continue;
        }
        if (k < 0)
            return (int)k;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The client's preamble exchange (docs/protocol.md section 1), done by
 * deadline: 0 or -WSA code. */
static int handshake(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD deadline)
{
    uint8_t out[WSDX_PREAMBLE_LEN], in[WSDX_PREAMBLE_LEN];
    wsdx_preamble_encode(out, mode);
    int rc = send_exact(p, low, out, sizeof out, deadline);
    if (rc)
        return rc == -WSAETIMEDOUT ? rc : -WSAEPROTONOSUPPORT;
    size_t have = 0;
    while (have < sizeof in) {
        long k = wsk_lower_recv(p, low, in + have, sizeof in - have); /* never more than the preamble */
        if (k == -WSAEWOULDBLOCK) {
            if ((LONG)(GetTickCount() - deadline) >= 0)
                return -WSAETIMEDOUT;
            wsk_lower_wait(p, low, 0, SLICE_MS);
            continue;
        }
        if (k <= 0)
            return -WSAEPROTONOSUPPORT; /* FIN or reset before 8 bytes */
        have += (size_t)k;
        int bad = wsdx_preamble_verify_prefix(in, have, mode); /* each field as it arrives */
        if (bad)
            return bad;
    }
    return wsdx_preamble_verify(in, mode);
}

/* ------------------------------------------------------------------ */
/* connecting */

/* Under w->lock: a connect ends (rc: 0 or -WSA code), blocking or not;
 * connect_err keeps the code as FD_CONNECT and SO_ERROR report it. On failure the lower
 * connection is to be reset (a peer that is not wsdx sees RST when the
 * socket closes or connects again) and the socket stays unconnected. */
void wsk_connect_end(wsock *w, int rc)
{
    w->connecting = 0;
    w->connect_done = 1;
    w->connect_err = -rc;
    if (!rc) {
        wsdx_conn_established(&w->conn);
        return;
    }
    struct linger l = { 1, 0 };
    int e = 0;
    w->p->next.lpWSPSetSockOpt(w->low, SOL_SOCKET, SO_LINGER, (const char *)&l, sizeof l, &e);
    w->lower_spent = 1;
}

static void handshake_deadline(wsock *w);

/* Under w->lock: a non-blocking connect goes on as the lower socket
 * reports: the TCP connect, our preamble, then the peer's (never more than
 * its 8 bytes: what follows is the state machine's). */
void wsk_connect_step(wsock *w, const WSANETWORKEVENTS *ne)
{
    if (w->connecting == 1) {
        if (!(ne->lNetworkEvents & FD_CONNECT))
            return;
        int err = ne->iErrorCode[FD_CONNECT_BIT];
        if (err) { /* reset once established: ended before the preamble (protocol.md 1.4) */
            wsk_connect_end(w, err == WSAECONNRESET ? -WSAEPROTONOSUPPORT : -err);
            return;
        }
        uint8_t out[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(out, w->mode);
        if (wsk_lower_send(w->p, w->low, out, sizeof out) != (long)sizeof out) { /* a new socket's buffer takes 8 bytes */
            wsk_connect_end(w, -WSAEPROTONOSUPPORT);
            return;
        }
        w->connecting = 2;
        handshake_deadline(w); /* the TCP connect is done: the wait for the peer's preamble is bounded too */
    }
    while (w->pre_have < WSDX_PREAMBLE_LEN) {
        long k = wsk_lower_recv(w->p, w->low, w->pre_in + w->pre_have, WSDX_PREAMBLE_LEN - w->pre_have);
        if (k == -WSAEWOULDBLOCK)
            return;
        if (k <= 0) {
            wsk_connect_end(w, -WSAEPROTONOSUPPORT); /* FIN or reset before 8 bytes: not a wsdx peer */
            return;
        }
        w->pre_have += (size_t)k;
        int bad = wsdx_preamble_verify_prefix(w->pre_in, w->pre_have, w->mode);
        if (bad) {
            wsk_connect_end(w, bad); /* each field judged as it arrives (protocol.md 1) */
            return;
        }
    }
    wsk_connect_end(w, wsdx_preamble_verify(w->pre_in, w->mode));
}

/* The deadline of a non-blocking connect: one pool timer per attempt,
 * holding a reference. Whoever takes it from w->connect_dl (under w->lock)
 * owns it: the timer's callback when it fires, or wsk_connect_timer_end once
 * the attempt is over. Without that, a connect that succeeded kept its
 * context alive until the deadline (up to 40 s after the handle closed). */
typedef struct connect_deadline {
    wsock *w;
    unsigned gen;
    PTP_TIMER timer;
    DWORD end; /* GetTickCount() when the attempt's whole time is up */
} connect_deadline;

static void arm(PTP_TIMER t, DWORD ms)
{
    ULARGE_INTEGER due;
    due.QuadPart = (ULONGLONG)(-(LONGLONG)ms * 10000); /* relative, in 100 ns */
    FILETIME ft;
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(t, &ft, 0, 0);
}

/* How long an attempt may still wait: what is left of its whole time, and
 * once our preamble is out, no more than the handshake time (protocol.md 1). */
static DWORD time_left(const connect_deadline *d, int handshaking)
{
    LONG left = (LONG)(d->end - GetTickCount());
    DWORD ms = left > 0 ? (DWORD)left : 0;
    DWORD hs = (DWORD)wsdx_handshake_ms();
    return handshaking && hs < ms ? hs : ms;
}

/* Under w->lock: the pending attempt's timer, if any, is brought forward to
 * the handshake time. */
static void handshake_deadline(wsock *w)
{
    if (w->connect_dl)
        arm(w->connect_dl->timer, time_left(w->connect_dl, 1));
}

static void CALLBACK connect_timer(PTP_CALLBACK_INSTANCE inst, PVOID arg, PTP_TIMER timer)
{
    connect_deadline *d = (connect_deadline *)arg;
    wsock *w = d->w;
    (void)inst;
    EnterCriticalSection(&w->lock);
    int mine = w->connect_dl == d;
    if (mine) {
        w->connect_dl = NULL;
        if (w->connecting && w->connect_gen == d->gen && !wsk_is_closed(w))
            wsk_connect_end(w, -WSAETIMEDOUT);
    }
    LeaveCriticalSection(&w->lock);
    if (!mine)
        return; /* its taker waits for this call to return, then frees d */
    wsk_settle(w);
    CloseThreadpoolTimer(timer);
    free(d);
    wsk_put(w);
}

/* Ends the timer of an attempt that is over (or of a closing socket): it is
 * cancelled, its callback waited for, its reference dropped. Never called
 * from connect_timer itself, nor with a lock held. */
void wsk_connect_timer_end(wsock *w, int closing)
{
    EnterCriticalSection(&w->lock);
    connect_deadline *d = w->connect_dl;
    if (d && (closing || !w->connecting))
        w->connect_dl = NULL;
    else
        d = NULL;
    LeaveCriticalSection(&w->lock);
    if (!d)
        return;
    SetThreadpoolTimer(d->timer, NULL, 0, 0);
    WaitForThreadpoolTimerCallbacks(d->timer, TRUE); /* a callback already running finds it taken */
    CloseThreadpoolTimer(d->timer);
    free(d);
    wsk_put(w);
}

/* A non-blocking connect: under way (-WSAEWOULDBLOCK, FD_CONNECT when the
 * preamble exchange is over), or failed at once (-WSA code). */
int wsk_connect_async(wsock *w, const struct sockaddr *name, int namelen, DWORD ms)
{
    connect_deadline *d = (connect_deadline *)malloc(sizeof *d);
    PTP_TIMER t = d ? CreateThreadpoolTimer(connect_timer, d, NULL) : NULL;
    if (!t) {
        free(d);
        return -WSAENOBUFS;
    }
    wsk_connect_timer_end(w, 1); /* the last attempt's, if it is still there */
    EnterCriticalSection(&w->lock);
    w->connecting = 1;
    w->pre_have = 0;
    d->w = w;
    d->timer = t;
    d->end = GetTickCount() + ms;
    d->gen = ++w->connect_gen;
    int e = 0, rc;
    if (w->p->next.lpWSPConnect(w->low, name, namelen, NULL, NULL, NULL, NULL, &e) == 0) {
        WSANETWORKEVENTS now; /* connected at once: go on as FD_CONNECT would */
        memset(&now, 0, sizeof now);
        now.lNetworkEvents = FD_CONNECT;
        wsk_connect_step(w, &now);
        rc = -WSAEWOULDBLOCK;
    } else {
        rc = -e;
    }
    if (rc != -WSAEWOULDBLOCK)
        w->connecting = 0;
    LeaveCriticalSection(&w->lock);
    if (rc != -WSAEWOULDBLOCK) {
        CloseThreadpoolTimer(t);
        free(d);
        return rc;
    }
    InterlockedIncrement(&w->refs); /* the timer's */
    EnterCriticalSection(&w->lock);
    w->connect_dl = d;
    arm(t, time_left(d, w->connecting == 2)); /* under the lock: connect_step may re-arm it at once */
    LeaveCriticalSection(&w->lock);
    return -WSAEWOULDBLOCK;
}

/* A blocking connect: the TCP connect and the preamble exchange, done by
 * the deadlines. 0 or -WSA code. */
int wsk_connect_blocking(wsock *w, const struct sockaddr *name, int namelen)
{
    /* one deadline for the connect and the preamble when the app set one */
    DWORD deadline = GetTickCount() + (w->connect_ms ? w->connect_ms : CONNECT_MS);
    int e = 0;
    if (w->p->next.lpWSPConnect(w->low, name, namelen, NULL, NULL, NULL, NULL, &e) == SOCKET_ERROR) {
        if (e != WSAEWOULDBLOCK)
            return -e;
        int rc = -WSAETIMEDOUT;
        while ((LONG)(GetTickCount() - deadline) < 0 && !wsk_is_closed(w)) {
            if (wsk_lower_wait(w->p, w->low, 1, SLICE_MS) == 1) {
                int err = 0, len = sizeof err;
                w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e);
                rc = err == WSAECONNRESET ? -WSAEPROTONOSUPPORT : -err; /* as in wsk_connect_step */
                break;
            }
        }
        if (rc)
            return rc;
    }
    DWORD hs = GetTickCount() + (DWORD)wsdx_handshake_ms(); /* the handshake time bounds the wait on both sides */
    return handshake(w->p, w->low, w->mode, w->connect_ms && (LONG)(deadline - hs) < 0 ? deadline : hs);
}

/* May w connect now? Then a fresh start (and a fresh lower socket after a
 * failed attempt). 0 or -WSA code. */
int wsk_connect_prepare(wsock *w)
{
    int rc = 0;
    EnterCriticalSection(&w->lock);
    if (w->connecting)
        rc = -WSAEALREADY;
    else if (w->conn.connected)
        rc = -WSAEISCONN;
    else if (w->listening)
        rc = -WSAEINVAL;
    int spent = !rc && w->lower_spent;
    if (!rc) {
        w->connect_done = 0;
        w->told &= ~FD_CONNECT;
        w->lower_spent = 0;
    }
    LeaveCriticalSection(&w->lock);
    return spent ? wsk_replace_lower(w, 1) : rc;
}

/* A finished ConnectEx: its send data goes out first, as one message. */
void wsk_finish_connect(wsock *w)
{
    EnterCriticalSection(&w->lock);
    ovl *o = w->connect_op && !w->connecting && w->connect_done ? w->connect_op : NULL;
    if (o)
        w->connect_op = NULL;
    int rc = -w->connect_err;
    LeaveCriticalSection(&w->lock);
    if (!o)
        return;
    DWORD n = o->bufs[0].len;
    if (!rc && n && o->bufs[0].buf) {
        EnterCriticalSection(&w->txio);
        rc = wsk_txq_frame(w, (const uint8_t *)o->bufs[0].buf, n);
        wsk_tx_leave(w);
    }
    wsk_op_complete(o, rc, rc ? 0 : n, 0);
}