/* wsock.h - a wsdx protocol entry's socket (wsock), shared by the WSP
 * entry points (proto_*.c) and the extension functions (extensions.c):
 * its state, its pending overlapped requests, and the few operations the
 * extension functions need. Internal to the provider. */
#ifndef WSDX_WSOCK_H
#define WSDX_WSOCK_H

#include "lsp.h"

#include <mswsock.h>
#include <ws2tcpip.h>

#include "conn.h"
#include "frame.h" /* wsdx_handshake_ms */
#include "wsdx.h"

#include <stdint.h>

#define SLICE_MS 200
#define CONNECT_MS 30000
#define TXQ_MAX (4 * 1024 * 1024)
/* what the lower socket reports to us, whatever the application selected */
#define LOWER_EVENTS (FD_READ | FD_WRITE | FD_CLOSE | FD_ACCEPT | FD_CONNECT)

/* A pending overlapped request. It holds a reference on its wsock: the
 * context lives until the last request completes (or is aborted by close).
 * Who guards a field: "set once" (before the request is on a list), "list"
 * (the owning wsock's lock, while on its rxops/txops/acceptops/connect_op),
 * "taker" (the one thread that took it off its list and completes it). */
typedef struct ovl {
    struct ovl *next;           /* list: the next request, oldest first */
    struct wsock *w;            /* set once (AcceptEx with data: moved to the accept socket by its taker) */
    LPWSAOVERLAPPED ov;         /* set once: the application's */
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr; /* set once */
    WSATHREADID thread;         /* set once: where a completion routine runs (an APC) */
    WSABUF *bufs;               /* set once: receive: a copy of the caller's array */
    DWORD nbufs;                /* set once */
    uint64_t until;             /* set once: send: done once the lower socket took this many queued bytes */
    DWORD err, n, flags;        /* taker (send: n set once): the result, for the completion routine */
    SOCKET target;              /* set once: the handle whose completion port hears of it (AcceptEx: the listener) */
    struct wsock *into;         /* set once: AcceptEx: the accept socket (a reference; the taker drops it) */
    DWORD local_len, remote_len; /* set once: AcceptEx: the address areas after the data */
} ovl;

/* A wsdx socket. Each field says what guards it: "lock", "txio", "rxio"
 * (the critical sections below), "g_slock" (wsock.c), "interlocked", or
 * "set once" (before the handle exists, read-only after). "app thread"
 * fields are set by the application's own calls (options, mode) and read
 * without a lock: a racing reader sees the old or the new value. */
