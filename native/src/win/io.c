/* io.c (Windows) - Winsock calls for the core. Winsock's errors already are
 * WSA codes; only the ones the core treats specially are mapped. What the
 * POSIX host does the same way is in src/bsd/tcp.c. */
#include "bsd.h"
#include "wsdx.h"

#include <mstcpip.h>
#include <stdio.h>
#include <ws2tcpip.h>

#ifndef TCP_MAXRT
#define TCP_MAXRT 5 /* ws2ipdef.h: seconds of retransmission before the connection is aborted */
#endif

/* A WSA code as the core expects it: a lost established connection is
 * WSAECONNABORTED (R4), whatever name the stack gave it. */
static int wsa_now(void)
{
    int e = WSAGetLastError();
    switch (e) {
    case WSAETIMEDOUT:
    case WSAENETRESET:
        return WSDX_WSAECONNABORTED;
    case 0:
        return WSDX_WSAEINVAL;
    default:
        return e;
    }
}

static int nonblocking(SOCKET s)
{
    u_long one = 1;
    return ioctlsocket(s, FIONBIO, &one) == 0 ? 0 : -wsa_now();
}

int wsdx__io_error(void)
{
    return -wsa_now();
}

int wsdx__io_socket(int family, wsdx_fd *out)
{
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return -wsa_now();
    int rc = nonblocking(s);
    if (rc) {
        closesocket(s);
        return rc;
    }
    BOOL one = TRUE; /* frames go out whole; small disconnect frames must not wait */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    *out = s;
    return 0;
}

int wsdx__io_connect_one(const struct addrinfo *ai, int64_t deadline, const uint8_t *cancel, wsdx_fd *out)
{
    SOCKET s;
    int rc = wsdx__io_socket(ai->ai_family, &s);
    if (rc)
        return rc;
    if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 && WSAGetLastError() != WSAEWOULDBLOCK) {
        rc = -WSAGetLastError();
        closesocket(s);
        return rc;
    }
    for (;;) {
        int64_t left = deadline - wsdx_now_ms();
        if (left <= 0 || wsdx_cancelled(cancel)) {
            closesocket(s);
            return left <= 0 ? -WSDX_WSAETIMEDOUT : -WSDX_WSAEINTR;
        }
        if (left > WSDX_CONNECT_SLICE_MS)
            left = WSDX_CONNECT_SLICE_MS;
        fd_set w, e;
        FD_ZERO(&w);
        FD_ZERO(&e);
        FD_SET(s, &w);
        FD_SET(s, &e); /* Winsock reports a failed connect as an exception */
        struct timeval tv = {(long)(left / 1000), (long)(left % 1000) * 1000};
        if (select(0, NULL, &w, &e, &tv) > 0)
            break;
    }
    int err = 0, len = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
    if (err) {
        closesocket(s);
        return -err;
    }
    *out = s;
    return 0;
}

void wsdx__io_listen_options(wsdx_fd fd)
{
    BOOL one = TRUE; /* no port stealing (Winsock's SO_REUSEADDR would allow it) */
    setsockopt(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
}

int wsdx_io_accept(wsdx_fd l, wsdx_fd *out)
{
    for (;;) {
        SOCKET s = accept(l, NULL, NULL);
        if (s != INVALID_SOCKET) {
            int rc = nonblocking(s);
            if (rc) {
                closesocket(s);
                return rc;
            }
            BOOL one = TRUE;
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
            *out = s;
            return 0;
        }
        if (WSAGetLastError() == WSAECONNRESET)
            continue; /* died in the backlog: take the next */
        return -WSAGetLastError();
    }
}

long wsdx_io_recv(wsdx_fd fd, void *buf, size_t n)
{
    int r = recv(fd, buf, n > INT_MAX ? INT_MAX : (int)n, 0);
    if (r >= 0)
        return r;
    int e = WSAGetLastError();
    return e == WSAEWOULDBLOCK ? -WSDX_WSAEWOULDBLOCK : -(long)wsa_now();
}

long wsdx_io_send2(wsdx_fd fd, const void *a, size_t an, const void *b, size_t bn)
{
    WSABUF bufs[2] = {{(ULONG)an, (char *)a}, {(ULONG)bn, (char *)b}};
    DWORD sent = 0;
    if (WSASend(fd, bufs, bn ? 2 : 1, &sent, 0, NULL, NULL) == 0)
        return (long)sent;
    int e = WSAGetLastError();
    return e == WSAEWOULDBLOCK ? -WSDX_WSAEWOULDBLOCK : -(long)wsa_now();
}

void wsdx_io_wait(wsdx_fd fd, int what, int timeout_ms)
{
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    if (what & WSDX_IO_READ)
        FD_SET(fd, &r);
    if (what & WSDX_IO_WRITE)
        FD_SET(fd, &w);
    FD_SET(fd, &e);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    select(0, &r, &w, &e, &tv);
}

int wsdx_io_shutdown_send(wsdx_fd fd)
{
    return shutdown(fd, SD_SEND) == 0 || WSAGetLastError() == WSAENOTCONN ? 0 : -wsa_now();
}

void wsdx_io_wake(wsdx_fd fd)
{
    /* Winsock has no way to wake a select() on fd without sending something;
     * blocked core calls wait in 50 ms slices and see the close themselves. */
    (void)fd;
}

void wsdx_io_reset(wsdx_fd fd)
{
    /* Winsock resets only on closesocket: with linger 0 the RST goes out when
     * the last reference drops and the notifier closes fd (at once, unless
     * another thread is inside a blocking call on it: then within one slice). */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg);
}

void wsdx_io_close(wsdx_fd fd)
{
    closesocket(fd);
}

size_t wsdx_io_unsent(wsdx_fd fd)
{
    /* SIO_TCP_INFO (Windows 10 1703+): bytes sent and not yet acknowledged.
     * Where it is missing (older Windows, Wine) nothing is known to wait for. */
    DWORD version = 0, got = 0;
    TCP_INFO_v0 info;
    if (WSAIoctl(fd, SIO_TCP_INFO, &version, sizeof version, &info, sizeof info, &got, NULL, NULL) != 0)
        return 0;
    return info.BytesInFlight;
}

int wsdx_io_set_abort_timeout(wsdx_fd fd, int ms)
{
    DWORD secs = ms <= 0 ? 0 : (DWORD)((ms + 999) / 1000);
    if (ms == 0)
        return 0; /* the system default: leave it */
    return setsockopt(fd, IPPROTO_TCP, TCP_MAXRT, (const char *)&secs, sizeof secs) == 0 ? 0 : -wsa_now();
}
