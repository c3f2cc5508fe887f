/* fuzz_conn.c - libFuzzer target for the per-socket state machine
 * (src/core/conn.c, with rxqueue.c and frame.c underneath).
 *
 * The input is a little program: byte 0 picks the mode and flags, then each
 * op byte (plus its arguments, read from the following bytes; missing bytes
 * read as 0) is one event:
 *   local calls  : recv (random buffer size, exact-size heap buffer so ASan
 *                  sees any overrun), shutdown (any how, invalid ones too),
 *                  send_disconnect (lengths < 0, > max, NULL data),
 *                  recv_disconnect (random caps, NULL buffers), send_check,
 *                  take_close, wants_input, established
 *   peer input   : raw byte chunks, well-formed frames built from the input
 *                  (DATA / DISCONNECT, sometimes oversized), eof (FIN) and
 *                  fail(code) (reset / lost connection)
 *
 * As a host (datapath.c sock_pump_input) does, ingest and eof only happen while
 * wsdx_conn_wants_input() says so; flag bit 0x04 of byte 0 drops that rule
 * (then only memory safety and the API-level invariants are checked).
 *
 * A reference model (below) tracks what the application must see; every
 * call's result is compared with it, byte for byte. Invariants that hold
 * even without the model:
 *   - take_close returns 1 at most once; its error is 0 only if the peer
 *     ended cleanly (peer_fin); WSDX_CLOSE_DISCONNECT_DATA only if the
 *     DISCONNECT frame was complete;
 *   - recv never returns more than the buffer, and fails WSAESHUTDOWN after
 *     SD_RECEIVE / recv_disconnect;
 *   - recv_disconnect never returns more than WSDX_MAX_DISCONNECT_DATA;
 *   - wsdx_conn_free releases everything (LeakSanitizer).
 *   - recv with a NULL buffer and len 0 is safe (finding F1), and
 *     recv_disconnect returns no disconnect data before the DISCONNECT frame
 *     is complete (F2; wsdx.h: "0 if the peer sent none or has not closed").
 */
#include "conn.h"
#include "frame.h"
#include "wsdx.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_conn: invariant failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

/* ------------------------------------------------------------ input reader */

