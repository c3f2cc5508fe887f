/* test_hostile.c - wsdx against hostile or broken peers over loopback: a raw
 * BSD-socket peer that is not wsdx, speaks a future version, sends frames of
 * length 2^32-1, oversized disconnect data, bytes after DISCONNECT, ends mid
 * frame (FIN or RST), never finishes its preamble, never reads while we close
 * under each linger policy, or half-closes while we keep sending.
 * docs/robustness.md maps each case to the test below. */
#include "check.h"
#include "close_events.h"
#include "host.h"
#include "raw_peer.h"
#include "wsdx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ preamble */

static void hostile_preamble_to_listener(void)
{
    static const struct { uint8_t pre[8]; } bad[] = {
        {{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'}},              /* not wsdx */
        {{'W', 'S', 'D', 'X', 2, WSDX_STREAM, 0, 0}},            /* future version */
        {{'W', 'S', 'D', 'X', 0, WSDX_STREAM, 0, 0}},            /* version 0 */
        {{'W', 'S', 'D', 'X', 1, WSDX_MESSAGE, 0, 0}},           /* wrong mode */
        {{'W', 'S', 'D', 'X', 1, 7, 0, 0}},                      /* unknown mode */
    };
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = raw_connect(wsdx_local_port(l));
        CHECK(write_all(fd, bad[i].pre, 8));
        CHECK_EQ(drain(fd, NULL, 5000), -ECONNRESET); /* our preamble, then RST */
        close(fd);
    }
    /* FIN after half a preamble */
    int fd = raw_connect(wsdx_local_port(l));
    CHECK(write_all(fd, "WSDX", 4));
    shutdown(fd, SHUT_WR);
    CHECK(drain(fd, NULL, 5000) <= 0);
    close(fd);
    for (int i = 0; i < 200 && wsdx_listener_rejected(l) < 6; i++)
        usleep(10000);
    CHECK_EQ(wsdx_listener_rejected(l), 6);
    CHECK_EQ(wsdx_accept(l, 0), -WSDX_WSAEWOULDBLOCK);
    wsdx_close(l);
}

/* A wsdx client against raw servers: each error of protocol.md section 1. */
static void hostile_server_preamble(void)
{
    static const struct { const char *pre; size_t n; int want; } cases[] = {
        {"HTTP/1.1", 8, WSDX_WSAEPROTONOSUPPORT},
        {"WSDX\x02\x01\x00\x00", 8, WSDX_WSAVERNOTSUPPORTED},
        {"WSDX\x01\x02\x00\x00", 8, WSDX_WSAEPROTOTYPE},
        {"WSDX", 4, WSDX_WSAEPROTONOSUPPORT}, /* then FIN */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int port, lfd = raw_listen(&port, 0);
        raw_server r;
        raw_server_start(&r, lfd, cases[i].pre, cases[i].n, cases[i].n < 8);
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
        CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), -cases[i].want);
        CHECK_EQ(wsdx_local_port(c), -WSDX_WSAENOTCONN); /* stays unconnected */
        int s = raw_server_join(&r);
        if (cases[i].n == 8) /* wsdx reset the connection after checking */
            CHECK_EQ(drain(s, NULL, 5000), -ECONNRESET);
        close(s);
        wsdx_close(c);
        close(lfd);
    }
    /* a server that never answers: the connect timeout */
    int port, lfd = raw_listen(&port, 0);
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
    long t0 = now_ms();
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 300), -WSDX_WSAETIMEDOUT);
    CHECK(now_ms() - t0 < 3000);
    wsdx_close(c);
    close(lfd);
}

/* A listener whose accept queue is full: Linux drops further SYNs, so a TCP
 * connect to it never completes. Fills the queue (listen backlog 0) with raw
 * connects until one stays in progress for 100 ms; returns the listener, or -1. */
static int syn_dropping_listener(int *port, int held[8], int *nheld)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 0) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        return -1;
    *port = ntohs(a.sin_port);
    for (*nheld = 0; *nheld < 8;) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        fcntl(c, F_SETFL, O_NONBLOCK);
        connect(c, (struct sockaddr *)&a, sizeof a);
        held[(*nheld)++] = c;
        struct pollfd p = {.fd = c, .events = POLLOUT};
        if (poll(&p, 1, 100) == 0)
            return l; /* this one hangs: the queue is full */
    }
    return -1;
}

