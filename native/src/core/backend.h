/* backend.h - the wsdx.h socket calls as a table. api.c implements wsdx.h by
 * dispatching each call to the backend that owns the handle:
 *  - the in-process backend (socket.c): the protocol runs in this process,
 *    over the host's TCP (host.h);
 *  - a host's installed backend, when it has one: on Windows, the wsdx
 *    catalog entries of the installed layered provider, reached through
 *    Winsock (src/win/provider_client.c). The POSIX host has none.
 * Every call returns >= 0 or a negative WSA code, as wsdx.h says. */
#ifndef WSDX_BACKEND_H
#define WSDX_BACKEND_H

#include "wsdx.h"

/* The calls, once: X(return type, name, parameters). Generates the table's
 * fields here, and each backend's declarations and table (WSDX_BACKEND_DECLARE,
 * WSDX_BACKEND_TABLE) from its prefix. */
#define WSDX_BACKEND_CALLS(X) \
    X(wsdx_socket, socket_open, (int mode)) \
    X(int, connect, (wsdx_socket s, const char *host, int port, int timeout_ms)) \
    X(wsdx_socket, listen, (const char *host, int port, int mode, int backlog)) \
    X(int, local_port, (wsdx_socket s)) \
    X(wsdx_socket, accept, (wsdx_socket listener, int timeout_ms)) \
    X(int64_t, listener_rejected, (wsdx_socket listener)) \
    X(int, set_blocking, (wsdx_socket s, int blocking)) \
    X(int, send, (wsdx_socket s, const void *buf, int len)) \
    X(int, recv, (wsdx_socket s, void *buf, int len, int timeout_ms, int *flags)) \
    X(int, shutdown, (wsdx_socket s, int how)) \
    X(int, send_disconnect, (wsdx_socket s, const void *data, int len)) \
    X(int, recv_disconnect, (wsdx_socket s, void *buf, int cap)) \
    X(int, set_linger, (wsdx_socket s, int onoff, int seconds)) \
    X(int, set_abort_timeout, (wsdx_socket s, int ms)) \
    X(int, close, (wsdx_socket s)) \
    X(int, on_close, (wsdx_socket s, wsdx_close_fn fn, void *ctx)) \
    X(int, open_handles, (void))

/* Calls a backend may leave out: WSDX_BACKEND_TABLE() sets them NULL and
 * api.c fails them WSAEOPNOTSUPP. The installed (Windows) backend has no send
 * timeout yet; the in-process one fills them with WSDX_BACKEND_TABLE_ALL(). */
#define WSDX_BACKEND_OPTIONAL_CALLS(X) \
    X(int, set_send_timeout, (wsdx_socket s, int ms))

#define WSDX__BACKEND_FIELD(type, name, params) type (*name) params;
typedef struct wsdx_backend_ops {
    WSDX_BACKEND_CALLS(WSDX__BACKEND_FIELD)
    WSDX_BACKEND_OPTIONAL_CALLS(WSDX__BACKEND_FIELD)
} wsdx_backend_ops;

/* In a backend's internal header, with WSDX_BACKEND_PREFIX(name) defined as
 * its prefix pasted to name (e.g. sk_##name): declares its entry points. */
#define WSDX__BACKEND_DECL(type, name, params) type WSDX_BACKEND_PREFIX(name) params;
#define WSDX_BACKEND_DECLARE() WSDX_BACKEND_CALLS(WSDX__BACKEND_DECL)
/* The initializer of a backend's wsdx_backend_ops, from the same prefix. */
#define WSDX__BACKEND_INIT(type, name, params) .name = WSDX_BACKEND_PREFIX(name),
#define WSDX_BACKEND_TABLE() { WSDX_BACKEND_CALLS(WSDX__BACKEND_INIT) }
/* The same with the optional calls too (declared by WSDX_BACKEND_DECLARE_ALL). */
#define WSDX_BACKEND_DECLARE_ALL() WSDX_BACKEND_CALLS(WSDX__BACKEND_DECL) WSDX_BACKEND_OPTIONAL_CALLS(WSDX__BACKEND_DECL)
#define WSDX_BACKEND_TABLE_ALL() \
    { WSDX_BACKEND_CALLS(WSDX__BACKEND_INIT) WSDX_BACKEND_OPTIONAL_CALLS(WSDX__BACKEND_INIT) }

/* Handles of the installed backend have this bit set in their low word; the
 * in-process backend's slot indexes never reach it. */
#define WSDX_HANDLE_INSTALLED 0x80000000u

/* wsdx_connect's check of the peer's address, the same in every backend:
 * 0 or -WSAEINVAL. */
static inline int wsdx_check_peer(const char *host, int port)
{
    return host && port > 0 && port <= 65535 ? 0 : -WSDX_WSAEINVAL;
}

extern const wsdx_backend_ops wsdx_inprocess_backend;

/* Calls only the in-process backend has so far (select.c, datapath.c,
 * options.c); api.c fails them WSAEOPNOTSUPP on installed handles. */
int sk_select(wsdx_socket h, int events, wsdx_event_fn fn, void *ctx);
int sk_try_send(wsdx_socket h, const void *buf, int len);
int sk_try_send_disconnect(wsdx_socket h, const void *data, int len);
int sk_set_option(wsdx_socket h, int option, int value);
int sk_get_option(wsdx_socket h, int option);
int sk_address(wsdx_socket h, int peer, char *buf, int cap);

/* The host's installed backend if the provider is installed and usable,
 * else NULL with *err set to -WSA (always NULL, WSAEPROTONOSUPPORT, on hosts
 * without one). Cheap while the catalog is unchanged. */
const wsdx_backend_ops *wsdx_host_installed_backend(int *err);
/* The same, without probing: the backend whose handles carry
 * WSDX_HANDLE_INSTALLED, once it has been found, else NULL. */
const wsdx_backend_ops *wsdx_host_installed_known(void);

#endif
