/* test_protocol_rules.c - the normative rules of docs/protocol.md against a
 * raw peer (raw_peer.h): each test is named after the section it proves
 * (S1 preamble, S2 frames, S3 ending). The handshake time is shortened to
 * HS_MS through WSDX_HANDSHAKE_MS so that its rows run quickly. */
#include "check.h"
#include "close_events.h"
#include "raw_peer.h"
#include "wsdx.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HS_MS 800

static void rst(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ---------------------------------------------------------- 1. preamble */

/* Each field is judged as soon as its bytes arrive: the listener resets a
 * peer whose first bytes already differ, long before the handshake time. */
static void S1_fieldsCheckedAsTheyArrive_listener(void)
{
    static const struct { const char *p; size_t n; } bad[] = {
        {"GET ", 4}, {"X", 1}, {"WSDX\x02", 5}, {"WSDX\x01\x02", 6},
    };
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = raw_connect(wsdx_local_port(l));
        long t0 = now_ms();
        CHECK(write_all(fd, bad[i].p, bad[i].n));
        CHECK_EQ(drain(fd, NULL, 5000), -ECONNRESET);
        long dt = now_ms() - t0;
        if (dt >= HS_MS / 2)
            fprintf(stderr, "S1 listener: case %zu took %ld ms\n", i, dt);
        CHECK(dt < HS_MS / 2); /* at once, not at the handshake time */
        close(fd);
    }
    for (int i = 0; i < 200 && wsdx_listener_rejected(l) < 4; i++)
        usleep(10000);
    CHECK_EQ(wsdx_listener_rejected(l), 4);
    wsdx_close(l);
}

/* The client: "WSDX 02" then FIN is a version error, not a short preamble. */
static void S1_fieldsCheckedAsTheyArrive_client(void)
{
    static const struct { const char *p; size_t n; int want; } cases[] = {
        {"WSDX\x02", 5, WSDX_WSAVERNOTSUPPORTED},
        {"WSDX\x01\x02", 6, WSDX_WSAEPROTOTYPE},
        {"GE", 2, WSDX_WSAEPROTONOSUPPORT},
        {"WSDX\x01", 5, WSDX_WSAEPROTONOSUPPORT}, /* valid prefix, then FIN */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int port, lfd = raw_listen(&port, 0);
        raw_server r;
        raw_server_start(&r, lfd, cases[i].p, cases[i].n, 1);
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
        CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), -cases[i].want);
        close(raw_server_join(&r));
        wsdx_close(c);
        close(lfd);
    }
}

/* A server preamble that arrives one byte per segment is read on until it is
 * whole: the connect succeeds. Mutation (a mutate.py survivor): socket.c
 * client_handshake `if (n > 0)` -> `if (n > 1)` (a 1-byte read ended the handshake). */
static void S1_preambleInPiecesAccepted_client(void)
{
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        uint8_t pre[8];
        preamble(pre, WSDX_PROTOCOL_VERSION, mode);
        int port, lfd = raw_listen(&port, 0);
        raw_server r;
        raw_server_trickle(&r, lfd, pre, sizeof pre);
        wsdx_socket c = wsdx_socket_open(mode);
        CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), 0);
        close(raw_server_join(&r));
        wsdx_close(c);
        close(lfd);
    }
}

/* A server that sends n preamble bytes, then FIN (reset 0) or RST (1). */
static void end_before_preamble_once(int n, int reset)
{
    int port, lfd = raw_listen(&port, 0);
    raw_server r;
    raw_server_start(&r, lfd, "WSDX", (size_t)n, reset ? 2 : 1);
    wsdx_socket c = wsdx_socket_open(WSDX_MESSAGE);
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), -WSDX_WSAEPROTONOSUPPORT);
    int s = raw_server_join(&r);
    if (s >= 0)
        close(s);
    wsdx_close(c);
    close(lfd);
}

/* FIN or RST before 8 bytes, 0 or 4 of them: WSAEPROTONOSUPPORT on the client
 * too, however the end races the client's own steps. A reset can already be
 * the connect's pending error (ECONNRESET) or fail the client's preamble
 * send; under load that happened, hence the rounds. */
static void S1_endBeforePreamble_client(void)
{
    for (int round = 0; round < 25; round++)
        for (int n = 0; n <= 4; n += 4)
            for (int reset = 0; reset <= 1; reset++)
                end_before_preamble_once(n, reset);
}