/* The connect timeout while the TCP handshake itself hangs (posix/io.c's poll
 * loop, before any preamble): WSAETIMEDOUT, never WSAEINTR, including when the
 * last wait ends exactly at the deadline. Mutation: io.c wsdx__io_connect_one,
 * `left <= 0 ? WSAETIMEDOUT : WSAEINTR` -> `left < 0` (a mutate.py survivor):
 * a wait that ends at the deadline's millisecond reports WSAEINTR. */
static void connect_timeout_during_tcp_handshake(void)
{
    int port, held[8], nheld = 0;
    int l = syn_dropping_listener(&port, held, &nheld);
    CHECK(l >= 0);
    if (l >= 0) {
        for (int i = 0; i < 20; i++) {
            wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
            long t0 = now_ms();
            CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 20 + i), -WSDX_WSAETIMEDOUT);
            CHECK(now_ms() - t0 < 3000);
            CHECK_EQ(wsdx_local_port(c), -WSDX_WSAENOTCONN);
            wsdx_close(c);
        }
        close(l);
    }
    for (int i = 0; i < nheld; i++)
        close(held[i]);
}

/* The host's count of bytes the kernel still holds (wsdx_io_unsent, SIOCOUTQ),
 * which a linger close waits on and which decides S10's WSAEWOULDBLOCK once
 * the layer's own queue is empty: with a peer that never reads and a full
 * window it is the bytes written and not acknowledged; 0 once the peer took
 * all. Mutation: posix/io.c wsdx_io_unsent, `ioctl(...) != 0` -> `== 0` (a
 * mutate.py survivor): it reports 0 while the kernel holds the data. */
static void kernel_unsent_counts_what_the_peer_has_not_taken(void)
{
    int port, lfd = raw_listen(&port, 4096);
    int c = raw_connect(port);
    int a = accept(lfd, NULL, NULL);
    CHECK(c >= 0 && a >= 0);
    fcntl(c, F_SETFL, O_NONBLOCK);
    static uint8_t chunk[4096];
    long sent = 0;
    for (ssize_t w; (w = send(c, chunk, sizeof chunk, MSG_NOSIGNAL)) > 0;)
        sent += w;
    CHECK(sent > 0);
    size_t held = wsdx_io_unsent(c);
    CHECK(held > 0 && (long)held <= sent); /* the window is full: the kernel holds the rest */
    fcntl(a, F_SETFL, O_NONBLOCK);
    long got = 0;
    for (long t0 = now_ms(); got < sent && now_ms() - t0 < 5000;) {
        ssize_t r = recv(a, chunk, sizeof chunk, 0);
        if (r > 0)
            got += r;
        else
            usleep(1000);
    }
    CHECK_EQ(got, sent);
    for (long t0 = now_ms(); wsdx_io_unsent(c) > 0 && now_ms() - t0 < 5000;)
        usleep(1000);
    CHECK_EQ(wsdx_io_unsent(c), 0); /* all acknowledged */
    close(c);
    close(a);
    close(lfd);
}

/* A client that sends 4 preamble bytes and then nothing: rejected after the
 * 10 s handshake time (frame.h WSDX_HANDSHAKE_MS_DEFAULT). */
static void slow_preamble(void)
{
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    int fd = raw_connect(wsdx_local_port(l));
    CHECK(write_all(fd, "WSDX", 4));
    long t0 = now_ms();
    int rc = drain(fd, NULL, 15000);
    long dt = now_ms() - t0;
    CHECK_EQ(rc, -ECONNRESET);
    CHECK(dt >= 9000 && dt < 14000);
    CHECK_EQ(wsdx_listener_rejected(l), 1);
    CHECK_EQ(wsdx_accept(l, 0), -WSDX_WSAEWOULDBLOCK);
    close(fd);
    wsdx_close(l);
}

/* -------------------------------------------------------------------- frames */

/* Bytes on the wire after the preamble -> what recv and FD_CLOSE report, and
 * that the raw peer sees a reset when wsdx found a protocol error. */
