/* socket.c - the in-process backend of the wsdx API (backend.h) over a host
 * (host.h): handles, blocking, send queues, the preamble exchange, linger
 * closes and FD_CLOSE delivery. Per-connection protocol state lives in conn.c. */
#include "backend.h"
#include "conn.h"
#include "frame.h"
#include "host.h"
#include "linger.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_SLICE_MS 50          /* blocked calls re-check for a concurrent close this often */
#define HANDSHAKE_MS 10000        /* a peer must send its preamble within this */
#define STREAM_FRAME_MAX (256 * 1024)
#define SCRATCH 65536

enum kind { K_SOCKET, K_LISTENER };
enum phase {
    P_NEW,       /* unconnected */
    P_HANDSHAKE, /* accepted; waiting for the peer's preamble */
    P_READY,     /* preamble checked; waiting in the accept queue */
    P_OPEN,      /* connected and the application's */
    P_ZOMBIE     /* closed by the application; the notifier finishes a graceful close */
};

typedef struct sock sock;

typedef struct listener {
    wsdx_cond cond;
    sock *ready_head, *ready_tail; /* accept queue */
    sock *handshakes;              /* connections still sending their preamble */
    int64_t rejected;
    int mode;
    sock *self;
    struct listener *next; /* g.listeners, guarded by g.lst_mu */
} listener;

struct sock {
    wsdx_mutex mu;
    wsdx_mutex send_mu; /* one frame at a time: a blocked sender must not be interleaved */
    wsdx_socket handle;
    wsdx_fd fd;
    uint8_t kind, phase, blocking, closed, retired, posted, reset;
    uint8_t linger_on, pre_have, watching, fin_pending, connecting, zombie_done;
    uint16_t linger_s;
    int refs; /* guarded by g.table_mu */
    wsdx_conn core;
    uint8_t *tx;        /* the unsent rest of a frame */
    uint32_t tx_len, tx_off;
    wsdx_close_fn cb;
    void *cb_ctx;
    uint8_t pre[WSDX_PREAMBLE_LEN];
    int64_t deadline;   /* handshake */
    sock *owner;        /* handshake: its listener */
    sock *next;         /* accept queue or handshake list (its listener's mu) */
    sock *post_next;    /* g.posted (g.post_mu) */
    sock *retire_next;  /* g.retired (g.post_mu) */
    listener *lst;
};

typedef struct {
    sock *s;
    uint32_t gen;
    uint32_t next_free;
} slot;

static struct {
    wsdx_mutex table_mu;
    slot *slots;
    uint32_t nslots, free_head, live;
    wsdx_mutex lst_mu; /* guards listeners; taken before a listener's mu */
    listener *listeners;
    wsdx_mutex post_mu; /* guards the two lists below */
    sock *posted, *retired;
    wsdx_mutex cb_mu;
    wsdx_cond cb_done;
    sock *in_callback;
    int ready;
} g;

static _Thread_local uint8_t *t_scratch;

/* ---------------------------------------------------------------- errors */

/* api.c records the calling thread's last error; here a failure is just -code. */
static int fail(int code)
{
    return -code;
}

/* ------------------------------------------------------------------ setup */

/* g.ready: 0 not yet, 1 running, < 0 the notifier failed to start (-WSA). */
static int init(void)
{
    static int once; /* the first caller sets up; racing callers wait for it */
    int state = __atomic_load_n(&g.ready, __ATOMIC_ACQUIRE);
    if (state == 0 && __atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL) == 0) {
        wsdx_mutex_init(&g.table_mu);
        wsdx_mutex_init(&g.post_mu);
        wsdx_mutex_init(&g.lst_mu);
        wsdx_mutex_init(&g.cb_mu);
        wsdx_cond_init(&g.cb_done);
        g.free_head = UINT32_MAX;
        int rc = wsdx_notifier_start();
        __atomic_store_n(&g.ready, rc ? -rc : 1, __ATOMIC_RELEASE);
    }
    while ((state = __atomic_load_n(&g.ready, __ATOMIC_ACQUIRE)) == 0)
        wsdx_sleep_ms(1);
    return state < 0 ? -state : 0;
}

/* ----------------------------------------------------------------- handles */

