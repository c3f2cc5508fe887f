/* select.c - wsdx_select: one-shot readiness events for the application
 * (FD_READ, FD_WRITE, FD_ACCEPT; WSAAsyncSelect's re-enabling semantics),
 * reported on the notifier thread. The core reads nothing ahead for them:
 * FD_READ only says that a receive may make progress. */
#include "sock.h"

#define SOCKET_EVENTS (WSDX_FD_READ | WSDX_FD_WRITE | WSDX_FD_CONNECT)

/* Events due from the state alone (no kernel check). s->mu. */
static int due_now(const sock *s)
{
    if (s->kind == K_LISTENER)
        return s->lst->ready_head || s->lst->error || s->closed ? WSDX_FD_ACCEPT : 0; /* error: accept fails */
    int connect = s->connect_due ? WSDX_FD_CONNECT : 0; /* a background connect ended */
    if (s->phase != P_OPEN)
        return connect | (s->phase == P_CONNECTING ? 0 : WSDX_FD_READ | WSDX_FD_WRITE); /* calls fail at once */
    const wsdx_conn *c = &s->core;
    int ev = connect;
    if (wsdx_conn_recv_ready(c)) /* a DISCONNECT frame ends the direction without FIN too */
        ev |= WSDX_FD_READ;
    if (c->send_shut || c->peer_error)
        ev |= WSDX_FD_WRITE; /* a send fails at once */
    return ev;
}

int sock_select_watch(const sock *s)
{
    return (s->sel_armed & WSDX_FD_READ ? WSDX_WATCH_READ : 0) |
           (s->sel_armed & WSDX_FD_WRITE ? WSDX_WATCH_WRITE : 0);
}

int sock_select_owns_read(const sock *s)
{
    return (s->sel_armed & WSDX_FD_READ) != 0;
}

/* The notifier watches what the core and the armed events need. s->mu. */
static void rewatch(sock *s)
{
    if (s->kind == K_SOCKET && s->phase == P_OPEN && s->watching)
        wsdx_watch_modify(s->fd, s, sock_watch_events(s));
}

void sock_select_deliver(sock *s, int seen)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    wsdx_mutex_lock(&s->mu);
    int due = due_now(s);
    if (s->kind == K_SOCKET && s->phase == P_OPEN) {
        if (seen & (WSDX_WATCH_READ | WSDX_WATCH_CLOSE))
            due |= WSDX_FD_READ;
        if (seen & WSDX_WATCH_WRITE && !s->tx_len)
            due |= WSDX_FD_WRITE;
    }
    due &= s->sel_armed;
    if (!due || !s->sel_fn || s->closed) {
        wsdx_mutex_unlock(&s->mu);
        return;
    }
    s->sel_armed &= (uint8_t)~due;
    int error = 0;
    if (due & WSDX_FD_CONNECT) { /* reported once, with its result (WSAGETSELECTERROR) */
        error = -s->connect_rc;
        s->connect_due = 0;
    }
    rewatch(s);
    wsdx_event_fn fn = s->sel_fn;
    void *ctx = s->sel_ctx;
    sock_callback_begin(s); /* as for FD_CLOSE: wsdx_close waits until no callback for s runs */
    fn(s->h.handle, due, error, ctx);
    sock_callback_end();
}

int sk_select(wsdx_socket h, int events, wsdx_event_fn fn, void *ctx)
{
    sock *s = sock_acquire(h);
    if (!s)
        return -WSDX_WSAENOTSOCK;
    int allowed = s->kind == K_LISTENER ? WSDX_FD_ACCEPT : SOCKET_EVENTS;
    if (fn && (events & ~allowed || !events)) {
        sock_release(s);
        return -WSDX_WSAEINVAL;
    }
    wsdx_mutex_lock(&s->mu);
    s->sel_fn = fn;
    s->sel_ctx = ctx;
    s->sel_armed = (uint8_t)(fn ? s->sel_armed | events : 0);
    int post = fn && (due_now(s) & s->sel_armed);
    if (!post)
        rewatch(s); /* the kernel's readiness: epoll/WSAAsyncSelect report it when it is there */
    wsdx_mutex_unlock(&s->mu);
    if (post)
        sock_post(s);
    sock_release(s);
    return 0;
}
