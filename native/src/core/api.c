/* api.c - wsdx.h: each call goes to the backend that owns the handle
 * (backend.h); new sockets go to the backend chosen with wsdx_use_backend
 * (default: the installed provider when there is one, else in-process).
 * Records the calling thread's last error, Winsock style. */
#include "backend.h"
#include "rxqueue.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local int t_last_error;
static int g_want = -1; /* the WSDX_BACKEND_* asked for; -1 until chosen or read from the environment (atomic) */

static int ret(int rc)
{
    if (rc < 0)
        t_last_error = -rc;
    return rc;
}

static int64_t ret64(int64_t rc)
{
    if (rc < 0)
        t_last_error = (int)-rc;
    return rc;
}

int wsdx_last_error(void) { return t_last_error; }
const char *wsdx_version(void) { return "0.2.0"; }

/* ------------------------------------------------------------- choosing */

/* WSDX_BACKEND from the environment ("installed", "in-process", "auto"). */
static int from_environment(void)
{
    const char *v = getenv("WSDX_BACKEND");
    if (v && !strcmp(v, "installed"))
        return WSDX_BACKEND_INSTALLED;
    if (v && !strcmp(v, "in-process"))
        return WSDX_BACKEND_IN_PROCESS;
    return WSDX_BACKEND_AUTO;
}

/* The backend for want, looked up anew each time: the installed backend
 * keeps what it read of the catalog and reads it again only when that is out
 * of date or failed (win/pc_catalog.c), so AUTO follows an install or a
 * removal, and a failed choice is never kept. */
static int resolve(int want)
{
    if (want == WSDX_BACKEND_IN_PROCESS)
        return want;
    int err = 0;
    if (wsdx_host_installed_backend(&err))
        return WSDX_BACKEND_INSTALLED;
    return want == WSDX_BACKEND_AUTO ? WSDX_BACKEND_IN_PROCESS : err;
}

static int wanted(void)
{
    int w = __atomic_load_n(&g_want, __ATOMIC_ACQUIRE);
    if (w >= 0)
        return w;
    int expected = -1; /* a racing wsdx_use_backend wins */
    __atomic_compare_exchange_n(&g_want, &expected, from_environment(), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&g_want, __ATOMIC_ACQUIRE);
}

int wsdx_use_backend(int backend)
{
    if (backend < WSDX_BACKEND_AUTO || backend > WSDX_BACKEND_INSTALLED)
        return ret(-WSDX_WSAEINVAL);
    int chosen = resolve(backend);
    if (chosen > 0)
        __atomic_store_n(&g_want, backend, __ATOMIC_RELEASE);
    return ret(chosen);
}

/* Asked for in the environment and not there: said at each new socket. */
int wsdx_backend(void)
{
    return ret(resolve(wanted()));
}

/* The backend new sockets go to, or NULL with *err set. */
static const wsdx_backend_ops *for_new(int *err)
{
    int c = wsdx_backend();
    if (c < 0) {
        *err = c;
        return NULL;
    }
    return c == WSDX_BACKEND_INSTALLED ? wsdx_host_installed_known() : &wsdx_inprocess_backend;
}

/* The backend owning h, or NULL (not a handle of ours). */
static const wsdx_backend_ops *of(wsdx_socket h)
{
    if (h < 0)
        return NULL;
    return ((uint64_t)h & WSDX_HANDLE_INSTALLED) ? wsdx_host_installed_known() : &wsdx_inprocess_backend;
}

/* ------------------------------------------------------------- dispatch */

/* The body of a call on an existing handle. */
#define DISPATCH(h, call)             \
    const wsdx_backend_ops *b_ = of(h);   \
    return b_ ? ret(b_->call) : ret(-WSDX_WSAENOTSOCK)

wsdx_socket wsdx_socket_open(int mode)
{
    int err = 0;
    const wsdx_backend_ops *b = for_new(&err);
    return ret64(b ? b->socket_open(mode) : err);
}

wsdx_socket wsdx_listen(const char *host, int port, int mode, int backlog)
{
    int err = 0;
    const wsdx_backend_ops *b = for_new(&err);
    return ret64(b ? b->listen(host, port, mode, backlog) : err);
}

wsdx_socket wsdx_accept(wsdx_socket l, int timeout_ms)
{
    const wsdx_backend_ops *b = of(l);
    return ret64(b ? b->accept(l, timeout_ms) : -WSDX_WSAENOTSOCK);
}

int64_t wsdx_listener_rejected(wsdx_socket l)
{
    const wsdx_backend_ops *b = of(l);
    return ret64(b ? b->listener_rejected(l) : -WSDX_WSAENOTSOCK);
}

