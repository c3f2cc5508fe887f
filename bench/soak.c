/* soak.c - the opt-in soak (bench/soak.sh): a wsdx echo server in this
 * process under every attack of docs/robustness.md "Limits" at once, while
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
#include <sys/socket.h>
#include <unistd.h>

static int g_port;
static atomic_int g_stop;
static atomic_long g_exchanges, g_bytes, g_bad, g_failed, g_attacks;

static void *serve(void *p)
{
    wsdx_socket a = (wsdx_socket)(intptr_t)p;
    static _Thread_local char buf[65536];
    wsdx_set_send_timeout(a, 2000); /* never-reading peers are aborted */
    int n;
    while ((n = wsdx_recv(a, buf, sizeof buf, 30000)) > 0)
        if (wsdx_send(a, buf, n) != n)
            break;
    if (n == 0) { /* graceful: echo the disconnect data */
        char d[WSDX_MAX_DISCONNECT_DATA];
        int dn = wsdx_recv_disconnect(a, d, sizeof d);
        wsdx_send_disconnect(a, d, dn > 0 ? dn : 0);
    }
    wsdx_close(a);
    return NULL;
}

static void *acceptor(void *p)
{
    wsdx_socket l = (wsdx_socket)(intptr_t)p;
    while (!atomic_load(&g_stop)) {
        wsdx_socket a = wsdx_accept(l, 200);
        if (a < 0)
            continue;
        pthread_t th;
        if (pthread_create(&th, NULL, serve, (void *)(intptr_t)a) == 0)
            pthread_detach(th);
        else
            wsdx_close(a);
    }
    return NULL;
}

static uint8_t pat(long i, int id) { return (uint8_t)(i * 31 + id); }

/* One checked exchange: patterned bytes out and back, then disconnect data
 * both ways. 1 when all came back intact, 0 when a byte or the disconnect
 * data came back wrong (lost, duplicated, corrupted), -1 when a call failed
 * with an error (reported, so nothing was silently lost). */
static int exchange(int id, long len)
{
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
    if (wsdx_connect(c, "127.0.0.1", g_port, 10000) != 0) {
        wsdx_close(c);
        return -1; /* refused under load: not a loss, retried */
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
        err = err || r < 0;
        ok = r != 0 || err; /* a graceful end before the echo: bytes lost */
        for (int i = 0; ok && i < r; i++)
            ok = (uint8_t)in[i] == pat(got + i, id);
        got += r > 0 ? r : 0;
    }
    int bl = snprintf(bye, sizeof bye, "bye-%d-%ld", id, len);
    char d[64];
    int rc = ok && !err ? wsdx_send_disconnect(c, bye, bl) : -1;
    rc = rc == 0 ? wsdx_recv(c, in, sizeof in, 10000) : -1;
    err = err || rc < 0;
    ok = ok && (err || rc == 0); /* bytes after the echo: duplicated */
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
    for (long k = 0; !atomic_load(&g_stop); k++)
        if (exchange(id, 1000 + (k * 7919) % 300000) == 0) {
            atomic_fetch_add(&g_bad, 1);
            fprintf(stderr, "soak: client %d exchange %ld lost or corrupted\n", id, k);
        }
    return NULL;
}

/* The attacks, one kind per thread, in rounds. */
static void attack_round(int kind)
{
    uint8_t pre[8], hdr[5];
    preamble(pre, 1, WSDX_STREAM);
    int fd = kind == 1 ? raw_connect(g_port) : raw_client(g_port, WSDX_STREAM);
    if (fd < 0)
        return;
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
    case 5: { /* descriptor pressure: 200 idle connections for a moment */
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
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 512);
    g_port = wsdx_local_port(l);
    pthread_t th[16];
    int n = 0;
    pthread_create(&th[n++], NULL, acceptor, (void *)(intptr_t)l);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[n++], NULL, legit, (void *)(intptr_t)i);
    for (int k = 0; k < 7; k++)
        pthread_create(&th[n++], NULL, attacker, (void *)(intptr_t)k);
    long first_rss = 0, last_rss = 0, first_heap = 0, last_heap = 0;
    int first_fds = 0, last_fds = 0, early_max_fds = 0;
    long total_s = (long)(minutes * 60);
    printf("minute  rss_kib  heap_kib  handles  fds  exchanges  bytes  attacks  failed(reported)  bad(lost/corrupted)\n");
    for (long s = 1; s <= total_s; s++) {
        sleep(1);
        if (s % 60 == 0 || s == total_s || s == 20) {
            last_rss = rss_kib();
            last_heap = heap_kib();
            last_fds = fds();
            if (s <= total_s / 2 && last_fds > early_max_fds)
                early_max_fds = last_fds; /* the descriptor attack swings the count: its early range */
            if (s == 20) { /* after warm-up: the baseline */
                first_rss = last_rss;
                first_heap = last_heap;
                first_fds = last_fds;
            }
            printf("%6.1f  %7ld  %8ld  %7d  %3d  %9ld  %ld  %7ld  %ld  %ld\n", s / 60.0, last_rss, last_heap,
                   wsdx_open_handles(), last_fds,
                   atomic_load(&g_exchanges), atomic_load(&g_bytes), atomic_load(&g_attacks),
                   atomic_load(&g_failed), atomic_load(&g_bad));
            fflush(stdout);
        }
    }
    atomic_store(&g_stop, 1); /* the verdict now: attackers may be blocked on a peer for ever */
    (void)th;
    /* the heap in use is the leak test (a connection's buffers come and go, so
     * a margin of 4 MiB); RSS may drift with the allocator's arenas, within
     * bounds. The descriptor attack holds and frees hundreds of descriptors at
     * a time, so a leak shows as the count leaving the range of the first half */
    int flat = last_heap <= first_heap + 4096 && last_rss <= first_rss + first_rss / 2 + 20480 &&
               last_fds <= early_max_fds + 64;
    int ok = atomic_load(&g_bad) == 0 && atomic_load(&g_exchanges) > 0 && flat;
    printf("verdict: %s (lost/corrupted exchanges %ld, heap in use %ld -> %ld KiB, RSS %ld -> %ld KiB, "
           "descriptors %d -> %d, first half at most %d)\n", ok ? "PASS" : "FAIL", atomic_load(&g_bad),
           first_heap, last_heap, first_rss, last_rss, first_fds, last_fds, early_max_fds);
    fflush(stdout);
    _exit(ok ? 0 : 1);
}
