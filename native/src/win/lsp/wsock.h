/* wsock.h - a wsdx protocol entry's socket (wsock), shared by the WSP
 * entry points (wsdxproto.c) and the extension functions (extensions.c):
 * its state, its pending overlapped requests, and the few operations the
 * extension functions need. Internal to the provider. */
#ifndef WSDX_WSOCK_H
#define WSDX_WSOCK_H

#include "lsp.h"

#include <mswsock.h>
#include <ws2tcpip.h>

#include "conn.h"
#include "wsdx.h"

#include <stdint.h>

#define SLICE_MS 200
#define HANDSHAKE_MS 10000
#define CONNECT_MS 30000
#define TXQ_MAX (4 * 1024 * 1024)
/* what the lower socket reports to us, whatever the application selected */
#define LOWER_EVENTS (FD_READ | FD_WRITE | FD_CLOSE | FD_ACCEPT | FD_CONNECT)

/* A pending overlapped request. It holds a reference on its wsock: the
 * context lives until the last request completes (or is aborted by close). */
typedef struct ovl {
    struct ovl *next;
    struct wsock *w;
    LPWSAOVERLAPPED ov;
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr;
    WSATHREADID thread;         /* where a completion routine runs (an APC) */
    WSABUF *bufs;               /* receive: a copy of the caller's array */
    DWORD nbufs;
    uint64_t until;             /* send: done once the lower socket took this many queued bytes */
    DWORD err, n, flags;        /* the result, for the completion routine */
    SOCKET target;              /* the handle whose completion port hears of it (AcceptEx: the listener) */
    struct wsock *into;         /* AcceptEx: the accept socket (a reference) */
    DWORD local_len, remote_len; /* AcceptEx: the address areas after the data */
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
    volatile LONG pump_missed;  /* a PUMP_TRY found rxio taken: its holder settles; interlocked */
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
    HANDLE wait;                /* the pool wait on iev (holds a reference): armed/disarmed by the closing or
                                 * replacing thread, never by on_lower */
    WSAEVENT ev;                /* lock: WSPEventSelect's event, or NULL */
    HWND wnd;                   /* lock: WSPAsyncSelect's window, or NULL */
    UINT msg;                   /* lock: WSPAsyncSelect's message */
    long mask;                  /* lock: the events the application selected */
    long told;                  /* lock: events told and not re-enabled since */
    int connect_err;            /* lock: FD_CONNECT's code, once connect_done */
    int connect_done;           /* lock */
    int connecting;             /* lock: non-blocking connect: 1 TCP connect, 2 the peer's preamble */
    unsigned connect_gen;       /* lock: which attempt a connect timer belongs to */
    struct connect_deadline *connect_dl; /* lock: the pending attempt's timer (connect.c) */
    uint8_t pre_in[WSDX_PREAMBLE_LEN]; /* lock: the peer's preamble, so far */
    size_t pre_have;            /* lock */
    int lower_spent;            /* lock: a failed connect left it: the next connect takes a fresh one */
    ovl *rxops, *txops;         /* lock: pending overlapped requests, oldest first */
    ovl *acceptops;             /* lock: listener: pending AcceptEx requests */
    ovl *connect_op;            /* lock: a pending ConnectEx */
    uint64_t tx_in, tx_out;     /* lock: bytes ever put in / taken out of txq */
    int tx_err;                 /* lock: the lower socket failed a send: pending sends fail with it */
    volatile LONG tx_kick;      /* interlocked: FD_WRITE came while txio was held: its holder flushes on leaving */
    DWORD connect_ms;           /* app thread: WSDX_LSP_SO_CONNECT_TIMEOUT; 0: CONNECT_MS, then HANDSHAKE_MS */
    /* listener, under lock: connections whose preamble is not checked yet,
     * and the checked ones waiting for WSPAccept */
    struct pending *hs, *ready; /* lock */
    int nhs, caphs, nready, capready; /* lock */
    volatile LONG rejected;     /* interlocked: peers reset for not being wsdx */
} wsock;

/* An accepted lower connection on its way to the application. */
typedef struct pending {
    SOCKET low;
    DWORD deadline;
    uint8_t in[WSDX_PREAMBLE_LEN];
    size_t have;
    struct sockaddr_storage addr;
    int addrlen;
} pending;