static void hostile_frames(void)
{
    static const struct {
        const char *what;
        uint8_t type;
        uint32_t len;
        size_t body;       /* payload bytes actually sent */
        const char *extra; /* sent after the frame */
        int end;           /* 0 nothing, 1 FIN, 2 RST */
        int want;          /* recv's error and FD_CLOSE's; 0: a graceful end (protocol.md 2, DISCONNECT) */
        int peer_reset;    /* wsdx resets the connection */
    } cases[] = {
        {"length 2^32-1", 0x01, 0xffffffffu, 0, NULL, 0, WSDX_WSAEMSGSIZE, 1},
        {"DATA over 16 MiB", 0x01, WSDX_MAX_MESSAGE + 1u, 0, NULL, 0, WSDX_WSAEMSGSIZE, 1},
        {"disconnect 4097", 0x02, WSDX_MAX_DISCONNECT_DATA + 1u, 0, NULL, 0, WSDX_WSAEMSGSIZE, 1},
        {"unknown type", 0x07, 1, 1, NULL, 0, WSDX_WSAEPROTONOSUPPORT, 1},
        {"bytes after DISCONNECT", 0x02, 2, 2, "zz", 0, 0, 1},
        {"FIN mid-frame", 0x01, 100, 10, NULL, 1, WSDX_WSAECONNABORTED, 1},
        {"FIN mid-header", 0x01, 100, 0, NULL, 3, WSDX_WSAECONNABORTED, 1},
        {"RST mid-frame", 0x01, 100, 10, NULL, 2, WSDX_WSAECONNRESET, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
            wsdx_socket l, a;
            int fd = raw_peer_watched(mode, &l, &a);
            CHECK(fd >= 0);
            uint8_t w[64];
            size_t n = 5 + cases[i].body;
            put_header(w, cases[i].type, cases[i].len);
            memset(w + 5, 'x', cases[i].body);
            if (cases[i].end == 3)
                n = 3; /* half a header */
            if (cases[i].extra) {
                memcpy(w + n, cases[i].extra, strlen(cases[i].extra));
                n += strlen(cases[i].extra);
            }
            CHECK(write_all(fd, w, n));
            if (cases[i].end == 1 || cases[i].end == 3)
                shutdown(fd, SHUT_WR);
            if (cases[i].end == 2) {
                usleep(50000); /* let the partial frame arrive first */
                struct linger lg = {1, 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                close(fd);
                fd = -1;
            }
            char buf[256];
            int rc = wsdx_recv(a, buf, sizeof buf, 5000);
            /* a stream delivers a frame's payload as it comes: the part before
             * the FIN or RST may be read first when the read wins the race */
            if (mode == WSDX_STREAM && (cases[i].end == 1 || cases[i].end == 2) &&
                rc == (int)cases[i].body)
                rc = wsdx_recv(a, buf, sizeof buf, 5000);
            /* after DISCONNECT the end stands: the trailing bytes only make wsdx reset */
            int end = mode == WSDX_STREAM ? 0 : -WSDX_WSAEDISCON;
            int want_recv = cases[i].want ? -cases[i].want : end;
            if (rc != want_recv)
                fprintf(stderr, "hostile_frames: %s (mode %d): recv %d\n", cases[i].what, mode, rc);
            CHECK_EQ(rc, want_recv);
            CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 0), want_recv); /* it stays so */
            CHECK_EQ(wait_closes(1), 1);
            CHECK_EQ(atomic_load(&close_error), cases[i].want);
            CHECK_EQ(wsdx_send(a, "x", 1), cases[i].want ? -cases[i].want : -WSDX_WSAECONNRESET);
            if (fd >= 0) {
                if (cases[i].peer_reset)
                    CHECK_EQ(drain(fd, NULL, 5000), -ECONNRESET);
                close(fd);
            }
            usleep(20000);
            CHECK_EQ(atomic_load(&close_count), 1); /* FD_CLOSE once */
            CHECK_EQ(wsdx_close(a), 0);
            wsdx_close(l);
        }
    }
}

/* ----------------------------------------------------- closing, peer never reads */

/* Fills the kernel buffers towards a peer that never reads. Returns bytes accepted. */
static long fill(wsdx_socket c)
{
    static char chunk[65536];
    long total = 0;
    wsdx_set_blocking(c, 0);
    for (int i = 0; i < 10000; i++) {
        int rc = wsdx_send(c, chunk, sizeof chunk);
        if (rc == -WSDX_WSAEWOULDBLOCK) {
            if (total > 0)
                break;
            continue;
        }
        if (rc < 0)
            break;
        total += rc;
    }
    return total;
}

static const uint8_t STREAM_PREAMBLE[8] = {'W', 'S', 'D', 'X', 1, WSDX_STREAM, 0, 0};