/* The handshake time bounds the preamble wait on both sides. */
static void S1_handshakeTimeBoundsBothSides(void)
{
    int port, lfd = raw_listen(&port, 0);
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
    long t0 = now_ms();
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 20000), -WSDX_WSAETIMEDOUT);
    long dt = now_ms() - t0;
    CHECK(dt >= HS_MS - 50 && dt < HS_MS * 4);
    wsdx_close(c);
    close(lfd);

    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    int fd = raw_connect(wsdx_local_port(l));
    CHECK(write_all(fd, "WSDX", 4));
    t0 = now_ms();
    CHECK_EQ(drain(fd, NULL, 10000), -ECONNRESET);
    dt = now_ms() - t0;
    CHECK(dt >= HS_MS - 50 && dt < HS_MS * 4);
    CHECK_EQ(wsdx_listener_rejected(l), 1);
    close(fd);
    wsdx_close(l);
}

/* ------------------------------------------------------------- 2. frames */

struct writer {
    int fd;
    const uint8_t *p;
    size_t n;
    int ok;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    w->ok = write_all(w->fd, w->p, w->n);
    return NULL;
}

/* A receiver accepts a DATA frame of exactly WSDX_MAX_FRAME in both modes. */
static void S2_dataFrameAtTheLimitAccepted(void)
{
    size_t n = WSDX_MAX_FRAME;
    uint8_t *big = malloc(n), *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 7);
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        wsdx_socket l, a;
        int fd = raw_peer_watched(mode, &l, &a);
        CHECK(fd >= 0);
        uint8_t h[5];
        put_header(h, 1, (uint32_t)n);
        CHECK(write_all(fd, h, 5));
        struct writer wr = {fd, big, n, 0};
        pthread_t th;
        pthread_create(&th, NULL, writer_main, &wr); /* 16 MiB does not fit the kernel's buffers */
        size_t got = 0;
        while (got < n) {
            int rc = wsdx_recv(a, in + got, (int)(n - got), 5000);
            if (rc <= 0)
                break;
            got += (size_t)rc;
            if (mode == WSDX_MESSAGE)
                break; /* one message, whole */
        }
        pthread_join(th, NULL);
        CHECK(wr.ok);
        CHECK_EQ(got, n);
        CHECK(memcmp(in, big, n) == 0);
        wsdx_close(a);
        wsdx_close(l);
        close(fd);
    }
    free(big);
    free(in);
}

/* Frames of these payload sizes, written in pieces of these sizes, so that
 * reads end inside headers and payloads alike. */
static const uint32_t SPLIT_FRAMES[] = {1, 7, 5000, 65536, 3, 70001, 2, 65531, 65536, 9};
static const size_t SPLIT_PIECES[] = {1, 4, 9, 4099, 65537, 3, 131072};

struct split_writer {
    int fd, ok;
    uint8_t *wire;
    size_t n;
};

static void *split_writer_main(void *arg)
{
    struct split_writer *w = arg;
    w->ok = 1;
    for (size_t off = 0, i = 0; w->ok && off < w->n; i++) {
        size_t k = SPLIT_PIECES[i % (sizeof SPLIT_PIECES / sizeof *SPLIT_PIECES)];
        k = k < w->n - off ? k : w->n - off;
        w->ok = write_all(w->fd, w->wire + off, k);
        off += k;
        usleep(200); /* let the receiver's read end here */
    }
    return NULL;
}

/* Stream mode: DATA payloads are one byte stream, whatever the frame and read
 * sizes: reads end inside headers and payloads, and a receive never returns
 * more than it was asked for. A frame cut by FIN hands out the payload that
 * came, then WSAECONNABORTED. */
