/* notify.c - the in-process backend's notifier side: readiness events,
 * work posted by other threads, and FD_CLOSE callbacks. */
#include "sock.h"

/* --------------------------------------------------------- FD_CLOSE delivery */

/* Notifier thread only: reports FD_CLOSE if it is due. */
static void deliver(sock *s)
{
    int error, flags;
    wsdx_mutex_lock(&s->mu);
    if (s->closed || s->phase != P_OPEN || !s->cb ||
        !wsdx_conn_take_close(&s->core, &error, &flags)) {
        wsdx_mutex_unlock(&s->mu);
        return;
    }
    WSDX_ASSERT(wsdx_on_notifier_thread());
    wsdx_close_fn cb = s->cb;
    void *ctx = s->cb_ctx;
    sock_callback_begin(s);
    cb(s->h.handle, error, flags, ctx);
    sock_callback_end();
}

void sock_callback_begin(sock *s)
{
    wsdx_mutex_lock(&sk__g.cb_mu);
    sk__g.in_callback = s;
    wsdx_mutex_unlock(&sk__g.cb_mu);
    wsdx_mutex_unlock(&s->mu);
}

void sock_callback_end(void)
{
    wsdx_mutex_lock(&sk__g.cb_mu);
    sk__g.in_callback = NULL;
    wsdx_cond_broadcast(&sk__g.cb_done);
    wsdx_mutex_unlock(&sk__g.cb_mu);
}

/* So that no callback for s runs once wsdx_close has returned. */
void sock_wait_callback_done(sock *s)
{
    if (wsdx_on_notifier_thread())
        return;
    wsdx_mutex_lock(&sk__g.cb_mu);
    while (sk__g.in_callback == s)
        wsdx_cond_wait(&sk__g.cb_done, &sk__g.cb_mu, -1);
    wsdx_mutex_unlock(&sk__g.cb_mu);
}

int sk_on_close(wsdx_socket h, wsdx_close_fn fn, void *ctx)
{
    sock *s = sock_acquire(h);
    if (!s)
        return -WSDX_WSAENOTSOCK;
    wsdx_mutex_lock(&s->mu);
    int rc = s->kind == K_SOCKET ? 0 : -WSDX_WSAEOPNOTSUPP, due = 0;
    if (rc == 0) {
        s->cb = fn;
        s->cb_ctx = ctx;
        /* later, whoever makes the close due sees cb (the notifier, or leave_as's post) */
        due = fn && wsdx_conn_close_due(&s->core);
    }
    wsdx_mutex_unlock(&s->mu);
    if (due)
        sock_post(s); /* the close already happened: deliver it now, not a wake-up per socket */
    sock_release(s);
    return rc;
}

void wsdx__ready(void *tag, int events)
{
    sock *s = tag;
    WSDX_ASSERT(wsdx_on_notifier_thread());
    if (__atomic_load_n(&s->retired, __ATOMIC_ACQUIRE) || s->zombie_done)
        return;
    if (s->kind == K_LISTENER) {
        sock_accept_all(s);
        return;
    }
    wsdx_mutex_lock(&s->mu);
    if (s->phase == P_HANDSHAKE) {
        wsdx_mutex_unlock(&s->mu);
        sock_handshake_step(s);
        return;
    }
    if (events & WSDX_WATCH_WRITE && s->tx_len) {
        int rc = sock_flush_tx(s);
        if (rc == 0) {
            if ((s->flags & SF_FIN_PENDING))
                wsdx_io_shutdown_send(s->fd);
            if (s->phase != P_ZOMBIE)
                wsdx_watch_modify(s->fd, s, sock_watch_events(s));
        } else if (rc != -WSDX_WSAEWOULDBLOCK) {
            wsdx_conn_fail(&s->core, -rc);
            s->tx_len = 0;
        }
    }
    if (events & WSDX_WATCH_CLOSE || (events & WSDX_WATCH_READ && !sock_select_owns_read(s)))
        sock_pump_input(s, PUMP_DRAIN); /* the data before the FIN becomes readable (R5), within the budget */
    int zombie_done = s->phase == P_ZOMBIE && !s->tx_len;
    wsdx_mutex_unlock(&s->mu);
    if (zombie_done) {
        sock_finish_zombie(s);
        return;
    }
    sock_select_deliver(s, events);
    deliver(s);
}

void wsdx__posted(void)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    wsdx_mutex_lock(&sk__g.post_mu);
    sock *s = sk__g.posted;
    sk__g.posted = NULL;
    wsdx_mutex_unlock(&sk__g.post_mu);
    while (s) {
        /* read the link before clearing posted: a new sock_post() may relink it */
        wsdx_mutex_lock(&sk__g.post_mu);
        sock *n = s->post_next;
        s->posted = 0;
        wsdx_mutex_unlock(&sk__g.post_mu);
        sock_select_deliver(s, 0);
        deliver(s);
        sock_release(s);
        s = n;
    }
}
