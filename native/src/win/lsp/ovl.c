/* ovl.c - a wsdx socket's overlapped requests: made, their result stored
 * where WSPGetOverlappedResult finds it, completed as the application asked
 * (an APC or WPUCompleteOverlappedRequest), finished when they can, aborted
 * at close. */
#include "wsock.h"

#include <stdlib.h>
#include <string.h>

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
static void op_result(ovl *o, int rc, DWORD n, DWORD flags)
{
    DWORD err = (DWORD)-rc; /* the Windows code, for the application */
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

/* A request that failed (rc: -WSA code) before it was pending: no completion is notified. */
void wsk_op_drop(ovl *o, int rc)
{
    wsock *w = o->w, *into = o->into;
    op_result(o, rc, 0, 0);
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
 * completion port (WPUCompleteOverlappedRequest; our handles are not IFS).
 * rc: 0 or -WSA code. */
void wsk_op_complete(ovl *o, int rc, DWORD n, DWORD flags)
{
    wsock *w = o->w, *into = o->into;
    SOCKET app = o->target;
    int e = 0;
    if (into)
        wsk_put(into);
    op_result(o, rc, n, flags);
    if (o->cr) {
        op_done(o); /* just before the APC is queued: nobody else writes them */
        if (wsdx_lsp_up.lpWPUQueueApc(&o->thread, run_routine, (DWORD_PTR)o, &e) != 0)
            free(o); /* the thread is gone: nobody is left to tell */
    } else {
        LPWSAOVERLAPPED ov = o->ov;
        free(o);
        wsdx_lsp_complete_request(app, ov, (DWORD)-rc, n, &e);
    }
    wsk_put(w);
}

void wsk_op_append(ovl **list, ovl *o)
{
    while (*list)
        list = &(*list)->next;
    *list = o;
}

/* Completes, oldest first, the pending requests that can complete now. */
void wsk_finish_ops(wsock *w)
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
        wsk_op_complete(o, rc < 0 ? rc : 0, n, fl);
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
        wsk_op_complete(o, err, err ? 0 : o->n, 0);
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
            wsk_op_complete(*l, -WSA_OPERATION_ABORTED, 0, 0);
            *l = next;
        }
}
