/* test_select.c - wsdx_select readiness events, wsdx_try_send and
 * wsdx_try_send_disconnect backpressure, socket options and addresses,
 * through wsdx.h only. */
#include "check.h"
#include "close_events.h"
#ifndef _WIN32
#include "raw_peer.h" /* BSD sockets only: its row is POSIX-only */
#endif
#include "wsdx.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plat.h"

static atomic_int fired, fired_events;

static void on_event(wsdx_socket s, int ev, int error, void *ctx)
{
    (void)s;
    (void)error;
    (void)ctx;
    atomic_fetch_or(&fired_events, ev);
    atomic_fetch_add(&fired, 1);
}

static void reset_fired(void)
{
    atomic_store(&fired, 0);
    atomic_store(&fired_events, 0);
}

static void fd_accept_reports_a_checked_connection(wsdx_socket *l, wsdx_socket *c, wsdx_socket *a)
{
    *l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    CHECK(*l > 0);
    reset_fired();
    CHECK_EQ(wsdx_select(*l, WSDX_FD_ACCEPT, on_event, NULL), 0);
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&fired), 0); /* nothing waits yet */
    *c = wsdx_socket_open(WSDX_STREAM);
    CHECK_EQ(wsdx_connect(*c, "127.0.0.1", wsdx_local_port(*l), 5000), 0);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_events), WSDX_FD_ACCEPT);
    *a = wsdx_accept(*l, 0);
    CHECK(*a > 0);
}

static void fd_read_reports_data_without_reading_ahead(wsdx_socket c, wsdx_socket a)
{
    reset_fired();
    CHECK_EQ(wsdx_select(a, WSDX_FD_READ, on_event, NULL), 0);
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&fired), 0);
    CHECK_EQ(wsdx_send(c, "hello", 5), 5);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_events), WSDX_FD_READ);
    test_sleep_ms(30);
    CHECK_EQ(atomic_load(&fired), 1); /* one-shot: not again until re-armed */
    char buf[16];
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 0), 5);
    /* the end of the stream is readable too */
    reset_fired();
    CHECK_EQ(wsdx_select(a, WSDX_FD_READ, on_event, NULL), 0);
    CHECK_EQ(wsdx_shutdown(c, WSDX_SD_SEND), 0);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 0), 0);
}

/* Fills a's path to c until the kernel takes nothing more, even after a
 * pause for acknowledgements that would make room; the bytes taken. */
static long fill(wsdx_socket a)
{
    static char chunk[65536];
    long sent = 0, round;
    do {
        int rc;
        round = 0;
        while ((rc = wsdx_try_send(a, chunk, sizeof chunk)) > 0)
            round += rc;
        CHECK_EQ(rc, -WSDX_WSAEWOULDBLOCK);
        sent += round;
        if (round > 0)
            test_sleep_ms(100); /* then try again: full means full after a pause too */
    } while (round > 0);
    return sent;
}