typedef struct wsock {
    volatile LONG refs;         /* interlocked: the handle's, each pending request's, the pool wait's, a timer's */
    int closed;                 /* g_slock: WSPCloseSocket began; wsk_get refuses the handle */
    SOCKET app;                 /* set once: our handle (WPUCreateSocketHandle) */
    SOCKET low;                 /* the lower socket, read unlocked: replaced by wsk_replace_lower (DisconnectEx holds
                                 * txio and rxio; a connect retry holds none, the socket being unconnected), and
                                 * INVALID_SOCKET once a protocol error closed it (txio, rxio, lock) */
    wsdx_lsp_provider *p;       /* set once: the started lower provider */
    DWORD catalog_id;           /* set once: our entry, for WPUCreateSocketHandle */
    CRITICAL_SECTION lock;      /* conn, the event and overlapped state below; taken last */
    CRITICAL_SECTION rxio;      /* one reader of the lower socket at a time; taken after txio */
    volatile LONG pump_missed;  /* a PUMP_TRY found rxio taken: its holder reads again and settles; interlocked */
    CRITICAL_SECTION txio;      /* one writer of the lower socket; guards txq; taken first */
    wsdx_conn conn;             /* lock: the portable state machine */
    int mode;                   /* set once: WSDX_STREAM or WSDX_MESSAGE */
    int listening;              /* app thread (WSPListen) */
    int nonblocking;            /* app thread (FIONBIO, WSPEventSelect, WSPAsyncSelect) */
    int linger_on, linger_secs; /* app thread (SO_LINGER, SO_DONTLINGER) */
    uint8_t *txq;               /* txio: bytes accepted from the app, not yet taken by the lower socket */
    size_t txlen;               /* txio (read unlocked by WSPSelect's writability test) */
    int fin_pending;            /* txio: FIN goes out once txq is empty */
    HANDLE iev;                 /* set once: the lower socket's events signal this */
    HANDLE wait;                /* no lock: one thread at a time arms/disarms it (creation, close, lower socket
                                 * replacement), never on_lower; the pool wait on iev (holds a reference) */
    WSAEVENT ev;                /* lock: WSPEventSelect's event, or NULL */
    HWND wnd;                   /* lock: WSPAsyncSelect's window, or NULL */
    UINT msg;                   /* lock: WSPAsyncSelect's message */
    long mask;                  /* lock: the events the application selected */
    long told;                  /* lock: events told and not re-enabled since */
    int connect_err;            /* lock: FD_CONNECT's (and SO_ERROR's) code, positive as Windows reports it */
    int connect_done;           /* lock: the last connect attempt is over (connect_err holds its code) */
    int connecting;             /* lock: non-blocking connect: 1 TCP connect, 2 the peer's preamble */
    unsigned connect_gen;       /* lock: which attempt a connect timer belongs to */
    struct connect_deadline *connect_dl; /* lock: the pending attempt's timer (connect.c) */
    uint8_t pre_in[WSDX_PREAMBLE_LEN]; /* lock: the peer's preamble, so far */
    size_t pre_have;            /* lock: bytes of pre_in so far */
    int lower_spent;            /* lock: a failed connect left it: the next connect takes a fresh one */
    ovl *rxops, *txops;         /* lock: pending overlapped requests, oldest first */
    ovl *acceptops;             /* lock: listener: pending AcceptEx requests */
    ovl *connect_op;            /* lock: a pending ConnectEx */
    uint64_t tx_in, tx_out;     /* lock: bytes ever put in / taken out of txq */
    int tx_err;                 /* lock: 0, or the -WSA code of a send the lower socket failed: pending sends fail with it */
    volatile LONG tx_kick;      /* interlocked: FD_WRITE came while txio was held: its holder flushes on leaving */
    DWORD connect_ms;           /* app thread: WSDX_LSP_SO_CONNECT_TIMEOUT; 0: CONNECT_MS, then the handshake time */
    /* listener, under lock: connections whose preamble is not checked yet,
     * and the checked ones waiting for WSPAccept */
    struct pending *hs, *ready; /* lock: the two lists (arrays) */
    int nhs, caphs, nready, capready; /* lock: their lengths and capacities */
    volatile LONG rejected;     /* interlocked: peers reset for not being wsdx */
} wsock;

/* An accepted lower connection on its way to the application. Every field:
 * the listener's lock while it is on l->hs or l->ready; the taker's own
 * copy after (wsk_next_ready, wsk_finish_accepts). */
typedef struct pending {
    SOCKET low;                 /* the accepted lower socket */
    DWORD deadline;             /* when its preamble must be complete (GetTickCount) */
    uint8_t in[WSDX_PREAMBLE_LEN]; /* the peer's preamble, so far */
    size_t have;                /* bytes of it so far */
    struct sockaddr_storage addr; /* the peer's address */
    int addrlen;                /* the length of addr */
} pending;

/* Every int-returning function below returns >= 0 (0, a count, a flag) or a
 * -WSA code, as the portable core does; positive codes exist only where
 * Windows reads them (*lpErrno, SetLastError, FD_* error codes). */

