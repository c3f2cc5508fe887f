/*
 * wsdx.h - the public C API of wsdx: connection shutdown with the Winsock
 * semantics (WSPShutdown, WSPSendDisconnect/WSPRecvDisconnect, WSPCloseSocket
 * with SO_LINGER/SO_DONTLINGER, FD_CLOSE reporting) over TCP.
 *
 * Conventions (same on every host):
 *  - Sockets are opaque 64-bit handles. A handle is never reused for another
 *    socket, so a stale handle always fails WSAENOTSOCK.
 *  - Every call returns >= 0 on success (a byte count where it says so) and
 *    a negative WSA error code on failure: -WSAESHUTDOWN, -WSAECONNRESET, ...
 *    wsdx_last_error() also returns the code of the calling thread's last
 *    failure, Winsock style.
 *  - No OS types appear here: addresses are text ("127.0.0.1", "::1").
 */
#ifndef WSDX_H
#define WSDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(WSDX_BUILDING)
#    define WSDX_API __declspec(dllexport)
#  else
#    define WSDX_API __declspec(dllimport)
#  endif
#else
#  define WSDX_API __attribute__((visibility("default")))
#endif

typedef int64_t wsdx_socket;
#define WSDX_INVALID_SOCKET ((wsdx_socket)-1)

/* Protocol version spoken in the preamble (docs/protocol.md). */
#define WSDX_PROTOCOL_VERSION 1
/* Largest disconnect-data payload, in bytes. */
#define WSDX_MAX_DISCONNECT_DATA 4096
/* Largest DATA frame payload a receiver MUST accept, in both modes; a longer
 * frame is a protocol error (WSAEMSGSIZE). */
#define WSDX_MAX_FRAME (16 * 1024 * 1024)
/* Largest message (WSDX_MESSAGE: one message is one frame); a longer send
 * fails WSAEMSGSIZE. Stream sends of any size are split into frames. */
#define WSDX_MAX_MESSAGE WSDX_MAX_FRAME

/* Socket modes. */
#define WSDX_STREAM  1 /* byte stream: recv returns 0 after a graceful close (R1) */
#define WSDX_MESSAGE 2 /* message-oriented: boundaries kept, recv fails WSAEDISCON (R2) */

/* wsdx_shutdown "how" values, as Winsock's SD_*. */
#define WSDX_SD_RECEIVE 0
#define WSDX_SD_SEND    1
#define WSDX_SD_BOTH    2

/* WSA error codes used by wsdx (values as in winsock2.h): the one list. It
 * generates the WSDX_WSAE* defines below and wsdx_error_name (errors.c);
 * java-api's WsaError/WsdxException are checked against it by a test
 * (WsaErrorMatchesNativeListTest). X(name, value) per code. */
#define WSDX_ERROR_MAP(X) \
    X(WSAEINTR, 10004) \
    X(WSAEFAULT, 10014) \
    X(WSAEINVAL, 10022) \
    X(WSAEMFILE, 10024) \
    X(WSAEWOULDBLOCK, 10035) \
    X(WSAEINPROGRESS, 10036) \
    X(WSAEALREADY, 10037) \
    X(WSAENOTSOCK, 10038) \
    X(WSAEMSGSIZE, 10040) \
    X(WSAEPROTOTYPE, 10041) \
    X(WSAENOPROTOOPT, 10042) \
    X(WSAEPROTONOSUPPORT, 10043) \
    X(WSAEOPNOTSUPP, 10045) \
    X(WSAEADDRINUSE, 10048) \
    X(WSAEADDRNOTAVAIL, 10049) \
    X(WSAENETDOWN, 10050) \
    X(WSAENETUNREACH, 10051) \
    X(WSAECONNABORTED, 10053) \
    X(WSAECONNRESET, 10054) \
    X(WSAENOBUFS, 10055) \
    X(WSAEISCONN, 10056) \
    X(WSAENOTCONN, 10057) \
    X(WSAESHUTDOWN, 10058) \
    X(WSAETIMEDOUT, 10060) \
    X(WSAECONNREFUSED, 10061) \
    X(WSAEHOSTUNREACH, 10065) \
    X(WSAVERNOTSUPPORTED, 10092) \
    X(WSAEDISCON, 10101)

#define WSDX__ERROR_ENUM(name, value) WSDX_##name = value,
enum { WSDX_ERROR_MAP(WSDX__ERROR_ENUM) };
#undef WSDX__ERROR_ENUM

/* Close event flags (wsdx_close_fn "flags"). */
/* The peer's disconnect data is non-empty (wsdx_recv_disconnect returns it).
 * An empty DISCONNECT frame and a FIN alone both mean "no disconnect data". */
#define WSDX_CLOSE_DISCONNECT_DATA 0x1

