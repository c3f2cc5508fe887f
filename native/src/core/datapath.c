/* datapath.c - the in-process backend's data path: frames out (with the
 * unsent rest queued for the notifier), bytes in through the state machine,
 * blocking in slices, and the per-socket options. */
#include "sock.h"

#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- raw I/O */

int sock_watch_events(const sock *s)
{
    return WSDX_WATCH_CLOSE | (s->tx_len ? WSDX_WATCH_WRITE : 0) | sock_select_watch(s);
}

/* The state machine asked for a reset (protocol error): do it now. */
static void reset_if_needed(sock *s)
{
    if (s->core.must_reset && !(s->flags & SF_RESET)) {
        s->flags |= SF_RESET;
        wsdx_io_reset(s->fd);
    }
}

/* Reads what the kernel has into the state machine, as far as how (PUMP_*)
 * says. Stream payload goes straight to dst (cap bytes, *got counts) while
 * nothing is queued. Returns 1 if anything arrived or the connection ended,
 * 0 if nothing did, -1 if it did not read for the memory budget. */
static int pump_input_to(sock *s, int how, uint8_t *dst, size_t cap, size_t *got)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    /* per call, not per thread: a thread-local buffer leaked 64 KiB with every
     * thread that ever received (thread-per-connection servers, the soak) */
    uint8_t *buf = malloc(SCRATCH);
    int progress = 0, reads = 0;
    if (!buf) {
        wsdx_conn_fail(&s->core, WSDX_WSAENOBUFS);
        return 1;
    }
    while (wsdx_conn_wants_input(&s->core)) {
        if (how != PUMP_DRAIN_ALL && !wsdx_rxq_may_grow(&s->core.rx, SCRATCH)) {
            progress = progress ? progress : -1; /* over the memory budget: leave it in the kernel */
            break;
        }
        long n = wsdx_io_recv(s->fd, buf, SCRATCH);
        if (n == -WSDX_WSAEWOULDBLOCK)
            break;
        progress = 1;
        if (n > 0)
            wsdx_conn_ingest_to(&s->core, buf, (size_t)n, dst, cap, got);
        else if (n == 0)
            wsdx_conn_eof(&s->core);
        else
            wsdx_conn_fail(&s->core, (int)-n);
        if (how == PUMP_ONCE || ++reads >= DRAIN_MAX_READS)
            break; /* a flood must not hold a close or the notifier for ever */
    }
    free(buf);
    reset_if_needed(s);
    return progress;
}

int sock_pump_input(sock *s, int how)
{
    size_t got = 0;
    return pump_input_to(s, how, NULL, 0, &got);
}

/* Sends as much of the queued frame rest as the kernel takes: 0 when the
 * queue is empty, -WSAEWOULDBLOCK when some is left, or another -WSA. */
int sock_flush_tx(sock *s)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    while (s->tx_len) {
        long n = wsdx_io_send2(s->fd, s->tx + s->tx_off, s->tx_len, NULL, 0);
        if (n < 0)
            return (int)n;
        s->tx_off += (uint32_t)n;
        s->tx_len -= (uint32_t)n;
    }
    free(s->tx);
    s->tx = NULL;
    s->tx_off = 0;
    return 0;
}

/* A send failed with rc: the connection is lost (unless it only would block
 * or the socket was closed under the call). The first failure recorded is the
 * connection's terminal error: the notifier may have read ETIMEDOUT before
 * this send saw EPIPE, and every call must report the same code (item 4). */
static int send_failed(sock *s, int rc)
{
    if (rc == -WSDX_WSAEWOULDBLOCK || rc == -WSDX_WSAEINTR)
        return rc;
    wsdx_conn_fail(&s->core, -rc);
    sock_post(s);
    return s->core.peer_error ? -s->core.peer_error : rc;
}

/* Keeps the unsent rest of a frame (header then payload) for the notifier; 0 or -WSAENOBUFS. */
static int queue_rest(sock *s, const uint8_t *hdr, size_t hn, const uint8_t *p, size_t pn)
{
    s->tx = malloc(hn + pn);
    if (!s->tx)
        return -WSDX_WSAENOBUFS;
    if (hn)
        memcpy(s->tx, hdr, hn);
    if (pn)
        memcpy(s->tx + hn, p, pn);
    s->tx_len = (uint32_t)(hn + pn);
    s->tx_off = 0;
    wsdx_watch_modify(s->fd, s, sock_watch_events(s));
    return 0;
}