static void S2_streamPayloadsAreOneByteStreamAcrossSplits(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_accepted(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    size_t nf = sizeof SPLIT_FRAMES / sizeof *SPLIT_FRAMES, total = 0, n = 0;
    for (size_t i = 0; i < nf; i++)
        total += SPLIT_FRAMES[i];
    struct split_writer w = {fd, 0, malloc(total + 5 * nf), 0};
    for (size_t i = 0, pos = 0; i < nf; i++) {
        put_header(w.wire + n, 1, SPLIT_FRAMES[i]);
        n += 5;
        for (uint32_t j = 0; j < SPLIT_FRAMES[i]; j++)
            w.wire[n++] = (uint8_t)(pos++ * 31 + 7);
    }
    w.n = n;
    pthread_t th;
    pthread_create(&th, NULL, split_writer_main, &w);
    static uint8_t in[100000];
    static const int sizes[] = {1, 3, 5, 4096, 65536, 100000, 6};
    size_t got = 0, bad = 0;
    for (size_t i = 0; got < total; i++) {
        int want = sizes[i % (sizeof sizes / sizeof *sizes)];
        int rc = wsdx_recv(a, in, want, 5000);
        if (rc <= 0)
            break;
        bad += rc > want; /* never past what was asked */
        for (int j = 0; j < rc; j++, got++)
            bad += in[j] != (uint8_t)(got * 31 + 7);
    }
    pthread_join(th, NULL);
    CHECK(w.ok);
    CHECK_EQ(got, total);
    CHECK_EQ(bad, 0);
    put_header(w.wire, 1, 1000); /* then 500 of its 1,000 bytes, and FIN */
    memset(w.wire + 5, 'z', 500);
    CHECK(write_all(fd, w.wire, 505));
    for (got = 0; got < 500;) {
        int rc = wsdx_recv(a, in, sizeof in, 5000);
        if (rc <= 0)
            break;
        got += (size_t)rc;
    }
    CHECK_EQ(got, 500);
    shutdown(fd, SHUT_WR);
    CHECK_EQ(wsdx_recv(a, in, sizeof in, 5000), -WSDX_WSAECONNABORTED);
    free(w.wire);
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

/* Stream mode: 1,024 empty DATA frames in a row are ignored (a non-empty one
 * resets the count); the 1,025th is WSAEPROTONOSUPPORT. */
static void S2_emptyStreamFramesBounded(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
    CHECK(fd >= 0);
    uint8_t *w = calloc(1025 * 5 + 6, 1);
    for (int i = 0; i < 1025; i++)
        put_header(w + i * 5, 1, 0);
    /* 1024 empty, then "a", then 1024 empty again: all fine */
    put_header(w + 1024 * 5, 1, 1);
    w[1024 * 5 + 5] = 'a';
    CHECK(write_all(fd, w, 1024 * 5) && write_all(fd, w + 1024 * 5, 6) && write_all(fd, w, 1024 * 5));
    char buf[8];
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 1);
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 200), -WSDX_WSAETIMEDOUT);
    CHECK(write_all(fd, w, 5)); /* the 1,025th in a row */
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), -WSDX_WSAEPROTONOSUPPORT);
    CHECK_EQ(drain(fd, NULL, 5000), -ECONNRESET);
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(atomic_load(&close_error), WSDX_WSAEPROTONOSUPPORT);
    free(w);
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

/* The peer sends 64 bytes every 5 ms of a message it never finishes. */
struct trickle {
    int fd;
    atomic_int stop;
};

static void *trickle_main(void *arg)
{
    struct trickle *t = arg;
    uint8_t chunk[64] = {0};
    for (int i = 0; i < 400 && !atomic_load(&t->stop); i++) {
        write_all(t->fd, chunk, sizeof chunk);
        usleep(5000);
    }
    return NULL;
}

/* A receive timeout holds while the peer keeps sending pieces of a message. */
static void S2_receiveTimeoutHoldsWhilePeerTrickles(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_MESSAGE, &l, &a);
    CHECK(fd >= 0);
    uint8_t h[5];
    put_header(h, 1, 1u << 20);
    CHECK(write_all(fd, h, 5));
    struct trickle t = {.fd = fd};
    pthread_t th;
    pthread_create(&th, NULL, trickle_main, &t);
    char buf[16];
    long t0 = now_ms();
    int rc = wsdx_recv(a, buf, sizeof buf, 300);
    long dt = now_ms() - t0;
    atomic_store(&t.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(rc, -WSDX_WSAETIMEDOUT);
    CHECK(dt < 2000);
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

/* ------------------------------------------------------------ 3. ending */

/* A DISCONNECT frame ends the direction at once: FD_CLOSE error 0 without the FIN. */
static void S3_disconnectEndsDirectionWithoutFin(void)
{
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        wsdx_socket l, a;
        int fd = raw_peer_watched(mode, &l, &a);
        CHECK(fd >= 0);
        uint8_t w[5 + 2 + 5 + 3];
        put_header(w, 1, 2);
        memcpy(w + 5, "hi", 2);
        put_header(w + 7, 2, 3);
        memcpy(w + 12, "bye", 3);
        CHECK(write_all(fd, w, sizeof w));
        char buf[8];
        CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 2);
        CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), mode == WSDX_STREAM ? 0 : -WSDX_WSAEDISCON);
        CHECK_EQ(wait_closes(1), 1);
        CHECK_EQ(atomic_load(&close_error), 0);
        CHECK_EQ(atomic_load(&close_flags), WSDX_CLOSE_DISCONNECT_DATA);
        CHECK_EQ(wsdx_recv_disconnect(a, buf, sizeof buf), 3);
        CHECK(memcmp(buf, "bye", 3) == 0);
        shutdown(fd, SHUT_WR); /* the FIN after it changes nothing */
        usleep(50000);
        CHECK_EQ(atomic_load(&close_count), 1);
        wsdx_close(a);
        wsdx_close(l);
        close(fd);
    }
}