static wsdx_socket make_handle(uint32_t idx, uint32_t gen)
{
    return (wsdx_socket)(((uint64_t)gen << 32) | idx);
}

static sock *sock_new(int kind, int mode, wsdx_fd fd)
{
    sock *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    wsdx_mutex_init(&s->mu);
    wsdx_mutex_init(&s->send_mu);
    s->kind = (uint8_t)kind;
    s->fd = fd;
    s->blocking = 1;
    s->refs = 1; /* the table's */
    wsdx_conn_init(&s->core, mode);
    wsdx_mutex_lock(&g.table_mu);
    uint32_t idx = g.free_head;
    if (idx != UINT32_MAX) {
        g.free_head = g.slots[idx].next_free;
    } else {
        if (g.nslots % 1024 == 0) {
            slot *n = realloc(g.slots, (g.nslots + 1024) * sizeof *n);
            if (!n) {
                wsdx_mutex_unlock(&g.table_mu);
                wsdx_conn_free(&s->core);
                wsdx_mutex_destroy(&s->mu);
                wsdx_mutex_destroy(&s->send_mu);
                free(s);
                return NULL;
            }
            g.slots = n;
        }
        idx = g.nslots++;
        g.slots[idx].gen = 0;
    }
    g.slots[idx].gen = (g.slots[idx].gen + 1) & 0x7fffffff; /* handles stay positive */
    if (g.slots[idx].gen == 0)
        g.slots[idx].gen = 1;
    g.slots[idx].s = s;
    s->handle = make_handle(idx, g.slots[idx].gen);
    g.live++;
    wsdx_mutex_unlock(&g.table_mu);
    return s;
}

/* A counted reference to the socket behind h, or NULL (WSAENOTSOCK). */
static sock *acquire(wsdx_socket h)
{
    uint32_t idx = (uint32_t)((uint64_t)h & 0xffffffffu);
    uint32_t gen = (uint32_t)((uint64_t)h >> 32);
    sock *s = NULL;
    if (h <= 0 || __atomic_load_n(&g.ready, __ATOMIC_ACQUIRE) != 1)
        return NULL;
    wsdx_mutex_lock(&g.table_mu);
    if (idx < g.nslots && g.slots[idx].gen == gen && g.slots[idx].s) {
        s = g.slots[idx].s;
        if (s->phase == P_HANDSHAKE || s->phase == P_READY)
            s = NULL; /* not the application's yet */
        else
            s->refs++;
    }
    wsdx_mutex_unlock(&g.table_mu);
    return s;
}

static void retire(sock *s);

static void release(sock *s)
{
    wsdx_mutex_lock(&g.table_mu);
    int last = --s->refs == 0;
    wsdx_mutex_unlock(&g.table_mu);
    if (last)
        retire(s);
}

/* Takes the handle away from the application (later calls: WSAENOTSOCK).
 * The caller then drops the table's reference with release(). */
static void unpublish(sock *s)
{
    uint32_t idx = (uint32_t)((uint64_t)s->handle & 0xffffffffu);
    s->closed = 1;
    wsdx_mutex_lock(&g.table_mu);
    if (g.slots[idx].s == s) {
        g.slots[idx].s = NULL;
        g.slots[idx].next_free = g.free_head;
        g.free_head = idx;
    }
    wsdx_mutex_unlock(&g.table_mu);
}

/* Ends a socket nobody has seen yet (handshake, accept queue): reset, free. */
static void discard(sock *c)
{
    wsdx_io_reset(c->fd);
    unpublish(c);
    release(c);
}

/* The last reference is gone: the notifier closes and frees it between batches,
 * so no event it already fetched can touch freed memory. */
static void retire(sock *s)
{
    if (s->watching)
        wsdx_unwatch(s->fd);
    s->watching = 0;
    wsdx_mutex_lock(&g.post_mu);
    __atomic_store_n(&s->retired, 1, __ATOMIC_RELEASE); /* read unlocked by wsdx__ready */
    s->retire_next = g.retired;
    g.retired = s;
    wsdx_mutex_unlock(&g.post_mu);
    wsdx_notifier_wake();
}

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
    wsdx_mutex_lock(&g.table_mu);
    g.live--;
    wsdx_mutex_unlock(&g.table_mu);
}