/* We close while the peer never reads, under each linger policy (S7-S10). */
static void close_while_peer_never_reads(void)
{
    for (int policy = 0; policy < 4; policy++) {
        /* 0: SO_LINGER 0   1: SO_LINGER 1 s, blocking   2: SO_LINGER 5 s,
         * non-blocking   3: SO_DONTLINGER (the default) */
        int port, lfd = raw_listen(&port, 4096);
        raw_server r;
        raw_server_start(&r, lfd, STREAM_PREAMBLE, 8, 0);
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
        CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), 0);
        int s = raw_server_join(&r);
        CHECK(fill(c) > 0);
        long t0 = now_ms();
        if (policy == 0) {
            CHECK_EQ(wsdx_set_linger(c, 1, 0), 0);
            CHECK_EQ(wsdx_close(c), 0);              /* S8: at once, reset */
            CHECK(now_ms() - t0 < 1000);
            CHECK_EQ(drain(s, NULL, 5000), -ECONNRESET);
        } else if (policy == 1) {
            CHECK_EQ(wsdx_set_linger(c, 1, 1), 0);
            CHECK_EQ(wsdx_set_blocking(c, 1), 0);
            CHECK_EQ(wsdx_close(c), 0);              /* S9: waits 1 s, then resets */
            long dt = now_ms() - t0;
            CHECK(dt >= 900 && dt < 4000);
            CHECK_EQ(drain(s, NULL, 5000), -ECONNRESET);
        } else if (policy == 2) {
            CHECK_EQ(wsdx_set_linger(c, 1, 5), 0);
            CHECK_EQ(wsdx_close(c), -WSDX_WSAEWOULDBLOCK); /* S10: stays open */
            CHECK(now_ms() - t0 < 1000);
            int rc = wsdx_send(c, "x", 1); /* still a socket; the kernel may have made room since */
            CHECK(rc == -WSDX_WSAEWOULDBLOCK || rc == 1);
            CHECK_EQ(wsdx_set_linger(c, 1, 0), 0);
            CHECK_EQ(wsdx_close(c), 0);
            CHECK_EQ(drain(s, NULL, 5000), -ECONNRESET);
        } else {
            CHECK_EQ(wsdx_close(c), 0);              /* S7: at once; the rest goes later */
            CHECK(now_ms() - t0 < 1000);
            CHECK_EQ(wsdx_send(c, "x", 1), -WSDX_WSAENOTSOCK);
            /* the peer reads late: every byte, then FIN */
            usleep(300000);
            long got = 0;
            CHECK_EQ(drain(s, &got, 10000), 0);
            CHECK(got > 65536);
        }
        close(s);
        close(lfd);
        /* the closed socket's resources go once the connection is over */
        for (int i = 0; i < 500 && wsdx_open_handles() > 0; i++)
            usleep(10000);
        CHECK_EQ(wsdx_open_handles(), 0);
    }
}

/* -------------------------------------------------------------- half-closes */

static void half_close_then_keep_sending(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    char buf[64];
    /* we half-close: our sends fail, receiving goes on */
    CHECK_EQ(wsdx_send(a, "abc", 3), 3);
    CHECK_EQ(wsdx_shutdown(a, WSDX_SD_SEND), 0);
    CHECK_EQ(wsdx_send(a, "more", 4), -WSDX_WSAESHUTDOWN);
    CHECK_EQ(wsdx_send_disconnect(a, NULL, 0), -WSDX_WSAESHUTDOWN);
    long got = 0;
    CHECK_EQ(drain(fd, &got, 5000), 0); /* the peer: one frame, then FIN */
    CHECK_EQ(got, 8);
    uint8_t w[16];
    put_header(w, 0x01, 5);
    memcpy(w + 5, "hello", 5);
    CHECK(write_all(fd, w, 10)); /* the peer keeps sending to us */
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 5);
    /* the peer half-closes: we may go on sending, recv returns 0 */
    shutdown(fd, SHUT_WR);
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 0);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(atomic_load(&close_error), 0);
    CHECK_EQ(wsdx_close(a), 0);
    close(fd);
    wsdx_close(l);

    /* SD_RECEIVE then the peer keeps sending: the data is dropped, not queued */
    fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    CHECK_EQ(wsdx_shutdown(a, WSDX_SD_RECEIVE), 0);
    for (int i = 0; i < 50; i++)
        CHECK(write_all(fd, w, 10));
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 100), -WSDX_WSAESHUTDOWN);
    CHECK_EQ(wsdx_send(a, "ok", 2), 2); /* sending goes on */
    CHECK_EQ(wsdx_close(a), 0);
    close(fd);
    wsdx_close(l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    hostile_preamble_to_listener();
    hostile_server_preamble();
    connect_timeout_during_tcp_handshake();
    kernel_unsent_counts_what_the_peer_has_not_taken();
    hostile_frames();
    half_close_then_keep_sending();
    close_while_peer_never_reads();
    slow_preamble();
    for (int i = 0; i < 300 && wsdx_open_handles() > 0; i++)
        usleep(10000);
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_hostile");
}
