/* test_regressions.c - cases the fuzzers found (docs/robustness.md, "Findings"),
 * kept so they stay fixed. F3 (a send queue started after a header-only
 * write) is covered by test_hostile.c under native/fuzz/sanitize.sh. */
#include "check.h"
#include "conn.h"
#include "frame.h"
#include "invariant.h"
#include "wsdx.h"

/* wsdx_conn_recv's "message was cut" flag, for the calls that do not check it */
static int t_partial;

#include <string.h>

/* F1: wsdx_recv(s, NULL, 0) is accepted by datapath.c sk_recv (only len > 0 && !buf is
 * refused), but when data is ready rxqueue.c:112 / :118 call
 * memcpy(NULL, src, 0): undefined behaviour (UBSan: nonnull-attribute). */
static void f1_recv_null_buffer_len_0(void)
{
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        wsdx_conn c;
        wsdx_conn_init(&c, mode);
        wsdx_conn_established(&c);
        uint8_t w[8];
        wsdx_frame_header_encode(w, WSDX_FRAME_DATA, 3);
        memcpy(w + 5, "abc", 3);
        CHECK_EQ(wsdx_conn_ingest(&c, w, 8), 0);
        int rc = wsdx_conn_recv(&c, NULL, 0, &t_partial); /* UBSan aborts here today */
        CHECK_EQ(rc, 0); /* a message cut to nothing is a count, flagged partial */
        wsdx_conn_free(&c);
    }
}

/* F2: a DISCONNECT frame that has only partly arrived is handed out by
 * wsdx_conn_recv_disconnect (conn.c:394-400 use disc_len, not disc_received):
 * the caller gets the first bytes as if they were the whole disconnect data,
 * reception is shut, and the rest of the frame is appended to c->disc later. */
static void f2_partial_disconnect_data(void)
{
    wsdx_conn c;
    wsdx_conn_init(&c, WSDX_MESSAGE);
    wsdx_conn_established(&c);
    uint8_t w[13], buf[16];
    wsdx_frame_header_encode(w, WSDX_FRAME_DISCONNECT, 8);
    memcpy(w + 5, "abcdefgh", 8);
    CHECK_EQ(wsdx_conn_ingest(&c, w, 8), 0); /* header + "abc": the frame is incomplete */
    CHECK_EQ(c.disc_received, 0);
    CHECK_EQ(wsdx_conn_recv_disconnect(&c, buf, sizeof buf), 0); /* today: 3 ("abc") */
    /* cap 2 < 3 partial bytes must not fail WSAEFAULT either */
    wsdx_conn_free(&c);

    wsdx_conn_init(&c, WSDX_MESSAGE);
    wsdx_conn_established(&c);
    CHECK_EQ(wsdx_conn_ingest(&c, w, 8), 0);
    CHECK_EQ(wsdx_conn_recv_disconnect(&c, buf, 2), 0); /* today: -WSAEFAULT */
    wsdx_conn_free(&c);
}

int main(void)
{
    f2_partial_disconnect_data(); /* first: F1 aborts under UBSan */
    f1_recv_null_buffer_len_0();
    printf("WSDX_ASSERT: %s\n", WSDX_ASSERTS_ON ? "on" : "off"); /* sanitize.sh requires "on" */
    return check_summary("test_regressions");
}