/* An empty DISCONNECT frame and a FIN alone: both "no disconnect data". */
static void S3_emptyDisconnectEqualsFin(void)
{
    for (int fin_only = 0; fin_only <= 1; fin_only++) {
        wsdx_socket l, a;
        int fd = raw_peer_watched(WSDX_STREAM, &l, &a);
        CHECK(fd >= 0);
        uint8_t h[5];
        put_header(h, 2, 0);
        if (!fin_only)
            CHECK(write_all(fd, h, 5));
        shutdown(fd, SHUT_WR);
        char buf[8];
        CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 0);
        CHECK_EQ(wait_closes(1), 1);
        CHECK_EQ(atomic_load(&close_error), 0);
        CHECK_EQ(atomic_load(&close_flags), 0);
        CHECK_EQ(wsdx_recv_disconnect(a, buf, sizeof buf), 0);
        wsdx_close(a);
        wsdx_close(l);
        close(fd);
    }
}

/* wsdx_send_disconnect(NULL, 0) sends an empty DISCONNECT frame, then FIN. */
static void S3_sendDisconnectNullSendsEmptyFrameThenFin(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_MESSAGE, &l, &a);
    CHECK(fd >= 0);
    CHECK_EQ(wsdx_send_disconnect(a, NULL, 0), 0);
    uint8_t got[16];
    long n = 0;
    ssize_t k;
    while ((k = recv(fd, got + n, sizeof got - (size_t)n, 0)) > 0)
        n += k;
    CHECK_EQ(k, 0); /* FIN */
    CHECK_EQ(n, 5);
    CHECK(memcmp(got, "\x02\x00\x00\x00\x00", 5) == 0);
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

/* A reset wins: data before it is discarded (R3). */
static void S3_resetDiscardsUnreadData(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_MESSAGE, &l, &a);
    CHECK(fd >= 0);
    uint8_t w[8];
    put_header(w, 1, 3);
    memcpy(w + 5, "abc", 3);
    CHECK(write_all(fd, w, 8));
    usleep(50000);
    rst(fd);
    CHECK_EQ(wait_closes(1), 1);
    char buf[8];
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), -WSDX_WSAECONNRESET);
    CHECK_EQ(atomic_load(&close_error), WSDX_WSAECONNRESET);
    wsdx_close(a);
    wsdx_close(l);
}

/* Point 8 (protocol.md §2.2): through wsdx_recv_ex a message cut to the
 * buffer is a count flagged WSDX_MSG_PARTIAL and the connection goes on; a
 * frame over the limit is the fatal WSAEMSGSIZE, never flagged, repeated, and
 * the close event carries it. wsdx_recv reports both as WSAEMSGSIZE (recv()). */