/* Reads what fill() sent; returns how much arrived. */
static long drain_sent(wsdx_socket c, long sent)
{
    static char sink[65536];
    long got = 0;
    while (got < sent) {
        int n = wsdx_recv(c, sink, sizeof sink, 5000);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

/* S5 without waiting: while the peer takes nothing, WSAEWOULDBLOCK with
 * nothing sent and sending still open; once the path is clear, the frame and
 * the FIN go out at once. Bad input fails as wsdx_send_disconnect's does. */
static void try_send_disconnect_never_waits(wsdx_socket c, wsdx_socket a)
{
    CHECK_EQ(wsdx_try_send_disconnect(a, NULL, WSDX_MAX_DISCONNECT_DATA + 1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_try_send_disconnect(a, NULL, 2), -WSDX_WSAEFAULT);
    long sent = fill(a);
    CHECK_EQ(wsdx_try_send_disconnect(a, "xy", 2), -WSDX_WSAEWOULDBLOCK);
    CHECK_EQ(drain_sent(c, sent), sent);
    CHECK_EQ(wsdx_send(a, "z", 1), 1); /* sending is still open */
    CHECK_EQ(wsdx_try_send_disconnect(a, "xy", 2), 0);
    CHECK_EQ(wsdx_try_send_disconnect(a, "xy", 2), -WSDX_WSAESHUTDOWN); /* and now over */
    char b[8];
    CHECK_EQ(wsdx_recv(c, b, sizeof b, 5000), 1);
    CHECK_EQ(wsdx_recv(c, b, sizeof b, 5000), 0); /* R1: the end, then the data (S5) */
    CHECK_EQ(wsdx_recv_disconnect(c, b, sizeof b), 2);
    CHECK(memcmp(b, "xy", 2) == 0);
}

/* Backpressure: FD_WRITE armed on a full path stays quiet. "Full" does not
 * stay true by itself: the kernel makes room whenever acknowledgements land or
 * it grows the buffers, and Windows then reports FD_WRITE as documented
 * ("send ... failed with WSAEWOULDBLOCK and buffer space becomes available",
 * WSAAsyncSelect). So a report during the quiet check must be true, a send
 * then takes bytes, and the fill is retried until one check stays quiet. */
static void fd_write_waits_until_the_peer_takes_bytes(wsdx_socket c, wsdx_socket a)
{
    reset_fired();
    CHECK_EQ(wsdx_select(a, WSDX_FD_WRITE, on_event, NULL), 0);
    CHECK_EQ(wait_count(&fired, 1), 1); /* writable now */
    long sent = 0;
    int quiet = 0;
    for (int tries = 0; tries < 20 && !quiet; tries++) {
        sent += fill(a);
        reset_fired();
        CHECK_EQ(wsdx_select(a, WSDX_FD_WRITE, on_event, NULL), 0);
        test_sleep_ms(50);
        quiet = atomic_load(&fired) == 0;
        if (!quiet) {
            int rc = wsdx_try_send(a, "r", 1); /* the room it reported */
            CHECK_EQ(rc, 1);
            sent += rc > 0 ? rc : 0;
        }
    }
    CHECK(quiet); /* full at last, and FD_WRITE waits (still armed) */
    CHECK_EQ(drain_sent(c, sent), sent);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_events), WSDX_FD_WRITE);
}

static void options_and_addresses(wsdx_socket c, wsdx_socket a)
{
    CHECK_EQ(wsdx_get_option(c, WSDX_OPT_TCP_NODELAY), 1); /* on by default */
    CHECK_EQ(wsdx_set_option(c, WSDX_OPT_TCP_NODELAY, 0), 0);
    CHECK_EQ(wsdx_get_option(c, WSDX_OPT_TCP_NODELAY), 0);
    CHECK_EQ(wsdx_set_option(c, WSDX_OPT_KEEPALIVE, 1), 0);
    CHECK_EQ(wsdx_get_option(c, WSDX_OPT_KEEPALIVE), 1);
    CHECK_EQ(wsdx_set_option(c, WSDX_OPT_SNDBUF, 65536), 0);
    CHECK(wsdx_get_option(c, WSDX_OPT_SNDBUF) >= 65536);
    CHECK_EQ(wsdx_set_option(c, 99, 1), -WSDX_WSAENOPROTOOPT);
    CHECK_EQ(wsdx_set_option(c, WSDX_OPT_RCVBUF, -1), -WSDX_WSAEINVAL);
    char local[64], remote[64];
    int lp = wsdx_address(c, 0, local, sizeof local);
    int rp = wsdx_address(a, 1, remote, sizeof remote);
    CHECK_EQ(lp, wsdx_local_port(c));
    CHECK_EQ(rp, lp);
    CHECK(strcmp(local, "127.0.0.1") == 0 && strcmp(remote, "127.0.0.1") == 0);
    wsdx_socket u = wsdx_socket_open(WSDX_STREAM);
    CHECK_EQ(wsdx_get_option(u, WSDX_OPT_TCP_NODELAY), -WSDX_WSAENOTCONN);
    CHECK_EQ(wsdx_select(u, WSDX_FD_ACCEPT, on_event, NULL), -WSDX_WSAEINVAL);
    wsdx_close(u);
    CHECK_EQ(wsdx_select(u, WSDX_FD_READ, on_event, NULL), -WSDX_WSAENOTSOCK);
}

#ifndef _WIN32
/* A read that made progress may also have taken the peer's DISCONNECT frame,
 * which ends its direction with no FIN after it (protocol.md 3; a raw peer
 * sends none): FD_READ armed afterwards must report that end at once (the next
 * receive returns it), not wait for a FIN that may never come (issue 10). */
static void fd_read_reports_an_end_a_progressing_read_took(void)
{
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        wsdx_socket l, a;
        int fd = raw_peer_accepted(mode, &l, &a);
        CHECK(fd >= 0);
        uint8_t w[5 + 2 + 5];
        put_header(w, 1, 2); /* DATA "hi", then an empty DISCONNECT: one write, one read */
        memcpy(w + 5, "hi", 2);
        put_header(w + 7, 2, 0);
        CHECK(write_all(fd, w, sizeof w));
        char buf[8];
        CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 2);
        reset_fired();
        CHECK_EQ(wsdx_select(a, WSDX_FD_READ, on_event, NULL), 0);
        CHECK_EQ(wait_count(&fired, 1), 1);
        CHECK_EQ(atomic_load(&fired_events), WSDX_FD_READ);
        CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 0), mode == WSDX_STREAM ? 0 : -WSDX_WSAEDISCON);
        wsdx_close(a);
        wsdx_close(l);
        close(fd);
    }
}
#endif

int main(void)
{
    wsdx_use_backend(WSDX_BACKEND_IN_PROCESS);
    wsdx_socket l, c, a;
    fd_accept_reports_a_checked_connection(&l, &c, &a);
    options_and_addresses(c, a);
    fd_write_waits_until_the_peer_takes_bytes(c, a);
    fd_read_reports_data_without_reading_ahead(c, a);
    wsdx_close(c);
    wsdx_close(a);
    wsdx_close(l);
    fd_accept_reports_a_checked_connection(&l, &c, &a);
    try_send_disconnect_never_waits(c, a);
    wsdx_close(c);
    wsdx_close(a);
    wsdx_close(l);
#ifndef _WIN32
    fd_read_reports_an_end_a_progressing_read_took();
#endif
    for (int i = 0; i < 300 && wsdx_open_handles() > 0; i++)
        test_sleep_ms(10); /* graceful closes finish in the background */
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_select");
}