/* wsock.c: handles, references, creation, the lower socket's events */
/* The wsock behind one of our handles, with a reference; NULL and *err = WSAENOTSOCK when closed or foreign. */
wsock *wsk_get(SOCKET s, LPINT err);
/* Drops a reference; the last one frees the wsock. */
void wsk_put(wsock *w);
/* Marks w closed (wsk_get refuses it) or open again (a close that would block). */
void wsk_set_closed(wsock *w, int closed);
/* 1 once WSPCloseSocket began on w. */
int wsk_is_closed(wsock *w);
/* The lower socket's events to w's event, watched by a pool wait (on_lower). 0 or -WSA code. */
int wsk_arm(wsock *w);
/* w takes low as its lower socket: non-blocking, armed. 0 or -WSA code. */
int wsk_attach_lower(wsock *w, SOCKET low);
/* Ends the pool wait (and a running on_lower) before the lower socket goes; never from on_lower. */
void wsk_disarm(wsock *w);
/* A wsock over low, armed, one reference (the handle's); NULL when out of resources. */
wsock *wsk_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id, int *err);
/* Undoes wsk_new when no handle was made: the lower socket is closed. */
void wsk_free(wsock *w);
/* A fresh lower socket in place of the old one (reset if abort, else closed). 0 or -WSA code. */
int wsk_replace_lower(wsock *w, int abort);
/* Our handle for w (WPUCreateSocketHandle), or INVALID_SOCKET with *lpErrno. */
SOCKET wsk_make_handle(wsock *w, LPINT lpErrno);

/* lower_io.c: calls on a lower socket through the lower provider */
/* FIONBIO on the lower socket. 0 or -WSA code. */
int wsk_lower_nbio(wsdx_lsp_provider *p, SOCKET low, u_long on);
/* One send: bytes taken (>= 0) or -WSA code (-WSAEWOULDBLOCK when full). */
long wsk_lower_send(wsdx_lsp_provider *p, SOCKET low, const void *b, size_t n);
/* One receive: bytes (> 0), 0 at FIN, or -WSA code (-WSAEWOULDBLOCK when empty). */
long wsk_lower_recv(wsdx_lsp_provider *p, SOCKET low, void *b, size_t n);
/* Waits up to ms for readable (write: writable) or an error: 1 ready, 0 timeout, -WSA code. */
int wsk_lower_wait(wsdx_lsp_provider *p, SOCKET low, int write, int ms);
/* Closes the lower socket abortively (RST: linger on, zero timeout). */
void wsk_lower_abort(wsdx_lsp_provider *p, SOCKET low);

/* recv.c: the receive path */
#define PUMP_TRY (-1) /* wsk_pump's wait: neither wait nor block on another reader */
/* Moves what the lower socket has into the state machine (rxio): 1 when something happened, else 0. */
int wsk_pump(wsock *w, int wait);
/* Under w->lock: one receive into bufs: bytes or -WSA code; *n, *flags as WSPRecv reports them. */
int wsk_take(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *flags);

/* notify.c: what the application is told, WSPSelect's wake-ups */
/* Under w->lock: the selected events due now by Winsock's re-enabling rules (consume: mark them told). */
long wsk_due_events(wsock *w, int errs[FD_MAX_EVENTS], int consume);
/* How many times some socket's state moved on (read before looking). */
LONG wsk_moves(void);
/* Some socket's state moved on: wakes WSPSelect's sleepers. */
void wsk_moved(void);
/* Sleeps up to ms unless the move count has left seen. */
void wsk_await_move(LONG seen, DWORD ms);
/* After anything that may change what is due: requests finish, the application is told, sleepers wake. */
void wsk_settle(wsock *w);

/* ovl.c: overlapped requests */
/* A request on w (holding a reference), bufs copied; NULL when out of memory. */
ovl *wsk_op_new(wsock *w, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
               const WSABUF *bufs, DWORD nbufs);