static void P8_cutMessageAndOversizedFrameAreDistinct(void)
{
    wsdx_socket l, a;
    int fd = raw_peer_watched(WSDX_MESSAGE, &l, &a);
    CHECK(fd >= 0);
    uint8_t w[32];
    put_header(w, 1, 5);
    memcpy(w + 5, "hello", 5);
    put_header(w + 10, 1, 3);
    memcpy(w + 15, "abc", 3);
    put_header(w + 18, 1, WSDX_MAX_FRAME + 1u);
    CHECK(write_all(fd, w, 23));
    char buf[8];
    int flags = -1;
    CHECK_EQ(wsdx_recv_ex(a, buf, 2, 5000, &flags), 2);
    CHECK_EQ(flags, WSDX_MSG_PARTIAL);
    CHECK(memcmp(buf, "he", 2) == 0);
    CHECK_EQ(wsdx_recv(a, buf, 2, 5000), -WSDX_WSAEMSGSIZE); /* recv(): a cut message fails */
    CHECK(memcmp(buf, "ab", 2) == 0);
    for (int i = 0; i < 2; i++) {
        flags = -1;
        CHECK_EQ(wsdx_recv_ex(a, buf, sizeof buf, 5000, &flags), -WSDX_WSAEMSGSIZE);
        CHECK_EQ(flags, 0);
    }
    CHECK_EQ(wait_closes(1), 1);
    CHECK_EQ(atomic_load(&close_error), WSDX_WSAEMSGSIZE);
    CHECK_EQ(wsdx_recv_ex(a, buf, sizeof buf, 0, NULL), -WSDX_WSAEFAULT);
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

/* Bytes that preceded a protocol error are readable first, every time: a
 * few threads race the peer's bad bytes against the receive, many times. */
static const struct { const char *what; uint8_t w[16]; size_t n; int fin; int want; } bad_after[] = {
    {"unknown type", {7, 0, 0, 0, 1, 'x'}, 6, 0, WSDX_WSAEPROTONOSUPPORT},
    {"DATA over the limit", {1, 1, 0, 0, 1}, 5, 0, WSDX_WSAEMSGSIZE},
    {"truncated frame + FIN", {1, 0, 0, 0, 9}, 5, 1, WSDX_WSAECONNABORTED},
};

static atomic_int stress_fail;

static void one_round(int mode, size_t k, int split)
{
    wsdx_socket l, a;
    int fd = raw_peer_accepted(mode, &l, &a);
    if (fd < 0) {
        atomic_fetch_add(&stress_fail, 1);
        return;
    }
    uint8_t w[32];
    put_header(w, 1, 3);
    memcpy(w + 8 - 3, "abc", 3);
    memcpy(w + 8, bad_after[k].w, bad_after[k].n);
    int ok = split ? write_all(fd, w, 8) && write_all(fd, w + 8, bad_after[k].n)
                   : write_all(fd, w, 8 + bad_after[k].n);
    if (bad_after[k].fin)
        shutdown(fd, SHUT_WR);
    char buf[8];
    int r1 = wsdx_recv(a, buf, sizeof buf, 5000);
    int r2 = wsdx_recv(a, buf + 3, sizeof buf - 3, 5000);
    int r3 = wsdx_recv(a, buf + 3, sizeof buf - 3, 0);
    if (!ok || r1 != 3 || memcmp(buf, "abc", 3) != 0 || r2 != -bad_after[k].want || r3 != r2) {
        if (atomic_fetch_add(&stress_fail, 1) < 5)
            fprintf(stderr, "S3 stress: %s mode %d: %d %d %d\n", bad_after[k].what, mode, r1, r2, r3);
    }
    wsdx_close(a);
    wsdx_close(l);
    close(fd);
}

static void *stress_main(void *arg)
{
    int seed = (int)(intptr_t)arg;
    for (int i = 0; i < 150; i++)
        one_round(WSDX_STREAM + (i + seed) % 2, (size_t)(i + seed) % 3, (i / 3) % 2);
    return NULL;
}

static void S3_dataBeforeProtocolErrorReadableFirst_stress(void)
{
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, stress_main, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(atomic_load(&stress_fail), 0); /* 600 rounds */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setenv("WSDX_HANDSHAKE_MS", "800", 1); /* HS_MS, before the library reads it */
    S1_fieldsCheckedAsTheyArrive_listener();
    S1_fieldsCheckedAsTheyArrive_client();
    S1_endBeforePreamble_client();
    S1_preambleInPiecesAccepted_client();
    S1_handshakeTimeBoundsBothSides();
    S2_dataFrameAtTheLimitAccepted();
    S2_streamPayloadsAreOneByteStreamAcrossSplits();
    S2_emptyStreamFramesBounded();
    S2_receiveTimeoutHoldsWhilePeerTrickles();
    S3_disconnectEndsDirectionWithoutFin();
    S3_emptyDisconnectEqualsFin();
    S3_sendDisconnectNullSendsEmptyFrameThenFin();
    S3_resetDiscardsUnreadData();
    P8_cutMessageAndOversizedFrameAreDistinct();
    S3_dataBeforeProtocolErrorReadableFirst_stress();
    for (int i = 0; i < 300 && wsdx_open_handles() > 0; i++)
        usleep(10000);
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_protocol_rules");
}
