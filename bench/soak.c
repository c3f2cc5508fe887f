/* soak.c - the opt-in soak (bench/soak.sh): a wsdx echo server in this
 * process (a STREAM and a MESSAGE server) under every attack of docs/robustness.md "Limits" at once, while
 * legitimate clients check every byte and disconnect payload. Prints RSS and
 * descriptors each minute (and at the end) and a verdict. */
#include "raw_peer.h"
#include "wsdx.h"

#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_port, g_msg_port; /* the STREAM and the MESSAGE echo servers */
static atomic_int g_stop;
static atomic_long g_exchanges, g_bytes, g_bad, g_failed, g_attacks, g_emfile, g_slow_close;

/* The end of the peer's data: 0 in STREAM mode, WSAEDISCON in MESSAGE mode
 * (where 0 is an empty message). */
static int is_end(int mode, int rc)
{
    return mode == WSDX_STREAM ? rc == 0 : rc == -WSDX_WSAEDISCON;
}

typedef struct {
    wsdx_socket s;
    int mode;
} served;

static void *serve(void *p)
{
    served v = *(served *)p;
    free(p);
    wsdx_socket a = v.s;
    static _Thread_local char buf[65536]; /* a legitimate message is at most 8 KiB */
    wsdx_set_send_timeout(a, 2000); /* never-reading peers are aborted */
    int n;
    while ((n = wsdx_recv(a, buf, sizeof buf, 30000)) > 0)
        if (wsdx_send(a, buf, n) != n)
            break;
    if (is_end(v.mode, n)) { /* graceful: echo the disconnect data */
        char d[WSDX_MAX_DISCONNECT_DATA];
        int dn = wsdx_recv_disconnect(a, d, sizeof d);
        wsdx_send_disconnect(a, d, dn > 0 ? dn : 0);
    }
    wsdx_close(a);
    return NULL;
}

static void *acceptor(void *p)
{
    served lv = *(served *)p;
    while (!atomic_load(&g_stop)) {
        wsdx_socket a = wsdx_accept(lv.s, 200);
        if (a == -WSDX_WSAEMFILE)
            atomic_fetch_add(&g_emfile, 1); /* reported, once per episode; it recovers by itself */
        if (a < 0)
            continue;
        served *v = malloc(sizeof *v);
        pthread_t th;
        if (v)
            *v = (served){a, lv.mode};
        if (v && pthread_create(&th, NULL, serve, v) == 0) {
            pthread_detach(th);
        } else {
            free(v);
            wsdx_close(a);
        }
    }
    return NULL;
}

static uint8_t pat(long i, int id) { return (uint8_t)(i * 31 + id); }

/* One checked exchange: patterned bytes out and back, then disconnect data
 * both ways. 1 when all came back intact, 0 when a byte or the disconnect
 * data came back wrong (lost, duplicated, corrupted), -1 when a call failed
 * with an error (reported, so nothing was silently lost). */
static int exchange(int id, int mode, long len)
{
    wsdx_socket c = wsdx_socket_open(mode);
    if (wsdx_connect(c, "127.0.0.1", mode == WSDX_STREAM ? g_port : g_msg_port, 10000) != 0) {
        wsdx_close(c);
        atomic_fetch_add(&g_failed, 1);
        return -1; /* refused under load (descriptors, say): reported, not a loss; retried */
    }
    char out[8192], in[8192], bye[32];
    long sent = 0, got = 0;
    int ok = 1, err = 0;
    while (ok && !err && got < len) {
        if (sent < len) {
            int n = (int)(len - sent < (long)sizeof out ? len - sent : (long)sizeof out);
            for (int i = 0; i < n; i++)
                out[i] = (char)pat(sent + i, id);
            int w = wsdx_send(c, out, n);
            err = w <= 0;
            sent += w > 0 ? w : 0;
        }
        int r = err ? 0 : wsdx_recv(c, in, sizeof in, 10000);
        if (!err && (r == 0 || is_end(mode, r)))
            ok = 0; /* the end (or an empty message) before the echo: bytes lost */
        err = err || r < 0;
        for (int i = 0; ok && i < r; i++)
            ok = (uint8_t)in[i] == pat(got + i, id);
        got += r > 0 ? r : 0;
    }
    int bl = snprintf(bye, sizeof bye, "bye-%d-%ld", id, len);
    char d[64];
    int rc = ok && !err ? wsdx_send_disconnect(c, bye, bl) : -1;
    rc = rc == 0 ? wsdx_recv(c, in, sizeof in, 10000) : -1;
    int end = is_end(mode, rc);
    err = err || (rc < 0 && !end);
    ok = ok && (err || end); /* bytes after the echo: duplicated */
    rc = ok && !err ? wsdx_recv_disconnect(c, d, sizeof d) : -1;
    err = err || rc < 0;
    ok = ok && (err || (rc == bl && memcmp(d, bye, (size_t)bl) == 0));
    wsdx_close(c);
    if (!ok)
        return 0;
    if (err) {
        atomic_fetch_add(&g_failed, 1);
        return -1;
    }
    atomic_fetch_add(&g_exchanges, 1);
    atomic_fetch_add(&g_bytes, len);
    return 1;
}

