/* test_connect_async.c - wsdx_connect on a non-blocking socket, Winsock
 * style: WSAEWOULDBLOCK at once, WSAEALREADY while it runs, then FD_CONNECT
 * with the result as the event's error; a close ends it without an event.
 * Through wsdx.h only. */
#include "check.h"
#include "close_events.h"
#include "wsdx.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"

static atomic_int fired, fired_events, fired_error;

static void on_event(wsdx_socket s, int ev, int error, void *ctx)
{
    (void)s;
    (void)ctx;
    atomic_store(&fired_error, error);
    atomic_fetch_or(&fired_events, ev);
    atomic_fetch_add(&fired, 1);
}

static void reset_fired(void)
{
    atomic_store(&fired, 0);
    atomic_store(&fired_events, 0);
    atomic_store(&fired_error, -1);
}

/* A non-blocking socket armed for FD_CONNECT. */
static wsdx_socket nonblocking(void)
{
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM);
    CHECK(c > 0);
    CHECK_EQ(wsdx_set_blocking(c, 0), 0);
    reset_fired();
    CHECK_EQ(wsdx_select(c, WSDX_FD_CONNECT, on_event, NULL), 0);
    return c;
}

static void fd_connect_reports_success_once(void)
{
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    CHECK(l > 0);
    wsdx_socket c = nonblocking();
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000), -WSDX_WSAEWOULDBLOCK);
    int again = wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000);
    CHECK(again == -WSDX_WSAEALREADY || again == -WSDX_WSAEISCONN); /* it may be done already */
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_events), WSDX_FD_CONNECT);
    CHECK_EQ(atomic_load(&fired_error), 0);
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000), -WSDX_WSAEISCONN);
    wsdx_socket a = wsdx_accept(l, 5000);
    CHECK(a > 0);
    CHECK_EQ(wsdx_send(c, "hi", 2), 2);
    char buf[4];
    CHECK_EQ(wsdx_recv(a, buf, sizeof buf, 5000), 2);
    /* once per connect: arming it again reports nothing */
    CHECK_EQ(wsdx_select(c, WSDX_FD_CONNECT, on_event, NULL), 0);
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&fired), 1);
    wsdx_close(a);
    wsdx_close(c);
    wsdx_close(l);
}

static void fd_connect_reports_a_refusal_and_the_socket_may_connect_again(void)
{
    raw_fd r;
    int port = 0;
    CHECK_EQ(raw_listen_loopback(&r, &port), 0);
    raw_close(r); /* nothing listens there now */
    wsdx_socket c = nonblocking();
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 5000), -WSDX_WSAEWOULDBLOCK);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_events), WSDX_FD_CONNECT);
    CHECK_EQ(atomic_load(&fired_error), WSDX_WSAECONNREFUSED);
    CHECK_EQ(wsdx_send(c, "x", 1), -WSDX_WSAENOTCONN); /* unconnected, as before */
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    reset_fired();
    CHECK_EQ(wsdx_select(c, WSDX_FD_CONNECT, on_event, NULL), 0);
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000), -WSDX_WSAEWOULDBLOCK);
    CHECK_EQ(wait_count(&fired, 1), 1);
    CHECK_EQ(atomic_load(&fired_error), 0);
    wsdx_close(c);
    wsdx_close(l);
}

/* A server that accepts and never sends its preamble: the connect waits in
 * the handshake until the socket is closed. */
static void close_ends_a_background_connect_without_an_event(void)
{
    raw_fd r;
    int port = 0;
    CHECK_EQ(raw_listen_loopback(&r, &port), 0);
    wsdx_socket c = nonblocking();
    long long t0 = test_now_ms();
    CHECK_EQ(wsdx_connect(c, "127.0.0.1", port, 20000), -WSDX_WSAEWOULDBLOCK);
    CHECK(test_now_ms() - t0 < 1000); /* the call does not wait for the connect */
    test_sleep_ms(100);
    CHECK_EQ(wsdx_close(c), 0);
    test_sleep_ms(300);
    CHECK_EQ(atomic_load(&fired), 0); /* no callback after wsdx_close */
    raw_close(r);
}

/* More connects at once than connector threads: each gets its FD_CONNECT. */
static atomic_int many_ok;

static void on_many(wsdx_socket s, int ev, int error, void *ctx)
{
    (void)s;
    (void)ctx;
    if (ev == WSDX_FD_CONNECT && error == 0)
        atomic_fetch_add(&many_ok, 1);
}

static void many_background_connects_all_finish(void)
{
    enum { N = 100 }; /* more than the connector threads */
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, N);
    wsdx_socket c[N];
    for (int i = 0; i < N; i++) {
        c[i] = wsdx_socket_open(WSDX_STREAM);
        CHECK_EQ(wsdx_set_blocking(c[i], 0), 0);
        CHECK_EQ(wsdx_select(c[i], WSDX_FD_CONNECT, on_many, NULL), 0);
        CHECK_EQ(wsdx_connect(c[i], "127.0.0.1", wsdx_local_port(l), 10000), -WSDX_WSAEWOULDBLOCK);
    }
    for (int i = 0; i < 1000 && atomic_load(&many_ok) < N; i++)
        test_sleep_ms(10);
    CHECK_EQ(atomic_load(&many_ok), N);
    for (int i = 0; i < N; i++)
        wsdx_close(c[i]);
    for (wsdx_socket a; (a = wsdx_accept(l, 0)) > 0;)
        wsdx_close(a);
    wsdx_close(l);
}

int main(void)
{
    CHECK_EQ(raw_init(), 0);
    wsdx_use_backend(WSDX_BACKEND_IN_PROCESS);
    fd_connect_reports_success_once();
    fd_connect_reports_a_refusal_and_the_socket_may_connect_again();
    close_ends_a_background_connect_without_an_event();
    many_background_connects_all_finish();
    for (int i = 0; i < 500 && wsdx_open_handles() > 0; i++)
        test_sleep_ms(10); /* closes finish in the background */
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_connect_async");
}