/*
 * FD_CLOSE: called once per connection (R5), on the library's notifier
 * thread, after all data that preceded a graceful close or a protocol error
 * is readable (data before a reset is discarded). error is 0 for a graceful
 * close (the peer's FIN, or its DISCONNECT frame even before the FIN), WSAECONNRESET for a reset, WSAECONNABORTED (or the
 * lower layer's code) for a lost connection, or a protocol error
 * (WSAEPROTONOSUPPORT, WSAVERNOTSUPPORTED, WSAEPROTOTYPE, WSAEMSGSIZE) when
 * the peer broke the wsdx protocol. Keep it short: it runs on the thread that
 * watches every connection.
 */
typedef void (*wsdx_close_fn)(wsdx_socket s, int error, int flags, void *ctx);

/* Library version as "major.minor.patch". */
WSDX_API const char *wsdx_version(void);
/* Name of a WSA code ("WSAECONNRESET"), or "WSA?" when unknown. */
WSDX_API const char *wsdx_error_name(int wsa_error);
/* The calling thread's last error (a WSA code, 0 if none). */
WSDX_API int wsdx_last_error(void);

/* A new, unconnected socket of mode WSDX_STREAM or WSDX_MESSAGE. */
WSDX_API wsdx_socket wsdx_socket_open(int mode);
/* Connects to host:port and exchanges preambles (docs/protocol.md);
 * timeout_ms <= 0 waits 30 s; the server's preamble is awaited at most the
 * handshake time (10 s; WSDX_HANDSHAKE_MS in the environment, 100..600000,
 * sets it for both sides), then WSAETIMEDOUT. Fails WSAEISCONN on a connected
 * socket, WSAEPROTONOSUPPORT / WSAVERNOTSUPPORTED / WSAEPROTOTYPE as soon as
 * the server's preamble shows it is not a wsdx peer of the same version and
 * mode, WSAEPROTONOSUPPORT when the connection ends (FIN or RST) before its 8
 * preamble bytes (the socket stays unconnected). On a non-blocking socket it
 * fails WSAEWOULDBLOCK at once and connects in the background (up to 64
 * library threads run connects, more wait their turn; the same timeout holds); FD_CONNECT reports the
 * result, and a second call meanwhile fails WSAEALREADY. A close ends it
 * (no FD_CONNECT after wsdx_close). The installed backend connects blocking. */
WSDX_API int wsdx_connect(wsdx_socket s, const char *host, int port, int timeout_ms);
/* Listens on host:port (port 0 picks one); backlog <= 0 uses the default,
 * 4096. The listener holds at most backlog connections (handshaking or
 * waiting for wsdx_accept); further ones wait in the kernel's backlog. */
WSDX_API wsdx_socket wsdx_listen(const char *host, int port, int mode, int backlog);
/* Local port of a listener or connection. */
WSDX_API int wsdx_local_port(wsdx_socket s);
/* Next connection whose preamble checked out; timeout_ms < 0 waits for ever,
 * 0 polls (WSAEWOULDBLOCK when none). Peers that are not wsdx are reset and
 * counted (wsdx_listener_rejected), never returned. When the library cannot
 * accept (no descriptors left in the process or the system: WSAEMFILE; no
 * memory: WSAENOBUFS) the listener rests 100 ms between tries and the next
 * wsdx_accept fails with that code, once per episode; it recovers on its own
 * once descriptors free. */
WSDX_API wsdx_socket wsdx_accept(wsdx_socket listener, int timeout_ms);
/* Connections a listener refused: not wsdx, bad version, wrong mode, or slow preamble. */
WSDX_API int64_t wsdx_listener_rejected(wsdx_socket listener);

/* Blocking by default. A non-blocking socket fails WSAEWOULDBLOCK instead of waiting. */
WSDX_API int wsdx_set_blocking(wsdx_socket s, int blocking);
/* Sends len bytes (one message in WSDX_MESSAGE mode); returns bytes accepted. */
WSDX_API int wsdx_send(wsdx_socket s, const void *buf, int len);
/* Receives up to len bytes (one message in WSDX_MESSAGE mode). Returns the
 * count, 0 after a graceful close (stream), or fails WSAEDISCON (message),
 * WSAECONNRESET, WSAESHUTDOWN, WSAEMSGSIZE (message larger than len: the
 * first len bytes are returned in buf and the rest dropped). timeout_ms < 0
 * waits for ever, whatever the peer sends; a timeout fails WSAETIMEDOUT.
 * After a protocol error the bytes that preceded it are returned first, then
 * every later receive fails with the protocol error's code
 * (WSAEPROTONOSUPPORT, or WSAEMSGSIZE for a frame over WSDX_MAX_FRAME: unlike
 * a cut message it repeats, and the close event carries it). */