/* Ends a request that failed (rc: -WSA code) before it was pending: no completion is notified. */
void wsk_op_drop(ovl *o, int rc);
/* Completes a request (rc: 0 or -WSA code) as the application asked: APC, event, completion port. */
void wsk_op_complete(ovl *o, int rc, DWORD n, DWORD flags);
/* Appends o to a request list (caller holds the list's lock). */
void wsk_op_append(ovl **list, ovl *o);
/* Completes, oldest first, the pending requests of w that can complete now. */
void wsk_finish_ops(wsock *w);
/* Close: every pending request completes with WSA_OPERATION_ABORTED. */
void wsk_abort_ops(wsock *w);

/* sendq.c: the send side (caller holds txio unless said otherwise) */
/* Appends to the send queue. 0 or -WSAENOBUFS. */
int wsk_txq_put(wsock *w, const uint8_t *b, size_t n);
/* Moves the queue to the lower socket (wait: until empty or deadline). 0 or -WSA code (-WSAEWOULDBLOCK). */
int wsk_txq_push(wsock *w, int wait, DWORD deadline);
/* A DATA frame into the queue, then what the lower socket takes now. 0 or -WSA code. */
int wsk_txq_frame(wsock *w, const uint8_t *b, size_t n);
/* The queue, then a pending FIN. 0 or -WSA code. */
int wsk_flush(wsock *w, int wait);
/* A whole frame after a flush: all of it (blocking) or the rest queued (non-blocking). 0 or -WSA code. */
int wsk_send_frame(wsock *w, int type, const uint8_t *b, size_t n);
/* FIN now, or once the queue is empty. */
void wsk_send_fin(wsock *w);
/* FD_WRITE (no lock held): flushes, or leaves it to txio's holder. */
void wsk_tx_kick(wsock *w);
/* Leaves txio, then flushes for a kick that came while it was held. */
void wsk_tx_leave(wsock *w);

/* connect.c: connecting */
/* Under w->lock: the connect ends (rc: 0 or -WSA code); on failure the lower socket is to be reset. */
void wsk_connect_end(wsock *w, int rc);
/* Under w->lock: on_lower's part of a non-blocking connect (TCP connect, then the preambles). */
void wsk_connect_step(wsock *w, const WSANETWORKEVENTS *ne);
/* A non-blocking connect with an ms deadline: -WSAEWOULDBLOCK while under way, or -WSA code. */
int wsk_connect_async(wsock *w, const struct sockaddr *name, int namelen, DWORD ms);
/* A blocking connect and preamble exchange. 0 or -WSA code. */
int wsk_connect_blocking(wsock *w, const struct sockaddr *name, int namelen);
/* May w connect now? Then a fresh start (a fresh lower socket after a failed attempt). 0 or -WSA code. */
int wsk_connect_prepare(wsock *w);
/* Completes a finished ConnectEx (its send data queued first). */
void wsk_finish_connect(wsock *w);
/* Ends the deadline timer of an attempt that is over (closing: whatever the state); no lock held. */
void wsk_connect_timer_end(wsock *w, int closing);

/* listen.c: listening */
/* Under l->lock: takes new connections and advances every preamble check. */
void wsk_advance(wsock *l);
/* The next checked connection into *out: 1, or 0 when none. */
int wsk_next_ready(wsock *l, pending *out);
/* 1 when a checked connection waits for WSPAccept. */
int wsk_listener_ready(wsock *l);
/* A closing listener resets the connections it never handed out. */
void wsk_drop_pending(wsock *l);
/* A checked connection becomes an application socket: its handle, or INVALID_SOCKET with *lpErrno. */
SOCKET wsk_adopt(wsock *l, pending *x, struct sockaddr *addr, LPINT addrlen, LPINT lpErrno);
/* Pending AcceptEx requests take the checked connections, oldest first. */
void wsk_finish_accepts(wsock *l);

/* extensions.c */
/* SIO_GET_EXTENSION_FUNCTION_POINTER: 1 when the GUID is one of ours (*out, *rc set), 0 to pass it down. */
int wsk_extension(LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret, LPINT lpErrno, int *rc);

#endif