static void *legit(void *p)
{
    int id = (int)(intptr_t)p;
    int mode = id % 2 ? WSDX_MESSAGE : WSDX_STREAM; /* messages of at most 8 KiB each */
    for (long k = 0; !atomic_load(&g_stop); k++)
        if (exchange(id, mode, 1000 + (k * 7919) % 300000) == 0) {
            atomic_fetch_add(&g_bad, 1);
            fprintf(stderr, "soak: client %d exchange %ld lost or corrupted\n", id, k);
        }
    return NULL;
}

/* A blocking wsdx call on another thread, so that this one can close its
 * socket under it (kinds 8 and 9). */
typedef struct {
    wsdx_socket c;
    int port, rc;
    long ended_ms;
    pthread_t th;
} blocked_call;

static void *blocked_connect(void *p)
{
    blocked_call *b = p;
    b->rc = wsdx_connect(b->c, "127.0.0.1", b->port, 8000);
    b->ended_ms = now_ms();
    return NULL;
}

static void *blocked_send(void *p)
{
    blocked_call *b = p;
    static char big[4 << 20];
    b->rc = wsdx_send(b->c, big, sizeof big);
    b->ended_ms = now_ms();
    return NULL;
}

/* Closes b->c 100 ms into its blocked call; the call must end at once
 * (robustness.md rows 3 and 7), or g_slow_close counts it. */
static void close_under(blocked_call *b, void *(*call)(void *), const char *what)
{
    pthread_create(&b->th, NULL, call, b);
    usleep(100000);
    long t0 = now_ms();
    wsdx_close(b->c);
    pthread_join(b->th, NULL);
    if (b->ended_ms - t0 > 2000) {
        atomic_fetch_add(&g_slow_close, 1);
        fprintf(stderr, "soak: %s ended %ld ms after its socket was closed (rc %d)\n", what, b->ended_ms - t0, b->rc);
    }
}

/* Every descriptor taken for a second: the listeners report WSAEMFILE and
 * rest, legitimate connects fail (reported), then everything recovers. */
static void exhaust_descriptors(void)
{
    static int held[65536];
    int n = 0;
    while (n < 65536 && (held[n] = dup(0)) >= 0)
        n++;
    sleep(1);
    while (n > 0)
        close(held[--n]);
}

/* A client process killed (SIGKILL) in the middle of a frame: the kernel
 * closes its socket; the server sees the truncated frame end. */
