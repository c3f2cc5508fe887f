/* socket.c - the in-process backend of the wsdx API (backend.h) over a host
 * (host.h): its sockets' handles and lifetime, connect, and the ops table.
 * The other roles are in datapath.c, listener.c, notify.c and closing.c (sock.h);
 * per-connection protocol state lives in conn.c. */
#include "sock.h"

#include <stdlib.h>
#include <string.h>

struct sk_globals sk__g;

/* ------------------------------------------------------------------ setup */

int sk_init(void)
{
    static int once; /* the first caller sets up; racing callers wait for it */
    int state = __atomic_load_n(&sk__g.ready, __ATOMIC_ACQUIRE);
    if (state == 0 && __atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL) == 0) {
        wsdx_handles_init(&sk__g.table, 0);
        wsdx_mutex_init(&sk__g.post_mu);
        wsdx_mutex_init(&sk__g.lst_mu);
        sock_connector_init();
        wsdx_mutex_init(&sk__g.cb_mu);
        wsdx_cond_init(&sk__g.cb_done);
        int rc = wsdx_notifier_start();
        __atomic_store_n(&sk__g.ready, rc < 0 ? rc : 1, __ATOMIC_RELEASE);
    }
    while ((state = __atomic_load_n(&sk__g.ready, __ATOMIC_ACQUIRE)) == 0)
        wsdx_sleep_ms(1);
    return state < 0 ? state : 0;
}

/* ----------------------------------------------------------------- handles */

sock *sock_new(int kind, int mode, wsdx_fd fd)
{
    sock *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    wsdx_mutex_init(&s->mu);
    wsdx_mutex_init(&s->send_mu);
    s->kind = (uint8_t)kind;
    s->fd = fd;
    s->flags = SF_BLOCKING;
    wsdx_conn_init(&s->core, mode);
    if (wsdx_handles_add(&sk__g.table, &s->h) != 0) {
        wsdx_conn_free(&s->core);
        wsdx_mutex_destroy(&s->mu);
        wsdx_mutex_destroy(&s->send_mu);
        free(s);
        return NULL;
    }
    return s;
}

/* Under the table's lock: sockets still handshaking or queued for accept are
 * not the application's yet. */
static int usable(const wsdx_hobj *o)
{
    const sock *s = (const sock *)o;
    return s->phase != P_HANDSHAKE && s->phase != P_READY;
}

sock *sock_acquire(wsdx_socket h)
{
    if (__atomic_load_n(&sk__g.ready, __ATOMIC_ACQUIRE) != 1)
        return NULL;
    return (sock *)wsdx_handles_acquire(&sk__g.table, h, usable);
}

void sock_ref(sock *s)
{
    wsdx_hobj_ref(&s->h);
}

static void retire(sock *s);

void sock_release(sock *s)
{
    if (wsdx_hobj_unref(&s->h))
        retire(s);
}

void sock_unpublish(sock *s)
{
    __atomic_store_n(&s->closed, 1, __ATOMIC_RELEASE); /* read unlocked by a connect in progress */
    wsdx_handles_remove(&sk__g.table, &s->h);
}

void sock_discard(sock *c)
{
    wsdx_io_reset(c->fd);
    sock_unpublish(c);
    sock_release(c);
}

/* The last reference is gone: the notifier closes and frees it between batches,
 * so no event it already fetched can touch freed memory. */
static void retire(sock *s)
{
    if (s->watching)
        wsdx_unwatch(s->fd);
    s->watching = 0;
    wsdx_mutex_lock(&sk__g.post_mu);
    __atomic_store_n(&s->retired, 1, __ATOMIC_RELEASE); /* read unlocked by wsdx__ready */
    s->retire_next = sk__g.retired;
    sk__g.retired = s;
    wsdx_mutex_unlock(&sk__g.post_mu);
    wsdx_notifier_wake();
}

/* Notifier, between batches: closes and frees a retired socket. */
static void sock_free(sock *s)
{
    if (s->fd != WSDX_BAD_FD)
        wsdx_io_close(s->fd);
    wsdx_conn_free(&s->core);
    free(s->tx);
    if (s->lst) {
        wsdx_cond_destroy(&s->lst->cond);
        free(s->lst);
    }
    wsdx_mutex_destroy(&s->mu);
    wsdx_mutex_destroy(&s->send_mu);
    free(s);
    wsdx_handles_ended(&sk__g.table);
}

void wsdx__batch_end(void)
{
    WSDX_ASSERT(wsdx_on_notifier_thread());
    wsdx_mutex_lock(&sk__g.post_mu);
    sock *s = sk__g.retired;
    sk__g.retired = NULL;
    wsdx_mutex_unlock(&sk__g.post_mu);
    while (s) {
        sock *n = s->retire_next;
        sock_free(s);
        s = n;
    }
}

int sk_open_handles(void)
{
    if (__atomic_load_n(&sk__g.ready, __ATOMIC_ACQUIRE) != 1)
        return 0;
    return wsdx_handles_live(&sk__g.table);
}