void wsdx__batch_end(void)
{
    wsdx_mutex_lock(&g.post_mu);
    sock *s = g.retired;
    g.retired = NULL;
    wsdx_mutex_unlock(&g.post_mu);
    while (s) {
        sock *n = s->retire_next;
        sock_free(s);
        s = n;
    }
}

static int sk_open_handles(void)
{
    if (__atomic_load_n(&g.ready, __ATOMIC_ACQUIRE) != 1)
        return 0;
    wsdx_mutex_lock(&g.table_mu);
    int n = (int)g.live;
    wsdx_mutex_unlock(&g.table_mu);
    return n;
}

/* Asks the notifier to look at s (deliver FD_CLOSE, say). */
static void post(sock *s)
{
    wsdx_mutex_lock(&g.table_mu);
    s->refs++;
    wsdx_mutex_unlock(&g.table_mu);
    wsdx_mutex_lock(&g.post_mu);
    int queued = s->posted;
    if (!queued) {
        s->posted = 1;
        s->post_next = g.posted;
        g.posted = s;
    }
    wsdx_mutex_unlock(&g.post_mu);
    if (queued)
        release(s);
    else
        wsdx_notifier_wake();
}

/* -------------------------------------------------------------- raw I/O */

static uint8_t *scratch(void)
{
    if (!t_scratch)
        t_scratch = malloc(SCRATCH);
    return t_scratch;
}

static int watch_events(const sock *s)
{
    return WSDX_WATCH_CLOSE | (s->tx_len ? WSDX_WATCH_WRITE : 0);
}

/* The state machine asked for a reset (protocol error): do it now. */
static void reset_if_needed(sock *s)
{
    if (s->core.must_reset && !s->reset) {
        s->reset = 1;
        wsdx_io_reset(s->fd);
    }
}

/* Reads what the kernel has into the state machine: once, or until it would
 * block (drain). Stream payload goes straight to dst (cap bytes, *got counts)
 * while nothing is queued. Returns 1 if anything arrived or the connection ended. */
static int pump_input_to(sock *s, int drain, uint8_t *dst, size_t cap, size_t *got)
{
    uint8_t *buf = scratch();
    int progress = 0;
    if (!buf) {
        wsdx_conn_fail(&s->core, WSDX_WSAENOBUFS);
        return 1;
    }
    while (wsdx_conn_wants_input(&s->core)) {
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
        if (!drain)
            break;
    }
    reset_if_needed(s);
    return progress;
}

static int pump_input(sock *s, int drain)
{
    size_t got = 0;
    return pump_input_to(s, drain, NULL, 0, &got);
}

/* Sends as much of the queued frame rest as the kernel takes: 0 when the
 * queue is empty, -WSAEWOULDBLOCK when some is left, or another -WSA. */