static void kill_client_process(void)
{
    pid_t pid = fork();
    if (pid == 0) { /* raw sockets only: the child has no wsdx notifier thread */
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the soak (it holds the listeners' copies too) */
        alarm(10);
        int fd = raw_client(g_port, WSDX_STREAM);
        if (fd < 0)
            _exit(0);
        uint8_t hdr[5];
        put_header(hdr, 1, 1 << 20);
        write_all(fd, hdr, 5);
        for (;;)
            write_all(fd, "0123456789abcdef", 16);
    }
    if (pid < 0)
        return;
    usleep(50000 + (useconds_t)(rand() % 250000));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The attacks, one kind per thread, in rounds. */
static void attack_round(int kind)
{
    uint8_t pre[8], hdr[5];
    preamble(pre, 1, WSDX_STREAM);
    int fd = kind == 1 ? raw_connect(g_port) : kind == 7 ? raw_client(g_msg_port, WSDX_MESSAGE)
                                                           : raw_client(g_port, WSDX_STREAM);
    if (fd < 0) {
        usleep(10000); /* descriptors may be exhausted just now (kind 5) */
        return;
    }
    switch (kind) {
    case 0: /* slowloris: a frame header then one byte a second */
        put_header(hdr, 1, 1000);
        write_all(fd, hdr, 5);
        for (int i = 0; i < 5 && !atomic_load(&g_stop); i++, sleep(1))
            write_all(fd, "x", 1);
        break;
    case 1: /* plain TCP: an HTTP request */
        write_all(fd, "GET / HTTP/1.0\r\n\r\n", 18);
        break;
    case 2: /* oversized frame */
        put_header(hdr, 1, 0xffffffffu);
        write_all(fd, hdr, 5);
        break;
    case 3: { /* never reads: the server's send timeout aborts it */
        static char junk[1 << 16];
        put_header(hdr, 1, sizeof junk);
        for (int i = 0; i < 64 && write_all(fd, hdr, 5) && write_all(fd, junk, sizeof junk); i++)
            ;
        break;
    }
    case 4: { /* empty-frame bursts */
        static uint8_t burst[5 * 1000];
        for (int i = 0; i < 1000; i++)
            put_header(burst + 5 * i, 1, 0);
        for (int i = 0; i < 50; i++)
            write_all(fd, burst, sizeof burst);
        break;
    }
    case 5: { /* descriptor pressure: 200 idle connections for a moment; now and then none left at all */
        static int rounds;
        if (++rounds % 8 == 0)
            exhaust_descriptors();
        int held[200], n = 0;
        while (n < 200 && (held[n] = raw_connect(g_port)) >= 0)
            n++;
        usleep(500000);
        while (n > 0)
            close(held[--n]);
        sleep(3); /* the server holds each for the handshake time (10 s) */
        break;
    }
    case 6: { /* close against a blocked receive */
        wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
        if (wsdx_connect(c, "127.0.0.1", g_port, 5000) == 0) {
            wsdx_send(c, "x", 1);
            wsdx_set_linger(c, 1, 0);
        }
        wsdx_close(c);
        break;
    }
    case 7: { /* memory budget: 16 MiB - 1 of a 16 MiB message, then silence */
        static char junk[1 << 16];
        put_header(hdr, 1, 16 << 20);
        write_all(fd, hdr, 5);
        for (int i = 0; i < 256; i++)
            if (!write_all(fd, junk, i == 255 ? sizeof junk - 1 : sizeof junk))
                break;
        sleep(2);
        break;
    }
    case 8: { /* close against a blocked connect (a server that never sends its preamble) */
        int port, lfd = raw_listen(&port, 0);
        blocked_call b = {.c = wsdx_socket_open(WSDX_STREAM), .port = port};
        close_under(&b, blocked_connect, "a blocked connect");
        close(lfd);
        break;
    }
    case 9: { /* close against a send blocked in the middle of a frame (a peer that never reads) */
        int port, lfd = raw_listen(&port, 4096);
        raw_server r;
        raw_server_start(&r, lfd, pre, sizeof pre, 0);
        blocked_call b = {.c = wsdx_socket_open(WSDX_STREAM)};
        if (wsdx_connect(b.c, "127.0.0.1", port, 5000) == 0)
            close_under(&b, blocked_send, "a send blocked mid-frame");
        else
            wsdx_close(b.c);
        int peer = raw_server_join(&r);
        if (peer >= 0)
            close(peer);
        close(lfd);
        break;
    }
    case 10:
        kill_client_process();
        break;
    }
    close(fd);
    atomic_fetch_add(&g_attacks, 1);
}

static void *attacker(void *p)
{
    while (!atomic_load(&g_stop))
        attack_round((int)(intptr_t)p);
    return NULL;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* Bytes malloc has handed out and not taken back: a leak grows this, while
 * RSS also moves with the allocator's arenas and fragmentation. */
static long heap_kib(void)
{
    return (long)(mallinfo2().uordblks / 1024);
}

static int fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n - 3;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    double minutes = argc > 1 ? atof(argv[1]) : 30;
    wsdx_set_memory_budget(64 << 20);
    served ls = {wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 512), WSDX_STREAM};
    served lm = {wsdx_listen("127.0.0.1", 0, WSDX_MESSAGE, 512), WSDX_MESSAGE};
    g_port = wsdx_local_port(ls.s);
    g_msg_port = wsdx_local_port(lm.s);
    pthread_t th[20];
    int n = 0;
    pthread_create(&th[n++], NULL, acceptor, &ls);
    pthread_create(&th[n++], NULL, acceptor, &lm);
    for (int i = 0; i < 4; i++) /* clients 0 and 2 in STREAM mode, 1 and 3 in MESSAGE mode */
        pthread_create(&th[n++], NULL, legit, (void *)(intptr_t)i);
    const char *only = getenv("SOAK_ONLY"); /* e.g. "1,5": only those attack kinds */
    for (int k = 0; k < 11; k++) {
        char tag[8];
        snprintf(tag, sizeof tag, "%d", k);
        int on = !only;
        for (const char *t = only; t && *t && !on; t += strcspn(t, ","), t += *t == ',')
            on = strncmp(t, tag, strlen(tag)) == 0 && (t[strlen(tag)] == ',' || !t[strlen(tag)]);
        if (on)
            pthread_create(&th[n++], NULL, attacker, (void *)(intptr_t)k);
    }
    long first_rss = 0, last_rss = 0, first_heap = 0, last_heap = 0, early_max_rss = 0;
    int first_fds = 0, last_fds = 0, early_max_fds = 0;
    long total_s = (long)(minutes * 60);
    long warmup = total_s >= 600 ? 120 : 20;
    printf("minute  rss_kib  heap_kib  handles  fds  exchanges  bytes  attacks  failed(reported)  emfile(reported)  "
           "slow_close  bad(lost/corrupted)\n");
    for (long s = 1; s <= total_s; s++) {
        sleep(1);
        if (s % 60 == 0 || s == total_s || s == warmup) {
            last_rss = rss_kib();
            last_heap = heap_kib();
            last_fds = fds();
            if (s <= total_s / 2 && last_fds > early_max_fds)
                early_max_fds = last_fds; /* the descriptor attack swings the count: its early range */
            if (s >= warmup && s <= total_s / 2 && last_rss > early_max_rss)
                early_max_rss = last_rss; /* the budget attack swings RSS by its 64 MiB: the same */
            if (s == warmup) { /* after warm-up (the budget attack fills its 64 MiB first): the baseline */
                first_rss = last_rss;
                first_heap = last_heap;
                first_fds = last_fds;
            }
            printf("%6.1f  %7ld  %8ld  %7d  %3d  %9ld  %ld  %7ld  %ld  %ld  %ld  %ld\n", s / 60.0, last_rss, last_heap,
                   wsdx_open_handles(), last_fds, atomic_load(&g_exchanges), atomic_load(&g_bytes),
                   atomic_load(&g_attacks), atomic_load(&g_failed), atomic_load(&g_emfile),
                   atomic_load(&g_slow_close), atomic_load(&g_bad));
            fflush(stdout);
        }
    }
    atomic_store(&g_stop, 1); /* the verdict now: attackers may be blocked on a peer for ever */
    (void)th;
    /* the heap in use is the leak test (a connection's buffers come and go, so
     * a margin of 4 MiB); RSS may drift with the allocator's arenas, within
     * bounds. The descriptor attack holds and frees hundreds of descriptors at
     * a time, so a leak shows as the count leaving the range of the first half */
    int flat = last_heap <= first_heap + 4096 && last_rss <= early_max_rss + early_max_rss / 10 + 20480 &&
               last_fds <= early_max_fds + 64;
    int ok = atomic_load(&g_bad) == 0 && atomic_load(&g_slow_close) == 0 && atomic_load(&g_exchanges) > 0 && flat;
    printf("verdict: %s (lost/corrupted exchanges %ld, heap in use %ld -> %ld KiB, RSS %ld -> %ld KiB, "
           "descriptors %d -> %d, first half at most %d)\n", ok ? "PASS" : "FAIL", atomic_load(&g_bad),
           first_heap, last_heap, first_rss, last_rss, first_fds, last_fds, early_max_fds);
    printf("RSS at most %ld KiB in the first half; the second half may not pass it by more than 10 %% + 20 MiB\n",
           early_max_rss);
    fflush(stdout);
    _exit(ok ? 0 : 1);
}
