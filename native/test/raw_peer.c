/* raw_peer.c - a raw BSD-socket peer for the C tests (see raw_peer.h). */
#include "raw_peer.h"
#include "close_events.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_client(int port, int mode)
{
    int fd = raw_connect(port);
    uint8_t pre[8], theirs[8];
    preamble(pre, 1, mode);
    if (fd < 0 || !write_all(fd, pre, 8) || recv(fd, theirs, 8, MSG_WAITALL) != 8) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A raw listener on an ephemeral port; rcvbuf > 0 shrinks its receive buffer. */
int raw_listen(int *port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) { /* a blocking send may take part of a large buffer */
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return 0;
        b += w;
        n -= (size_t)w;
    }
    return 1;
}

void put_header(uint8_t *out, uint8_t type, uint32_t len)
{
    out[0] = type;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

void preamble(uint8_t out[8], int version, int mode)
{
    memcpy(out, "WSDX", 4);
    out[4] = (uint8_t)version;
    out[5] = (uint8_t)mode;
    out[6] = out[7] = 0;
}

static void *raw_server_main(void *arg)
{
    raw_server *r = arg;
    int s = accept(r->lfd, NULL, NULL);
    for (size_t i = 0; s >= 0 && r->trickle && i < r->n; i++) {
        write_all(s, (const uint8_t *)r->reply + i, 1);
        usleep(20000); /* each byte its own segment */
    }
    if (s >= 0 && r->n && !r->trickle)
        write_all(s, r->reply, r->n);
    if (s >= 0 && r->fin == 2) { /* reset */
        struct linger lg = {1, 0};
        setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(s);
        s = -1;
    }
    if (s >= 0 && r->fin)
        shutdown(s, SHUT_WR);
    atomic_store(&r->fd, s);
    return NULL;
}

void raw_server_start(raw_server *r, int lfd, const void *reply, size_t n, int fin)
{
    r->lfd = lfd;
    r->reply = reply;
    r->n = n;
    r->fin = fin;
    r->trickle = 0;
    atomic_store(&r->fd, -1);
    pthread_create(&r->th, NULL, raw_server_main, r);
}

void raw_server_trickle(raw_server *r, int lfd, const void *reply, size_t n)
{
    r->lfd = lfd;
    r->reply = reply;
    r->n = n;
    r->fin = 0;
    r->trickle = 1;
    atomic_store(&r->fd, -1);
    pthread_create(&r->th, NULL, raw_server_main, r);
}

/* Joins the server thread; returns the accepted socket. */
int raw_server_join(raw_server *r)
{
    pthread_join(r->th, NULL);
    return atomic_load(&r->fd);
}

/* Reads until EOF or error: 0 at a clean EOF, -errno at a reset; *got counts bytes. */
int drain(int fd, long *got, int timeout_ms)
{
    char buf[65536];
    long total = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) {
            if (got)
                *got = total;
            return -ETIMEDOUT;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            total += n;
            continue;
        }
        if (got)
            *got = total;
        return n == 0 ? 0 : -errno;
    }
}


int raw_peer_accepted(int mode, wsdx_socket *l, wsdx_socket *a)
{
    uint8_t pre[8], theirs[8];
    *l = wsdx_listen("127.0.0.1", 0, mode, 0);
    int fd = raw_connect(wsdx_local_port(*l));
    if (fd < 0)
        return -1;
    preamble(pre, WSDX_PROTOCOL_VERSION, mode);
    if (!write_all(fd, pre, 8) || recv(fd, theirs, 8, MSG_WAITALL) != 8 ||
        (*a = wsdx_accept(*l, 5000)) <= 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_peer_watched(int mode, wsdx_socket *l, wsdx_socket *a)
{
    int fd = raw_peer_accepted(mode, l, a);
    if (fd >= 0)
        watch_close(*a);
    return fd;
}
