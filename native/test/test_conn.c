/* test_conn.c - the per-socket state machine, row by row, with no sockets. */
#include "check.h"
#include "conn.h"
#include "linger.h"
#include "wsdx.h"

/* wsdx_conn_recv's "message was cut" flag, for the calls that do not check it */
static int t_partial;

#include <string.h>

static size_t data_frame(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    wsdx_frame_header_encode(out, WSDX_FRAME_DATA, (uint32_t)n);
    memcpy(out + 5, s, n);
    return 5 + n;
}

static void connected(wsdx_conn *c, int mode)
{
    wsdx_conn_init(c, mode);
    wsdx_conn_established(c);
}

static void s1_s2_s3_shutdown(void)
{
    wsdx_conn c;
    int fin;
    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_SEND, &fin), 0);
    CHECK_EQ(fin, 1);
    CHECK_EQ(wsdx_conn_send_check(&c), -WSDX_WSAESHUTDOWN);
    uint8_t w[32], buf[32];
    wsdx_conn_ingest(&c, w, data_frame(w, "still"));
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 5); /* S1: receiving goes on */
    CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_SEND, &fin), 0);
    CHECK_EQ(fin, 0); /* FIN goes once */
    wsdx_conn_free(&c);

    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_RECEIVE, &fin), 0);
    CHECK_EQ(fin, 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAESHUTDOWN);
    CHECK_EQ(wsdx_conn_send_check(&c), 0); /* S2: sending goes on */
    wsdx_conn_free(&c);

    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_BOTH, &fin), 0);
    CHECK_EQ(fin, 1);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAESHUTDOWN);
    CHECK_EQ(wsdx_conn_send_check(&c), -WSDX_WSAESHUTDOWN);
    wsdx_conn_free(&c);
}

static void s4_bad_shutdown(void)
{
    wsdx_conn c;
    int fin;
    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_shutdown(&c, 3, &fin), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_conn_send_check(&c), 0); /* state unchanged */
    wsdx_conn_free(&c);
    wsdx_conn_init(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_SEND, &fin), -WSDX_WSAENOTCONN);
    wsdx_conn_free(&c);
}

static void s5_s6_disconnect_data(void)
{
    wsdx_conn c;
    uint8_t w[64], buf[64];
    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_send_disconnect(&c, "abc", 3), 0);
    CHECK_EQ(wsdx_conn_send_check(&c), -WSDX_WSAESHUTDOWN);
    CHECK_EQ(wsdx_conn_send_disconnect(&c, NULL, 0), -WSDX_WSAESHUTDOWN);
    wsdx_conn_free(&c);

    connected(&c, WSDX_STREAM);
    CHECK_EQ(wsdx_conn_send_disconnect(&c, NULL, WSDX_MAX_DISCONNECT_DATA + 1), -WSDX_WSAEINVAL);
    CHECK_EQ(wsdx_conn_send_disconnect(&c, NULL, 4), -WSDX_WSAEFAULT);
    CHECK_EQ(wsdx_conn_send_check(&c), 0); /* nothing changed */
    size_t n = data_frame(w, "data");
    wsdx_frame_header_encode(w + n, WSDX_FRAME_DISCONNECT, 3);
    memcpy(w + n + 5, "xyz", 3);
    CHECK_EQ(wsdx_conn_ingest(&c, w, n + 8), 0);
    wsdx_conn_eof(&c);
    int err = -1, flags = 0;
    CHECK_EQ(wsdx_conn_take_close(&c, &err, &flags), 1);
    CHECK_EQ(err, 0);
    CHECK_EQ(flags, WSDX_CLOSE_DISCONNECT_DATA);
    CHECK_EQ(wsdx_conn_take_close(&c, &err, &flags), 0); /* R5: once */
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 4);    /* earlier data first */
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 0);    /* R1 */
    CHECK_EQ(wsdx_conn_recv_disconnect(&c, buf, 2), -WSDX_WSAEFAULT);
    CHECK_EQ(wsdx_conn_recv_disconnect(&c, buf, sizeof buf), 3);
    CHECK(memcmp(buf, "xyz", 3) == 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAESHUTDOWN);
    wsdx_conn_free(&c);

    connected(&c, WSDX_MESSAGE); /* S6 + R2 */
    wsdx_frame_header_encode(w, WSDX_FRAME_DISCONNECT, 0);
    wsdx_conn_ingest(&c, w, 5);
    wsdx_conn_eof(&c);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAEDISCON);
    CHECK_EQ(wsdx_conn_recv_disconnect(&c, buf, 0), 0);
    wsdx_conn_free(&c);
}

static void r2_messages_keep_boundaries(void)
{
    wsdx_conn c;
    uint8_t w[64], buf[64];
    connected(&c, WSDX_MESSAGE);
    size_t n = data_frame(w, "one");
    n += data_frame(w + n, "");
    n += data_frame(w + n, "three");
    for (size_t i = 0; i < n; i++)
        wsdx_conn_ingest(&c, w + i, 1); /* byte by byte */
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 3);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 0); /* the empty message */
    int partial = 0;
    CHECK_EQ(wsdx_conn_recv(&c, buf, 2, &partial), 2); /* cut: harmless, flagged */
    CHECK_EQ(partial, 1);
    CHECK(memcmp(buf, "th", 2) == 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAEWOULDBLOCK);
    wsdx_conn_eof(&c);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAEDISCON);
    wsdx_conn_free(&c);
}

