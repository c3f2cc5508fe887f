/* recv.c - the receive path of a wsdx socket: the pump moves what the
 * lower socket has into the state machine (a protocol error resets the lower
 * connection), and wsk_take gives it to one receive. */
#include "wsock.h"

#include <stdlib.h>
#include <string.h>

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

/* rxio held: reads what is available (wait: block for at least one event
 * first). 1 when something happened (bytes, FIN, error), else 0. */
static int pump_locked(wsock *w, int wait)
{
    uint8_t buf[16384];
    int progress = 0, must_reset = 0;
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
    return progress;
}

/* Reads what is available (wait: block for at least one event first;
 * PUMP_TRY: neither wait nor block on another reader).
 * Returns 1 when something happened (bytes, FIN, error), else 0.
 *
 * A refused PUMP_TRY (on_lower, told of FD_READ or FD_CLOSE) hands its read
 * to the reader holding rxio: that reader may have met WSAEWOULDBLOCK just
 * before the FIN came, and the lower FD_CLOSE is recorded once, so no one
 * else would ever read the end. The request (pump_missed = 1) is stored
 * before the second try; a holder clears it before it reads, and after it
 * lets rxio go it looks again and, if it is set, reads once more unless
 * another holder has rxio (who then does the same after its release). All
 * are interlocked, so a refusal is always followed by some holder's look.
 * The holder settles for the refused caller, whose own settle may have come
 * before the ingest. A stale request costs one empty read. */
int wsk_pump(wsock *w, int wait)
{
    if (wait == PUMP_TRY) {
        if (!TryEnterCriticalSection(&w->rxio)) {
            InterlockedExchange(&w->pump_missed, 1);
            if (!TryEnterCriticalSection(&w->rxio))
                return 0; /* the holder reads it */
        }
        wait = 0;
    } else {
        EnterCriticalSection(&w->rxio);
    }
    int progress = 0, served = 0;
    do {
        served |= InterlockedExchange(&w->pump_missed, 0);
        progress |= pump_locked(w, wait); /* lets rxio go */
        wait = 0;
    } while (InterlockedCompareExchange(&w->pump_missed, 0, 0) && TryEnterCriticalSection(&w->rxio));
    if (served)
        wsk_settle(w);
    return progress;
}

/* Under w->lock: one receive into the caller's buffers: bytes (>= 0) or
 * -WSA code, with *n and *flags as WSPRecv reports them. A message cut to the
 * buffers is -WSAEMSGSIZE with all of them filled and MSG_PARTIAL (WSPRecv:
 * "MSG_PARTIAL ... the data received is a portion of the message"); a fatal
 * -WSAEMSGSIZE (a frame over the limit) stores nothing and has no MSG_PARTIAL. */
int wsk_take(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *flags)
{
    size_t cap = 0;
    for (DWORD i = 0; i < nbufs; i++)
        cap += bufs[i].len;
    uint8_t *tmp = nbufs == 1 ? (uint8_t *)bufs[0].buf : (uint8_t *)malloc(cap ? cap : 1);
    if (!tmp)
        return -WSAENOBUFS;
    int partial = 0;
    int rc = wsdx_conn_recv(&w->conn, tmp, cap, &partial);
    if (rc != -WSAEWOULDBLOCK)
        w->told &= ~FD_READ; /* a receive re-enables FD_READ */
    size_t got = rc >= 0 ? (size_t)rc : 0;
    for (DWORD i = 0, off = 0; nbufs != 1 && i < nbufs && off < got; i++) {
        size_t c = bufs[i].len < got - off ? bufs[i].len : got - off;
        memcpy(bufs[i].buf, tmp + off, c);
        off += (DWORD)c;
    }
    if (nbufs != 1)
        free(tmp);
    *n = (DWORD)got;
    *flags = partial ? MSG_PARTIAL : 0;
    return partial ? -WSAEMSGSIZE : rc;
}