void sock_post(sock *s)
{
    sock_ref(s);
    wsdx_mutex_lock(&sk__g.post_mu);
    int queued = s->posted;
    if (!queued) {
        s->posted = 1;
        s->post_next = sk__g.posted;
        sk__g.posted = s;
    }
    wsdx_mutex_unlock(&sk__g.post_mu);
    if (queued)
        sock_release(s);
    else
        wsdx_notifier_wake();
}

/* ------------------------------------------------------------ connections */

wsdx_socket sk_socket_open(int mode)
{
    int rc = sk_init();
    if (rc)
        return rc;
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return -WSDX_WSAEPROTOTYPE;
    sock *s = sock_new(K_SOCKET, mode, WSDX_BAD_FD);
    return s ? s->h.handle : -WSDX_WSAENOBUFS;
}

/* Sends our preamble and checks the server's, before deadline; 0 or -WSA
 * (-WSAEINTR once *cancel is set: the socket was closed meanwhile). */
static int client_handshake(wsdx_fd fd, int mode, int64_t deadline, const uint8_t *cancel)
{
    uint8_t pre[WSDX_PREAMBLE_LEN];
    wsdx_preamble_encode(pre, mode);
    if (wsdx_io_send2(fd, pre, sizeof pre, NULL, 0) != (long)sizeof pre)
        return -WSDX_WSAEPROTONOSUPPORT; /* a new socket takes 8 bytes: the peer already ended it (1.4) */
    size_t have = 0;
    while (have < sizeof pre) {
        long n = wsdx_io_recv(fd, pre + have, sizeof pre - have);
        if (n > 0) {
            have += (size_t)n;
            int rc = wsdx_preamble_verify_prefix(pre, have, mode);
            if (rc)
                return rc;
            continue;
        }
        if (n != -WSDX_WSAEWOULDBLOCK)
            return -WSDX_WSAEPROTONOSUPPORT; /* FIN or RST before 8 bytes */
        int64_t left = deadline - wsdx_now_ms();
        if (wsdx_cancelled(cancel))
            return -WSDX_WSAEINTR;
        if (left <= 0)
            return -WSDX_WSAETIMEDOUT;
        wsdx_io_wait(fd, WSDX_IO_READ, left > WAIT_SLICE_MS ? WAIT_SLICE_MS : (int)left);
    }
    return 0;
}

int sock_connect_locked(sock *s, const char *host, int port, int timeout_ms)
{
    int64_t deadline = wsdx_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
    int mode = s->core.mode;
    wsdx_fd fd = WSDX_BAD_FD;
    wsdx_mutex_unlock(&s->mu);
    /* a close meanwhile ends the wait at once (WSAEINTR, as closesocket does to a blocked call) */
    int rc = wsdx_io_connect(host, port, deadline, &s->closed, &fd);
    if (rc == -WSDX_WSAECONNRESET) /* established, then reset before any preamble byte (protocol.md 1.4) */
        rc = -WSDX_WSAEPROTONOSUPPORT;
    int64_t hs_deadline = wsdx_now_ms() + wsdx_handshake_ms(); /* the handshake time bounds both sides */
    if (!rc && (rc = client_handshake(fd, mode, hs_deadline < deadline ? hs_deadline : deadline, &s->closed)) != 0)
        wsdx_io_reset(fd);
    wsdx_mutex_lock(&s->mu);
    if (s->closed)
        rc = -WSDX_WSAEINTR;
    if (rc) {
        s->phase = P_NEW;
        if (fd != WSDX_BAD_FD)
            wsdx_io_close(fd);
        return rc;
    }
    s->fd = fd;
    s->phase = P_OPEN;
    wsdx_conn_established(&s->core);
    rc = wsdx_watch(fd, s, sock_watch_events(s));
    s->watching = rc == 0;
    return rc;
}

int sk_connect(wsdx_socket h, const char *host, int port, int timeout_ms)
{
    sock *s = sock_acquire(h);
    if (!s)
        return -WSDX_WSAENOTSOCK;
    int rc = s->kind == K_SOCKET ? wsdx_check_peer(host, port) : -WSDX_WSAEINVAL;
    wsdx_mutex_lock(&s->mu);
    if (!rc && s->phase == P_CONNECTING) /* another thread, or the background, is connecting it */
        rc = s->flags & SF_BLOCKING ? -WSDX_WSAEINPROGRESS : -WSDX_WSAEALREADY;
    else if (!rc && s->phase != P_NEW)
        rc = -WSDX_WSAEISCONN;
    if (!rc) {
        s->phase = P_CONNECTING;
        s->connect_due = 0;
        if (s->flags & SF_BLOCKING) {
            rc = sock_connect_locked(s, host, port, timeout_ms);
        } else if ((rc = sock_connect_start(s, host, port, timeout_ms)) != -WSDX_WSAEWOULDBLOCK) {
            s->phase = P_NEW; /* not started */
        }
    }
    wsdx_mutex_unlock(&s->mu);
    sock_release(s);
    return rc;
}

const wsdx_backend_ops wsdx_inprocess_backend = WSDX_BACKEND_TABLE_ALL();
