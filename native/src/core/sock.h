/* sock.h - the in-process backend's internals, shared by its files:
 *   socket.c    handles, lifetime (references, retire, free), connect, the ops table
 *   datapath.c  send/receive: frames out, bytes into the state machine, options
 *   listener.c  listen, the eager accept with the preamble check, accept
 *   notify.c    the notifier's side: readiness, posted work, FD_CLOSE callbacks
 *   closing.c   wsdx_close under the linger policy, and the background graceful close
 * Locks, outermost first: sk__g.lst_mu, a listener's mu, a socket's send_mu,
 * its mu, then the leaf locks sk__g.post_mu, sk__g.cb_mu and the handle table's. */
#ifndef WSDX_SOCK_H
#define WSDX_SOCK_H

#include "backend.h"
#include "invariant.h"
#include "conn.h"
#include "frame.h"
#include "handles.h"
#include "host.h"

#define WAIT_SLICE_MS 50          /* blocked calls re-check for a concurrent close this often */
#define STREAM_FRAME_MAX (256 * 1024)
#define DEFAULT_BACKLOG 4096      /* listen's backlog when none is given (Linux's SOMAXCONN, Netty's default) */
#define ACCEPT_BACKOFF_MS 100     /* a listener whose accept failed (no descriptors) rests this long */
#define SCRATCH 65536
#define DRAIN_MAX_READS 256       /* a drain reads at most this many SCRATCHes (16 MiB) */

/* What a handle names; constant from creation. */
enum sock_kind {
    K_SOCKET,   /* a connection (or one to be connected) */
    K_LISTENER  /* a listener: s->lst is set */
};

/* Where a connection is in its life: THE answer to "what state is this socket
 * in". Changes under s->mu (handshake and accept-queue steps under the
 * listener's mu, as nobody else can see the socket yet). */
enum sock_phase {
    P_NEW,        /* unconnected: wsdx_socket_open */
    P_CONNECTING, /* a thread is in wsdx_connect (no lock held while it waits) */
    P_HANDSHAKE,  /* accepted; waiting for the peer's preamble (not the application's yet) */
    P_READY,      /* preamble checked; waiting in the accept queue (not the application's yet) */
    P_OPEN,       /* connected and the application's; listeners are P_OPEN from creation */
    P_ZOMBIE      /* closed by the application; the notifier sends the queued rest, then FIN */
};

/* Option and I/O bits of sock.flags, all guarded by s->mu. */
enum sock_flag {
    SF_BLOCKING = 1 << 0,    /* calls wait instead of failing WSAEWOULDBLOCK (default on) */
    SF_LINGER = 1 << 1,      /* SO_LINGER on, for linger_s seconds (off: SO_DONTLINGER) */
    SF_RESET = 1 << 2,       /* we reset the connection: it is over */
    SF_FIN_PENDING = 1 << 3, /* FIN goes out once the queued frame rest has */
    SF_MID_FRAME = 1 << 4    /* a blocked sender has part of a frame out: a close resets (item 7) */
};

typedef struct sock sock;

/* A listener's side of its sock. */
typedef struct listener {
    wsdx_cond cond;                /* signalled when ready_head fills or the listener closes */
    sock *ready_head, *ready_tail; /* accept queue (P_READY); self->mu */
    sock *handshakes;              /* P_HANDSHAKE connections; self->mu */
    int64_t rejected;              /* peers refused (wsdx_listener_rejected); self->mu */
    int64_t resume_at;             /* accepting failed (EMFILE...): not watched until then, 0 if watched; self->mu */
    int error;                     /* that failure, for the next wsdx_accept (once per episode); self->mu */
    uint8_t failing;               /* in a failure episode: ends at the next accepted connection; self->mu */
    uint8_t full;                  /* queued reached backlog: the kernel's backlog holds the rest; self->mu */
    int queued;                    /* connections in handshakes and the accept queue; self->mu */
    int backlog;                   /* the most queued may reach (listen's backlog); constant */
    int mode;                      /* WSDX_STREAM or WSDX_MESSAGE; constant */
    sock *self;                    /* the listener's sock; constant */
    struct listener *next;         /* sk__g.listeners; sk__g.lst_mu */
} listener;