typedef struct {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t u8(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint16_t u16(reader *r)
{
    uint16_t hi = u8(r);
    return (uint16_t)(hi << 8 | u8(r));
}

/* Up to want bytes straight from the input (fewer when it runs out). */
static const uint8_t *take(reader *r, size_t want, size_t *got)
{
    *got = want < r->n ? want : r->n;
    const uint8_t *p = r->p;
    r->p += *got;
    r->n -= *got;
    return p;
}

/* An interesting int: boundaries of the API's ranges or a small value. */
static int pick_len(reader *r, int max)
{
    static const int special[] = {-1, -100, INT_MIN, 0, 1, WSDX_MAX_DISCONNECT_DATA,
                                  WSDX_MAX_DISCONNECT_DATA + 1, INT_MAX, 65535, 4095};
    uint8_t sel = u8(r);
    if (sel < 64)
        return special[sel % (sizeof special / sizeof special[0])];
    return u16(r) % (max + 1);
}

/* ------------------------------------------------------------------ model */

typedef struct {
    uint8_t *b;
    size_t head, tail, cap;  /* stream bytes, or message bytes back to back */
    size_t *msgs;            /* message mode: lengths of complete messages */
    size_t mhead, mtail, mcap;
    size_t open;             /* bytes of the message being received */
} queue;

typedef struct {
    int mode, connected, send_shut, recv_shut, fin, err, reported;
    int disc_done;
    int empty_run;           /* stream: empty DATA frames in a row */
    uint8_t disc[WSDX_MAX_DISCONNECT_DATA];
    size_t disc_len;
    wsdx_decoder dec;        /* shadow decoder: frame.c is checked by fuzz_frame */
    queue q;
} model;

static void q_clear(queue *q)
{
    free(q->b);
    free(q->msgs);
    memset(q, 0, sizeof *q);
}

static void q_push(queue *q, const uint8_t *p, size_t n)
{
    if (q->tail + n > q->cap) {
        size_t cap = q->cap ? q->cap : 64;
        while (cap < q->tail + n)
            cap *= 2;
        q->b = realloc(q->b, cap);
        REQUIRE(q->b);
        q->cap = cap;
    }
    if (n)
        memcpy(q->b + q->tail, p, n);
    q->tail += n;
}

static void q_end_msg(queue *q)
{
    if (q->mtail == q->mcap) {
        q->mcap = q->mcap ? q->mcap * 2 : 16;
        q->msgs = realloc(q->msgs, q->mcap * sizeof *q->msgs);
        REQUIRE(q->msgs);
    }
    q->msgs[q->mtail++] = q->open;
    q->open = 0;
}

/* A reset: discards what was not read, unless the peer's direction already ended. */
static void m_fail(model *m, int err)
{
    if (m->err || m->fin || m->disc_done)
        return;
    m->err = err;
    q_clear(&m->q);
}

/* A protocol error: what came before stays readable; after DISCONNECT the end stands. */
static void m_proto(model *m, int err)
{
    if (!m->err && !m->disc_done)
        m->err = err;
}

static int m_wants_input(const model *m)
{
    return m->connected && !m->fin && !m->err && !m->dec.error;
}

/* What wsdx_conn_ingest must do with these bytes; returns its expected result. */
static int m_ingest(model *m, const uint8_t *in, size_t n)
{
    while (n > 0 && m_wants_input(m)) {
        wsdx_ev ev;
        size_t used = wsdx_decode(&m->dec, in, n, &ev);
        in += used;
        n -= used;
        if (ev.kind == WSDX_EV_ERROR) {
            m_proto(m, ev.error);
            return m->err;
        }
        if (ev.kind == WSDX_EV_DATA) {
            if (m->mode == WSDX_STREAM && ev.len == 0 && ev.end) {
                if (++m->empty_run > 1024) { /* protocol.md 2.3 */
                    m_proto(m, WSDX_WSAEPROTONOSUPPORT);
                    return m->err;
                }
                continue;
            }
            if (ev.len)
                m->empty_run = 0;
            if (m->recv_shut || (m->mode == WSDX_STREAM && ev.len == 0))
                continue;
            q_push(&m->q, ev.ptr, ev.len);
            if (m->mode == WSDX_MESSAGE) {
                m->q.open += ev.len;
                if (ev.end)
                    q_end_msg(&m->q);
            }
        } else if (ev.kind == WSDX_EV_DISCONNECT) {
            REQUIRE(m->disc_len + ev.len <= sizeof m->disc);
            memcpy(m->disc + m->disc_len, ev.ptr, ev.len);
            m->disc_len += ev.len;
            m->disc_done = ev.end;
        }
    }
    return m->err;
}

static size_t m_ready(const model *m)
{
    if (m->mode == WSDX_STREAM)
        return m->q.tail - m->q.head;
    return m->q.mtail - m->q.mhead;
}

/* Checks a recv result against the model and consumes from it. */
static void m_recv(model *m, int rc, int partial, const uint8_t *buf, size_t len)
{
    int want, want_partial = 0;
    if (!m->connected)
        want = -WSDX_WSAENOTCONN;
    else if (m->recv_shut)
        want = -WSDX_WSAESHUTDOWN;
    else if (m_ready(m)) { /* what preceded a protocol error or the end comes first */
        size_t avail = m->mode == WSDX_STREAM ? m->q.tail - m->q.head : m->q.msgs[m->q.mhead];
        size_t n = len < avail ? len : avail;
        REQUIRE(n == 0 || memcmp(buf, m->q.b + m->q.head, n) == 0);
        want = (int)n; /* a cut message returns its count, flagged (protocol.md point 8) */
        want_partial = m->mode == WSDX_MESSAGE && n < avail;
        if (m->mode == WSDX_STREAM) {
            m->q.head += n;
        } else {
            m->q.head += avail;
            m->q.mhead++;
        }
    } else if (m->err)
        want = -m->err;
    else if (m->fin || m->disc_done)
        want = m->mode == WSDX_MESSAGE ? -WSDX_WSAEDISCON : 0;
    else
        want = -WSDX_WSAEWOULDBLOCK;
    if (rc != want || partial != want_partial) {
        fprintf(stderr, "fuzz_conn: recv(len %zu) returned %d partial %d, model says %d partial %d\n",
                len, rc, partial, want, want_partial);
        abort();
    }
}

/* ------------------------------------------------------------------- run */

static void frame_op(reader *r, uint8_t *scratch, size_t *out_len)
{
    /* a well-formed (or deliberately oversized) frame built from the input */
    uint8_t sel = u8(r);
    int type = sel & 1 ? WSDX_FRAME_DISCONNECT : WSDX_FRAME_DATA;
    uint32_t len;
    if ((sel & 0x0e) == 0x0e)
        len = sel & 0x10 ? UINT32_MAX : (type == WSDX_FRAME_DATA ? WSDX_MAX_MESSAGE + 1u : WSDX_MAX_DISCONNECT_DATA + 1u);
    else
        len = u16(r) % (type == WSDX_FRAME_DATA ? 5000u : WSDX_MAX_DISCONNECT_DATA + 1u);
    wsdx_frame_header_encode(scratch, type, len);
    size_t body = len > 5000 ? 0 : len, got;
    const uint8_t *p = take(r, body, &got);
    memcpy(scratch + WSDX_FRAME_HEADER_LEN, p, got);
    memset(scratch + WSDX_FRAME_HEADER_LEN + got, 0xA5, body - got);
    *out_len = WSDX_FRAME_HEADER_LEN + body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t scratch[WSDX_FRAME_HEADER_LEN + 5000];
    reader r = {data, size};
    uint8_t cfg = u8(&r);
    int mode = cfg & 1 ? WSDX_MESSAGE : WSDX_STREAM;
    int check_model = !(cfg & 0x04); /* 0x04: feed input even when no host would */

    wsdx_conn c;
    wsdx_conn_init(&c, mode);
    model m;
    memset(&m, 0, sizeof m);
    m.mode = mode;
    wsdx_decoder_init(&m.dec);
    if (!(cfg & 0x02)) { /* 0x02: start unconnected */
        wsdx_conn_established(&c);
        m.connected = 1;
    }
    int closes = 0;
    int steps = 0;

    while (r.n > 0 && steps++ < 4096) {
        uint8_t op = u8(&r);
        switch (op % 13) {
        case 0: { /* recv */
            size_t len = u8(&r) & 0x80 ? u16(&r) % 9000 : u8(&r) % 16;
            uint8_t *buf = malloc(len ? len : 1);
            REQUIRE(buf);
            /* wsdx_recv(s, NULL, 0) is a legal call (socket.c checks len > 0 && !buf);
             * strict builds pass NULL for len 0 (docs/robustness.md, finding F1) */
            int partial = -1;
            int rc = wsdx_conn_recv(&c, len ? buf : NULL, len, &partial);
            REQUIRE(rc <= (int)len);
            REQUIRE(partial == 0 || (partial == 1 && mode == WSDX_MESSAGE && rc >= 0));
            if (c.connected && c.recv_shut)
                REQUIRE(rc == -WSDX_WSAESHUTDOWN);
            if (rc == -WSDX_WSAEMSGSIZE) /* only the fatal oversized frame */
                REQUIRE(c.peer_error == WSDX_WSAEMSGSIZE);
            if (check_model)
                m_recv(&m, rc, partial, buf, len);
            free(buf);
            break;
        }
        case 1: { /* shutdown, any how */
            int how = (int)(int8_t)u8(&r) % 5; /* -4..4: 0..2 valid */
            int fin = -1;
            int rc = wsdx_conn_shutdown(&c, how, &fin);
            REQUIRE(fin == 0 || fin == 1);
            int want = 0, want_fin = 0;
            if (how < 0 || how > 2)
                want = -WSDX_WSAEINVAL;
            else if (!m.connected)
                want = -WSDX_WSAENOTCONN;
            else {
                if (how != WSDX_SD_SEND) {
                    m.recv_shut = 1;
                    q_clear(&m.q);
                }
                if (how != WSDX_SD_RECEIVE && !m.send_shut)
                    m.send_shut = want_fin = 1;
            }
            REQUIRE(rc == want);
            REQUIRE(fin == want_fin);
            break;
        }
        case 2: { /* send_disconnect */
            int len = pick_len(&r, WSDX_MAX_DISCONNECT_DATA + 8);
            int null_data = u8(&r) & 1;
            uint8_t *buf = len > 0 && len <= WSDX_MAX_DISCONNECT_DATA + 8 ? calloc(1, (size_t)len) : NULL;
            const void *p = null_data ? NULL : (buf ? (const void *)buf : (const void *)scratch);
            int rc = wsdx_conn_send_disconnect(&c, p, len);
            int want;
            if (len < 0 || len > WSDX_MAX_DISCONNECT_DATA)
                want = -WSDX_WSAEINVAL;
            else if (len > 0 && !p)
                want = -WSDX_WSAEFAULT;
            else if (!m.connected)
                want = -WSDX_WSAENOTCONN;
            else if (m.send_shut)
                want = -WSDX_WSAESHUTDOWN;
            else if (m.err)
                want = -m.err;
            else if (m.dec.error)
                want = -WSDX_WSAECONNRESET; /* reset for bytes after DISCONNECT */
            else
                want = 0;
            REQUIRE(rc == want || !check_model);
            if (rc == 0)
                m.send_shut = 1;
            free(buf);
            break;
        }
        case 3: { /* recv_disconnect */
            int cap = pick_len(&r, WSDX_MAX_DISCONNECT_DATA + 8);
            int null_buf = (u8(&r) & 3) == 0;
            /* the call copies at most WSDX_MAX_DISCONNECT_DATA bytes, so a buffer
             * of min(cap, max + 8) bytes is enough even for a huge cap */
            size_t alloc = cap > 0 ? ((size_t)cap < WSDX_MAX_DISCONNECT_DATA + 8u ? (size_t)cap : WSDX_MAX_DISCONNECT_DATA + 8u) : 0;
            uint8_t *buf = alloc && !null_buf ? malloc(alloc) : NULL;
            void *p = null_buf ? NULL : buf;
            int rc = wsdx_conn_recv_disconnect(&c, p, cap);
            REQUIRE(rc <= WSDX_MAX_DISCONNECT_DATA);
            REQUIRE(rc < 0 || rc <= cap);
            if (rc > 0)
                REQUIRE(c.disc_len == (size_t)rc);
            if (check_model) {
                /* strict: data only once the frame is complete (wsdx.h) */
                size_t visible = !m.disc_done ? 0 : m.disc_len;
                int want;
                if (!m.connected)
                    want = -WSDX_WSAENOTCONN;
                else if (cap < 0 || (cap > 0 && !p) || (size_t)cap < visible)
                    want = -WSDX_WSAEFAULT;
                else {
                    want = (int)visible;
                    m.recv_shut = 1;
                    q_clear(&m.q);
                }
                if (rc != want) {
                    fprintf(stderr, "fuzz_conn: recv_disconnect(cap %d) returned %d, model says %d (frame %s)\n",
                            cap, rc, want, m.disc_done ? "complete" : "incomplete");
                    abort();
                }
                if (rc > 0)
                    REQUIRE(memcmp(p, m.disc, (size_t)rc) == 0);
            }
            free(buf);
            break;
        }
        case 4: { /* send_check */
            int rc = wsdx_conn_send_check(&c);
            int want = !m.connected ? -WSDX_WSAENOTCONN : m.send_shut ? -WSDX_WSAESHUTDOWN : m.err ? -m.err
                     : m.dec.error ? -WSDX_WSAECONNRESET : 0;
            REQUIRE(rc == want || !check_model);
            break;
        }
        case 5: { /* take_close (FD_CLOSE) */
            int err = -1, flags = -1;
            int rc = wsdx_conn_take_close(&c, &err, &flags);
            REQUIRE(rc == 0 || rc == 1);
            if (rc) {
                closes++;
                REQUIRE(closes == 1);          /* R5: once */
                REQUIRE(err != 0 || c.peer_fin || c.disc_received); /* error 0 only for a clean end */
                REQUIRE(err == c.peer_error);
                REQUIRE((flags & ~WSDX_CLOSE_DISCONNECT_DATA) == 0);
                if (flags & WSDX_CLOSE_DISCONNECT_DATA)
                    REQUIRE(c.disc_received && c.disc_len > 0);
            }
            if (check_model) {
                int due = !m.reported && (m.fin || m.err || m.disc_done);
                REQUIRE(rc == due);
                if (rc) {
                    m.reported = 1;
                    REQUIRE(err == m.err);
                    REQUIRE(flags == (m.disc_done && m.disc_len ? WSDX_CLOSE_DISCONNECT_DATA : 0));
                }
            }
            break;
        }
        case 6:
        case 7: { /* raw bytes from the peer */
            size_t want = u8(&r), got;
            if (want & 0x80)
                want = (want & 0x7f) * 64;
            const uint8_t *p = take(&r, want, &got);
            if (check_model && !wsdx_conn_wants_input(&c))
                break;
            uint8_t *copy = malloc(got ? got : 1); /* exact size: ASan sees over-reads */
            REQUIRE(copy);
            memcpy(copy, p, got);
            int rc = wsdx_conn_ingest(&c, copy, got);
            if (check_model) {
                int want_rc = m_ingest(&m, copy, got);
                REQUIRE(rc == -want_rc);
            }
            free(copy);
            break;
        }
        case 8:
        case 9: { /* a frame from the peer */
            size_t n;
            frame_op(&r, scratch, &n);
            if (check_model && !wsdx_conn_wants_input(&c))
                break;
            int rc = wsdx_conn_ingest(&c, scratch, n);
            if (check_model)
                REQUIRE(rc == -m_ingest(&m, scratch, n));
            break;
        }
        case 10: /* FIN */
            if (check_model && !wsdx_conn_wants_input(&c))
                break;
            wsdx_conn_eof(&c);
            if (check_model && !m.err && !m.fin && !m.dec.error) {
                if (wsdx_decoder_at_boundary(&m.dec))
                    m.fin = 1;
                else
                    m_proto(&m, WSDX_WSAECONNABORTED); /* truncated frame: earlier data stays (3.4) */
            }
            break;
        case 11: { /* reset / lost connection */
            static const int codes[] = {WSDX_WSAECONNRESET, WSDX_WSAECONNABORTED, WSDX_WSAENOBUFS,
                                        WSDX_WSAEINVAL, WSDX_WSAENETDOWN, WSDX_WSAETIMEDOUT};
            int code = codes[u8(&r) % (sizeof codes / sizeof codes[0])];
            wsdx_conn_fail(&c, code);
            m_fail(&m, code);
            break;
        }
        case 12: { /* established (once the preamble checked out) / wants_input */
            if (u8(&r) & 1) {
                wsdx_conn_established(&c);
                m.connected = 1;
            }
            int w = wsdx_conn_wants_input(&c);
            if (check_model)
                REQUIRE(w == m_wants_input(&m));
            break;
        }
        }
        /* state-level invariants after every step */
        REQUIRE(c.disc_len <= WSDX_MAX_DISCONNECT_DATA);
        REQUIRE(!(c.peer_fin && c.peer_error));
        if (c.must_reset)
            REQUIRE(c.peer_error || c.peer_fin || c.disc_received);
        if (check_model) {
            REQUIRE(c.peer_error == m.err);
            REQUIRE(c.peer_fin == m.fin);
            REQUIRE(c.recv_shut == m.recv_shut);
            REQUIRE(c.send_shut == m.send_shut);
            REQUIRE(c.disc_len == m.disc_len);
            REQUIRE(c.disc_received == m.disc_done);
        }
    }
    wsdx_conn_free(&c);
    q_clear(&m.q);
    return 0;
}
