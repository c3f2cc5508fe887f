/* sendq.c - the send side of a wsdx socket: the send queue (bytes accepted
 * from the application, not yet taken by the lower socket), whole frames,
 * FIN, and FD_WRITE's kick. Callers hold txio unless said otherwise. */
#include "wsock.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

/* Appends to the send queue; caller holds txio. 0 or -WSAENOBUFS. */
int wsk_txq_put(wsock *w, const uint8_t *b, size_t n)
{
    uint8_t *q = (uint8_t *)realloc(w->txq, w->txlen + n);
    if (!q)
        return -WSAENOBUFS;
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
 * from another thread ends the wait). 0 once empty, else -WSAEWOULDBLOCK
 * (not waiting, or waited out) or the lower provider's -WSA code. */
int wsk_txq_push(wsock *w, int wait, DWORD deadline)
{
    while (w->txlen) {
        long k = wsk_lower_send(w->p, w->low, w->txq, w->txlen);
        if (k == -WSAEWOULDBLOCK) {
            if (!wait || (deadline ? (LONG)(GetTickCount() - deadline) >= 0 : wsk_is_closed(w)))
                return -WSAEWOULDBLOCK;
            wsk_lower_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0) {
            EnterCriticalSection(&w->lock);
            w->tx_err = (int)k;
            LeaveCriticalSection(&w->lock);
            return (int)k;
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
 * holds txio. 0 or -WSA code. */
int wsk_txq_frame(wsock *w, const uint8_t *b, size_t n)
{
    uint8_t h[WSDX_FRAME_HEADER_LEN];
    wsdx_frame_header_encode(h, WSDX_FRAME_DATA, (uint32_t)n);
    int rc = n || w->mode == WSDX_MESSAGE ? wsk_txq_put(w, h, sizeof h) : 0;
    if (!rc && n)
        rc = wsk_txq_put(w, b, n);
    if (!rc && (rc = wsk_txq_push(w, 0, 0)) == -WSAEWOULDBLOCK)
        rc = 0;
    return rc;
}

/* The queue, then a pending FIN; caller holds txio. 0 or -WSA code. */
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
 * Blocking: all of it. Non-blocking: whatever does not fit now is queued.
 * 0 or -WSA code. */
int wsk_send_frame(wsock *w, int type, const uint8_t *b, size_t n)
{
    uint8_t *f = (uint8_t *)malloc(WSDX_FRAME_HEADER_LEN + n);
    if (!f)
        return -WSAENOBUFS;
    wsdx_frame_header_encode(f, type, (uint32_t)n);
    if (n)
        memcpy(f + WSDX_FRAME_HEADER_LEN, b, n);
    size_t total = WSDX_FRAME_HEADER_LEN + n, off = 0;
    int rc = 0;
    while (off < total) {
        long k = wsk_lower_send(w->p, w->low, f + off, total - off);
        if (k == -WSAEWOULDBLOCK) {
            if (w->nonblocking) {
                rc = wsk_txq_put(w, f + off, total - off); /* -WSAENOBUFS: the frame is cut, the connection cannot go on */
                break;
            }
            if (wsk_is_closed(w)) {
                rc = -WSAENOTSOCK;
                break;
            }
            wsk_lower_wait(w->p, w->low, 1, SLICE_MS);
            continue;
        }
        if (k < 0) {
            rc = (int)k;
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
