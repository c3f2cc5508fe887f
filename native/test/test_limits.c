/* test_limits.c - resource limits under hostile load (docs/robustness.md,
 * "Limits"): descriptor exhaustion and the memory budget (each in a forked
 * child, so that its rlimit and RSS are its own), receive timeouts under an
 * empty-frame flood, close against a blocked connect or a blocked mid-frame
 * send, one terminal error per connection, and the send timeout. */
#include "check.h"
#include "close_events.h"
#include "raw_peer.h"
#include "rxqueue.h"
#include "wsdx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <stdio.h>
#include <unistd.h>

/* A raw server thread: accepts one connection and sends the server preamble. */
typedef struct {
    int lfd, fd, mode;
    pthread_t th;
} deaf_server;

static void *deaf_main(void *p)
{
    deaf_server *d = p;
    uint8_t pre[8];
    preamble(pre, 1, d->mode);
    d->fd = accept(d->lfd, NULL, NULL);
    if (d->fd >= 0)
        write_all(d->fd, pre, 8);
    return NULL;
}

/* A wsdx client connected to a raw server that never reads (small buffer):
 * *peer is the server's socket, *lfd its listener. */
static wsdx_socket client_to_deaf_peer(int mode, int *peer, int *lfd)
{
    int port;
    deaf_server d = {.lfd = raw_listen(&port, 4096), .fd = -1, .mode = mode};
    pthread_create(&d.th, NULL, deaf_main, &d);
    wsdx_socket c = wsdx_socket_open(mode);
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), 0);
    pthread_join(d.th, NULL);
    *peer = d.fd;
    *lfd = d.lfd;
    watch_close(c);
    return c;
}

/* A blocking send on another thread: its result once it ends. */
typedef struct {
    wsdx_socket s;
    const void *buf;
    int len, rc;
    atomic_int done;
    pthread_t th;
} sender;

static void *sender_main(void *p)
{
    sender *x = p;
    int rc;
    do /* stream sends may be partial: send until one fails or all went */
        rc = wsdx_send(x->s, x->buf, x->len);
    while (rc > 0 && rc < x->len && (x->buf = (const char *)x->buf + rc, x->len -= rc, 1));
    x->rc = rc;
    atomic_store(&x->done, 1);
    return NULL;
}

static void sender_start(sender *x, wsdx_socket s, const void *buf, int len)
{
    x->s = s;
    x->buf = buf;
    x->len = len;
    atomic_store(&x->done, 0);
    pthread_create(&x->th, NULL, sender_main, x);
}

/* Waits up to ms for a sender to end; 1 if it did. */
static int sender_wait(sender *x, int ms)
{
    for (long t0 = now_ms(); !atomic_load(&x->done) && now_ms() - t0 < ms;)
        usleep(5000);
    if (!atomic_load(&x->done))
        return 0;
    pthread_join(x->th, NULL);
    return 1;
}

static char big[4 << 20]; /* 4 MiB: more than the kernel buffers hold */

/* ----------------------------------------------- item 2: receive timeouts */

/* A raw flood on another thread: empty DATA frames, with a 1-byte frame
 * after every `burst` of them (0: never), until stop. */
typedef struct {
    int fd, burst;
    atomic_int stop;
    long separators;
    pthread_t th;
} flood;

static void *flood_main(void *p)
{
    flood *f = p;
    static uint8_t chunk[5 * 1000 + 6];
    for (int i = 0; i < 1000; i++)
        put_header(chunk + 5 * i, 0x01, 0);
    put_header(chunk + 5000, 0x01, 1);
    chunk[5005] = 'x';
    size_t n = f->burst ? sizeof chunk : 5000;
    while (!atomic_load(&f->stop) && write_all(f->fd, chunk, n))
        f->separators += f->burst ? 1 : 0;
    return NULL;
}

static void flood_start(flood *f, int fd, int burst)
{
    f->fd = fd;
    f->burst = burst;
    f->separators = 0;
    atomic_store(&f->stop, 0);
    struct timeval tv = {0, 200000}; /* a blocked write sees stop within 200 ms */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    pthread_create(&f->th, NULL, flood_main, f);
}

/* Item 2: a receive with a 300 ms timeout ends in time under a flood of empty
 * frames: WSAETIMEDOUT, or the protocol error for the 1,025th in a row. */
