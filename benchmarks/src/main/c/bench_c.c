/* bench_c.c - the machine's side of the benchmark table (bench/run.sh):
 *   close N     raw epoll: peer close() -> EPOLLRDHUP seen by a watcher thread,
 *               graceful and reset, median/p99 in ns (the floor for figure 1)
 *   calls N     wsdx_send + wsdx_recv of 16 bytes from C: ns per pair (figure 5)
 *   churn N     the seed scenario per connection through wsdx.h, one client (figure 3)
 *   memory N    native heap per idle wsdx connection, by mallinfo2 (figure 4)
 * Prints key=value lines. */
#define _GNU_SOURCE
#include "wsdx.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void tcp_pair(int lfd, int port, int *a, int *b)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*a, (struct sockaddr *)&sa, sizeof sa) != 0)
        abort();
    *b = accept(lfd, NULL, NULL);
}

static int g_ep;
static atomic_llong g_seen; /* time the watcher saw the close, 0 = not yet */

static void *watcher(void *arg)
{
    (void)arg;
    struct epoll_event ev;
    for (;;)
        if (epoll_wait(g_ep, &ev, 1, -1) == 1)
            atomic_store(&g_seen, now_ns());
    return NULL;
}

static void close_latency(int n, int reset, const char *name)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(lfd, (struct sockaddr *)&sa, sizeof sa);
    listen(lfd, 1024);
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    long long *lat = malloc(sizeof *lat * (size_t)n);
    for (int i = 0; i < n; i++) {
        int local, peer;
        tcp_pair(lfd, ntohs(sa.sin_port), &local, &peer);
        struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLET, .data.fd = local};
        epoll_ctl(g_ep, EPOLL_CTL_ADD, local, &ev);
        atomic_store(&g_seen, 0);
        if (reset) {
            struct linger lg = {1, 0};
            setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        long long t0 = now_ns();
        close(peer);
        long long t1;
        while ((t1 = atomic_load(&g_seen)) == 0)
            ;
        lat[i] = t1 - t0;
        epoll_ctl(g_ep, EPOLL_CTL_DEL, local, NULL);
        close(local);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("%s.median=%lld\n%s.p99=%lld\n", name, lat[n / 2], name, lat[n * 99 / 100]);
    free(lat);
    close(lfd);
}

static void calls(int n)
{
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
    wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000);
    wsdx_socket a = wsdx_accept(l, 5000);
    char buf[16] = {0};
    for (int i = 0; i < n / 10; i++) { /* warm-up */
        wsdx_send(c, buf, 16);
        wsdx_recv(a, buf, 16, -1);
    }
    long long t0 = now_ns();
    for (int i = 0; i < n; i++) {
        wsdx_send(c, buf, 16);
        wsdx_recv(a, buf, 16, -1);
    }
    printf("calls.c.ns=%lld\n", (now_ns() - t0) / n);
    wsdx_close(a);
    wsdx_close(c);
    wsdx_close(l);
}

/* The seed scenario per connection from C, one client: the floor for figure 3. */
static wsdx_socket g_listener;

static void *serve_seed(void *arg)
{
    (void)arg;
    char b[8];
    for (;;) {
        wsdx_socket a = wsdx_accept(g_listener, -1);
        if (a < 0)
            return NULL;
        int got = 0;
        while (got < 8)
            got += wsdx_recv(a, b + got, 8 - got, -1);
        wsdx_send(a, b, 8);
        while (wsdx_recv(a, b, 8, -1) > 0)
            ;
        wsdx_recv_disconnect(a, b, 8);
        wsdx_send_disconnect(a, b, 8);
        wsdx_close(a);
    }
}

static void churn(int n)
{
    g_listener = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 1024);
    int port = wsdx_local_port(g_listener);
    pthread_t t;
    pthread_create(&t, NULL, serve_seed, NULL);
    char b[8] = {0};
    long long t0 = 0;
    for (int i = -200; i < n; i++) { /* 200 warm-up rounds */
        if (i == 0)
            t0 = now_ns();
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
        if (wsdx_connect(c, "127.0.0.1", port, 5000) != 0)
            abort();
        wsdx_send(c, b, 8);
        int got = 0;
        while (got < 8)
            got += wsdx_recv(c, b + got, 8 - got, -1);
        wsdx_send_disconnect(c, b, 8);
        while (wsdx_recv(c, b, 8, -1) > 0)
            ;
        wsdx_recv_disconnect(c, b, 8);
        wsdx_close(c);
    }
    printf("churn.c.per_s=%lld\n", (long long)(n / ((now_ns() - t0) / 1e9)));
}

static void memory(int n)
{
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 1024);
    wsdx_socket *s = malloc(sizeof *s * 2 * (size_t)n);
    int port = wsdx_local_port(l);
    /* warm the allocator and the handle table once, then measure a second round */
    for (int round = 0; round < 2; round++) {
        malloc_trim(0);
        struct mallinfo2 before = mallinfo2();
        for (int i = 0; i < n; i++) {
            s[2 * i] = wsdx_socket_open(WSDX_STREAM);
            if (wsdx_connect(s[2 * i], "127.0.0.1", port, 5000) != 0)
                abort();
            s[2 * i + 1] = wsdx_accept(l, 5000);
        }
        struct mallinfo2 after = mallinfo2();
        if (round == 1)
            printf("memory.connections=%d\nmemory.bytes_per_socket=%zu\n", 2 * n,
                   (after.uordblks - before.uordblks) / (size_t)(2 * n));
        for (int i = 0; i < 2 * n; i++)
            wsdx_close(s[i]);
        while (wsdx_open_handles() > 1)
            usleep(1000);
    }
    wsdx_close(l);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int n = atoi(argv[2]);
    if (!strcmp(argv[1], "close")) {
        g_ep = epoll_create1(0);
        pthread_t t;
        pthread_create(&t, NULL, watcher, NULL);
        close_latency(n, 0, "close.epoll.graceful");
        close_latency(n, 1, "close.epoll.reset");
    } else if (!strcmp(argv[1], "calls")) {
        calls(n);
    } else if (!strcmp(argv[1], "churn")) {
        churn(n);
    } else if (!strcmp(argv[1], "memory")) {
        memory(n);
    } else {
        return 2;
    }
    return 0;
}
