/* listen.c - a wsdx entry's listener: it accepts every lower connection
 * at once, sends its preamble and checks each peer's as it arrives (a
 * silent or foreign peer holds up nobody and is reset); checked
 * connections wait for WSPAccept or AcceptEx. */
#include "wsock.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

/* Listener, under l->lock: appends to a pending list. 0 or -WSAENOBUFS. */
static int push_pending(pending **list, int *n, int *cap, const pending *x)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        pending *grown = (pending *)realloc(*list, (size_t)c * sizeof *grown);
        if (!grown)
            return -WSAENOBUFS;
        *list = grown;
        *cap = c;
    }
    (*list)[(*n)++] = *x;
    return 0;
}

static void reject(wsock *l, SOCKET low)
{
    wsk_lower_abort(l->p, low); /* not a wsdx peer: reset it and go on serving the others */
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
        wsk_lower_nbio(l->p, x.low, 1);
        uint8_t out[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(out, l->mode);
        x.deadline = GetTickCount() + (DWORD)wsdx_handshake_ms();
        if (wsk_lower_send(l->p, x.low, out, sizeof out) != (long)sizeof out || push_pending(&l->hs, &l->nhs, &l->caphs, &x) < 0)
            reject(l, x.low);
    }
}

/* 1 checked, 0 not yet, or -WSA code: not a wsdx peer of our mode (or too slow). */
static int preamble_step(wsock *l, pending *x, DWORD now)
{
    while (x->have < WSDX_PREAMBLE_LEN) {
        long k = wsk_lower_recv(l->p, x->low, x->in + x->have, WSDX_PREAMBLE_LEN - x->have); /* never more */
        if (k == -WSAEWOULDBLOCK)
            return (LONG)(now - x->deadline) >= 0 ? -WSAETIMEDOUT : 0;
        if (k <= 0)
            return -WSAEPROTONOSUPPORT; /* FIN or reset before 8 bytes */
        x->have += (size_t)k;
        int bad = wsdx_preamble_verify_prefix(x->in, x->have, l->mode);
        if (bad)
            return bad; /* each field judged as it arrives (protocol.md 1) */
    }
    int rc = wsdx_preamble_verify(x->in, l->mode);
    return rc ? rc : 1;
}

/* Listener, under l->lock: advances every handshake at once, so a slow
 * or silent peer holds up nobody; checked connections become ready. */
void wsk_advance(wsock *l)
{
    take_new(l);
    DWORD now = GetTickCount();
    for (int i = 0; i < l->nhs;) {
        int v = preamble_step(l, &l->hs[i], now);
        if (v == 0) {
            i++;
            continue;
        }
        if (v < 0 || push_pending(&l->ready, &l->nready, &l->capready, &l->hs[i]) < 0)
            reject(l, l->hs[i].low);
        l->hs[i] = l->hs[--l->nhs];
    }
}

/* Listener: the next checked connection (1), or 0. */
int wsk_next_ready(wsock *l, pending *out)
{
    EnterCriticalSection(&l->lock);
    wsk_advance(l);
    int got = l->nready > 0;
    if (got) {
        *out = l->ready[0];
        memmove(l->ready, l->ready + 1, (size_t)--l->nready * sizeof *l->ready);
    }
    LeaveCriticalSection(&l->lock);
    return got;
}

int wsk_listener_ready(wsock *l)
{
    EnterCriticalSection(&l->lock);
    wsk_advance(l);
    int yes = l->nready > 0;
    LeaveCriticalSection(&l->lock);
    return yes;
}

/* Listener being closed: connections never handed out are reset. */
void wsk_drop_pending(wsock *l)
{
    EnterCriticalSection(&l->lock);
    for (int i = 0; i < l->nhs; i++)
        wsk_lower_abort(l->p, l->hs[i].low);
    for (int i = 0; i < l->nready; i++)
        wsk_lower_abort(l->p, l->ready[i].low);
    l->nhs = l->nready = 0;
    LeaveCriticalSection(&l->lock);
}

