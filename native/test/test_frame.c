/* test_frame.c - the frame codec: preamble checks, headers, incremental decoding. */
#include "check.h"
#include "frame.h"
#include "wsdx.h"

#include <string.h>

static void preamble(void)
{
    uint8_t p[8];
    wsdx_preamble_encode(p, WSDX_MESSAGE);
    CHECK(memcmp(p, "WSDX\x01\x02\x00\x00", 8) == 0);
    CHECK_EQ(wsdx_preamble_verify(p, WSDX_MESSAGE), 0);
    CHECK_EQ(wsdx_preamble_verify(p, WSDX_STREAM), -WSDX_WSAEPROTOTYPE);
    p[4] = 2;
    CHECK_EQ(wsdx_preamble_verify(p, WSDX_MESSAGE), -WSDX_WSAVERNOTSUPPORTED);
    CHECK_EQ(wsdx_preamble_verify((const uint8_t *)"GET / HT", WSDX_STREAM), -WSDX_WSAEPROTONOSUPPORT);
    p[4] = 1;
    p[6] = 0xff; /* reserved bits are ignored */
    CHECK_EQ(wsdx_preamble_verify(p, WSDX_MESSAGE), 0);
}

/* Decodes in pieces of `step` bytes and gathers the payloads. */
static int decode_all(const uint8_t *in, size_t n, size_t step, uint8_t *data, size_t *dlen,
                      uint8_t *disc, size_t *disclen, int *msgs)
{
    wsdx_decoder d;
    wsdx_decoder_init(&d);
    *dlen = *disclen = 0;
    *msgs = 0;
    for (size_t off = 0; off < n;) {
        size_t chunk = n - off < step ? n - off : step;
        const uint8_t *p = in + off;
        off += chunk;
        while (chunk) {
            wsdx_ev ev;
            size_t used = wsdx_decode(&d, p, chunk, &ev);
            p += used;
            chunk -= used;
            if (ev.kind == WSDX_EV_ERROR)
                return ev.error;
            if (ev.kind == WSDX_EV_DATA) {
                memcpy(data + *dlen, ev.ptr, ev.len);
                *dlen += ev.len;
                *msgs += ev.end;
            }
            if (ev.kind == WSDX_EV_DISCONNECT) {
                memcpy(disc + *disclen, ev.ptr, ev.len);
                *disclen += ev.len;
            }
        }
    }
    return wsdx_decoder_at_boundary(&d) ? 0 : -1;
}

static size_t frame(uint8_t *out, int type, const char *payload, size_t n)
{
    wsdx_frame_header_encode(out, type, (uint32_t)n);
    memcpy(out + 5, payload, n);
    return 5 + n;
}

static void decoding_in_every_split(void)
{
    uint8_t wire[64], data[64], disc[64];
    size_t n = 0, dlen, disclen;
    int msgs;
    n += frame(wire + n, WSDX_FRAME_DATA, "hello", 5);
    n += frame(wire + n, WSDX_FRAME_DATA, "", 0);
    n += frame(wire + n, WSDX_FRAME_DATA, "world", 5);
    n += frame(wire + n, WSDX_FRAME_DISCONNECT, "\0\0\0\7", 4);
    for (size_t step = 1; step <= n; step++) {
        int rc = decode_all(wire, n, step, data, &dlen, disc, &disclen, &msgs);
        CHECK_EQ(rc, 0);
        CHECK(dlen == 10 && memcmp(data, "helloworld", 10) == 0);
        CHECK_EQ(msgs, 3);
        CHECK(disclen == 4 && memcmp(disc, "\0\0\0\7", 4) == 0);
    }
}

static void errors(void)
{
    uint8_t wire[32], data[64], disc[64];
    size_t dlen, disclen;
    int msgs;
    wsdx_frame_header_encode(wire, WSDX_FRAME_DATA, 0xffffffffu);
    CHECK_EQ(decode_all(wire, 5, 5, data, &dlen, disc, &disclen, &msgs), WSDX_WSAEMSGSIZE);
    wsdx_frame_header_encode(wire, WSDX_FRAME_DISCONNECT, WSDX_MAX_DISCONNECT_DATA + 1);
    CHECK_EQ(decode_all(wire, 5, 5, data, &dlen, disc, &disclen, &msgs), WSDX_WSAEMSGSIZE);
    wsdx_frame_header_encode(wire, 0x7f, 1);
    CHECK_EQ(decode_all(wire, 6, 6, data, &dlen, disc, &disclen, &msgs), WSDX_WSAEPROTONOSUPPORT);
    size_t n = frame(wire, WSDX_FRAME_DISCONNECT, "x", 1);
    n += frame(wire + n, WSDX_FRAME_DATA, "late", 4);
    CHECK_EQ(decode_all(wire, n, 3, data, &dlen, disc, &disclen, &msgs), WSDX_WSAEPROTONOSUPPORT);
    n = frame(wire, WSDX_FRAME_DATA, "cut", 3);
    CHECK_EQ(decode_all(wire, n - 1, 2, data, &dlen, disc, &disclen, &msgs), -1); /* not at a boundary */
}

int main(void)
{
    preamble();
    decoding_in_every_split();
    errors();
    return check_summary("test_frame");
}
