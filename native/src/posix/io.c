/* io.c (POSIX) - BSD socket calls for the core, errors mapped to WSA codes.
 * What the Windows host does the same way is in src/bsd/tcp.c. */
#include "bsd.h"
#include "wsdx.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/sockios.h>

static int wsa(int e)
{
    switch (e) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return WSDX_WSAEWOULDBLOCK;
    case EINPROGRESS: return WSDX_WSAEWOULDBLOCK;
    case ECONNRESET:
    case EPIPE: return WSDX_WSAECONNRESET;
    case ECONNABORTED:
    case ETIMEDOUT: return WSDX_WSAECONNABORTED; /* lost on an established connection (R4) */
    case ECONNREFUSED: return WSDX_WSAECONNREFUSED;
    case ENETUNREACH: return WSDX_WSAENETUNREACH;
    case EHOSTUNREACH: return WSDX_WSAEHOSTUNREACH;
    case ENETDOWN: return WSDX_WSAENETDOWN;
    case EADDRINUSE: return WSDX_WSAEADDRINUSE;
    case EADDRNOTAVAIL: return WSDX_WSAEADDRNOTAVAIL;
    case EMFILE:
    case ENFILE: return WSDX_WSAEMFILE;
    case ENOBUFS:
    case ENOMEM: return WSDX_WSAENOBUFS;
    case ENOTCONN: return WSDX_WSAENOTCONN;
    case EINTR: return WSDX_WSAEINTR;
    default: return WSDX_WSAEINVAL;
    }
}

int wsdx__io_error(void)
{
    return -wsa(errno);
}

int wsdx__io_socket(int family, wsdx_fd *out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -wsa(errno);
    *out = fd;
    return 0;
}

static void tune(int fd)
{
    int one = 1; /* frames go out whole; small disconnect frames must not wait */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int wsdx__io_connect_one(const struct addrinfo *ai, int64_t deadline, const uint8_t *cancel, wsdx_fd *out)
{
    int fd, rc = wsdx__io_socket(ai->ai_family, &fd);
    if (rc)
        return rc;
    tune(fd);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        *out = fd;
        return 0;
    }
    if (errno != EINPROGRESS) {
        rc = -wsa(errno);
        close(fd);
        return rc == -WSDX_WSAECONNABORTED ? -WSDX_WSAETIMEDOUT : rc;
    }
    for (;;) {
        int64_t left = deadline - wsdx_now_ms();
        if (left <= 0 || wsdx_cancelled(cancel)) {
            close(fd);
            return left <= 0 ? -WSDX_WSAETIMEDOUT : -WSDX_WSAEINTR;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, left > WSDX_CONNECT_SLICE_MS ? WSDX_CONNECT_SLICE_MS : (int)left);
        if (n > 0)
            break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        close(fd);
        return err == ETIMEDOUT ? -WSDX_WSAETIMEDOUT : -wsa(err);
    }
    *out = fd;
    return 0;
}

void wsdx__io_listen_options(wsdx_fd fd)
{
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

int wsdx_io_accept(wsdx_fd l, wsdx_fd *out)
{
    for (;;) {
        int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            tune(fd);
            *out = fd;
            return 0;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue; /* a connection that died in the backlog: take the next */
        return -wsa(errno);
    }
}

long wsdx_io_recv(wsdx_fd fd, void *buf, size_t n)
{
    for (;;) {
        ssize_t r = recv(fd, buf, n, 0);
        if (r >= 0)
            return (long)r;
        if (errno != EINTR)
            return -wsa(errno);
    }
}

long wsdx_io_send2(wsdx_fd fd, const void *a, size_t an, const void *b, size_t bn)
{
    struct iovec iov[2] = {{(void *)a, an}, {(void *)b, bn}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = bn ? 2 : 1;
    for (;;) {
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (r >= 0)
            return (long)r;
        if (errno != EINTR)
            return -wsa(errno);
    }
}

void wsdx_io_wait(wsdx_fd fd, int what, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = (short)((what & WSDX_IO_READ ? POLLIN | POLLRDHUP : 0) |
                                                   (what & WSDX_IO_WRITE ? POLLOUT : 0))};
    poll(&p, 1, timeout_ms);
}

int wsdx_io_shutdown_send(wsdx_fd fd)
{
    return shutdown(fd, SHUT_WR) == 0 || errno == ENOTCONN ? 0 : -wsa(errno);
}

void wsdx_io_wake(wsdx_fd fd)
{
    shutdown(fd, SHUT_RD); /* Linux wakes readers and sends nothing */
}

void wsdx_io_reset(wsdx_fd fd)
{
    /* Linger 0 makes the final close abortive; AF_UNSPEC connect sends the
     * RST now even if another thread still holds the descriptor. */
    struct linger lg = {1, 0};
    struct sockaddr sa;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNSPEC;
    connect(fd, &sa, sizeof sa);
}

void wsdx_io_close(wsdx_fd fd)
{
    close(fd);
}

size_t wsdx_io_unsent(wsdx_fd fd)
{
    int n = 0;
    if (ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0)
        return 0;
    return (size_t)n;
}

int wsdx_io_set_abort_timeout(wsdx_fd fd, int ms)
{
    unsigned int v = (unsigned int)ms;
    return setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v) == 0 ? 0 : -wsa(errno);
}