static int flush_tx(sock *s)
{
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

static void send_failed(sock *s, int code)
{
    if (code != WSDX_WSAEWOULDBLOCK) {
        wsdx_conn_fail(&s->core, code);
        post(s);
    }
}

/* Keeps the unsent rest of a frame (header then payload) for the notifier. */
static int queue_rest(sock *s, const uint8_t *hdr, size_t hn, const uint8_t *p, size_t pn)
{
    s->tx = malloc(hn + pn);
    if (!s->tx)
        return WSDX_WSAENOBUFS;
    if (hn)
        memcpy(s->tx, hdr, hn);
    if (pn)
        memcpy(s->tx + hn, p, pn);
    s->tx_len = (uint32_t)(hn + pn);
    s->tx_off = 0;
    wsdx_watch_modify(s->fd, s, watch_events(s));
    return 0;
}

/* Waits (without s->mu) for fd readiness or a deadline. Returns 0 to go on,
 * -WSAEINTR when the socket was closed meanwhile, -WSAETIMEDOUT. */
static int block(sock *s, int what, int64_t deadline)
{
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

/* Sends a whole frame, blocking as the socket's mode says. Returns 0,
 * -WSAEWOULDBLOCK (nothing was sent) or another -WSA. */
static int send_frame(sock *s, int type, const uint8_t *p, size_t n)
{
    uint8_t hdr[WSDX_FRAME_HEADER_LEN];
    wsdx_frame_header_encode(hdr, type, (uint32_t)n);
    size_t off = 0, total = sizeof hdr + n;
    for (;;) {
        int rc = flush_tx(s);
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
        if (!s->blocking) {
            if (off == 0)
                return rc;
            /* part of the frame is out: the rest must follow, so keep it */
            if (off < sizeof hdr)
                return -queue_rest(s, hdr + off, sizeof hdr - off, p, n);
            return -queue_rest(s, NULL, 0, p + (off - sizeof hdr), total - off);
        }
        rc = block(s, WSDX_IO_WRITE, -1);
        if (rc)
            return rc;
    }
}

/* Sends FIN now, or after the queued frame rest has gone. */
static void send_fin(sock *s)
{
    if (s->tx_len)
        s->fin_pending = 1;
    else
        wsdx_io_shutdown_send(s->fd);
}

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
    wsdx_close_fn cb = s->cb;
    void *ctx = s->cb_ctx;
    wsdx_mutex_lock(&g.cb_mu);
    g.in_callback = s;
    wsdx_mutex_unlock(&g.cb_mu);
    wsdx_mutex_unlock(&s->mu);
    cb(s->handle, error, flags, ctx);
    wsdx_mutex_lock(&g.cb_mu);
    g.in_callback = NULL;
    wsdx_cond_broadcast(&g.cb_done);
    wsdx_mutex_unlock(&g.cb_mu);
}

/* So that no callback for s runs once wsdx_close has returned. */
static void wait_callback_done(sock *s)
{
    if (wsdx_on_notifier_thread())
        return;
    wsdx_mutex_lock(&g.cb_mu);
    while (g.in_callback == s)
        wsdx_cond_wait(&g.cb_done, &g.cb_mu, -1);
    wsdx_mutex_unlock(&g.cb_mu);
}

static int sk_on_close(wsdx_socket h, wsdx_close_fn fn, void *ctx)
{
    sock *s = acquire(h);
    if (!s)
        return fail(WSDX_WSAENOTSOCK);
    wsdx_mutex_lock(&s->mu);
    int rc = s->kind == K_SOCKET ? 0 : -WSDX_WSAEOPNOTSUPP;
    if (rc == 0) {
        s->cb = fn;
        s->cb_ctx = ctx;
    }
    wsdx_mutex_unlock(&s->mu);
    if (rc == 0 && fn)
        post(s); /* delivers at once if the close already happened */
    release(s);
    return rc;
}

/* ------------------------------------------------------------- notifier side */

static void finish_zombie(sock *s);
static void handshake_step(sock *s);
static void accept_all(sock *l);

void wsdx__ready(void *tag, int events)
{
    sock *s = tag;
    if (__atomic_load_n(&s->retired, __ATOMIC_ACQUIRE) || s->zombie_done)
        return;
    if (s->kind == K_LISTENER) {
        accept_all(s);
        return;
    }
    wsdx_mutex_lock(&s->mu);
    if (s->phase == P_HANDSHAKE) {
        wsdx_mutex_unlock(&s->mu);
        handshake_step(s);
        return;
    }
    if (events & WSDX_WATCH_WRITE && s->tx_len) {
        int rc = flush_tx(s);
        if (rc == 0) {
            if (s->fin_pending)
                wsdx_io_shutdown_send(s->fd);
            if (s->phase != P_ZOMBIE)
                wsdx_watch_modify(s->fd, s, watch_events(s));
        } else if (rc != -WSDX_WSAEWOULDBLOCK) {
            wsdx_conn_fail(&s->core, -rc);
            s->tx_len = 0;
        }
    }
    if (events & (WSDX_WATCH_CLOSE | WSDX_WATCH_READ))
        pump_input(s, 1); /* drain: all data before the FIN becomes readable (R5) */
    int zombie_done = s->phase == P_ZOMBIE && !s->tx_len;
    wsdx_mutex_unlock(&s->mu);
    if (zombie_done)
        finish_zombie(s);
    else
        deliver(s);
}

void wsdx__posted(void)
{
    wsdx_mutex_lock(&g.post_mu);
    sock *s = g.posted;
    g.posted = NULL;
    wsdx_mutex_unlock(&g.post_mu);
    while (s) {
        /* read the link before clearing posted: a new post() may relink it */
        wsdx_mutex_lock(&g.post_mu);
        sock *n = s->post_next;
        s->posted = 0;
        wsdx_mutex_unlock(&g.post_mu);
        deliver(s);
        release(s);
        s = n;
    }
}

/* --------------------------------------------------------------- listeners */

static void reject(sock *l, sock *c)
{
    l->lst->rejected++;
    discard(c);
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

static void accept_all(sock *l)
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
            handshake_step(c); /* the client's preamble is often here already: no extra wake-up */
    }
}