static void L2_receiveTimeoutHoldsUnderEmptyFrameFlood(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    flood f;
    flood_start(&f, fd, 0);
    usleep(100000); /* the kernel buffer is full of empty frames */
    char buf[64];
    long t0 = now_ms();
    int rc = wsdx_recv(a, buf, sizeof buf, 300);
    long dt = now_ms() - t0;
    CHECK(rc == -WSDX_WSAETIMEDOUT || rc == -WSDX_WSAEPROTONOSUPPORT);
    CHECK(dt < 1000);
    atomic_store(&f.stop, 1);
    pthread_join(f.th, NULL);
    close(fd);
    wsdx_close(a);
    wsdx_close(l);
}

/* Item 5 at the peer's FIN: the notifier's read-out, which makes the bytes
 * before a FIN readable, keeps to the memory budget too. Past it they stay in
 * the kernel until the application reads, and the end follows them. Broken by
 * a read-out that ignores the budget (it took the 3 MiB at once). */
static void L5_finReadOutKeepsToTheBudget(void)
{
    enum { BUDGET = 512 * 1024, TOTAL = 3 << 20, CHUNK = 65536 };
    wsdx_set_memory_budget(BUDGET);
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    CHECK_EQ(wsdx_set_option(a, WSDX_OPT_RCVBUF, 4 << 20), 0); /* room for all of it in the kernel */
    int big = 4 << 20;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* fail, not hang, if it does not fit */
    static uint8_t frame[5 + CHUNK];
    put_header(frame, 1, CHUNK);
    for (int i = 0; i < TOTAL / CHUNK; i++)
        CHECK(write_all(fd, frame, sizeof frame));
    shutdown(fd, SHUT_WR);
    int unacked = -1;
    for (int i = 0; i < 500 && unacked != 0; i++) { /* everything, FIN too, is in wsdx's kernel buffer */
        ioctl(fd, SIOCOUTQ, &unacked);
        usleep(10000);
    }
    CHECK_EQ(unacked, 0);
    usleep(300000); /* the notifier has seen the FIN */
    size_t held = wsdx_rxq_held_total();
    fprintf(stderr, "L5: %zu KiB held after a 3 MiB stream and FIN (budget 512 KiB)\n", held >> 10);
    CHECK(held <= BUDGET + 2 * CHUNK);
    CHECK_EQ(atomic_load(&close_count), 0); /* the end waits behind the bytes in the kernel */
    static char buf[CHUNK];
    long got = 0;
    int n;
    while ((n = wsdx_recv(a, buf, sizeof buf, 5000)) > 0)
        got += n;
    CHECK_EQ(n, 0);
    CHECK_EQ(got, TOTAL);
    CHECK(wait_closes(1));
    CHECK_EQ(atomic_load(&close_error), 0); /* graceful */
    wsdx_set_memory_budget(0); /* the default again */
    close(fd);
    wsdx_close(a);
    wsdx_close(l);
}

static int g_flood_port;

static void *queued_client(void *p)
{
    (void)p;
    return (void *)(intptr_t)raw_client(g_flood_port, WSDX_STREAM); /* waits until the listener takes it */
}

/* Item 1's sibling: a flood of well-behaved connects. The listener takes at
 * most its backlog (handshaking or waiting for accept) and leaves the rest
 * in the kernel's backlog, so the flood costs the kernel, not this process's
 * descriptors and memory; each accept makes room, and every client is served
 * in the end. Broken by a listener that takes connections without bound (the
 * soak's descriptors sat near their limit). */
static void L1_listenerHoldsAtMostItsBacklog(void)
{
    enum { BACKLOG = 8, CLIENTS = 40 };
    int base = wsdx_open_handles();
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, BACKLOG);
    g_flood_port = wsdx_local_port(l);
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, queued_client, NULL);
    usleep(1000000); /* the listener has taken what it will take */
    int held = wsdx_open_handles() - base - 1;
    fprintf(stderr, "L1: listener holds %d of %d connecting clients (backlog %d)\n", held, CLIENTS, BACKLOG);
    CHECK(held <= BACKLOG);
    int accepted = 0;
    for (int i = 0; i < CLIENTS; i++) {
        wsdx_socket a = wsdx_accept(l, 10000); /* the kernel's SYN retries bring the rest within seconds */
        accepted += a > 0;
        if (a > 0)
            wsdx_close(a);
    }
    CHECK_EQ(accepted, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        void *fd;
        pthread_join(th[i], &fd);
        if ((intptr_t)fd >= 0)
            close((int)(intptr_t)fd);
    }
    wsdx_close(l);
}

