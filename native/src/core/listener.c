/* listener.c - the in-process backend's listeners: listen, the eager accept
 * that checks each peer's preamble before the application sees it (with a
 * deadline), the accept queue, and closing a listener. */
#include "sock.h"

#include <stdlib.h>
/* --------------------------------------------------------------- listeners */

/* The one rule for the listener's watch: it takes new connections from the
 * kernel unless it rests after a failed accept or holds its backlog. lsn->mu. */
static void rewatch_listener(sock *lsn)
{
    listener *info = lsn->lst;
    int taking = !info->resume_at && !info->full;
    wsdx_watch_modify(lsn->fd, lsn, taking ? WSDX_WATCH_READ : WSDX_WATCH_CLOSE); /* not readable: no wake-ups */
}

/* A connection leaves the listener's queues; one that was full takes more
 * from the kernel again. lsn->mu. */
static void dequeued(sock *lsn)
{
    listener *info = lsn->lst;
    info->queued--;
    if (info->full && info->queued < info->backlog && !lsn->closed) {
        info->full = 0;
        rewatch_listener(lsn);
    }
}

static void reject(sock *lsn, sock *conn)
{
    lsn->lst->rejected++;
    sock_discard(conn);
    dequeued(lsn);
}

/* The listener holds backlog connections (handshaking or waiting for
 * accept): it stops taking more, so that the kernel's backlog, not this
 * process's memory and descriptors, holds a flood. lsn->mu. */
static int queue_full(sock *lsn)
{
    listener *info = lsn->lst;
    if (info->queued < info->backlog)
        return 0;
    info->full = 1;
    rewatch_listener(lsn); /* until one leaves */
    return 1;
}

static void unlink_handshake(listener *info, sock *conn)
{
    for (sock **pp = &info->handshakes; *pp; pp = &(*pp)->next) {
        if (*pp == conn) {
            *pp = conn->next;
            break;
        }
    }
    conn->next = NULL;
}

/* Accepting failed with err, a WSA code (no descriptors, no memory): the listener rests
 * for ACCEPT_BACKOFF_MS instead of spinning on its level-triggered readiness,
 * and the application's accept reports err once per episode. lsn->mu. */
static void accept_failed(sock *lsn, int err)
{
    listener *info = lsn->lst;
    if (!info->failing) {
        info->failing = 1;
        info->error = err;
        wsdx_cond_broadcast(&info->cond);
        if (lsn->sel_armed & WSDX_FD_ACCEPT)
            sock_post(lsn); /* an accept waiting on FD_ACCEPT must hear it too (select.c) */
    }
    info->resume_at = wsdx_now_ms() + ACCEPT_BACKOFF_MS;
    rewatch_listener(lsn); /* until resumed */
}

/* Timers: watches a resting listener again once its time is up; returns
 * when to look again (-1: not resting). lsn->mu. */
static int64_t accept_resume(sock *lsn, int64_t now)
{
    listener *info = lsn->lst;
    if (!info->resume_at || lsn->closed)
        return -1;
    if (now < info->resume_at)
        return info->resume_at;
    info->resume_at = 0;
    rewatch_listener(lsn);
    return -1;
}

