/* proto_events.c - what the application hears of the wsdx protocol entries'
 * sockets: WSPEventSelect, WSPAsyncSelect, WSPEnumNetworkEvents, WSPSelect
 * and WSAPoll (SIO_EXT_POLL). */
#include "proto.h"

#include <string.h>

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
    wsock *w = wsk_get(s, lpErrno);
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
    wsk_settle(w);
    wsk_put(w);
    return 0;
}

int WSPAPI wp_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !ev) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, ev, NULL, 0, mask, lpErrno);
}

int WSPAPI wp_AsyncSelect(SOCKET s, HWND wnd, unsigned int msg, __LONG32 mask, LPINT lpErrno)
{
    if (mask && !IsWindow(wnd)) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return select_events(s, NULL, wnd, msg, mask, lpErrno);
}

/* The events due now, each told once (they are re-enabled as in Winsock);
 * resets the event it is given, atomically with taking the record. */
int WSPAPI wp_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno)
{
    if (!ne) {
        *lpErrno = WSAEFAULT;
        return SOCKET_ERROR;
    }
    wsock *w = wsk_get(s, lpErrno);
    if (!w)
        return SOCKET_ERROR;
    if (!w->listening)
        wsk_pump(w, 0);
    memset(ne, 0, sizeof *ne);
    int e = 0;
    EnterCriticalSection(&w->lock);
    if (w->listening)
        wsk_advance(w);
    if (ev)
        wsdx_lsp_up.lpWPUResetEvent(ev, &e);
    ne->lNetworkEvents = wsk_due_events(w, ne->iErrorCode, 1);
    LeaveCriticalSection(&w->lock);
    wsk_put(w);
    return 0;
}

/* What select() would say of w now: k 0 readable (data, the end, a reset,
 * disconnect data; a listener: a checked connection), 1 writable (connected,
 * the preamble exchange over, and room), 2 exceptional (a failed connect). */
static int ready_now(wsock *w, int k)
{
    if (k == 0) {
        if (w->listening)
            return wsk_listener_ready(w);
        wsk_pump(w, 0);
        EnterCriticalSection(&w->lock);
        int yes = wsdx_rxq_has_ready(&w->conn.rx) || w->conn.peer_fin || w->conn.peer_error || w->conn.disc_received;
        LeaveCriticalSection(&w->lock);
        return yes;
    }
    if (k == 1)
        return w->conn.connected && w->txlen == 0 && w->low != INVALID_SOCKET && wsk_lower_wait(w->p, w->low, 1, 0) == 1;
    int err = 0, len = sizeof err, e2 = 0;
    if (w->low != INVALID_SOCKET)
        w->p->next.lpWSPGetSockOpt(w->low, SOL_SOCKET, SO_ERROR, (char *)&err, &len, &e2);
    return (err != 0 && !w->conn.connected) || (w->connect_done && w->connect_err && !w->conn.connected);
}

/* Sleeps until some socket moved on or the time is up: 0 when it is up. */
static int await_any(LONG seen, DWORD start, DWORD limit)
{
    DWORD spent = GetTickCount() - start;
    if (limit != INFINITE && spent >= limit)
        return 0;
    /* every change on_lower sees is a move; the slice bounds what it cannot
     * see (a closed socket, a lower socket's buffer room without FD_WRITE) */
    wsk_await_move(seen, limit == INFINITE || limit - spent > SLICE_MS ? SLICE_MS : limit - spent);
    return 1;
}

/* Since Vista ws2_32 sends select() to the provider whose handle
 * SIO_BSP_HANDLE_SELECT returned (wp_Ioctl answers with ours). */
int WSPAPI wp_Select(int nfds, fd_set *r, fd_set *wr, fd_set *x, const PTIMEVAL t, LPINT lpErrno)
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
        LONG seen = wsk_moves(); /* before looking: a move after it wakes us */
        int ready = 0;
        fd_set *sets[3] = { &in_r, &in_w, &in_x };
        fd_set *outs[3] = { r, wr, x };
        for (int k = 0; k < 3; k++)
            for (u_int i = 0; i < sets[k]->fd_count; i++) {
                int e = 0;
                SOCKET s = sets[k]->fd_array[i];
                wsock *w = wsk_get(s, &e);
                if (!w) {
                    *lpErrno = WSAENOTSOCK;
                    return SOCKET_ERROR;
                }
                int yes = ready_now(w, k);
                wsk_put(w);
                if (yes && outs[k]) {
                    FD_SET(s, outs[k]);
                    ready++;
                }
            }
        if (ready)
            return ready;
        if (!await_any(seen, start, limit))
            return 0;
    }
}

/* SIO_EXT_POLL: WSAPoll over wsdx handles (ws2_32 sends it here once
 * SIO_BSP_HANDLE_POLL named our handle). pd is the WSAPOLLDATA, in and out:
 * revents and result filled as WSAPoll reports them. 0 or -WSA code. */
int wp_ext_poll(WSAPOLLDATA *pd, DWORD len)
{
    if (!pd || len < sizeof *pd || (len - sizeof *pd) / sizeof(WSAPOLLFD) < pd->fds)
        return -WSAEFAULT;
    DWORD limit = pd->timeout < 0 ? INFINITE : (DWORD)pd->timeout;
    DWORD start = GetTickCount();
    for (;;) {
        LONG seen = wsk_moves();
        int ready = 0;
        for (ULONG i = 0; i < pd->fds; i++) {
            WSAPOLLFD *f = &pd->fdArray[i];
            int e = 0;
            f->revents = 0;
            if (f->events & ~(POLLRDNORM | POLLRDBAND | POLLWRNORM))
                return -WSAEINVAL; /* as WSAPoll: only these may be asked for */
            wsock *w = wsk_get(f->fd, &e);
            if (!w) {
                f->revents = POLLNVAL;
            } else {
                if ((f->events & POLLRDNORM) && ready_now(w, 0))
                    f->revents |= POLLRDNORM;
                if ((f->events & POLLWRNORM) && ready_now(w, 1))
                    f->revents |= POLLWRNORM;
                if (ready_now(w, 2))
                    f->revents |= POLLERR | POLLHUP; /* reported whether asked for or not */
                EnterCriticalSection(&w->lock);
                if (w->conn.peer_fin || w->conn.peer_error)
                    f->revents |= POLLHUP;
                LeaveCriticalSection(&w->lock);
                wsk_put(w);
            }
            ready += f->revents != 0;
        }
        if (ready) {
            pd->result = ready;
            return 0;
        }
        if (!await_any(seen, start, limit)) {
            pd->result = 0;
            return 0;
        }
    }
}