/* Waits (without s->mu) for fd readiness or a deadline. Returns 0 to go on,
 * -WSAEINTR when the socket was closed meanwhile, -WSAETIMEDOUT. */
static int block(sock *s, int what, int64_t deadline)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    int64_t now = wsdx_now_ms();
    if (deadline >= 0 && now >= deadline)
        return -WSDX_WSAETIMEDOUT;
    int slice = WAIT_SLICE_MS;
    if (deadline >= 0 && deadline - now < slice)
        slice = (int)(deadline - now);
    wsdx_mutex_unlock(&s->mu);
    wsdx_io_wait(s->fd, what, slice);
    wsdx_mutex_lock(&s->mu);
    return s->closed ? -WSDX_WSAEINTR : 0;
}

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : wsdx_now_ms() + timeout_ms;
}

/* While bytes keep arriving a receive reads on (a message may span many
 * reads), but at most one wait slice past its deadline: a flood that never
 * completes anything (empty frames) must not hold it (item 2). */
static int overdue(int64_t deadline)
{
    return deadline >= 0 && wsdx_now_ms() >= deadline + WAIT_SLICE_MS;
}

/* The send timeout expired with part of a frame perhaps out: the connection
 * is over. Reset it and record error as its terminal error. */
static void abort_connection(sock *s, int error)
{
    wsdx_conn_fail(&s->core, error);
    s->flags |= SF_RESET;
    wsdx_io_reset(s->fd);
}

/* Sends a whole frame, blocking as the socket's mode says. Returns 0,
 * -WSAEWOULDBLOCK (nothing was sent) or another -WSA. */
static int send_frame(sock *s, int type, const uint8_t *p, size_t n)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    uint8_t hdr[WSDX_FRAME_HEADER_LEN];
    wsdx_frame_header_encode(hdr, type, (uint32_t)n);
    size_t off = 0, total = sizeof hdr + n;
    int64_t deadline = s->send_timeout_ms > 0 ? wsdx_now_ms() + s->send_timeout_ms : -1;
    for (;;) {
        int rc = sock_flush_tx(s);
        if (rc == 0) {
            const uint8_t *a = off < sizeof hdr ? hdr + off : p + (off - sizeof hdr);
            size_t an = off < sizeof hdr ? sizeof hdr - off : total - off;
            const uint8_t *b = off < sizeof hdr ? p : NULL;
            long w = wsdx_io_send2(s->fd, a, an, b, b ? n : 0);
            if (w > 0)
                off += (size_t)w;
            if (off == total)
                return 0;
            rc = w < 0 ? (int)w : -WSDX_WSAEWOULDBLOCK;
        }
        if (rc != -WSDX_WSAEWOULDBLOCK)
            return rc;
        if (s->core.peer_error)
            return -s->core.peer_error; /* the connection's terminal error, not EPIPE's */
        if (!(s->flags & SF_BLOCKING) || s->nowait) {
            if (off == 0)
                return rc;
            /* part of the frame is out: the rest must follow, so keep it */
            if (off < sizeof hdr)
                return queue_rest(s, hdr + off, sizeof hdr - off, p, n);
            return queue_rest(s, NULL, 0, p + (off - sizeof hdr), total - off);
        }
        if (off > 0)
            s->flags |= SF_MID_FRAME;
        rc = block(s, WSDX_IO_WRITE, deadline);
        s->flags &= (uint8_t)~SF_MID_FRAME;
        if (rc == -WSDX_WSAETIMEDOUT)
            abort_connection(s, WSDX_WSAETIMEDOUT);
        if (rc)
            return rc;
    }
}

/* Sends FIN now, or after the queued frame rest has gone. */
static void send_fin(sock *s)
{
    if (s->tx_len)
        s->flags |= SF_FIN_PENDING;
    else
        wsdx_io_shutdown_send(s->fd);
}

int sk_local_port(wsdx_socket h)
{
    sock *s = sock_acquire(h);
    if (!s)
        return -WSDX_WSAENOTSOCK;
    wsdx_mutex_lock(&s->mu);
    int rc = s->phase == P_OPEN ? wsdx_io_local_port(s->fd) : -WSDX_WSAENOTCONN;
    wsdx_mutex_unlock(&s->mu);
    sock_release(s);
    return rc;
}