/* protocol.md §2.2 and point 8 of the spec review: a frame over the limit is
 * fatal (-WSAEMSGSIZE, never flagged partial, repeated on every receive); a
 * message cut to a small buffer is a count flagged partial and the
 * connection goes on. The two must not look alike to the receiver. */
static void p8_oversizedFrameIsFatalCutMessageIsNot(void)
{
    wsdx_conn c;
    uint8_t w[16], buf[8];
    connected(&c, WSDX_MESSAGE);
    size_t n = data_frame(w, "abcd");
    wsdx_frame_header_encode(w + n, WSDX_FRAME_DATA, WSDX_MAX_FRAME + 1u);
    wsdx_conn_ingest(&c, w, n + 5);
    int partial = 0;
    CHECK_EQ(wsdx_conn_recv(&c, buf, 2, &partial), 2); /* the bytes before the error come first */
    CHECK_EQ(partial, 1);
    for (int i = 0; i < 2; i++) {
        partial = 1;
        CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &partial), -WSDX_WSAEMSGSIZE);
        CHECK_EQ(partial, 0);
    }
    wsdx_conn_free(&c);
}

static void r3_r4_resets_and_truncation(void)
{
    wsdx_conn c;
    uint8_t w[64], buf[64];
    int err, flags;
    connected(&c, WSDX_STREAM);
    wsdx_conn_ingest(&c, w, data_frame(w, "lost"));
    wsdx_conn_fail(&c, WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), -WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_conn_send_check(&c), -WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_conn_take_close(&c, &err, &flags), 1);
    CHECK_EQ(err, WSDX_WSAECONNRESET);
    wsdx_conn_free(&c);

    connected(&c, WSDX_STREAM); /* FIN in the middle of a frame */
    size_t n = data_frame(w, "truncated");
    wsdx_conn_ingest(&c, w, n - 2);
    wsdx_conn_eof(&c);
    CHECK_EQ(c.must_reset, 1);
    CHECK_EQ(wsdx_conn_take_close(&c, &err, &flags), 1);
    CHECK_EQ(err, WSDX_WSAECONNABORTED);
    wsdx_conn_free(&c);

    connected(&c, WSDX_STREAM); /* a reset after a clean FIN changes nothing */
    wsdx_conn_eof(&c);
    wsdx_conn_fail(&c, WSDX_WSAECONNRESET);
    CHECK_EQ(wsdx_conn_take_close(&c, &err, &flags), 1);
    CHECK_EQ(err, 0);
    wsdx_conn_free(&c);
}

/* The receive fast path: stream payload straight into the caller's buffer,
 * the rest queued behind it, order kept; messages always go through the queue. */
static void ingest_to_keeps_order(void)
{
    wsdx_conn c;
    uint8_t w[64], dst[4], buf[64];
    size_t got = 0;
    connected(&c, WSDX_STREAM);
    size_t n = data_frame(w, "abcdef");
    n += data_frame(w + n, "gh");
    CHECK_EQ(wsdx_conn_ingest_to(&c, w, n, dst, sizeof dst, &got), 0);
    CHECK_EQ(got, 4);
    CHECK(memcmp(dst, "abcd", 4) == 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 4); /* "efgh" waited in the queue */
    CHECK(memcmp(buf, "efgh", 4) == 0);
    got = 0; /* with bytes queued, new payload must queue behind them */
    wsdx_conn_ingest(&c, w, data_frame(w, "ij"));
    CHECK_EQ(wsdx_conn_ingest_to(&c, w, data_frame(w, "kl"), dst, sizeof dst, &got), 0);
    CHECK_EQ(got, 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 4);
    CHECK(memcmp(buf, "ijkl", 4) == 0);
    wsdx_conn_free(&c);

    connected(&c, WSDX_MESSAGE);
    got = 0;
    CHECK_EQ(wsdx_conn_ingest_to(&c, w, data_frame(w, "msg"), dst, sizeof dst, &got), 0);
    CHECK_EQ(got, 0);
    CHECK_EQ(wsdx_conn_recv(&c, buf, sizeof buf, &t_partial), 3);
    wsdx_conn_free(&c);
}

static void s7_s10_linger_plans(void)
{
    CHECK_EQ(wsdx_linger_plan(0, 0, 1, 100), WSDX_CLOSE_GRACEFUL);
    CHECK_EQ(wsdx_linger_plan(1, 0, 1, 100), WSDX_CLOSE_ABORT);
    CHECK_EQ(wsdx_linger_plan(1, 5, 1, 100), WSDX_CLOSE_WAIT);
    CHECK_EQ(wsdx_linger_plan(1, 5, 1, 0), WSDX_CLOSE_GRACEFUL);
    CHECK_EQ(wsdx_linger_plan(1, 5, 0, 100), WSDX_CLOSE_WOULDBLOCK);
    CHECK_EQ(wsdx_linger_plan(1, 5, 0, 0), WSDX_CLOSE_GRACEFUL);
}

int main(void)
{
    s1_s2_s3_shutdown();
    s4_bad_shutdown();
    s5_s6_disconnect_data();
    r2_messages_keep_boundaries();
    p8_oversizedFrameIsFatalCutMessageIsNot();
    r3_r4_resets_and_truncation();
    s7_s10_linger_plans();
    ingest_to_keeps_order();
    return check_summary("test_conn");
}
