/* test_shutdown_edges.c - shutdown behaviours that a mutation run showed no
 * test pinned (issue 16), through wsdx.h only, with a raw TCP peer where the
 * wsdx peer could not create the case. Each test names its spec row where it
 * has one, and its comment names the hand mutation that made it fail.
 * POSIX only (the raw peer uses BSD sockets, CPU time comes from clock_gettime). */
#include "check.h"
#include "close_events.h"
#include "wsdx.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"

static atomic_int cb_on_closed;

static void pair(int mode, wsdx_socket *l, wsdx_socket *c, wsdx_socket *a)
{
    *l = wsdx_listen("127.0.0.1", 0, mode, 0);
    *c = wsdx_socket_open(mode);
    CHECK_EQ(wsdx_connect(*c, "127.0.0.1", wsdx_local_port(*l), 5000), 0);
    *a = wsdx_accept(*l, 5000);
    CHECK(*a > 0);
}

/* docs/protocol.md: "WSDX" version mode 0 0; a frame is type + u32 length. */
static void preamble(uint8_t out[8], int mode)
{
    memcpy(out, "WSDX", 4);
    out[4] = WSDX_PROTOCOL_VERSION;
    out[5] = (uint8_t)mode;
    out[6] = out[7] = 0;
}

static size_t frame(uint8_t *out, int type, const void *p, uint32_t n)
{
    out[0] = (uint8_t)type;
    out[1] = (uint8_t)(n >> 24);
    out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    memcpy(out + 5, p, n);
    return 5 + n;
}

/* A raw client that completed the handshake with a wsdx listener. */
static raw_fd raw_client(int mode, wsdx_socket *l, wsdx_socket *a)
{
    raw_fd fd;
    uint8_t pre[8], theirs[8];
    *l = wsdx_listen("127.0.0.1", 0, mode, 0);
    CHECK_EQ(raw_connect_loopback(wsdx_local_port(*l), &fd), 0);
    preamble(pre, mode);
    CHECK_EQ(raw_write(fd, pre, 8), 8);
    CHECK_EQ(recv(fd, theirs, 8, MSG_WAITALL), 8);
    *a = wsdx_accept(*l, 5000);
    CHECK(*a > 0);
    return fd;
}

static void raw_abort(raw_fd fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    raw_close(fd);
}

/* Fills a non-blocking socket until a send would block; returns bytes accepted.
 * Odd sizes make it likely that a frame's rest is left queued in wsdx. */
static long fill(wsdx_socket s)
{
    static char junk[100003];
    long total = 0;
    wsdx_set_blocking(s, 0);
    for (int i = 0; i < 10000; i++) {
        int n = wsdx_send(s, junk, sizeof junk);
        if (n < 0)
            break;
        total += n;
    }
    CHECK_EQ(wsdx_last_error(), WSDX_WSAEWOULDBLOCK);
    return total;
}

/* Reads until recv returns 0 (graceful end) or fails; returns the byte count,
 * *end the last return (0 or -WSA). */
static long read_to_end(wsdx_socket s, int *end)
{
    static char buf[65536];
    long total = 0;
    int n;
    while ((n = wsdx_recv(s, buf, sizeof buf, 5000)) > 0)
        total += n;
    *end = n;
    return total;
}

/* R3: a reset discards the unread data: recv fails WSAECONNRESET although
 * bytes were still queued. Mutation: conn.c wsdx_conn_recv, delete the
 * `if (c->peer_error) return -c->peer_error;` check (recv hands out "ello"). */