/* Looks up a connection and locks it (senders first take the send lock);
 * NULL and *rc on failure. */
static sock *enter_as(wsdx_socket h, int *rc, int sender)
{
    sock *s = sock_acquire(h);
    if (!s) {
        *rc = -WSDX_WSAENOTSOCK;
        return NULL;
    }
    if (s->kind != K_SOCKET) {
        sock_release(s);
        *rc = -WSDX_WSAENOTCONN;
        return NULL;
    }
    if (sender)
        wsdx_mutex_lock(&s->send_mu);
    wsdx_mutex_lock(&s->mu);
    if (s->closed) { /* closed while this call waited for the lock: as if before it (S11), not the
                      * end of input that the close's wake would show a receive */
        wsdx_mutex_unlock(&s->mu);
        if (sender)
            wsdx_mutex_unlock(&s->send_mu);
        sock_release(s);
        *rc = -WSDX_WSAENOTSOCK;
        return NULL;
    }
    *rc = 0;
    return s;
}

static sock *enter(wsdx_socket h, int *rc)
{
    return enter_as(h, rc, 0);
}

static int leave_as(sock *s, int rc, int sender)
{
    int report = wsdx_conn_close_due(&s->core) && s->cb;
    wsdx_mutex_unlock(&s->mu);
    if (sender)
        wsdx_mutex_unlock(&s->send_mu);
    if (report)
        sock_post(s); /* this call saw the end first: the notifier reports it */
    sock_release(s);
    return rc;
}

static int leave(sock *s, int rc)
{
    return leave_as(s, rc, 0);
}

int sk_set_blocking(wsdx_socket h, int blocking)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    s->flags = (uint8_t)(blocking ? s->flags | SF_BLOCKING : s->flags & ~SF_BLOCKING);
    return leave(s, 0);
}

int sk_set_linger(wsdx_socket h, int onoff, int seconds)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (onoff && (seconds < 0 || seconds > 65535))
        return leave(s, -WSDX_WSAEINVAL);
    s->flags = (uint8_t)(onoff ? s->flags | SF_LINGER : s->flags & ~SF_LINGER);
    s->linger_s = (uint16_t)(onoff ? seconds : 0);
    return leave(s, 0);
}

int sk_set_abort_timeout(wsdx_socket h, int ms)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (ms < 0)
        rc = -WSDX_WSAEINVAL;
    else if (s->phase != P_OPEN)
        rc = -WSDX_WSAENOTCONN;
    else
        rc = wsdx_io_set_abort_timeout(s->fd, ms);
    return leave(s, rc);
}

int sk_set_send_timeout(wsdx_socket h, int ms)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (ms < 0)
        return leave(s, -WSDX_WSAEINVAL);
    s->send_timeout_ms = ms;
    return leave(s, 0);
}

static int send_data(wsdx_socket h, const void *buf, int len, int nowait);

static int send_disconnect(wsdx_socket h, const void *data, int len, int nowait);

int sk_send(wsdx_socket h, const void *buf, int len)
{
    return send_data(h, buf, len, 0);
}

int sk_try_send(wsdx_socket h, const void *buf, int len)
{
    return send_data(h, buf, len, 1);
}

static int send_data(wsdx_socket h, const void *buf, int len, int nowait)
{
    int rc;
    sock *s = enter_as(h, &rc, 1);
    if (!s)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return leave_as(s, -WSDX_WSAEFAULT, 1);
    if ((rc = wsdx_conn_send_check(&s->core)) != 0)
        return leave_as(s, rc, 1);
    size_t n = (size_t)len;
    if (s->core.mode == WSDX_MESSAGE && n > WSDX_MAX_MESSAGE)
        return leave_as(s, -WSDX_WSAEMSGSIZE, 1);
    if (s->core.mode == WSDX_STREAM && n > STREAM_FRAME_MAX)
        n = STREAM_FRAME_MAX; /* a partial send, as stream sockets may do */
    if (s->core.mode == WSDX_STREAM && n == 0)
        return leave_as(s, 0, 1);
    s->nowait = (uint8_t)nowait; /* read by send_frame; send_mu held throughout */
    rc = send_frame(s, WSDX_FRAME_DATA, buf, n);
    s->nowait = 0;
    if (rc < 0)
        rc = send_failed(s, rc);
    return leave_as(s, rc < 0 ? rc : (int)n, 1);
}

