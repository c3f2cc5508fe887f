/* host.h - what the portable core needs from an OS. Each host folder
 * (src/posix, src/win) implements these and provides host_types.h with
 * wsdx_mutex, wsdx_cond and wsdx_fd. Socket calls are non-blocking and return
 * >= 0 or a negative WSA code; blocking is the core's business. */
#ifndef WSDX_HOST_H
#define WSDX_HOST_H

#include "host_types.h"

#include <stddef.h>
#include <stdint.h>

/* --- threads and time --- */
void wsdx_mutex_init(wsdx_mutex *m);
void wsdx_mutex_destroy(wsdx_mutex *m);
void wsdx_mutex_lock(wsdx_mutex *m);
void wsdx_mutex_unlock(wsdx_mutex *m);
/* 1 when m is locked (by some thread): only for WSDX_ASSERT("the caller holds m"). */
int wsdx_mutex_is_locked(wsdx_mutex *m);
void wsdx_cond_init(wsdx_cond *c);
void wsdx_cond_destroy(wsdx_cond *c);
void wsdx_cond_broadcast(wsdx_cond *c);
/* Waits until signalled or until deadline (wsdx_now_ms clock; < 0: no deadline). */
void wsdx_cond_wait(wsdx_cond *c, wsdx_mutex *m, int64_t deadline);
int64_t wsdx_now_ms(void);
void wsdx_sleep_ms(int ms);
/* Runs fn(arg) on a new detached thread; 0 or -WSA (WSAENOBUFS). */
int wsdx_thread_spawn(void (*fn)(void *), void *arg);

/* --- sockets --- */
#define WSDX_IO_READ 1
#define WSDX_IO_WRITE 2
/* Connects (waiting until deadline) a TCP socket, non-blocking, no delay.
 * Fails -WSAEINTR soon after *cancel turns non-zero (the socket was closed). */
int wsdx_io_connect(const char *host, int port, int64_t deadline, const uint8_t *cancel, wsdx_fd *out);
/* How often a connect in progress looks at its cancel flag. */
#define WSDX_CONNECT_SLICE_MS 50
static inline int wsdx_cancelled(const uint8_t *cancel)
{
    return cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE);
}
int wsdx_io_listen(const char *host, int port, int backlog, wsdx_fd *out);
/* 0 with *out set, -WSAEWOULDBLOCK when none is pending. */
int wsdx_io_accept(wsdx_fd listener, wsdx_fd *out);
int wsdx_io_local_port(wsdx_fd fd);
/* Bytes read, 0 at the peer's FIN, or -WSA (-WSAEWOULDBLOCK: nothing yet). */
long wsdx_io_recv(wsdx_fd fd, void *buf, size_t n);
/* Sends a then b in order; bytes sent or -WSA. Never raises a signal. */
long wsdx_io_send2(wsdx_fd fd, const void *a, size_t an, const void *b, size_t bn);
/* Waits up to timeout_ms for readiness (a bounded slice: callers re-check state);
 * what 0 waits the slice out unless the connection fails. */
void wsdx_io_wait(wsdx_fd fd, int what, int timeout_ms);
int wsdx_io_shutdown_send(wsdx_fd fd);
/* Wakes local threads blocked on fd without sending anything. */
void wsdx_io_wake(wsdx_fd fd);
/* Resets the connection now (RST); the descriptor stays valid until closed. */
void wsdx_io_reset(wsdx_fd fd);
void wsdx_io_close(wsdx_fd fd);
/* Bytes the kernel still holds unacknowledged for sending. */
size_t wsdx_io_unsent(wsdx_fd fd);
int wsdx_io_set_abort_timeout(wsdx_fd fd, int ms);
/* WSDX_OPT_* options (wsdx.h): 0 or -WSA; get returns the value. */
int wsdx_io_set_option(wsdx_fd fd, int option, int value);
int wsdx_io_get_option(wsdx_fd fd, int option);
/* Numeric text of the local or peer address into buf; its port or -WSA. */
int wsdx_io_address(wsdx_fd fd, int peer, char *buf, size_t cap);

/* --- the notifier: one thread watching every socket --- */
#define WSDX_WATCH_READ 1   /* level: readable (listeners, handshakes) */
#define WSDX_WATCH_WRITE 2  /* edge: writable (a send queue waits) */
#define WSDX_WATCH_CLOSE 4  /* edge: peer FIN, reset or error */
/* Starts the notifier thread once; 0 or -WSA. */
int wsdx_notifier_start(void);
int wsdx_watch(wsdx_fd fd, void *tag, int events);
int wsdx_watch_modify(wsdx_fd fd, void *tag, int events);
void wsdx_unwatch(wsdx_fd fd);
/* Makes the notifier call wsdx__posted() soon. */
void wsdx_notifier_wake(void);
int wsdx_on_notifier_thread(void);

/* --- what the notifier calls back into the core --- */
void wsdx__ready(void *tag, int events);   /* events: WSDX_WATCH_* bits seen */
void wsdx__posted(void);                    /* work posted by other threads */
int64_t wsdx__timers(int64_t now);          /* expire timers; next deadline or -1 */
void wsdx__batch_end(void);                 /* between batches: free retired sockets */

#endif
