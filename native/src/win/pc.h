/* pc.h - the installed backend's internals (Windows), shared by its files:
 *   provider_client.c  setting up, handles, waiting, the ops table
 *   pc_catalog.c       the wsdx catalog entries: read again when out of date
 *   pc_events.c        FD_CLOSE as a callback: event groups and their threads
 *   pc_data.c          connect, options, send/receive, shutdown, disconnect data
 *   pc_listen.c        listeners: the eager acceptor thread and wsdx_accept
 *   pc_close.c         wsdx_close under the linger policy
 * Locks, outermost first: an entry's io lock, then pc__g.lock, then the
 * handle table's (handles.h). Every function returns >= 0 or -WSA. */
#ifndef WSDX_PC_H
#define WSDX_PC_H

#include "backend.h"
#include "invariant.h"
#include "handles.h"
#include "lsp.h"
#include "provider_client.h"

#include <mswsock.h>
#include <ws2tcpip.h>

#ifndef TCP_MAXRT
#define TCP_MAXRT 5 /* ws2ipdef.h: seconds of retransmission before the connection is aborted */
#endif

#define SLICE_MS 50               /* blocked calls re-check for a concurrent close this often */
#define GROUP_MAX (WSA_MAXIMUM_WAIT_EVENTS - 1) /* + the group's wake event */
#define CONNECT_DEFAULT_MS 30000

typedef struct group group;

/* One wsdx_socket of the installed backend. */
typedef struct entry {
    wsdx_hobj h;              /* first: handle and references (handles.h) */
    SRWLOCK io;               /* shared: a call uses s; exclusive: s is (dis)connected or closed */
    SOCKET s;                 /* INVALID_SOCKET until connected or listening; io */
    int mode, listener;       /* WSDX_STREAM/WSDX_MESSAGE, 1 for a listener; constant */
    volatile LONG blocking;   /* wsdx_set_blocking; interlocked */
    volatile LONG closing;    /* a wsdx_close is under way or done; interlocked */
    volatile LONG connecting; /* a wsdx_connect is under way (one at a time); interlocked */
    volatile LONG repoll;     /* the group thread found io held exclusive: poll again; interlocked */
    int linger_set, linger_on, linger_secs, abort_ms; /* options for s; io exclusive */
    /* the close event, under pc__g.lock */
    WSAEVENT ev;              /* FD_CLOSE of s (WSAEventSelect) */
    group *grp;               /* the group thread waiting on ev, or NULL */
    int close_seen, close_err, close_flags; /* FD_CLOSE arrived, with its error and flags */
    int delivered, in_cb, dead; /* callback made / running now; closed: no callback any more */
    DWORD cb_thread;          /* the thread running fn, while in_cb */
    wsdx_close_fn fn;         /* the callback and its context */
    void *ctx;
    /* a listener's accepted sockets, under pc__g.lock */
    SOCKET *ready;
    int nready, capready;
    CONDITION_VARIABLE accepted; /* signalled when ready fills or the listener closes */
    HANDLE acceptor;          /* the acceptor thread; joined by wsdx_close */
} entry;

/* A thread waiting on up to GROUP_MAX entries' close events. */
struct group {
    WSAEVENT wake;            /* set when members change or a callback is due */
    entry *e[GROUP_MAX];      /* members; pc__g.lock */
    int n;
    group *next;              /* pc__g.groups; pc__g.lock */
};

/* The backend's globals. */
struct pc_globals {
    INIT_ONCE once;
    int known;                /* the catalog was usable once: installed handles may exist; atomic */
    const wsdx_winsock *ws;   /* the Winsock calls (ws2_32's, or a test's) */
    CRITICAL_SECTION lock;    /* groups, close-event state, listeners' queues */
    CONDITION_VARIABLE cb_done; /* signalled when a callback returns */
    wsdx_handles table;       /* every live entry (its own lock) */
    group *groups;            /* pc__g.lock */
};
extern struct pc_globals pc__g;

/* --- provider_client.c --- */
/* The last Winsock error of this thread, positive (as WSAGetLastError). */
int pc_werr(void);
/* Sets the backend up (once) and checks the catalog: 1 when usable, else
 * -WSA; a failure is not kept (pc_catalog.c). */
int pc_ready(void);
/* A new entry in the table with one reference (the table's), or NULL. */
entry *pc_entry_new(int mode, int listener);
/* One more reference to e (e must hold one). */
void pc_ref(entry *e);
/* Drops a reference; the last one frees e. */
void pc_unref(entry *e);
/* The live, not closing entry of h with a reference, or NULL. */
entry *pc_lookup(wsdx_socket h);
/* The handle is gone: later lookups fail WSAENOTSOCK. */
void pc_unpublish(entry *e);
/* A call on a connection: 0 with *out referenced and its io lock shared,
 * or -WSA (nothing held). */
int pc_enter(wsdx_socket h, entry **out);
/* Ends pc_enter; returns rc. */
int pc_leave(entry *e, int rc);
/* wsdx_bsd_resolve through the Winsock table; the list is freed with
 * pc__g.ws->freeaddrinfo. */
int pc_resolve(const char *host, int port, int passive, struct addrinfo **out);
/* Waits up to ms for s to be readable (write 0) or writable. */
void pc_wait_io(SOCKET s, int write, int ms);
/* One slice of a blocking call: 0 to retry, or the -WSA that ends it. */
int pc_pause_for(entry *e, int write, ULONGLONG deadline);
/* The tick count timeout_ms from now; 0 for no deadline (timeout_ms < 0). */
ULONGLONG pc_deadline_after(int timeout_ms);

/* --- pc_catalog.c --- */
/* Once, before the first pc_catalog_ready. */
void pc_catalog_setup(void);
/* The wsdx entries, read again if out of date: 1 usable, else -WSA. */
int pc_catalog_ready(void);
/* A copy of the entry for the family and mode: 0, or -WSA. */
int pc_catalog_entry(int v6, int msg, WSAPROTOCOL_INFOW *out);
/* A socket on pi failed with err (positive): 1 if the catalog, read again
 * if pi was the entry in use, may now give another entry to try. */
int pc_catalog_failed(const WSAPROTOCOL_INFOW *pi, int err);

/* --- pc_events.c --- */
/* A connected s becomes e's: FD_CLOSE is watched from now on. 0 or -WSA. */
int pc_attach(entry *e, SOCKET s);
/* Ends an exclusive hold of e->io; wakes the group thread when it missed
 * a close event meanwhile. Every AcquireSRWLockExclusive(&e->io) ends here. */
void pc_release_exclusive(entry *e);
/* pc__g.lock held: e leaves its group (its event may still be waited on once). */
void pc_detach_locked(entry *e);
/* pc__g.lock held: e's close is due to its callback. */
int pc_due_locked(const entry *e);

/* --- pc_data.c --- */
/* A wsdx socket of ai's family and the mode, or INVALID_SOCKET with *rc. */
SOCKET pc_open_for(const struct addrinfo *ai, int mode, int *rc);

/* --- pc_listen.c --- */
/* An entry that never reached the application: unpublished and dropped. */
void pc_abandon(entry *e);

/* The backend's entry points, pc_<call> for each call of backend.h
 * (socket_open, connect, local_port, options and data in pc_data.c; listen,
 * accept and listener_rejected in pc_listen.c; on_close in pc_events.c;
 * close in pc_close.c; open_handles in provider_client.c). */
#define WSDX_BACKEND_PREFIX(name) pc_##name
WSDX_BACKEND_DECLARE()

#endif