/* Reads the rest of the peer's preamble (and not a byte more). */
static void handshake_step(sock *c)
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
        err = WSDX_WSAEPROTONOSUPPORT; /* ended before a whole preamble */
    if (!err && c->pre_have == WSDX_PREAMBLE_LEN)
        err = wsdx_preamble_check(c->pre, l->lst->mode);
    if (err || c->pre_have == WSDX_PREAMBLE_LEN) {
        unlink_handshake(l->lst, c);
        if (err) {
            reject(l, c);
        } else {
            wsdx_conn_established(&c->core);
            c->phase = P_READY;
            wsdx_watch_modify(c->fd, c, watch_events(c));
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
    wsdx_mutex_lock(&g.lst_mu);
    for (listener *L = g.listeners; L; L = L->next) {
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
    wsdx_mutex_unlock(&g.lst_mu);
    return next;
}

static void list_listener(listener *L, int add)
{
    wsdx_mutex_lock(&g.lst_mu);
    listener **pp = &g.listeners;
    while (*pp && *pp != L)
        pp = &(*pp)->next;
    if (add && !*pp) {
        L->next = g.listeners;
        g.listeners = L;
    } else if (!add && *pp) {
        *pp = L->next;
    }
    wsdx_mutex_unlock(&g.lst_mu);
}

static wsdx_socket sk_listen(const char *host, int port, int mode, int backlog)
{
    int rc = init();
    if (rc)
        return fail(rc);
    if (!host || port < 0 || port > 65535)
        return fail(WSDX_WSAEINVAL);
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return fail(WSDX_WSAEPROTOTYPE);
    wsdx_fd fd;
    rc = wsdx_io_listen(host, port, backlog > 0 ? backlog : 128, &fd);
    if (rc)
        return fail(-rc);
    listener *L = calloc(1, sizeof *L);
    sock *l = L ? sock_new(K_LISTENER, mode, fd) : NULL;
    if (!l) {
        free(L);
        wsdx_io_close(fd);
        return fail(WSDX_WSAENOBUFS);
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
        unpublish(l);
        release(l);
        return fail(-rc);
    }
    list_listener(L, 1);
    return l->handle;
}

static wsdx_socket sk_accept(wsdx_socket lh, int timeout_ms)
{
    sock *l = acquire(lh);
    if (!l)
        return fail(WSDX_WSAENOTSOCK);
    if (l->kind != K_LISTENER) {
        release(l);
        return fail(WSDX_WSAEINVAL);
    }
    int64_t deadline = timeout_ms < 0 ? -1 : wsdx_now_ms() + timeout_ms;
    sock *c = NULL;
    int rc = 0;
    wsdx_mutex_lock(&l->mu);
    for (;;) {
        if (l->closed) {
            rc = WSDX_WSAEINTR;
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
            rc = WSDX_WSAEWOULDBLOCK;
            break;
        }
        if (deadline >= 0 && wsdx_now_ms() >= deadline) {
            rc = WSDX_WSAETIMEDOUT;
            break;
        }
        wsdx_cond_wait(&l->lst->cond, &l->mu, deadline);
    }
    wsdx_mutex_unlock(&l->mu);
    release(l);
    return c ? c->handle : fail(rc);
}

static int64_t sk_listener_rejected(wsdx_socket lh)
{
    sock *l = acquire(lh);
    if (!l)
        return fail(WSDX_WSAENOTSOCK);
    int64_t n = -WSDX_WSAEINVAL;
    wsdx_mutex_lock(&l->mu);
    if (l->kind == K_LISTENER)
        n = l->lst->rejected;
    wsdx_mutex_unlock(&l->mu);
    release(l);
    return n < 0 ? fail(-(int)n) : n;
}

static void drop_list(sock *c)
{
    while (c) {
        sock *n = c->next;
        c->next = NULL;
        discard(c);
        c = n;
    }
}

static int close_listener(sock *l)
{
    list_listener(l->lst, 0);
    wsdx_mutex_lock(&l->mu);
    if (l->closed) {
        wsdx_mutex_unlock(&l->mu);
        return -WSDX_WSAENOTSOCK;
    }
    unpublish(l);
    drop_list(l->lst->handshakes);
    drop_list(l->lst->ready_head);
    l->lst->handshakes = l->lst->ready_head = l->lst->ready_tail = NULL;
    wsdx_cond_broadcast(&l->lst->cond);
    wsdx_mutex_unlock(&l->mu);
    return 0;
}

/* ------------------------------------------------------------ connections */

static wsdx_socket sk_socket_open(int mode)
{
    int rc = init();
    if (rc)
        return fail(rc);
    if (mode != WSDX_STREAM && mode != WSDX_MESSAGE)
        return fail(WSDX_WSAEPROTOTYPE);
    sock *s = sock_new(K_SOCKET, mode, WSDX_BAD_FD);
    return s ? s->handle : fail(WSDX_WSAENOBUFS);
}

/* Sends our preamble and checks the server's, before deadline. */
static int client_handshake(wsdx_fd fd, int mode, int64_t deadline)
{
    uint8_t pre[WSDX_PREAMBLE_LEN];
    wsdx_preamble_encode(pre, mode);
    if (wsdx_io_send2(fd, pre, sizeof pre, NULL, 0) != (long)sizeof pre)
        return WSDX_WSAECONNABORTED;
    size_t have = 0;
    while (have < sizeof pre) {
        long n = wsdx_io_recv(fd, pre + have, sizeof pre - have);
        if (n > 0) {
            have += (size_t)n;
            continue;
        }
        if (n == 0)
            return WSDX_WSAEPROTONOSUPPORT;
        if (n != -WSDX_WSAEWOULDBLOCK)
            return (int)-n;
        int64_t left = deadline - wsdx_now_ms();
        if (left <= 0)
            return WSDX_WSAETIMEDOUT;
        wsdx_io_wait(fd, WSDX_IO_READ, left > WAIT_SLICE_MS ? WAIT_SLICE_MS : (int)left);
    }
    return wsdx_preamble_check(pre, mode);
}

static int sk_connect(wsdx_socket h, const char *host, int port, int timeout_ms)
{
    sock *s = acquire(h);
    if (!s)
        return fail(WSDX_WSAENOTSOCK);
    int rc = 0;
    if (s->kind != K_SOCKET || !host || port <= 0 || port > 65535)
        rc = WSDX_WSAEINVAL;
    wsdx_mutex_lock(&s->mu);
    if (!rc && s->phase != P_NEW)
        rc = WSDX_WSAEISCONN;
    if (!rc && s->connecting)
        rc = WSDX_WSAEINPROGRESS; /* another thread is connecting it */
    int mode = s->core.mode;
    wsdx_fd fd = WSDX_BAD_FD;
    if (!rc) {
        int64_t deadline = wsdx_now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
        s->connecting = 1;
        wsdx_mutex_unlock(&s->mu);
        rc = -wsdx_io_connect(host, port, deadline, &fd);
        if (!rc && (rc = client_handshake(fd, mode, deadline)) != 0)
            wsdx_io_reset(fd);
        wsdx_mutex_lock(&s->mu);
        s->connecting = 0;
        if (!rc && s->closed)
            rc = WSDX_WSAEINTR;
        if (rc) {
            if (fd != WSDX_BAD_FD)
                wsdx_io_close(fd);
        } else {
            s->fd = fd;
            s->phase = P_OPEN;
            wsdx_conn_established(&s->core);
            rc = -wsdx_watch(fd, s, watch_events(s));
            s->watching = rc == 0;
        }
    }
    wsdx_mutex_unlock(&s->mu);
    release(s);
    return rc ? fail(rc) : 0;
}

static int sk_local_port(wsdx_socket h)
{
    sock *s = acquire(h);
    if (!s)
        return fail(WSDX_WSAENOTSOCK);
    wsdx_mutex_lock(&s->mu);
    int rc = s->phase == P_OPEN ? wsdx_io_local_port(s->fd) : -WSDX_WSAENOTCONN;
    wsdx_mutex_unlock(&s->mu);
    release(s);
    return rc;
}

/* Looks up a connection and locks it (senders first take the send lock);
 * NULL and *rc on failure. */
static sock *enter_as(wsdx_socket h, int *rc, int sender)
{
    sock *s = acquire(h);
    if (!s) {
        *rc = -WSDX_WSAENOTSOCK;
        return NULL;
    }
    if (s->kind != K_SOCKET) {
        release(s);
        *rc = -WSDX_WSAENOTCONN;
        return NULL;
    }
    if (sender)
        wsdx_mutex_lock(&s->send_mu);
    wsdx_mutex_lock(&s->mu);
    *rc = 0;
    return s;
}

static sock *enter(wsdx_socket h, int *rc)
{
    return enter_as(h, rc, 0);
}

static int leave_as(sock *s, int rc, int sender)
{
    int ended = s->core.peer_error || s->core.peer_fin;
    int report = ended && !s->core.close_reported && s->cb;
    wsdx_mutex_unlock(&s->mu);
    if (sender)
        wsdx_mutex_unlock(&s->send_mu);
    if (report)
        post(s); /* this call saw the end first: the notifier reports it */
    release(s);
    return rc;
}

static int leave(sock *s, int rc)
{
    return leave_as(s, rc, 0);
}

static int sk_set_blocking(wsdx_socket h, int blocking)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    s->blocking = blocking != 0;
    return leave(s, 0);
}

static int sk_set_linger(wsdx_socket h, int onoff, int seconds)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (onoff && (seconds < 0 || seconds > 65535))
        return leave(s, -WSDX_WSAEINVAL);
    s->linger_on = onoff != 0;
    s->linger_s = (uint16_t)(onoff ? seconds : 0);
    return leave(s, 0);
}