void sock_accept_all(sock *lsn)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    for (;;) {
        wsdx_mutex_lock(&lsn->mu);
        int full = !lsn->closed && queue_full(lsn);
        wsdx_mutex_unlock(&lsn->mu);
        if (full)
            return;
        wsdx_fd fd;
        int rc = wsdx_io_accept(lsn->fd, &fd);
        if (rc != 0) {
            wsdx_mutex_lock(&lsn->mu);
            if (rc != -WSDX_WSAEWOULDBLOCK && !lsn->closed)
                accept_failed(lsn, -rc);
            wsdx_mutex_unlock(&lsn->mu);
            return;
        }
        sock *conn = sock_new(K_SOCKET, lsn->lst->mode, fd);
        if (!conn) {
            wsdx_io_close(fd);
            continue;
        }
        uint8_t pre[WSDX_PREAMBLE_LEN];
        wsdx_preamble_encode(pre, lsn->lst->mode);
        wsdx_mutex_lock(&lsn->mu);
        lsn->lst->failing = 0; /* descriptors again: a later failure is a new episode */
        conn->phase = P_HANDSHAKE;
        conn->owner = lsn;
        conn->deadline = wsdx_now_ms() + wsdx_handshake_ms();
        conn->next = lsn->lst->handshakes;
        lsn->lst->handshakes = conn;
        lsn->lst->queued++;
        if (wsdx_io_send2(fd, pre, sizeof pre, NULL, 0) != (long)sizeof pre ||
            wsdx_watch(fd, conn, WSDX_WATCH_READ) != 0) {
            unlink_handshake(lsn->lst, conn);
            reject(lsn, conn);
        } else {
            conn->watching = 1;
        }
        wsdx_mutex_unlock(&lsn->mu);
        if (conn->watching)
            sock_handshake_step(conn); /* the client's preamble is often here already: no extra wake-up */
    }
}

/* Reads the rest of the peer's preamble (and not a byte more). */
void sock_handshake_step(sock *conn)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    sock *lsn = conn->owner;
    wsdx_mutex_lock(&lsn->mu);
    if (conn->phase != P_HANDSHAKE || lsn->closed) {
        wsdx_mutex_unlock(&lsn->mu);
        return;
    }
    long n = wsdx_io_recv(conn->fd, conn->pre + conn->pre_have, WSDX_PREAMBLE_LEN - conn->pre_have);
    int err = 0;
    if (n > 0)
        conn->pre_have = (uint8_t)(conn->pre_have + n);
    else if (n == 0 || n != -WSDX_WSAEWOULDBLOCK)
        err = -WSDX_WSAEPROTONOSUPPORT; /* ended before a whole preamble */
    if (!err) /* each field is judged as soon as it is here: "GET " is refused at once */
        err = wsdx_preamble_verify_prefix(conn->pre, conn->pre_have, lsn->lst->mode);
    if (err || conn->pre_have == WSDX_PREAMBLE_LEN) {
        unlink_handshake(lsn->lst, conn);
        if (err) {
            reject(lsn, conn);
        } else {
            wsdx_conn_established(&conn->core);
            conn->phase = P_READY;
            wsdx_watch_modify(conn->fd, conn, sock_watch_events(conn));
            if (lsn->lst->ready_tail)
                lsn->lst->ready_tail->next = conn;
            else
                lsn->lst->ready_head = conn;
            lsn->lst->ready_tail = conn;
            wsdx_cond_broadcast(&lsn->lst->cond);
            if (lsn->sel_armed & WSDX_FD_ACCEPT)
                sock_post(lsn); /* FD_ACCEPT (select.c) */
        }
    }
    wsdx_mutex_unlock(&lsn->mu);
}

/* Expires slow handshakes. Called by the notifier; returns the next deadline. */
int64_t wsdx__timers(int64_t now)
{
    int64_t next = -1;
    wsdx_mutex_lock(&sk__g.lst_mu);
    for (listener *info = sk__g.listeners; info; info = info->next) {
        sock *lsn = info->self;
        wsdx_mutex_lock(&lsn->mu);
        int64_t resume = accept_resume(lsn, now);
        if (resume >= 0 && (next < 0 || resume < next))
            next = resume;
        for (sock **pp = &info->handshakes; *pp;) {
            sock *conn = *pp;
            if (conn->deadline <= now) {
                *pp = conn->next;
                reject(lsn, conn);
                continue;
            }
            if (next < 0 || conn->deadline < next)
                next = conn->deadline;
            pp = &conn->next;
        }
        wsdx_mutex_unlock(&lsn->mu);
    }
    wsdx_mutex_unlock(&sk__g.lst_mu);
    return next;
}