static void R3_resetDiscardsUnreadData(void)
{
    wsdx_socket l, c, a;
    char b[8];
    pair(WSDX_STREAM, &l, &c, &a);
    watch_close(a);
    CHECK_EQ(wsdx_send(c, "hello", 5), 5);
    CHECK_EQ(wsdx_recv(a, b, 1, 5000), 1); /* "ello" stays queued in wsdx */
    CHECK_EQ(wsdx_set_linger(c, 1, 0), 0);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(close_error, WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_recv(a, b, sizeof b, 1000), -WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* Full duplex: a successful send leaves the data queued for receiving alone.
 * Mutation (a survivor of native/mutate/mutate.py): datapath.c send_data,
 * `if (rc < 0) send_failed(s, -rc)` -> `if (rc >= 0)` (every good send then
 * "fails" with code 0, which cleared the receive queue). */
static void sendLeavesQueuedReceiveDataAlone(void)
{
    wsdx_socket l, c, a;
    char b[8];
    pair(WSDX_STREAM, &l, &c, &a);
    CHECK_EQ(wsdx_send(c, "hello", 5), 5);
    CHECK_EQ(wsdx_recv(a, b, 1, 5000), 1); /* "ello" stays queued in wsdx */
    CHECK_EQ(wsdx_send(a, "x", 1), 1);
    CHECK_EQ(wsdx_recv(a, b, sizeof b, 1000), 4);
    CHECK(memcmp(b, "ello", 4) == 0);
    CHECK_EQ(wsdx_recv(c, b, sizeof b, 1000), 1);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* S1: a FIN deferred behind a queued frame rest (SD_SEND on a non-blocking
 * socket that could not send everything) is sent by the notifier once the
 * queue drains: the peer gets every byte, then the graceful end.
 * Mutation: notify.c wsdx__ready, delete `if (s->fin_pending) shutdown_send`
 * (the peer's recv times out instead of returning 0). */
static void S1_deferredFinFollowsQueuedData(void)
{
    wsdx_socket l, c, a;
    int end;
    pair(WSDX_STREAM, &l, &c, &a);
    long sent = fill(c);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    CHECK_EQ(read_to_end(a, &end), sent);
    CHECK_EQ(end, 0);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

typedef struct {
    wsdx_socket s;
    long got;
    int end;
    atomic_int done;
} reader;

/* A thread that received, kept until the end of the test: the old socket.c
 * kept a 64 KiB receive buffer per thread that was never freed when a thread
 * exited (docs/robustness.md, finding F6, fixed: the buffer is per call now). */
static void *read_later(void *arg)
{
    reader *r = arg;
    test_sleep_ms(200); /* the closing thread is in its linger wait by then */
    r->got = read_to_end(r->s, &r->end);
    atomic_store(&r->done, 1);
    for (;;)
        test_sleep_ms(1000);
    return NULL;
}

/* S9: a linger-wait close of a socket whose FIN was deferred (SD_SEND behind
 * queued data) sends that FIN and waits for delivery, so the close is
 * graceful and returns once the peer has everything. Mutation: closing.c
 * close_connection, the deadline `linger_s * 1000` -> `linger_s * 10` (the
 * wait runs out, the peer gets a reset). Deleting the FIN in wait_delivered
 * is not seen on Linux: the notifier's flush or close_connection sends it
 * right after (docs/robustness.md, mutation testing). */
static void S9_lingerWaitWithDeferredFinIsGraceful(void)
{
    wsdx_socket l, c, a;
    test_thread t;
    pair(WSDX_STREAM, &l, &c, &a);
    long sent = fill(c);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    CHECK_EQ(wsdx_set_blocking(c, 1), 0);
    CHECK_EQ(wsdx_set_linger(c, 1, 3), 0);
    static reader r; /* the parked thread keeps a pointer to it */
    r.s = a;
    test_thread_start(&t, read_later, &r);
    CHECK_EQ(wsdx_close(c), 0);
    for (int i = 0; i < 1000 && !atomic_load(&r.done); i++)
        test_sleep_ms(10);
    CHECK_EQ(r.got, sent);
    CHECK_EQ(r.end, 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* R5: an API call (here recv, which meets a protocol error the notifier
 * never sees as a socket event) that discovers the end first still gets
 * exactly one FD_CLOSE out. Mutations: datapath.c leave_as, `report = ended &&
 * !close_reported && cb` -> 0 (no event); conn.c take_close, delete the
 * close_reported test (two events). */
static void R5_apiCallThatSeesTheEndPostsOneClose(void)
{
    wsdx_socket l, a;
    uint8_t w[16];
    char b[8];
    raw_fd fd = raw_client(WSDX_MESSAGE, &l, &a);
    watch_close(a);
    w[0] = 9; /* no such frame type */
    memset(w + 1, 0, 4);
    CHECK_EQ(raw_write(fd, w, 5), 5);
    CHECK_EQ(wsdx_recv(a, b, sizeof b, 5000), -WSDX_WSAEPROTONOSUPPORT);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(close_error, WSDX_WSAEPROTONOSUPPORT);
    CHECK_EQ(wsdx_recv(a, b, sizeof b, 0), -WSDX_WSAEPROTONOSUPPORT);
    test_sleep_ms(100);
    CHECK_EQ(atomic_load(&close_count), 1);
    raw_close(fd);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* R5: a callback registered after the close happened gets it at once, also
 * when an earlier registration was withdrawn (fn NULL) before the end came.
 * Mutation (a survivor of native/mutate/mutate.py): notify.c wsdx__posted,
 * `s->posted = 0` deleted (the socket's first post blocked every later one). */
static void R5_registrationAfterTheEndIsDelivered(void)
{
    wsdx_socket l, c, a;
    pair(WSDX_STREAM, &l, &c, &a);
    CHECK_EQ(watch_close(a), 0);
    test_sleep_ms(50); /* that post was handled: nothing had happened yet */
    CHECK_EQ(wsdx_on_close(a, NULL, NULL), 0);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    test_sleep_ms(200); /* the FIN came; nobody was registered */
    CHECK_EQ(atomic_load(&close_count), 0);
    CHECK_EQ(wsdx_on_close(a, on_close, NULL), 0);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(close_error, 0);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* A close callback that holds the notifier until blocker_go (at most
 * blocker_slices * 10 ms); blocker_out says it has returned. */
static atomic_int blocker_in, blocker_go, blocker_out, blocker_slices = 500;

static void blocker(wsdx_socket s, int error, int flags, void *ctx)
{
    (void)s;
    (void)error;
    (void)flags;
    (void)ctx;
    atomic_store(&blocker_in, 1);
    for (int i = 0; i < atomic_load(&blocker_slices) && !atomic_load(&blocker_go); i++)
        test_sleep_ms(10);
    atomic_store(&blocker_out, 1);
}

/* No FD_CLOSE runs for a socket the application already closed, even when
 * the notifier still holds work for it: while the notifier is busy in another
 * socket's callback, a's end is known (the peer's FIN, read by the close) and
 * a delivery is posted (on_close), then a is closed. Mutation: notify.c
 * deliver, delete `s->closed ||` (the callback runs for the closed a). */
static void S11_noCloseEventAfterClose(void)
{
    wsdx_socket l, c1, a1, c2, a2;
    pair(WSDX_STREAM, &l, &c1, &a1);
    c2 = wsdx_socket_open(WSDX_STREAM);
    CHECK_EQ(wsdx_connect(c2, "127.0.0.1", wsdx_local_port(l), 5000), 0);
    a2 = wsdx_accept(l, 5000);
    wsdx_on_close(a1, blocker, NULL);
    CHECK_EQ(wsdx_shutdown(c1, WSDX_SD_SEND), 0);
    CHECK_EQ(wait_count(&blocker_in, 1), 1); /* the notifier is busy from here on */
    close_events_reset();
    CHECK_EQ(wsdx_shutdown(c2, WSDX_SD_SEND), 0);
    CHECK_EQ(wsdx_on_close(a2, on_close, NULL), 0); /* a delivery is posted */
    test_sleep_ms(50);
    CHECK_EQ(wsdx_close(a2), 0); /* reads the FIN: the end is known */
    atomic_store(&blocker_go, 1);
    test_sleep_ms(300);
    CHECK_EQ(atomic_load(&close_count), 0);
    CHECK_EQ(wsdx_close(a1), 0);
    CHECK_EQ(wsdx_close(c1), 0);
    CHECK_EQ(wsdx_close(c2), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* S5: wsdx_recv_disconnect pulls a DISCONNECT frame still sitting in the
 * kernel (no FIN yet, so the notifier had no reason to read it).
 * Mutation: datapath.c sk_recv_disconnect, delete the sock_pump_input call (0 bytes). */
static void S5_recvDisconnectReadsTheKernel(void)
{
    wsdx_socket l, a;
    uint8_t w[16], b[8];
    raw_fd fd = raw_client(WSDX_MESSAGE, &l, &a);
    size_t n = frame(w, 2, "bye!", 4);
    CHECK_EQ(raw_write(fd, w, (int)n), (int)n); /* on loopback it is queued before write returns */
    CHECK_EQ(wsdx_recv_disconnect(a, b, sizeof b), 4);
    CHECK(memcmp(b, "bye!", 4) == 0);
    raw_close(fd);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

typedef struct {
    wsdx_socket s;
    const char *p;
    int rc;
} sender;

static void *send_message(void *arg)
{
    sender *w = arg;
    w->rc = wsdx_send(w->s, w->p, WSDX_MAX_MESSAGE);
    return NULL;
}

/* Every limit at its exact value and one past it: message size, linger
 * seconds, disconnect data. Mutations: datapath.c send_data `n > MAX_MESSAGE`
 * -> `n >= MAX_MESSAGE`; sk_set_linger `seconds > 65535` -> `> 65536`;
 * conn.c send_disconnect `len > MAX_DISCONNECT_DATA` -> `>=`. */
static void limitsAtExactValueAndOnePast(void)
{
    wsdx_socket l, c, a;
    test_thread t;
    pair(WSDX_MESSAGE, &l, &c, &a);
    /* length 0 is a legal receive (Winsock's recv with len 0): no buffer needed, not WSAEFAULT.
     * Mutation (a survivor of native/mutate/mutate.py): datapath.c sk_recv `len > 0 && !buf`
     * -> `len > -1 && !buf`. */
    CHECK(wsdx_recv(a, NULL, 0, 0) != -WSDX_WSAEFAULT);
    CHECK_EQ(wsdx_recv(a, NULL, -1, 0), -WSDX_WSAEFAULT);
    /* so is a send of length 0 (here an empty message). Mutation (a mutate.py
     * survivor): datapath.c send_data `len > 0 && !buf` -> `len > -1 && !buf`. */
    CHECK_EQ(wsdx_send(c, NULL, 0), 0);
    char one[1];
    CHECK_EQ(wsdx_recv(a, one, sizeof one, 5000), 0);
    CHECK_EQ(wsdx_send(c, NULL, -1), -WSDX_WSAEFAULT);
    char *big = calloc(1, WSDX_MAX_MESSAGE + 1);
    CHECK_EQ(wsdx_send(c, big, WSDX_MAX_MESSAGE + 1), -WSDX_WSAEMSGSIZE);
    sender w = {.s = c, .p = big};
    char *in = malloc(WSDX_MAX_MESSAGE + 1);
    test_thread_start(&t, send_message, &w); /* sends only: see read_later */
    CHECK_EQ(wsdx_recv(a, in, WSDX_MAX_MESSAGE + 1, 10000), WSDX_MAX_MESSAGE);
    test_thread_join(t);
    CHECK_EQ(w.rc, WSDX_MAX_MESSAGE);
    free(in);
    free(big);

    CHECK_EQ(wsdx_set_linger(c, 1, 65535), 0);
    CHECK_EQ(wsdx_set_linger(c, 1, 65536), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_set_linger(c, 1, 0), 0);
    CHECK_EQ(wsdx_set_linger(c, 1, -1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_set_linger(c, 0, -1), 0); /* SO_DONTLINGER ignores the time */
    /* 0 is a timeout's "none" / "system default" (wsdx.h), -1 is refused. Mutation
     * (a mutate.py survivor): datapath.c sk_set_send_timeout `ms < 0` -> `ms < 1`. */
    CHECK_EQ(wsdx_set_send_timeout(c, 0), 0);
    CHECK_EQ(wsdx_set_send_timeout(c, -1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_set_abort_timeout(c, 0), 0);
    CHECK_EQ(wsdx_set_abort_timeout(c, -1), -WSDX_WSAEINVAL);

    char d[WSDX_MAX_DISCONNECT_DATA + 1];
    memset(d, 'd', sizeof d);
    CHECK_EQ(wsdx_send_disconnect(c, d, WSDX_MAX_DISCONNECT_DATA + 1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_send_disconnect(c, d, WSDX_MAX_DISCONNECT_DATA), 0);
    char got[WSDX_MAX_DISCONNECT_DATA];
    watch_close(a);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(wsdx_recv_disconnect(a, got, WSDX_MAX_DISCONNECT_DATA - 1), -WSDX_WSAEFAULT);
    CHECK_EQ(wsdx_recv_disconnect(a, got, WSDX_MAX_DISCONNECT_DATA), WSDX_MAX_DISCONNECT_DATA);
    CHECK(memcmp(got, d, sizeof got) == 0);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

/* A handshake that fails with a socket error (the client resets) is dropped
 * at once, not when its 10 s deadline passes. Mutation: listener.c
 * sock_handshake_step, delete `err = WSAEPROTONOSUPPORT` for an ended preamble
 * (rejected only at the deadline). `n == 0 || n != -WSAEWOULDBLOCK` -> `n == 0`
 * is not seen on Linux: it reports the reset once, then EOF (n == 0). */
static void handshakeErrorIsDroppedAtOnce(void)
{
    raw_fd fd;
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    CHECK_EQ(raw_connect_loopback(wsdx_local_port(l), &fd), 0);
    CHECK_EQ(raw_write(fd, "WSD", 3), 3);
    raw_abort(fd);
    long long until = test_now_ms() + 5000; /* half the handshake time */
    while (wsdx_listener_rejected(l) == 0 && test_now_ms() < until)
        test_sleep_ms(10);
    CHECK_EQ(wsdx_listener_rejected(l), 1);
    CHECK_EQ(wsdx_close(l), 0);
}

static long long cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The notifier's connection watches stay edge-triggered: after a FIN nobody
 * reads, the process stays idle (a level-triggered EPOLLRDHUP would spin the
 * notifier at full speed). Idle is < 10% CPU over 500 ms; a spinning thread
 * gets far more even on a loaded machine. Mutation: posix/notifier.c
 * to_epoll, drop EPOLLET (the process burns CPU; the check fails). */
static void R1_noSpinningAfterFin(void)
{
    wsdx_socket l, c, a;
    pair(WSDX_STREAM, &l, &c, &a);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    test_sleep_ms(100); /* the FIN arrived; nobody reads it */
    long long t0 = cpu_ms();
    test_sleep_ms(500);
    long long used = cpu_ms() - t0;
    CHECK(used < 50);
    if (used >= 50)
        fprintf(stderr, "   notifier used %lld ms CPU in 500 ms idle\n", used);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Closing gives the descriptors back to the OS: 20 connected pairs and a
 * listener opened and closed leave the process with as many descriptors as
 * before (the handle count alone does not show it). Mutation (a survivor of
 * native/mutate/mutate.py): socket.c sock_free, `if (s->fd != WSDX_BAD_FD)`
 * -> `==` (no descriptor was ever closed). */
static void closeReleasesDescriptors(void)
{
    for (int i = 0; i < 200 && wsdx_open_handles() > 0; i++)
        test_sleep_ms(10); /* earlier tests' sockets are gone */
    int before = open_fds();
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    for (int i = 0; i < 20; i++) {
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM), a;
        CHECK_EQ(wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000), 0);
        a = wsdx_accept(l, 5000);
        CHECK_EQ(wsdx_close(c), 0);
        CHECK_EQ(wsdx_close(a), 0);
    }
    CHECK_EQ(wsdx_close(l), 0);
    for (int i = 0; i < 200 && open_fds() > before; i++)
        test_sleep_ms(10); /* the notifier frees between batches */
    CHECK(open_fds() <= before);
}

/* wsdx_last_error keeps the last failure across successful calls, as
 * WSAGetLastError does. Mutation: api.c ret(), clear t_last_error on success. */
static void lastErrorSurvivesSuccess(void)
{
    CHECK_EQ(wsdx_close(WSDX_INVALID_SOCKET), -WSDX_WSAENOTSOCK);
    wsdx_socket s = wsdx_socket_open(WSDX_STREAM);
    CHECK(s > 0);
    CHECK_EQ(wsdx_set_blocking(s, 1), 0);
    CHECK_EQ(wsdx_last_error(), WSDX_WSAENOTSOCK);
    CHECK_EQ(wsdx_close(s), 0);
    CHECK_EQ(wsdx_last_error(), WSDX_WSAENOTSOCK);
}

/* wsdx_close from another thread while the socket's close callback runs
 * returns only after the callback has (wsdx.h: "no close callback follows").
 * Mutation (a mutate.py survivor): notify.c sock_callback_begin,
 * `in_callback = s` deleted (the close returned mid-callback). */
static void S11_closeWaitsForARunningCallback(void)
{
    wsdx_socket l, c, a;
    pair(WSDX_STREAM, &l, &c, &a);
    atomic_store(&blocker_in, 0);
    atomic_store(&blocker_go, 0);
    atomic_store(&blocker_out, 0);
    atomic_store(&blocker_slices, 30); /* the callback takes 300 ms */
    CHECK_EQ(wsdx_on_close(a, blocker, NULL), 0);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    CHECK_EQ(wait_count(&blocker_in, 1), 1);
    CHECK_EQ(wsdx_close(a), 0);
    CHECK_EQ(atomic_load(&blocker_out), 1);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

typedef struct {
    wsdx_socket s;
    atomic_int go, rc;
} blocked_recv;

static void *recv_blocked(void *arg)
{
    blocked_recv *b = arg;
    char x;
    atomic_store(&b->go, 1);
    while (atomic_load(&b->go) != 2)
        ; /* both threads start together: the close then races the receive's entry */
    atomic_store(&b->rc, wsdx_recv(b->s, &x, 1, -1));
    return NULL;
}

/* S11: a receive blocked with no time limit ends WSAEINTR once another
 * thread closes the socket; one that enters while the close runs fails
 * WSAENOTSOCK, as if the close came first. Never the end of input (0) that
 * the close's wake-up shows the kernel's socket. Odd rounds block first, even
 * rounds race. Mutation: datapath.c enter_as, the s->closed check -> 0 (a
 * racing receive returned 0). */
static void S11_closeEndsABlockedReceive(void)
{
    int eof = 0;
    for (int round = 0; round < 400; round++) {
        wsdx_socket l, c, a;
        pair(WSDX_STREAM, &l, &c, &a);
        blocked_recv b = {a, 0, 1};
        test_thread t;
        if (test_thread_start(&t, recv_blocked, &b) != 0) {
            CHECK(0); /* no thread: fail, do not wait for it */
            break;
        }
        while (!atomic_load(&b.go))
            ;
        atomic_store(&b.go, 2);
        if (round % 2)
            test_sleep_ms(2); /* blocked by now, mostly */
        CHECK_EQ(wsdx_close(a), 0);
        test_thread_join(t);
        int rc = atomic_load(&b.rc);
        eof += rc == 0;
        CHECK(rc == -WSDX_WSAEINTR || rc == -WSDX_WSAENOTSOCK || rc == 0);
        CHECK_EQ(wsdx_close(c), 0);
        CHECK_EQ(wsdx_close(l), 0);
    }
    CHECK_EQ(eof, 0);
}

static void close_self(wsdx_socket s, int error, int flags, void *ctx)
{
    (void)error;
    (void)flags;
    (void)ctx;
    atomic_store(&cb_on_closed, wsdx_close(s) == 0 ? 1 : 2);
}

/* Closing a socket inside its own close callback returns (it does not wait
 * for the callback it is in). Last: a failure hangs the notifier.
 * Mutation: notify.c sock_wait_callback_done, delete the notifier-thread test
 * (the notifier waits for itself; the flag never comes). */
static void R1_closeInsideOwnCallback(void)
{
    wsdx_socket l, c, a;
    pair(WSDX_STREAM, &l, &c, &a);
    wsdx_on_close(a, close_self, NULL);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    CHECK_EQ(wait_count(&cb_on_closed, 1), 1); /* 2: the close failed */
    CHECK_EQ(wsdx_close(a), -WSDX_WSAENOTSOCK);
    CHECK_EQ(wsdx_close(c), 0);
    CHECK_EQ(wsdx_close(l), 0);
}

int main(void)
{
    raw_init();
    R3_resetDiscardsUnreadData();
    sendLeavesQueuedReceiveDataAlone();
    S1_deferredFinFollowsQueuedData();
    S9_lingerWaitWithDeferredFinIsGraceful();
    R5_apiCallThatSeesTheEndPostsOneClose();
    S11_noCloseEventAfterClose();
    S11_closeWaitsForARunningCallback();
    S11_closeEndsABlockedReceive();
    R5_registrationAfterTheEndIsDelivered();
    S5_recvDisconnectReadsTheKernel();
    limitsAtExactValueAndOnePast();
    handshakeErrorIsDroppedAtOnce();
    R1_noSpinningAfterFin();
    lastErrorSurvivesSuccess();
    closeReleasesDescriptors();
    R1_closeInsideOwnCallback();
    for (int i = 0; i < 100 && wsdx_open_handles() > 0; i++)
        test_sleep_ms(10);
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_shutdown_edges");
}