static int sk_set_abort_timeout(wsdx_socket h, int ms)
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

static int sk_send(wsdx_socket h, const void *buf, int len)
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
    rc = send_frame(s, WSDX_FRAME_DATA, buf, n);
    if (rc < 0)
        send_failed(s, -rc);
    return leave_as(s, rc < 0 ? rc : (int)n, 1);
}

static int sk_recv(wsdx_socket h, void *buf, int len, int timeout_ms)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (len < 0 || (len > 0 && !buf))
        return leave(s, -WSDX_WSAEFAULT);
    int64_t deadline = deadline_after(timeout_ms);
    for (;;) {
        rc = wsdx_conn_recv(&s->core, buf, (size_t)len);
        if (rc != -WSDX_WSAEWOULDBLOCK)
            break;
        size_t got = 0;
        int progress = pump_input_to(s, 0, buf, (size_t)len, &got);
        if (got > 0) {
            rc = (int)got; /* the fast path: straight from the read into buf */
            break;
        }
        if (progress)
            continue;
        if (!s->blocking)
            break;
        if ((rc = block(s, WSDX_IO_READ, deadline)) != 0)
            break;
    }
    return leave(s, rc);
}

static int sk_shutdown(wsdx_socket h, int how)
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

static int sk_send_disconnect(wsdx_socket h, const void *data, int len)
{
    int rc;
    sock *s = enter_as(h, &rc, 1);
    if (!s)
        return rc;
    if ((rc = wsdx_conn_send_disconnect(&s->core, data, len)) != 0)
        return leave_as(s, rc, 1);
    int was_blocking = s->blocking;
    s->blocking = 1; /* a small frame; the disconnect must not be half-done */
    rc = send_frame(s, WSDX_FRAME_DISCONNECT, data, (size_t)len);
    s->blocking = (uint8_t)was_blocking;
    if (rc == 0)
        send_fin(s);
    else
        send_failed(s, -rc);
    return leave_as(s, rc, 1);
}