WSDX_API int wsdx_recv(wsdx_socket s, void *buf, int len, int timeout_ms);
/* Winsock's MSG_PARTIAL: wsdx_recv_ex stored only the first bytes of a message. */
#define WSDX_MSG_PARTIAL 0x8000
/* wsdx_recv, with a cut message reported as WSARecv reports it on a message
 * socket: the count stored (len) and WSDX_MSG_PARTIAL in *flags; the rest of
 * the message is dropped and the connection goes on. WSAEMSGSIZE from this
 * call is therefore only the fatal one (a frame over WSDX_MAX_FRAME: the
 * connection has failed). *flags is 0 otherwise; flags NULL fails WSAEFAULT. */
WSDX_API int wsdx_recv_ex(wsdx_socket s, void *buf, int len, int timeout_ms, int *flags);

/* WSPShutdown: how is WSDX_SD_RECEIVE, WSDX_SD_SEND or WSDX_SD_BOTH. */
WSDX_API int wsdx_shutdown(wsdx_socket s, int how);
/* WSPSendDisconnect: sends one DISCONNECT frame carrying data (at most
 * WSDX_MAX_DISCONNECT_DATA bytes; NULL/0 sends an empty DISCONNECT frame),
 * then FIN; sending is over. */
WSDX_API int wsdx_send_disconnect(wsdx_socket s, const void *data, int len);
/* WSPRecvDisconnect: stops reception and copies the peer's disconnect data
 * into buf; returns its length (0 if the peer sent none or has not closed).
 * Fails WSAEFAULT when cap is too small (nothing is consumed then). */
WSDX_API int wsdx_recv_disconnect(wsdx_socket s, void *buf, int cap);

/* SO_LINGER (onoff != 0, seconds 0..65535) or SO_DONTLINGER (onoff == 0). */
WSDX_API int wsdx_set_linger(wsdx_socket s, int onoff, int seconds);
/* Aborts the connection (WSAECONNABORTED) when sent data stays unacknowledged
 * for ms milliseconds (0 = the system default). */
WSDX_API int wsdx_set_abort_timeout(wsdx_socket s, int ms);
/* Send timeout (SO_SNDTIMEO), ms > 0, or 0 for none (the default): a send
 * that cannot complete within ms fails WSAETIMEDOUT. Part of a frame may be
 * out by then, so the connection is aborted: the peer gets a reset, and every
 * later call on s and the close event report WSAETIMEDOUT. Fails
 * WSAEOPNOTSUPP on the installed (Windows provider) backend for now. */
WSDX_API int wsdx_set_send_timeout(wsdx_socket s, int ms);
/* WSPCloseSocket, honouring the linger policy:
 *  SO_DONTLINGER: returns at once; queued data is sent, then FIN.
 *  SO_LINGER 0:   returns at once; queued data dropped, connection reset.
 *  SO_LINGER n:   blocking socket: waits until the data is delivered or n
 *                 seconds pass (then resets); non-blocking socket with data
 *                 still queued: fails WSAEWOULDBLOCK and stays open.
 * Any later call on s fails WSAENOTSOCK; no close callback follows. A call
 * that another thread has blocked in s (recv, send, accept, connect) returns
 * promptly with WSAEINTR, as closesocket ends blocking calls in Winsock. */
WSDX_API int wsdx_close(wsdx_socket s);

/* Registers the close callback (FD_CLOSE). If the close already happened it
 * is delivered now (from the notifier thread). Replaces a previous one. */
WSDX_API int wsdx_on_close(wsdx_socket s, wsdx_close_fn fn, void *ctx);

/* Where the protocol runs, for sockets and listeners opened from now on
 * (handles already open keep theirs):
 *  WSDX_BACKEND_IN_PROCESS: in this process, over the OS's TCP;
 *  WSDX_BACKEND_INSTALLED:  in the installed wsdx layered service provider,
 *                           through Winsock (Windows only);
 *  WSDX_BACKEND_AUTO:       the installed provider when its catalog entries
 *                           are present and a socket opens on them, else
 *                           in-process (the default; the environment variable
 *                           WSDX_BACKEND=installed|in-process sets the default).
 * The choice is looked up at each new socket: AUTO follows an install or a
 * removal (Windows reads the catalog again when WSAProviderConfigChange says
 * it changed, or a socket on its entries fails), and a failure is not kept.
 * Returns the backend now in use, or fails WSAEPROTONOSUPPORT when
 * WSDX_BACKEND_INSTALLED is asked for and no provider is installed (or the
 * provider's own error, e.g. WSAEPROVIDERFAILEDINIT 10106 when its DLL does
 * not load). Both backends speak the same wire protocol. */