/* wsock.c: handles and references (wsk_get: NULL and WSAENOTSOCK for a closed
 * or foreign handle), the lower socket, the receive pump (wait: PUMP_TRY never
 * waits nor blocks on another reader), what is due and told, overlapped
 * requests, WSPSelect's wake-ups (wsk_moves/wsk_moved/wsk_await_move), the send
 * queue (caller holds txio), arming the lower events, creation. */
#define PUMP_TRY (-1)
wsock *wsk_get(SOCKET s, LPINT err);
void wsk_put(wsock *w);
void wsk_set_closed(wsock *w, int closed);
int wsk_is_closed(wsock *w);
int wsk_lower_nbio(wsdx_lsp_provider *p, SOCKET low, u_long on);
long wsk_lower_send(wsdx_lsp_provider *p, SOCKET low, const void *b, size_t n);
long wsk_lower_recv(wsdx_lsp_provider *p, SOCKET low, void *b, size_t n);
int wsk_lower_wait(wsdx_lsp_provider *p, SOCKET low, int write, int ms);
void wsk_lower_abort(wsdx_lsp_provider *p, SOCKET low);
int wsk_pump(wsock *w, int wait);
long wsk_due_events(wsock *w, int errs[FD_MAX_EVENTS], int consume);
ovl *wsk_op_new(wsock *w, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
               const WSABUF *bufs, DWORD nbufs);
void wsk_op_result(ovl *o, DWORD err, DWORD n, DWORD flags);
void wsk_op_drop(ovl *o, DWORD err);
void wsk_op_complete(ovl *o, DWORD err, DWORD n, DWORD flags);
void wsk_op_append(ovl **list, ovl *o);
int wsk_take(wsock *w, const WSABUF *bufs, DWORD nbufs, DWORD *n, DWORD *flags);
void wsk_abort_ops(wsock *w);
LONG wsk_moves(void);
void wsk_moved(void);
void wsk_await_move(LONG seen, DWORD ms);
void wsk_settle(wsock *w);
int wsk_txq_put(wsock *w, const uint8_t *b, size_t n);
int wsk_txq_push(wsock *w, int wait, DWORD deadline);
int wsk_txq_frame(wsock *w, const uint8_t *b, size_t n);
int wsk_flush(wsock *w, int wait);
int wsk_send_frame(wsock *w, int type, const uint8_t *b, size_t n);
void wsk_send_fin(wsock *w);
void wsk_tx_kick(wsock *w);
void wsk_tx_leave(wsock *w);
int wsk_arm(wsock *w);
int wsk_attach_lower(wsock *w, SOCKET low);
void wsk_disarm(wsock *w);
wsock *wsk_new(wsdx_lsp_provider *p, SOCKET low, int mode, DWORD catalog_id);
void wsk_free(wsock *w);
int wsk_replace_lower(wsock *w, int abort);
SOCKET wsk_make_handle(wsock *w, LPINT lpErrno);

/* connect.c: wsk_connect_prepare says whether w may connect now (and gives it a
 * fresh lower socket after a failed attempt); wsk_connect_async returns
 * WSAEWOULDBLOCK while under way; wsk_connect_step (under w->lock) is
 * on_lower's part; wsk_finish_connect completes a ConnectEx. */
void wsk_connect_end(wsock *w, int rc);
void wsk_connect_step(wsock *w, const WSANETWORKEVENTS *ne);
int wsk_connect_async(wsock *w, const struct sockaddr *name, int namelen, DWORD ms);
int wsk_connect_blocking(wsock *w, const struct sockaddr *name, int namelen);
int wsk_connect_prepare(wsock *w);
void wsk_finish_connect(wsock *w);
void wsk_connect_timer_end(wsock *w, int closing);

/* listen.c: wsk_advance (under l->lock) takes new connections and checks
 * preambles; wsk_next_ready / wsk_listener_ready / wsk_adopt serve WSPAccept;
 * wsk_finish_accepts serves AcceptEx; wsk_drop_pending resets what a closed
 * listener never handed out. */
void wsk_advance(wsock *l);
int wsk_next_ready(wsock *l, pending *out);
int wsk_listener_ready(wsock *l);
void wsk_drop_pending(wsock *l);
SOCKET wsk_adopt(wsock *l, pending *x, struct sockaddr *addr, LPINT addrlen, LPINT lpErrno);
void wsk_finish_accepts(wsock *l);

/* SIO_GET_EXTENSION_FUNCTION_POINTER (extensions.c): 1 when the GUID is one
 * of ours (*out, *rc set), 0 to pass it down */
int wsk_extension(LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret, LPINT lpErrno, int *rc);

#endif