/* A checked lower connection becomes an application socket. */
/* w now carries a checked connection of l's: established, with l's linger;
 * what came after the preamble raised no event of w's yet, so it is read. */
static void take_over(wsock *w, wsock *l)
{
    EnterCriticalSection(&w->lock);
    wsdx_conn_established(&w->conn);
    w->linger_on = l->linger_on;
    w->linger_secs = l->linger_secs;
    LeaveCriticalSection(&w->lock);
    wsk_pump(w, 0);
}

SOCKET wsk_adopt(wsock *l, pending *x, struct sockaddr *addr, LPINT addrlen, LPINT lpErrno)
{
    wsock *w = wsk_new(l->p, x->low, l->mode, l->catalog_id, lpErrno);
    if (!w) {
        wsk_lower_abort(l->p, x->low);
        return INVALID_SOCKET;
    }
    SOCKET s = wsk_make_handle(w, lpErrno);
    if (s == INVALID_SOCKET) {
        wsk_free(w);
        return s;
    }
    take_over(w, l);
    if (addr && addrlen) {
        int n = *addrlen < x->addrlen ? *addrlen : x->addrlen;
        memcpy(addr, &x->addr, (size_t)(n > 0 ? n : 0));
        *addrlen = x->addrlen;
    }
    return s;
}

/* AcceptEx: the accept socket takes over a checked connection (its own,
 * unused lower socket is closed). 0, or -WSA code (the connection is
 * then reset). */
static int graft(wsock *a, pending *x, wsock *l)
{
    int e = 0;
    if (wsk_is_closed(a)) {
        wsk_lower_abort(l->p, x->low);
        return -WSA_OPERATION_ABORTED;
    }
    wsk_disarm(a);
    a->p->next.lpWSPCloseSocket(a->low, &e);
    int rc = wsk_attach_lower(a, x->low);
    if (rc) {
        wsk_lower_abort(a->p, a->low);
        a->low = INVALID_SOCKET;
        return rc;
    }
    take_over(a, l);
    return 0;
}

/* One address area: the address's length as an int, then the address
 * (the layout mswsock's GetAcceptExSockaddrs parses; Wine's mirrors it).
 * AcceptEx made sure each area holds iMaxSockAddr + 16 bytes. */
static void put_address(uint8_t *area, DWORD size, const void *addr, int len)
{
    size_t room = size > sizeof(int) ? size - sizeof(int) : 0;
    size_t n = len > 0 ? ((size_t)len < room ? (size_t)len : room) : 0;
    int stored = (int)n;
    memset(area, 0, size);
    memcpy(area, &stored, sizeof stored < size ? sizeof stored : size);
    if (n)
        memcpy(area + sizeof(int), addr, n);
}

/* The address areas after AcceptEx's data: local, then remote. */
static void put_addresses(ovl *o, pending *x)
{
    uint8_t *area = (uint8_t *)o->bufs[0].buf + o->bufs[0].len;
    struct sockaddr_storage local;
    int len = sizeof local, e = 0;
    memset(&local, 0, sizeof local);
    if (o->into->p->next.lpWSPGetSockName(x->low, (struct sockaddr *)&local, &len, &e))
        len = 0;
    put_address(area, o->local_len, &local, len);
    put_address(area + o->local_len, o->remote_len, &x->addr, x->addrlen);
}

/* Listener: pending AcceptEx requests take the checked connections, oldest
 * first. With a data part, the request then waits as a receive on the
 * accept socket (completion still goes to the listener's handle). */
void wsk_finish_accepts(wsock *l)
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
            wsk_op_complete(o, rc, 0, 0);
            continue;
        }
        put_addresses(o, &x);
        if (!o->bufs[0].len) {
            wsk_op_complete(o, 0, 0, 0);
            continue;
        }
        wsock *a = o->into; /* the request moves over, with its reference on a */
        o->into = NULL;
        o->w = a;
        wsk_put(l);
        EnterCriticalSection(&a->lock);
        wsk_op_append(&a->rxops, o);
        LeaveCriticalSection(&a->lock);
        wsk_settle(a);
    }
}