#define WSDX_BACKEND_AUTO       0
#define WSDX_BACKEND_IN_PROCESS 1
#define WSDX_BACKEND_INSTALLED  2
WSDX_API int wsdx_use_backend(int backend);
/* The backend new sockets use (WSDX_BACKEND_IN_PROCESS or _INSTALLED). */
WSDX_API int wsdx_backend(void);

/* --- readiness (WSAAsyncSelect style) ------------------------------------
 * Events, with Winsock's FD_* values. Each is one-shot: reported once per
 * wsdx_select that armed it, then armed again by the next wsdx_select (as
 * Winsock re-enables FD_READ by the recv that follows). FD_READ means "a
 * receive may make progress now" (data, the end, or an error: the core reads
 * nothing ahead for it); FD_WRITE "a send may make progress" (no frame rest
 * queued and the kernel takes bytes); FD_ACCEPT "a checked connection
 * waits, or accepting failed" (the next wsdx_accept reports the error);
 * FD_CONNECT "a non-blocking wsdx_connect has ended", once per connect, with
 * its result as the callback's error (0: connected and the preambles agreed).
 * A socket that is not connected reports FD_READ/FD_WRITE at once (the call
 * fails at once). */
#define WSDX_FD_READ    0x01
#define WSDX_FD_WRITE   0x02
#define WSDX_FD_ACCEPT  0x08
#define WSDX_FD_CONNECT 0x10
/* Called on the notifier thread with the events now due (and disarmed); error
 * is FD_CONNECT's result when it is among them, else 0. Keep it short; it may
 * call wsdx_select again.
 * No call for s starts once wsdx_close(s) has returned. */
typedef void (*wsdx_event_fn)(wsdx_socket s, int events, int error, void *ctx);
/* Arms events (added to those still armed) with fn/ctx (replacing earlier
 * ones); events already due are reported at once from the notifier thread.
 * fn NULL disarms all. Connections take FD_READ/FD_WRITE,
 * listeners FD_ACCEPT (else WSAEINVAL). The installed backend fails
 * WSAEOPNOTSUPP (a known limit for now). */
WSDX_API int wsdx_select(wsdx_socket s, int events, wsdx_event_fn fn, void *ctx);
/* wsdx_send that never waits, whatever the blocking mode: -WSAEWOULDBLOCK
 * when nothing could be taken (then arm FD_WRITE). */
WSDX_API int wsdx_try_send(wsdx_socket s, const void *buf, int len);
/* wsdx_send_disconnect that never waits for the peer: -WSAEWOULDBLOCK, with
 * nothing sent and sending still open, when the frame cannot start out now
 * (earlier data still queued, or the kernel takes nothing; then arm
 * FD_WRITE). Once it has started, the rest and the FIN follow from the
 * notifier. Like wsdx_try_send, it does wait for another thread's send in
 * progress on s. */
WSDX_API int wsdx_try_send_disconnect(wsdx_socket s, const void *data, int len);

/* --- socket options and addresses (connected sockets) --- */
#define WSDX_OPT_TCP_NODELAY 1 /* 0/1; on by default (frames go out whole) */
#define WSDX_OPT_KEEPALIVE   2 /* SO_KEEPALIVE 0/1 */
#define WSDX_OPT_RCVBUF      3 /* SO_RCVBUF bytes */
#define WSDX_OPT_SNDBUF      4 /* SO_SNDBUF bytes */
/* Sets an option (value >= 0); WSAENOPROTOOPT for an unknown one. */
WSDX_API int wsdx_set_option(wsdx_socket s, int option, int value);
/* The option's value as the OS reports it (SO_RCVBUF may differ from the one set). */
WSDX_API int wsdx_get_option(wsdx_socket s, int option);
/* Writes the local (peer == 0) or remote (peer != 0) address as numeric text
 * into buf (cap >= 46 fits any) and returns its port. */
WSDX_API int wsdx_address(wsdx_socket s, int peer, char *buf, int cap);

/* Memory budget of the in-process backend: bytes that received but unread
 * data (whole messages in WSDX_MESSAGE mode, up to 16 MiB each) may hold
 * across all connections. Default 256 MiB, or WSDX_MEMORY_BUDGET_MB from the
 * environment; 0 restores the default. Past it a connection holding more
 * than 256 KiB stops reading until the budget frees: its peer is slowed by
 * TCP flow control, while connections holding less go on. A peer's FIN
 * behind such bytes is seen, and its close event comes, once the application
 * has read up to it. */
WSDX_API int wsdx_set_memory_budget(int64_t bytes);

/* Number of open handles (sockets and listeners); for leak checks. A closed
 * one counts until the notifier has freed it, between its batches: soon
 * after wsdx_close returns, not necessarily before. */
WSDX_API int wsdx_open_handles(void);

#ifdef __cplusplus
}
#endif
#endif /* WSDX_H */