int sk_recv(wsdx_socket h, void *buf, int len, int timeout_ms, int *flags)
{
    int partial = 0;
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return leave(s, -WSDX_WSAEFAULT);
    /* a non-blocking receive may read on while bytes flow, but not for ever */
    int64_t deadline = (s->flags & SF_BLOCKING) ? deadline_after(timeout_ms) : wsdx_now_ms();
    int moved = 0;
    for (;;) {
        rc = wsdx_conn_recv(&s->core, buf, (size_t)len, &partial);
        if (rc != -WSDX_WSAEWOULDBLOCK)
            break;
        /* only after the state machine was asked again: what the last read
         * moved in (an end, a message) must be delivered, not left for a
         * readiness event that will not come (the bytes left the kernel) */
        if (moved && overdue(deadline)) {
            rc = (s->flags & SF_BLOCKING) ? -WSDX_WSAETIMEDOUT : -WSDX_WSAEWOULDBLOCK;
            break;
        }
        size_t got = 0;
        int progress = pump_input_to(s, PUMP_ONCE, buf, (size_t)len, &got);
        if (got > 0) {
            rc = (int)got; /* the fast path: straight from the read into buf */
            break;
        }
        if (progress > 0) {
            moved = 1;
            continue;
        }
        if (!(s->flags & SF_BLOCKING))
            break;
        /* over budget the bytes wait in the kernel, so fd stays readable: sleep a slice instead */
        if ((rc = block(s, progress < 0 ? 0 : WSDX_IO_READ, deadline)) != 0)
            break;
    }
    *flags = partial ? WSDX_MSG_PARTIAL : 0;
    return leave(s, rc);
}

int sk_shutdown(wsdx_socket h, int how)
{
    int rc, fin;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    rc = wsdx_conn_shutdown(&s->core, how, &fin);
    if (rc == 0 && fin)
        send_fin(s);
    return leave(s, rc);
}

int sk_send_disconnect(wsdx_socket h, const void *data, int len)
{
    return send_disconnect(h, data, len, 0);
}

int sk_try_send_disconnect(wsdx_socket h, const void *data, int len)
{
    return send_disconnect(h, data, len, 1);
}

/* The DISCONNECT frame, then FIN. Blocking (whatever the socket's mode) so
 * that a disconnect is never half-done; nowait fails WSAEWOULDBLOCK instead,
 * with nothing sent and sending still open, unless the frame at least starts
 * out at once (its rest then waits in tx, and FIN behind it). */
static int send_disconnect(wsdx_socket h, const void *data, int len, int nowait)
{
    int rc;
    sock *s = enter_as(h, &rc, 1);
    if (!s)
        return rc;
    /* a blocking send lets go of s->mu while it waits, so sending ends first
     * (a shutdown meanwhile must not put a FIN inside the frame); nowait
     * holds s->mu throughout and ends sending only once the frame is out */
    rc = nowait ? wsdx_conn_send_disconnect_check(&s->core, data, len)
                : wsdx_conn_send_disconnect(&s->core, data, len);
    if (rc)
        return leave_as(s, rc, 1);
    uint8_t was = s->flags;
    s->nowait = (uint8_t)nowait; /* read by send_frame; send_mu held throughout */
    if (!nowait)
        s->flags |= SF_BLOCKING;
    rc = send_frame(s, WSDX_FRAME_DISCONNECT, data, (size_t)len);
    s->nowait = 0;
    s->flags = (uint8_t)((s->flags & ~SF_BLOCKING) | (was & SF_BLOCKING));
    if (nowait) {
        if (rc == -WSDX_WSAEWOULDBLOCK)
            return leave_as(s, rc, 1);
        wsdx_conn_send_disconnect(&s->core, data, len); /* checked above, under the same lock */
    }
    if (rc == 0)
        send_fin(s);
    else
        rc = send_failed(s, rc);
    return leave_as(s, rc, 1);
}

int sk_recv_disconnect(wsdx_socket h, void *buf, int cap)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (s->phase == P_OPEN)
        sock_pump_input(s, PUMP_DRAIN_ALL); /* a disconnect frame may still sit in the kernel */
    rc = wsdx_conn_recv_disconnect(&s->core, buf, cap);
    return leave(s, rc);
}