static int sk_recv_disconnect(wsdx_socket h, void *buf, int cap)
{
    int rc;
    sock *s = enter(h, &rc);
    if (!s)
        return rc;
    if (s->phase == P_OPEN)
        pump_input(s, 1); /* a disconnect frame may still sit in the kernel */
    rc = wsdx_conn_recv_disconnect(&s->core, buf, cap);
    return leave(s, rc);
}

/* ------------------------------------------------------------------ close */

/* Notifier: the queued rest went out after a graceful close; finish it. */
static void finish_zombie(sock *s)
{
    wsdx_mutex_lock(&s->mu);
    s->zombie_done = 1; /* later edges for it are ignored: the notifier's reference goes once */
    wsdx_io_shutdown_send(s->fd);
    pump_input(s, 1); /* unread input would turn the FIN into a reset */
    wsdx_mutex_unlock(&s->mu);
    release(s);
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
        int rc = flush_tx(s);
        if (rc && rc != -WSDX_WSAEWOULDBLOCK)
            return rc;
        if (rc && pause_for(s, WSDX_IO_WRITE, deadline))
            return -WSDX_WSAETIMEDOUT;
    }
    if (!s->core.send_shut || s->fin_pending)
        wsdx_io_shutdown_send(s->fd);
    s->fin_pending = 0;
    while (wsdx_io_unsent(s->fd) > 0) {
        if (pause_for(s, 0, deadline))
            return -WSDX_WSAETIMEDOUT;
    }
    return 0;
}