static void list_listener(listener *info, int add)
{
    wsdx_mutex_lock(&sk__g.lst_mu);
    listener **pp = &sk__g.listeners;
    while (*pp && *pp != info)
        pp = &(*pp)->next;
    if (add && !*pp) {
        info->next = sk__g.listeners;
        sk__g.listeners = info;
    } else if (!add && *pp) {
        *pp = info->next;
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
    backlog = backlog > 0 ? backlog : DEFAULT_BACKLOG;
    rc = wsdx_io_listen(host, port, backlog, &fd);
    if (rc)
        return rc;
    listener *info = calloc(1, sizeof *info);
    sock *lsn = info ? sock_new(K_LISTENER, mode, fd) : NULL;
    if (!lsn) {
        free(info);
        wsdx_io_close(fd);
        return -WSDX_WSAENOBUFS;
    }
    wsdx_cond_init(&info->cond);
    info->mode = mode;
    info->backlog = backlog;
    info->self = lsn;
    lsn->lst = info;
    lsn->phase = P_OPEN;
    wsdx_mutex_lock(&lsn->mu);
    rc = wsdx_watch(fd, lsn, WSDX_WATCH_READ);
    lsn->watching = rc == 0;
    wsdx_mutex_unlock(&lsn->mu);
    if (rc) {
        sock_unpublish(lsn);
        sock_release(lsn);
        return rc;
    }
    list_listener(info, 1);
    return lsn->h.handle;
}

wsdx_socket sk_accept(wsdx_socket lh, int timeout_ms)
{
    sock *lsn = sock_acquire(lh);
    if (!lsn)
        return -WSDX_WSAENOTSOCK;
    if (lsn->kind != K_LISTENER) {
        sock_release(lsn);
        return -WSDX_WSAEINVAL;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : wsdx_now_ms() + timeout_ms;
    sock *conn = NULL;
    int rc = 0;
    wsdx_mutex_lock(&lsn->mu);
    for (;;) {
        if (lsn->closed) {
            rc = -WSDX_WSAEINTR;
            break;
        }
        if ((conn = lsn->lst->ready_head)) {
            lsn->lst->ready_head = conn->next;
            if (!lsn->lst->ready_head)
                lsn->lst->ready_tail = NULL;
            conn->next = NULL;
            dequeued(lsn);
            wsdx_mutex_lock(&conn->mu);
            conn->phase = P_OPEN;
            wsdx_mutex_unlock(&conn->mu);
            break;
        }
        if (lsn->lst->error) { /* accepting failed (WSAEMFILE...): say so once */
            rc = -lsn->lst->error;
            lsn->lst->error = 0;
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
        wsdx_cond_wait(&lsn->lst->cond, &lsn->mu, deadline);
    }
    wsdx_mutex_unlock(&lsn->mu);
    sock_release(lsn);
    return conn ? conn->h.handle : rc;
}

int64_t sk_listener_rejected(wsdx_socket lh)
{
    sock *lsn = sock_acquire(lh);
    if (!lsn)
        return -WSDX_WSAENOTSOCK;
    int64_t n = -WSDX_WSAEINVAL;
    wsdx_mutex_lock(&lsn->mu);
    if (lsn->kind == K_LISTENER)
        n = lsn->lst->rejected;
    wsdx_mutex_unlock(&lsn->mu);
    sock_release(lsn);
    return n;
}

static void drop_list(sock *conn)
{
    while (conn) {
        sock *n = conn->next;
        conn->next = NULL;
        sock_discard(conn);
        conn = n;
    }
}

int sock_close_listener(sock *lsn)
{
    list_listener(lsn->lst, 0);
    wsdx_mutex_lock(&lsn->mu);
    if (lsn->closed) {
        wsdx_mutex_unlock(&lsn->mu);
        return -WSDX_WSAENOTSOCK;
    }
    sock_unpublish(lsn);
    drop_list(lsn->lst->handshakes);
    drop_list(lsn->lst->ready_head);
    lsn->lst->handshakes = lsn->lst->ready_head = lsn->lst->ready_tail = NULL;
    wsdx_cond_broadcast(&lsn->lst->cond);
    wsdx_mutex_unlock(&lsn->mu);
    return 0;
}
