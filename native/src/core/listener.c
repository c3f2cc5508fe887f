/* listener.c - the in-process backend's listeners: listen, the eager accept
 * that checks each peer's preamble before the application sees it (with a
 * deadline), the accept queue, and closing a listener. */
#include "sock.h"

#include <stdlib.h>
/* --------------------------------------------------------------- listeners */

static void reject(sock *l, sock *c)
{
    l->lst->rejected++;
    sock_discard(c);
}

static void unlink_handshake(listener *L, sock *c)
{
    for (sock **pp = &L->handshakes; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = NULL;
}

void sock_accept_all(sock *l)
{
    for (;;) {
        wsdx_fd fd;
        if (wsdx_io_accept(l->fd, &fd) != 0)
            return;
        sock *c = sock_new(K_SOCKET, l->lst->mode, fd);
        if (!c) {
            wsdx_io_close(fd);
            continue;
        }
        uint8_t pre[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(pre, l->lst->mode);
        wsdx_mutex_lock(&l->mu);
        c->phase = P_HANDSHAKE;
        c->owner = l;
        c->deadline = wsdx_now_ms() + HANDSHAKE_MS;
        c->next = l->lst->handshakes;
        l->lst->handshakes = c;
        if (wsdx_io_send2(fd, pre, sizeof pre, NULL, 0) != (long)sizeof pre ||
            wsdx_watch(fd, c, WSDX_WATCH_READ) != 0) {
            unlink_handshake(l->lst, c);
            reject(l, c);
        } else {
            c->watching = 1;
        }
        wsdx_mutex_unlock(&l->mu);
        if (c->watching)
            sock_handshake_step(c); /* the client's preamble is often here already: no extra wake-up */
    }
}

/* Reads the rest of the peer's preamble (and not a byte more). */
void sock_handshake_step(sock *c)
{
    sock *l = c->owner;
    wsdx_mutex_lock(&l->mu);
    if (c->phase != P_HANDSHAKE || l->closed) {
        wsdx_mutex_unlock(&l->mu);
        return;
    }
    long n = wsdx_io_recv(c->fd, c->pre + c->pre_have, WSDX_PREAMBLE_LEN - c->pre_have);
    int err = 0;
    if (n > 0)
        c->pre_have = (uint8_t)(c->pre_have + n);
    else if (n == 0 || n != -WSDX_WSAEWOULDBLOCK)
        err = -WSDX_WSAEPROTONOSUPPORT; /* ended before a whole preamble */
    if (!err && c->pre_have == WSDX_PREAMBLE_LEN)
        err = wsdx_preamble_verify(c->pre, l->lst->mode);
    if (err || c->pre_have == WSDX_PREAMBLE_LEN) {
        unlink_handshake(l->lst, c);
        if (err) {
            reject(l, c);
        } else {
            wsdx_conn_established(&c->core);
            c->phase = P_READY;
            wsdx_watch_modify(c->fd, c, sock_watch_events(c));
            if (l->lst->ready_tail)
                l->lst->ready_tail->next = c;
            else
                l->lst->ready_head = c;
            l->lst->ready_tail = c;
            wsdx_cond_broadcast(&l->lst->cond);
        }
    }
    wsdx_mutex_unlock(&l->mu);
}

/* Expires slow handshakes. Called by the notifier; returns the next deadline. */
int64_t wsdx__timers(int64_t now)
{
    int64_t next = -1;
    wsdx_mutex_lock(&sk__g.lst_mu);
    for (listener *L = sk__g.listeners; L; L = L->next) {
        sock *l = L->self;
        wsdx_mutex_lock(&l->mu);
        for (sock **pp = &L->handshakes; *pp;) {
            sock *c = *pp;
            if (c->deadline <= now) {
                *pp = c->next;
                reject(l, c);
                continue;
            }
            if (next < 0 || c->deadline < next)
                next = c->deadline;
            pp = &c->next;
        }
        wsdx_mutex_unlock(&l->mu);
    }
    wsdx_mutex_unlock(&sk__g.lst_mu);
    return next;
}

static void list_listener(listener *L, int add)
{
    wsdx_mutex_lock(&sk__g.lst_mu);
    listener **pp = &sk__g.listeners;
    while (*pp && *pp != L)
        pp = &(*pp)->next;
    if (add && !*pp) {
        L->next = sk__g.listeners;
        sk__g.listeners = L;
    } else if (!add && *pp) {
        *pp = L->next;
    }
    wsdx_mutex_unlock(&sk__g.lst_mu);
}

wsdx_socket sk_listen(const char *host, int port, int mode, int backlog)
{
    int rc = sk_init();
    if (rc)
        return rc;
    if (!host || port < 0 || port > 65535)
        return -WSDX_WSAEINVAL;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    wsdx_fd fd;
    rc = wsdx_io_listen(host, port, backlog > 0 ? backlog : 128, &fd);
    if (rc)
        return rc;
    listener *L = calloc(1, sizeof *L);
    sock *l = L ? sock_new(K_LISTENER, mode, fd) : NULL;
    if (!l) {
        free(L);
        wsdx_io_close(fd);
        return -WSDX_WSAENOBUFS;
    }
    wsdx_cond_init(&L->cond);
    L->mode = mode;
    L->self = l;
    l->lst = L;
    l->phase = P_OPEN;
    wsdx_mutex_lock(&l->mu);
    rc = wsdx_watch(fd, l, WSDX_WATCH_READ);
    l->watching = rc == 0;
    wsdx_mutex_unlock(&l->mu);
    if (rc) {
        sock_unpublish(l);
        sock_release(l);
        return rc;
    }
    list_listener(L, 1);
    return l->h.handle;
}

wsdx_socket sk_accept(wsdx_socket lh, int timeout_ms)
{
    sock *l = sock_acquire(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    if (l->kind != K_LISTENER) {
        sock_release(l);
        return -WSDX_WSAEINVAL;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : wsdx_now_ms() + timeout_ms;
    sock *c = NULL;
    int rc = 0;
    wsdx_mutex_lock(&l->mu);
    for (;;) {
        if (l->closed) {
            rc = -WSDX_WSAEINTR;
            break;
        }
        if ((c = l->lst->ready_head)) {
            l->lst->ready_head = c->next;
            if (!l->lst->ready_head)
                l->lst->ready_tail = NULL;
            c->next = NULL;
            wsdx_mutex_lock(&c->mu);
            c->phase = P_OPEN;
            wsdx_mutex_unlock(&c->mu);
            break;
        }
        if (timeout_ms == 0) {
            rc = -WSDX_WSAEWOULDBLOCK;
            break;
        }
        if (deadline >= 0 && wsdx_now_ms() >= deadline) {
            rc = -WSDX_WSAETIMEDOUT;
            break;
        }
        wsdx_cond_wait(&l->lst->cond, &l->mu, deadline);
    }
    wsdx_mutex_unlock(&l->mu);
    sock_release(l);
    return c ? c->h.handle : rc;
}

int64_t sk_listener_rejected(wsdx_socket lh)
{
    sock *l = sock_acquire(lh);
    if (!l)
        return -WSDX_WSAENOTSOCK;
    int64_t n = -WSDX_WSAEINVAL;
    wsdx_mutex_lock(&l->mu);
    if (l->kind == K_LISTENER)
        n = l->lst->rejected;
    wsdx_mutex_unlock(&l->mu);
    sock_release(l);
    return n;
}

static void drop_list(sock *c)
{
    while (c) {
        sock *n = c->next;
        c->next = NULL;
        sock_discard(c);
        c = n;
    }
}

int sock_close_listener(sock *l)
{
    list_listener(l->lst, 0);
    wsdx_mutex_lock(&l->mu);
    if (l->closed) {
        wsdx_mutex_unlock(&l->mu);
        return -WSDX_WSAENOTSOCK;
    }
    sock_unpublish(l);
    drop_list(l->lst->handshakes);
    drop_list(l->lst->ready_head);
    l->lst->handshakes = l->lst->ready_head = l->lst->ready_tail = NULL;
    wsdx_cond_broadcast(&l->lst->cond);
    wsdx_mutex_unlock(&l->mu);
    return 0;
}