/* Item 2 with bursts of 1,000 empty frames, each followed by a 1-byte frame
 * (never 1,025 in a row): every byte arrives, no receive overruns, and once
 * the flood stops the 300 ms timeout holds. */
static void L2_receiveTimeoutHoldsUnderEmptyFrameBursts(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    flood f;
    flood_start(&f, fd, 1000);
    char buf[4096];
    long got = 0, worst = 0, t_end = now_ms() + 1000;
    int rc = 0;
    while (now_ms() < t_end) {
        long t0 = now_ms();
        rc = wsdx_recv(a, buf, sizeof buf, 300);
        worst = now_ms() - t0 > worst ? now_ms() - t0 : worst;
        if (rc < 0 && rc != -WSDX_WSAETIMEDOUT)
            break;
        got += rc > 0 ? rc : 0;
    }
    atomic_store(&f.stop, 1);
    pthread_join(f.th, NULL);
    while ((rc = wsdx_recv(a, buf, sizeof buf, 300)) > 0)
        got += rc;
    CHECK_EQ(rc, -WSDX_WSAETIMEDOUT);
    CHECK_EQ(got, f.separators);
    CHECK(f.separators > 10);
    CHECK(worst < 1000);
    close(fd);
    wsdx_close(a);
    wsdx_close(l);
}

/* --------------------------------------------- item 3: close vs. connect */

typedef struct {
    wsdx_socket s;
    int port, rc;
    long took;
} connector;

static void *connector_main(void *p)
{
    connector *c = p;
    long t0 = now_ms();
    c->rc = wsdx_connect(c->s, "127.0.0.1", c->port, 4000);
    c->took = now_ms() - t0;
    return NULL;
}

/* Item 3: close() ends a connect waiting for a server that never sends its
 * preamble: at once, WSAEINTR (the closed-socket rule of every blocked call). */
static void L3_closeAbortsBlockedConnect(void)
{
    int port, lfd = raw_listen(&port, 0); /* the kernel accepts; nobody answers */
    connector c = {.s = wsdx_socket_open(WSDX_STREAM), .port = port};
    pthread_t th;
    pthread_create(&th, NULL, connector_main, &c);
    usleep(200000);
    CHECK_EQ(wsdx_close(c.s), 0);
    pthread_join(th, NULL);
    CHECK_EQ(c.rc, -WSDX_WSAEINTR);
    CHECK(c.took < 1000);
    close(lfd);
}

/* ------------------------------------- item 4: one terminal error per connection */

/* Item 4's one rule: the ended send, the close event and every later call
 * report the same code. Returns that code; closes the client and the peer. */
static int expect_one_code(wsdx_socket c, const sender *x, int peer, int lfd)
{
    CHECK_EQ(wait_closes(1), 1);
    int ev = atomic_load(&close_error);
    CHECK(ev > 0);
    CHECK_EQ(x->rc, -ev);
    CHECK_EQ(wsdx_send(c, "x", 1), -ev);
    wsdx_close(c);
    close(peer);
    close(lfd);
    return ev;
}

/* Item 4: the peer breaks the protocol while our send is blocked: the send and
 * the close event report the same code (the first failure recorded), not the
 * EPIPE our own reset leaves behind. */
static void L4_blockedSendAndCloseEventReportOneCode(void)
{
    int peer, lfd;
    wsdx_socket c = client_to_deaf_peer(WSDX_STREAM, &peer, &lfd);
    sender x;
    sender_start(&x, c, big, sizeof big);
    usleep(200000);
    CHECK(!atomic_load(&x.done)); /* blocked: the peer never reads */
    uint8_t bad[5];
    put_header(bad, 0x7f, 0); /* no such frame type */
    write_all(peer, bad, sizeof bad);
    shutdown(peer, SHUT_WR); /* the notifier reads on the FIN and finds the bad frame */
    CHECK(sender_wait(&x, 5000));
    expect_one_code(c, &x, peer, lfd);
}

