/* closing.c - wsdx_close on the in-process backend: the linger plan (linger.c)
 * carried out, and the graceful close the notifier finishes in the background. */
#include "sock.h"
#include "linger.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ close */

/* Notifier: the queued rest went out after a graceful close; finish it. */
void sock_finish_zombie(sock *s)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    wsdx_mutex_lock(&s->mu);
    s->zombie_done = 1; /* later edges for it are ignored: the notifier's reference goes once */
    wsdx_io_shutdown_send(s->fd);
    sock_pump_input(s, PUMP_DRAIN_ALL); /* unread input would turn the FIN into a reset */
    wsdx_mutex_unlock(&s->mu);
    sock_release(s);
}

/* The closing thread's wait (the socket is already unpublished, so block()
 * would see it closed): 1 when the deadline has passed. */
static int pause_for(sock *s, int what, int64_t deadline)
{
    int64_t left = deadline - wsdx_now_ms();
    if (left <= 0)
        return 1;
    wsdx_mutex_unlock(&s->mu);
    if (what)
        wsdx_io_wait(s->fd, what, left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS);
    else
        wsdx_sleep_ms(left < 2 ? (int)left : 2);
    wsdx_mutex_lock(&s->mu);
    return 0;
}

/* Blocks until the kernel has delivered what it holds, or the deadline. */
static int wait_delivered(sock *s, int64_t deadline)
{
    while (s->tx_len) {
        int rc = sock_flush_tx(s);
        if (rc && rc != -WSDX_WSAEWOULDBLOCK)
            return rc;
        if (rc && pause_for(s, WSDX_IO_WRITE, deadline))
            return -WSDX_WSAETIMEDOUT;
    }
    if (!s->core.send_shut || (s->flags & SF_FIN_PENDING))
        wsdx_io_shutdown_send(s->fd);
    s->flags &= (uint8_t)~SF_FIN_PENDING;
    while (wsdx_io_unsent(s->fd) > 0) {
        if (pause_for(s, 0, deadline))
            return -WSDX_WSAETIMEDOUT;
    }
    return 0;
}

/* What is not delivered yet. The kernel is asked only when the plan depends
 * on it, so a plain close's FIN goes out one system call sooner. */
static size_t unsent_for_plan(const sock *s)
{
    int counts = wsdx_linger_counts_unsent(!!(s->flags & SF_LINGER), s->linger_s);
    return s->tx_len + (counts && s->phase == P_OPEN ? wsdx_io_unsent(s->fd) : 0);
}

static int close_connection(sock *s)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    enum wsdx_close_plan plan = s->phase != P_OPEN ? WSDX_CLOSE_GRACEFUL :
        wsdx_linger_plan(!!(s->flags & SF_LINGER), s->linger_s, !!(s->flags & SF_BLOCKING), unsent_for_plan(s));
    if (plan == WSDX_CLOSE_WOULDBLOCK)
        return -WSDX_WSAEWOULDBLOCK; /* S10: stays open */
    if (s->flags & SF_MID_FRAME)
        plan = WSDX_CLOSE_ABORT; /* a truncated frame then FIN would be a protocol error: say the truth, RST */
    sock_unpublish(s);
    if (s->phase != P_OPEN)
        return 0;
    if (plan == WSDX_CLOSE_WAIT) {
        int64_t deadline = wsdx_now_ms() + (int64_t)s->linger_s * 1000;
        if (wait_delivered(s, deadline) != 0)
            plan = WSDX_CLOSE_ABORT; /* S9: the time ran out */
    }
    if (plan == WSDX_CLOSE_ABORT) {
        free(s->tx);
        s->tx = NULL;
        s->tx_len = 0;
        s->flags |= SF_RESET;
        wsdx_io_reset(s->fd);
        return 0;
    }
    if (s->tx_len) { /* S7: the notifier sends the rest, then FIN */
        s->phase = P_ZOMBIE;
        s->flags |= SF_FIN_PENDING;
        sock_ref(s); /* the notifier's, until sock_finish_zombie */
        wsdx_watch_modify(s->fd, s, WSDX_WATCH_WRITE | WSDX_WATCH_CLOSE);
        return 0;
    }
    if (!s->core.send_shut)
        wsdx_io_shutdown_send(s->fd);
    sock_pump_input(s, PUMP_DRAIN_ALL); /* unread input would turn the FIN into a reset */
    wsdx_io_wake(s->fd);
    return 0;
}

int sk_close(wsdx_socket h)
{
    sock *s = sock_acquire(h);
    if (!s)
        return -WSDX_WSAENOTSOCK;
    int rc;
    if (s->kind == K_LISTENER) {
        rc = sock_close_listener(s);
    } else {
        wsdx_mutex_lock(&s->mu);
        rc = s->closed ? -WSDX_WSAENOTSOCK : close_connection(s);
        wsdx_mutex_unlock(&s->mu);
    }
    if (rc == 0) {
        sock_wait_callback_done(s);
        sock_release(s); /* the table's reference */
    }
    sock_release(s);
    return rc;
}