static int close_connection(sock *s)
{
    size_t unsent = s->tx_len + (s->phase == P_OPEN ? wsdx_io_unsent(s->fd) : 0);
    enum wsdx_close_plan plan = s->phase != P_OPEN ? WSDX_CLOSE_GRACEFUL :
        wsdx_linger_plan(s->linger_on, s->linger_s, s->blocking, unsent);
    if (plan == WSDX_CLOSE_WOULDBLOCK)
        return -WSDX_WSAEWOULDBLOCK; /* S10: stays open */
    unpublish(s);
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
        s->reset = 1;
        wsdx_io_reset(s->fd);
        return 0;
    }
    if (s->tx_len) { /* S7: the notifier sends the rest, then FIN */
        s->phase = P_ZOMBIE;
        s->fin_pending = 1;
        wsdx_mutex_lock(&g.table_mu);
        s->refs++;
        wsdx_mutex_unlock(&g.table_mu);
        wsdx_watch_modify(s->fd, s, WSDX_WATCH_WRITE | WSDX_WATCH_CLOSE);
        return 0;
    }
    if (!s->core.send_shut)
        wsdx_io_shutdown_send(s->fd);
    pump_input(s, 1); /* unread input would turn the FIN into a reset */
    wsdx_io_wake(s->fd);
    return 0;
}

static int sk_close(wsdx_socket h)
{
    sock *s = acquire(h);
    if (!s)
        return fail(WSDX_WSAENOTSOCK);
    int rc;
    if (s->kind == K_LISTENER) {
        rc = close_listener(s);
    } else {
        wsdx_mutex_lock(&s->mu);
        rc = s->closed ? -WSDX_WSAENOTSOCK : close_connection(s);
        wsdx_mutex_unlock(&s->mu);
    }
    if (rc == 0) {
        wait_callback_done(s);
        release(s); /* the table's reference */
    }
    release(s);
    return rc;
}

const wsdx_backend_ops wsdx_inprocess_backend = {
    .socket_open = sk_socket_open,
    .connect = sk_connect,
    .listen = sk_listen,
    .local_port = sk_local_port,
    .accept = sk_accept,
    .listener_rejected = sk_listener_rejected,
    .set_blocking = sk_set_blocking,
    .send = sk_send,
    .recv = sk_recv,
    .shutdown = sk_shutdown,
    .send_disconnect = sk_send_disconnect,
    .recv_disconnect = sk_recv_disconnect,
    .set_linger = sk_set_linger,
    .set_abort_timeout = sk_set_abort_timeout,
    .close = sk_close,
    .on_close = sk_on_close,
    .open_handles = sk_open_handles,
};