int wsdx_connect(wsdx_socket s, const char *host, int port, int timeout_ms) { DISPATCH(s, connect(s, host, port, timeout_ms)); }
int wsdx_local_port(wsdx_socket s) { DISPATCH(s, local_port(s)); }
int wsdx_set_blocking(wsdx_socket s, int blocking) { DISPATCH(s, set_blocking(s, blocking)); }
int wsdx_send(wsdx_socket s, const void *buf, int len) { DISPATCH(s, send(s, buf, len)); }
int wsdx_recv_ex(wsdx_socket s, void *buf, int len, int timeout_ms, int *flags)
{
    if (!flags)
        return ret(-WSDX_WSAEFAULT);
    *flags = 0;
    DISPATCH(s, recv(s, buf, len, timeout_ms, flags));
}

/* The Winsock recv() form: a cut message fails WSAEMSGSIZE, its first len bytes in buf. */
int wsdx_recv(wsdx_socket s, void *buf, int len, int timeout_ms)
{
    int flags = 0;
    int rc = wsdx_recv_ex(s, buf, len, timeout_ms, &flags);
    return rc >= 0 && (flags & WSDX_MSG_PARTIAL) ? ret(-WSDX_WSAEMSGSIZE) : rc;
}
int wsdx_shutdown(wsdx_socket s, int how) { DISPATCH(s, shutdown(s, how)); }
int wsdx_send_disconnect(wsdx_socket s, const void *data, int len) { DISPATCH(s, send_disconnect(s, data, len)); }
int wsdx_recv_disconnect(wsdx_socket s, void *buf, int cap) { DISPATCH(s, recv_disconnect(s, buf, cap)); }
int wsdx_set_linger(wsdx_socket s, int onoff, int seconds) { DISPATCH(s, set_linger(s, onoff, seconds)); }
int wsdx_set_abort_timeout(wsdx_socket s, int ms) { DISPATCH(s, set_abort_timeout(s, ms)); }
int wsdx_close(wsdx_socket s) { DISPATCH(s, close(s)); }
int wsdx_set_memory_budget(int64_t bytes)
{
    if (bytes < 0)
        return ret(-WSDX_WSAEINVAL);
    wsdx_rxq_set_budget(bytes);
    return 0;
}
int wsdx_set_send_timeout(wsdx_socket s, int ms)
{
    const wsdx_backend_ops *b = of(s);
    if (b && !b->set_send_timeout)
        return ret(-WSDX_WSAEOPNOTSUPP); /* a backend without it (backend.h) */
    DISPATCH(s, set_send_timeout(s, ms));
}
int wsdx_on_close(wsdx_socket s, wsdx_close_fn fn, void *ctx) { DISPATCH(s, on_close(s, fn, ctx)); }

int wsdx_open_handles(void)
{
    const wsdx_backend_ops *inst = wsdx_host_installed_known();
    return wsdx_inprocess_backend.open_handles() + (inst ? inst->open_handles() : 0);
}

/* ------------------------------------- beyond the backend table (in-process only) */

/* The installed backend has no readiness events, options or addresses yet:
 * its handles fail WSAEOPNOTSUPP (docs/windows.md, known limits). */
#define IN_PROCESS_ONLY(h, call)                                            \
    if (h < 0)                                                              \
        return ret(-WSDX_WSAENOTSOCK);                                      \
    return ret(((uint64_t)h & WSDX_HANDLE_INSTALLED) ? -WSDX_WSAEOPNOTSUPP : call)

int wsdx_select(wsdx_socket s, int events, wsdx_event_fn fn, void *ctx) { IN_PROCESS_ONLY(s, sk_select(s, events, fn, ctx)); }
int wsdx_try_send(wsdx_socket s, const void *buf, int len) { IN_PROCESS_ONLY(s, sk_try_send(s, buf, len)); }
int wsdx_try_send_disconnect(wsdx_socket s, const void *data, int len)
{
    IN_PROCESS_ONLY(s, sk_try_send_disconnect(s, data, len));
}
int wsdx_set_option(wsdx_socket s, int option, int value) { IN_PROCESS_ONLY(s, sk_set_option(s, option, value)); }
int wsdx_get_option(wsdx_socket s, int option) { IN_PROCESS_ONLY(s, sk_get_option(s, option)); }
int wsdx_address(wsdx_socket s, int peer, char *buf, int cap) { IN_PROCESS_ONLY(s, sk_address(s, peer, buf, cap)); }