struct sock {
    wsdx_hobj h;        /* first: handle and references (handles.h) */
    wsdx_mutex mu;      /* guards the fields below unless one says otherwise */
    wsdx_mutex send_mu; /* one frame at a time: a blocked sender must not be interleaved */
    wsdx_fd fd;         /* WSDX_BAD_FD until connected */
    uint8_t kind;       /* enum sock_kind; constant */
    uint8_t phase;      /* enum sock_phase */
    uint8_t flags;      /* enum sock_flag bits */
    uint8_t closed;     /* the application closed it (handle gone); a blocked call ends WSAEINTR.
                         * s->mu, or the listener's mu for sockets nobody has seen */
    uint8_t watching;   /* the notifier watches fd; set by whoever registered it, cleared by retire */
    uint8_t posted;     /* on sk__g.posted; sk__g.post_mu */
    uint8_t retired;    /* on sk__g.retired, no references left; atomic (read by the notifier) */
    uint8_t zombie_done;/* the background close has finished; the notifier thread's alone */
    uint8_t pre_have;   /* handshake: bytes of the peer's preamble in pre; the listener's mu */
    uint16_t linger_s;  /* SO_LINGER seconds, with SF_LINGER */
    int send_timeout_ms;/* a blocked send gives up after this (0: never); then the connection is aborted */
    wsdx_conn core;     /* the protocol state machine (conn.h) */
    uint8_t *tx;        /* the unsent rest of a frame */
    uint32_t tx_len, tx_off;
    wsdx_close_fn cb;   /* FD_CLOSE callback and its context */
    void *cb_ctx;
    uint8_t pre[WSDX_PREAMBLE_LEN]; /* handshake: the peer's preamble so far */
    int64_t deadline;   /* handshake: the peer's preamble is due by then; the listener's mu */
    sock *owner;        /* handshake: its listener; constant once set */
    sock *next;         /* accept queue or handshake list; the listener's mu */
    sock *post_next;    /* sk__g.posted; sk__g.post_mu */
    sock *retire_next;  /* sk__g.retired; sk__g.post_mu */
    listener *lst;      /* K_LISTENER only; constant */
    wsdx_event_fn sel_fn; /* wsdx_select: callback, context and armed events (select.c) */
    void *sel_ctx;
    uint8_t sel_armed;
    uint8_t nowait;     /* this send must not wait (wsdx_try_send); s->send_mu */
    uint8_t connect_due;/* a background connect ended: FD_CONNECT is due (select.c) */
    int connect_rc;     /* its result: 0 or -WSA (connector.c) */
};

/* The backend's globals. */
struct sk_globals {
    wsdx_handles table;  /* every live sock (its own lock) */
    wsdx_mutex lst_mu;   /* guards listeners; taken before a listener's mu */
    listener *listeners; /* for handshake timeouts (wsdx__timers) */
    wsdx_mutex post_mu;  /* guards posted and retired */
    sock *posted;        /* work for the notifier (sock_post) */
    sock *retired;       /* no references left: freed at the notifier's batch end */
    wsdx_mutex cb_mu;    /* guards in_callback */
    wsdx_cond cb_done;   /* signalled when a callback returns */
    sock *in_callback;   /* the socket whose FD_CLOSE callback runs now */
    int ready;           /* 0 not yet, 1 running, < 0 the notifier failed to start (-WSA); atomic */
};
extern struct sk_globals sk__g;

/* --- socket.c --- */
/* Starts the backend once (racing callers wait); 0 or -WSA. */
int sk_init(void);
/* s->mu held, phase P_CONNECTING: connects and exchanges preambles without
 * the lock, within timeout_ms (<= 0: 30 s); s is P_OPEN and watched on 0,
 * P_NEW again on -WSA (-WSAEINTR when it was closed meanwhile). */
int sock_connect_locked(sock *s, const char *host, int port, int timeout_ms);