/* Item 4 as it was reported: the abort timeout (TCP_USER_TIMEOUT on Linux)
 * ends a send blocked on a peer that never reads. The kernel's error reaches
 * the notifier and the sender separately (ETIMEDOUT to one, EPIPE after it to
 * the other); both, and every later call, must report the same code. */
static void L4_abortTimeoutGivesTheSendAndCloseEventOneCode(void)
{
    int peer, lfd;
    wsdx_socket c = client_to_deaf_peer(WSDX_STREAM, &peer, &lfd);
    CHECK_EQ(wsdx_set_abort_timeout(c, 500), 0);
    sender x;
    sender_start(&x, c, big, sizeof big);
    CHECK(sender_wait(&x, 20000)); /* zero-window probes count against the timeout */
    int rc = x.rc, ev = expect_one_code(c, &x, peer, lfd);
    fprintf(stderr, "L4: abort timeout: send %d, close event %d\n", rc, ev);
}

/* -------------------------------------------- item 6: the send timeout */

/* Item 6: a send to a peer that never reads fails WSAETIMEDOUT after the send
 * timeout; the connection is then aborted: the peer gets a reset, later
 * calls and the close event report WSAETIMEDOUT. */
static void L6_sendTimeoutAbortsConnection(void)
{
    int peer, lfd;
    wsdx_socket c = client_to_deaf_peer(WSDX_STREAM, &peer, &lfd);
    CHECK_EQ(wsdx_set_send_timeout(c, -1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_set_send_timeout(c, 300), 0);
    sender x;
    long t0 = now_ms();
    sender_start(&x, c, big, sizeof big);
    CHECK(sender_wait(&x, 5000));
    long dt = now_ms() - t0;
    CHECK_EQ(x.rc, -WSDX_WSAETIMEDOUT);
    CHECK(dt >= 250 && dt < 2000);
    CHECK_EQ(wsdx_send(c, "x", 1), -WSDX_WSAETIMEDOUT);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(atomic_load(&close_error), WSDX_WSAETIMEDOUT);
    CHECK_EQ(drain(peer, NULL, 5000), -ECONNRESET);
    wsdx_close(c);
    close(peer);
    close(lfd);
}

/* ----------------------------------- item 7: close during a mid-frame send */

/* Item 7: close() while a send is blocked in the middle of a frame resets the
 * connection (a truncated frame then FIN would be a protocol violation); the
 * blocked send ends WSAEINTR. */
static void L7_closeDuringMidFrameSendResets(void)
{
    int peer, lfd;
    wsdx_socket c = client_to_deaf_peer(WSDX_MESSAGE, &peer, &lfd);
    sender x;
    sender_start(&x, c, big, sizeof big);
    usleep(200000);
    CHECK(!atomic_load(&x.done));
    CHECK_EQ(wsdx_close(c), 0);
    CHECK(sender_wait(&x, 2000));
    CHECK_EQ(x.rc, -WSDX_WSAEINTR);
    long got = 0;
    CHECK_EQ(drain(peer, &got, 5000), -ECONNRESET);
    close(peer);
    close(lfd);
}

/* --------------------------------------- forked children: their own limits */

/* The stat file of the thread called name, opened (so it can be read once
 * no descriptor is left), or -1. */
static int open_thread_stat(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int fd = -1;
    while (d && fd < 0 && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0) {
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
            fd = open(path, O_RDONLY);
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return fd;
}

/* CPU ticks (utime + stime) from a thread's stat file, or -1. */
static long thread_ticks(int stat_fd)
{
    char stat[1024];
    ssize_t n = pread(stat_fd, stat, sizeof stat - 1, 0);
    if (n <= 0)
        return -1;
    stat[n] = 0;
    unsigned long ut = 0, st = 0;
    char *p = strrchr(stat, ')'); /* fields 14 and 15 follow the command */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* Runs fn in a child process (its own rlimits, threads and RSS); the child's
 * checks count there and its exit status says whether they passed. The
 * parent talks to it over a socketpair (*chan). */
static int run_child(int (*fn)(int chan), int *chan)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        int failed = fn(sv[1]);
        _exit(failed ? 1 : 0);
    }
    close(sv[1]);
    *chan = sv[0];
    return pid;
}

static int child_ok(pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "child: status %#x\n", st);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static atomic_int accept_events;

static void on_accept_event(wsdx_socket s, int events, int error, void *ctx)
{
    (void)s, (void)error, (void)ctx;
    if (events & WSDX_FD_ACCEPT)
        atomic_fetch_add(&accept_events, 1);
}

/* Item 1, the child: a listener, then no descriptors left. An accept waiting
 * on FD_ACCEPT (as Java's does) must hear of it, the accept must fail
 * WSAEMFILE (once), the notifier must not spin, and once descriptors free a
 * waiting peer is accepted. */
static int fd_exhaustion_child(int chan)
{
    struct rlimit rl = {64, 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    int port = wsdx_local_port(l), spare[64], n = 0;
    int stat_fd = open_thread_stat("wsdx-notifier");
    CHECK_EQ(wsdx_select(l, WSDX_FD_ACCEPT, on_accept_event, NULL), 0); /* armed before the exhaustion */
    while (n < 64 && (spare[n] = dup(0)) >= 0)
        n++; /* every descriptor taken */
    CHECK(write(chan, &port, sizeof port) == sizeof port);
    for (int i = 0; i < 500 && !atomic_load(&accept_events); i++)
        usleep(10000);
    CHECK_EQ(atomic_load(&accept_events), 1); /* the failure is an FD_ACCEPT: an event waiter wakes */
    CHECK_EQ(wsdx_accept(l, 0), -WSDX_WSAEMFILE);
    long t0 = thread_ticks(stat_fd);
    usleep(2000000); /* peers keep waiting: the notifier must rest */
    long used = thread_ticks(stat_fd) - t0;
    fprintf(stderr, "L1: notifier used %ld ticks in 2 s while exhausted\n", used);
    CHECK(t0 >= 0 && used < 10); /* < 5 % of a core (100 ticks a second) */
    CHECK_EQ(wsdx_accept(l, 0), -WSDX_WSAEWOULDBLOCK); /* reported once per episode */
    while (n > 0)
        close(spare[--n]);
    wsdx_socket a = wsdx_accept(l, 3000); /* recovered on its own */
    CHECK(a > 0);
    CHECK_EQ(wsdx_send(a, "ok", 2), 2);
    wsdx_close(a);
    wsdx_close(l);
    return check_failed;
}

static void L1_fdExhaustionReportedWithoutSpinning(void)
{
    int chan, port = 0;
    pid_t pid = run_child(fd_exhaustion_child, &chan);
    CHECK(read(chan, &port, sizeof port) == sizeof port);
    int peers[3];
    for (int i = 0; i < 3; i++) {
        peers[i] = raw_connect(port); /* the kernel completes it; wsdx cannot accept */
        uint8_t pre[8];
        preamble(pre, 1, WSDX_STREAM);
        write_all(peers[i], pre, 8);
    }
    char buf[64];
    int ok = 0;
    for (int i = 0; i < 3; i++) { /* one of them gets its preamble and "ok" after recovery */
        struct timeval tv = {6, 0};
        setsockopt(peers[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ok = recv(peers[0], buf, 8, MSG_WAITALL) == 8;
    CHECK(ok);
    CHECK(child_ok(pid));
    for (int i = 0; i < 3; i++)
        close(peers[i]);
    close(chan);
}

/* VmHWM (peak RSS) of this process, in KiB. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

#define ATTACKERS 40
#define BUDGET_MIB 32

static void *echo_main(void *p)
{
    wsdx_socket a = (wsdx_socket)(intptr_t)p;
    char *buf = malloc(WSDX_MAX_MESSAGE); /* untouched pages cost no RSS */
    int n;
    while ((n = wsdx_recv(a, buf, WSDX_MAX_MESSAGE, -1)) >= 0)
        wsdx_send(a, buf, n);
    free(buf);
    wsdx_close(a);
    return NULL;
}

/* Item 5, the child: a MESSAGE server with a 32 MiB budget echoing every
 * message; reports its peak RSS growth when asked. */
static int budget_child(int chan)
{
    wsdx_set_memory_budget((int64_t)BUDGET_MIB << 20);
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_MESSAGE, 64);
    int port = wsdx_local_port(l);
    long base = peak_rss_kib();
    CHECK(write(chan, &port, sizeof port) == sizeof port);
    for (int i = 0; i < ATTACKERS + 1; i++) {
        wsdx_socket a = wsdx_accept(l, 10000);
        if (a < 0)
            break;
        pthread_t th;
        pthread_create(&th, NULL, echo_main, (void *)(intptr_t)a);
        pthread_detach(th);
    }
    char go;
    CHECK(read(chan, &go, 1) == 1);
    long grew = peak_rss_kib() - base;
    CHECK(write(chan, &grew, sizeof grew) == sizeof grew);
    CHECK(read(chan, &go, 1) <= 1);
    return check_failed;
}

static void *attacker_main(void *p)
{
    int fd = (int)(intptr_t)p;
    static char payload[1 << 20];
    uint8_t hdr[5];
    put_header(hdr, 0x01, WSDX_MAX_MESSAGE);
    if (write_all(fd, hdr, 5))
        for (int i = 0; i < 16; i++) /* 16 MiB - 1 of the 16 MiB frame */
            if (!write_all(fd, payload, i < 15 ? sizeof payload : sizeof payload - 1))
                break;
    return NULL;
}

/* Item 5: 40 peers each send 16 MiB - 1 of a 16 MiB message; the server's
 * peak RSS stays near its 32 MiB budget and a small exchange still completes
 * promptly. */
static void L5_memoryBudgetBoundsBufferedMessages(void)
{
    int chan, port = 0;
    pid_t pid = run_child(budget_child, &chan);
    CHECK(read(chan, &port, sizeof port) == sizeof port);
    int fds[ATTACKERS];
    pthread_t th[ATTACKERS];
    for (int i = 0; i < ATTACKERS; i++) {
        fds[i] = raw_client(port, WSDX_MESSAGE);
        struct timeval tv = {8, 0}; /* a blocked attacker gives up */
        setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        pthread_create(&th[i], NULL, attacker_main, (void *)(intptr_t)fds[i]);
    }
    usleep(3500000);
    int legit = raw_client(port, WSDX_MESSAGE);
    uint8_t msg[5 + 1000], back[5 + 1000];
    put_header(msg, 0x01, 1000);
    memset(msg + 5, 'L', 1000);
    long t0 = now_ms();
    CHECK(write_all(legit, msg, sizeof msg));
    CHECK_EQ(recv(legit, back, sizeof back, MSG_WAITALL), (long)sizeof back);
    long rtt = now_ms() - t0;
    fprintf(stderr, "L5: legitimate round trip %ld ms under attack\n", rtt);
    CHECK(rtt < 1000);
    CHECK(memcmp(back, msg, sizeof msg) == 0);
    long grew = -1;
    CHECK(write(chan, "g", 1) == 1);
    CHECK(read(chan, &grew, sizeof grew) == sizeof grew);
    fprintf(stderr, "L5: peak RSS grew %ld KiB (budget %d MiB)\n", grew, BUDGET_MIB);
    /* the budget, plus each connection's 256 KiB floor and 64 KiB read buffer */
#ifndef __SANITIZE_ADDRESS__ /* ASan's shadow and quarantine are not the library's memory */
    CHECK(grew >= 0 && grew < (BUDGET_MIB + ATTACKERS * 320 / 1024 + 24) * 1024);
#endif
    for (int i = 0; i < ATTACKERS; i++)
        shutdown(fds[i], SHUT_RDWR);
    for (int i = 0; i < ATTACKERS; i++) {
        pthread_join(th[i], NULL);
        close(fds[i]);
    }
    close(legit);
    close(chan);
    CHECK(child_ok(pid));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* first, while this process has no wsdx threads a fork would lose */
    L1_fdExhaustionReportedWithoutSpinning(); /* the forking tests first: a child has no notifier thread */
    L5_memoryBudgetBoundsBufferedMessages();
    L1_listenerHoldsAtMostItsBacklog();
    L5_finReadOutKeepsToTheBudget();
    L2_receiveTimeoutHoldsUnderEmptyFrameFlood();
    L2_receiveTimeoutHoldsUnderEmptyFrameBursts();
    L3_closeAbortsBlockedConnect();
    L4_blockedSendAndCloseEventReportOneCode();
    L4_abortTimeoutGivesTheSendAndCloseEventOneCode();
    L6_sendTimeoutAbortsConnection();
    L7_closeDuringMidFrameSendResets();
    for (int i = 0; i < 300 && wsdx_open_handles() > 0; i++)
        usleep(10000);
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_limits");
}