/* --- connector.c --- */
/* Once, from sk_init. */
void sock_connector_init(void);
/* s->mu held, phase P_CONNECTING: queues a background connect (a connector
 * thread runs sock_connect_locked, then FD_CONNECT is posted): -WSAEWOULDBLOCK,
 * or -WSA if it could not be queued. */
int sock_connect_start(sock *s, const char *host, int port, int timeout_ms);

/* A new sock in the table (one reference: the table's), or NULL. */
sock *sock_new(int kind, int mode, wsdx_fd fd);
/* A counted reference to the application's socket behind h, or NULL (WSAENOTSOCK). */
sock *sock_acquire(wsdx_socket h);
/* One more reference to s (s must hold one). */
void sock_ref(sock *s);
/* Drops a reference; the last one retires s. */
void sock_release(sock *s);
/* Takes the handle away from the application (later calls: WSAENOTSOCK) and
 * marks s closed. The caller then drops the table's reference. */
void sock_unpublish(sock *s);
/* Ends a socket nobody has seen yet (handshake, accept queue): reset, free. */
void sock_discard(sock *s);
/* Asks the notifier to look at s (deliver FD_CLOSE, say); takes a reference. */
void sock_post(sock *s);

/* --- datapath.c --- */
/* The notifier events s needs now: close, plus write while a frame rest waits. s->mu. */
int sock_watch_events(const sock *s);
/* Reads what the kernel has into the state machine, once or until it would block
 * (drain); 1 if anything arrived or the connection ended. s->mu. */
/* How far sock_pump_input reads: one read; until the kernel has no more,
 * within the memory budget (the notifier's read-out at FIN: past the budget
 * the bytes, and the end behind them, wait for the application's reads); or
 * until it has no more whatever the budget (a close, recv_disconnect: the
 * bytes are dropped or the frame behind them is wanted now). */
enum { PUMP_ONCE, PUMP_DRAIN, PUMP_DRAIN_ALL };
int sock_pump_input(sock *s, int how);
/* Sends the queued frame rest: 0 when empty, -WSAEWOULDBLOCK, or another -WSA. s->mu. */
int sock_flush_tx(sock *s);

/* --- listener.c --- */
/* Notifier: accepts every pending connection of lsn and starts its handshake. */
void sock_accept_all(sock *lsn);
/* Notifier: reads the rest of a handshaking peer's preamble (conn is P_HANDSHAKE). */
void sock_handshake_step(sock *conn);
/* wsdx_close on a listener: drops its queues; 0 or -WSAENOTSOCK. */
int sock_close_listener(sock *lsn);

/* --- notify.c --- */
/* Returns once no FD_CLOSE callback for s runs (at once on the notifier thread). */
void sock_wait_callback_done(sock *s);
/* Notifier, s->mu held: marks s's callback as running and unlocks s->mu;
 * sock_callback_end after the call (sock_wait_callback_done waits for it). */
void sock_callback_begin(sock *s);
void sock_callback_end(void);

/* --- closing.c --- */
/* Notifier: the queued rest went out after a graceful close; sends FIN and
 * drops the notifier's reference. */
void sock_finish_zombie(sock *s);

/* --- select.c --- */
/* Notifier: reports the wsdx_select events of s that are due now; seen are
 * the WSDX_WATCH_* bits the notifier saw (0 for posted work). */
void sock_select_deliver(sock *s, int seen);
/* The WSDX_WATCH_* bits wsdx_select needs on top of the core's own. s->mu. */
int sock_select_watch(const sock *s);
/* 1 when the application armed FD_READ: the notifier then leaves the input to
 * the receive (no read-ahead). s->mu. */
int sock_select_owns_read(const sock *s);
/* (sk_select and sk_try_send, and options.c's calls: backend.h) */

/* The backend's entry points, sk_<call> for each call of backend.h
 * (socket_open, connect and open_handles in socket.c; on_close in notify.c;
 * listen, accept and listener_rejected in listener.c; close in closing.c;
 * the rest in datapath.c). */
#define WSDX_BACKEND_PREFIX(name) sk_##name
WSDX_BACKEND_DECLARE_ALL()

#endif
