/* fuzz_frame.c - libFuzzer target for the wsdx frame codec (src/core/frame.c).
 *
 * Input layout:
 *   byte 0      : number of split-size bytes K (0..15, low nibble)
 *   bytes 1..K  : split sizes; chunk i has size split[i % K] (0 = empty call)
 *   the rest    : the wire bytes after the preamble, fed to wsdx_decode chunk
 *                 by chunk; the first 8 are also given to wsdx_preamble_verify.
 *
 * Invariants checked (abort() on violation, so libFuzzer reports a crash):
 *   - wsdx_decode never uses more than it was given, and every event's
 *     ptr/len lies inside the chunk just passed;
 *   - total payload delivered + header bytes <= input bytes;
 *   - one DISCONNECT payload never exceeds WSDX_MAX_DISCONNECT_DATA and one
 *     DATA frame never exceeds WSDX_MAX_MESSAGE;
 *   - after WSDX_EV_ERROR every later call (empty or not) reports the same
 *     error, uses 0 bytes, and wsdx_decoder_at_boundary() is 0;
 *   - nothing but an error may follow a complete DISCONNECT;
 *   - wsdx_decoder_at_boundary() is 1 exactly when no frame is partly read
 *     (cross-checked against a reference model kept here);
 *   - the result matches a one-shot decode of the same bytes (split points
 *     never change the outcome);
 *   - wsdx_preamble_verify agrees with docs/protocol.md's order of checks.
 */
#include "frame.h"
#include "wsdx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_frame: invariant failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

typedef struct {
    uint64_t data_bytes, disc_bytes, frames, events;
    int error;
    int disc_done;
} outcome;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reference model of where a stream of frames is: returns the WSA error or 0;
 * *boundary tells whether the stream may end after n bytes. */
static int model(const uint8_t *in, size_t n, int *boundary, uint64_t *data, uint64_t *disc)
{
    size_t i = 0;
    *data = *disc = 0;
    int finished = 0;
    while (i < n) {
        if (finished)
            return *boundary = 0, WSDX_WSAEPROTONOSUPPORT;
        if (n - i < WSDX_FRAME_HEADER_LEN) {
            *boundary = 0;
            return 0;
        }
        uint8_t type = in[i];
        uint32_t len = be32(in + i + 1);
        i += WSDX_FRAME_HEADER_LEN;
        if ((type == WSDX_FRAME_DATA && len > WSDX_MAX_MESSAGE) ||
            (type == WSDX_FRAME_DISCONNECT && len > WSDX_MAX_DISCONNECT_DATA))
            return *boundary = 0, WSDX_WSAEMSGSIZE;
        if (type != WSDX_FRAME_DATA && type != WSDX_FRAME_DISCONNECT)
            return *boundary = 0, WSDX_WSAEPROTONOSUPPORT;
        size_t take = n - i < len ? n - i : len;
        if (type == WSDX_FRAME_DATA)
            *data += take;
        else
            *disc += take;
        i += take;
        if (take < len) {
            *boundary = 0;
            return 0;
        }
        if (type == WSDX_FRAME_DISCONNECT)
            finished = 1;
    }
    *boundary = 1;
    return 0;
}

static void check_failed_call(wsdx_decoder *d, const uint8_t *p, size_t n, int error)
{
    wsdx_ev ev;
    REQUIRE(wsdx_decode(d, p, n, &ev) == 0);
    REQUIRE(ev.kind == WSDX_EV_ERROR);
    REQUIRE(ev.error == error);
    REQUIRE(!wsdx_decoder_at_boundary(d));
}

static void run(const uint8_t *split, size_t nsplit, const uint8_t *in, size_t n, outcome *o)
{
    wsdx_decoder d;
    wsdx_decoder_init(&d);
    memset(o, 0, sizeof *o);
    REQUIRE(wsdx_decoder_at_boundary(&d));
    int all_zero = 1;
    for (size_t i = 0; i < nsplit; i++)
        all_zero &= split[i] == 0;
    if (all_zero)
        nsplit = 0;
    size_t pos = 0, k = 0;
    uint64_t frame_len = 0; /* payload of the current frame so far */
    for (;;) {
        size_t chunk = nsplit ? split[k++ % nsplit] : n - pos; /* 0: an empty call */
        if (chunk > n - pos)
            chunk = n - pos;
        const uint8_t *base = in + pos;
        size_t off = 0;
        for (int guard = 0;; guard++) { /* until the decoder says MORE (or fails) */
            REQUIRE(guard < 100000);
            wsdx_ev ev;
            size_t used = wsdx_decode(&d, base + off, chunk - off, &ev);
            o->events++;
            REQUIRE(used <= chunk - off);
            if (ev.kind == WSDX_EV_ERROR) {
                REQUIRE(ev.error == WSDX_WSAEMSGSIZE || ev.error == WSDX_WSAEPROTONOSUPPORT);
                REQUIRE(!wsdx_decoder_at_boundary(&d));
                o->error = ev.error;
                off += used;
                break;
            }
            if (ev.kind == WSDX_EV_MORE) {
                REQUIRE(ev.len == 0);
                REQUIRE(used == chunk - off); /* MORE means: input used up */
                off += used;
                break;
            }
            REQUIRE(!o->disc_done); /* nothing but an error may follow DISCONNECT */
            REQUIRE(ev.len <= used);
            if (ev.len) {
                REQUIRE(ev.ptr >= base + off);
                REQUIRE(ev.ptr + ev.len <= base + off + used);
            }
            frame_len += ev.len;
            if (ev.kind == WSDX_EV_DATA) {
                o->data_bytes += ev.len;
                REQUIRE(frame_len <= WSDX_MAX_MESSAGE);
            } else {
                REQUIRE(ev.kind == WSDX_EV_DISCONNECT);
                o->disc_bytes += ev.len;
                REQUIRE(frame_len <= WSDX_MAX_DISCONNECT_DATA);
                REQUIRE(o->disc_bytes <= WSDX_MAX_DISCONNECT_DATA);
            }
            if (ev.end) {
                o->frames++;
                frame_len = 0;
                REQUIRE(wsdx_decoder_at_boundary(&d));
                if (ev.kind == WSDX_EV_DISCONNECT)
                    o->disc_done = 1;
            } else {
                REQUIRE(!wsdx_decoder_at_boundary(&d));
                REQUIRE(ev.len > 0); /* a non-final piece always carries bytes */
            }
            off += used;
        }
        if (o->error) {
            /* after an error every further call reports it and uses nothing */
            check_failed_call(&d, base + off, chunk - off, o->error);
            check_failed_call(&d, in, n, o->error);
            check_failed_call(&d, in, 0, o->error);
            break;
        }
        REQUIRE(off == chunk);
        pos += chunk;
        if (pos >= n)
            break;
    }
    /* totals never exceed the input */
    REQUIRE(o->data_bytes + o->disc_bytes + o->frames * WSDX_FRAME_HEADER_LEN <= n);
    /* the decoder agrees with the reference model */
    int boundary;
    uint64_t mdata, mdisc;
    int merr = model(in, n, &boundary, &mdata, &mdisc);
    REQUIRE(merr == o->error);
    if (!merr) {
        REQUIRE(mdata == o->data_bytes);
        REQUIRE(mdisc == o->disc_bytes);
        REQUIRE(boundary == wsdx_decoder_at_boundary(&d));
        /* an empty call changes nothing */
        wsdx_ev ev;
        REQUIRE(wsdx_decode(&d, in, 0, &ev) == 0);
        REQUIRE(ev.kind == WSDX_EV_MORE);
        REQUIRE(boundary == wsdx_decoder_at_boundary(&d));
        if (o->disc_done) { /* bytes after DISCONNECT are a protocol error */
            static const uint8_t extra = 0x01;
            REQUIRE(wsdx_decode(&d, &extra, 1, &ev) == 0);
            REQUIRE(ev.kind == WSDX_EV_ERROR && ev.error == WSDX_WSAEPROTONOSUPPORT);
            check_failed_call(&d, &extra, 1, WSDX_WSAEPROTONOSUPPORT);
        }
    }
}

static void preamble(const uint8_t *in, size_t n)
{
    uint8_t p[WSDX_PREAMBLE_LEN] = {0};
    memcpy(p, in, n < sizeof p ? n : sizeof p);
    for (int mode = 0; mode <= 3; mode++) {
        int rc = -wsdx_preamble_verify(p, mode);
        int want = memcmp(p, "WSDX", 4) ? WSDX_WSAEPROTONOSUPPORT
                 : p[4] != WSDX_PROTOCOL_VERSION ? WSDX_WSAVERNOTSUPPORTED
                 : p[5] != mode ? WSDX_WSAEPROTOTYPE : 0;
        REQUIRE(rc == want);
    }
    /* our own preamble always checks out; reserved bytes are ignored */
    uint8_t own[WSDX_PREAMBLE_LEN];
    wsdx_preamble_encode(own, WSDX_MESSAGE);
    own[6] = p[6];
    own[7] = p[7];
    REQUIRE(wsdx_preamble_verify(own, WSDX_MESSAGE) == 0);
    REQUIRE(wsdx_preamble_verify(own, WSDX_STREAM) == -WSDX_WSAEPROTOTYPE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t nsplit = data[0] & 0x0f;
    if (nsplit > size - 1)
        nsplit = size - 1;
    const uint8_t *split = data + 1;
    const uint8_t *in = data + 1 + nsplit;
    size_t n = size - 1 - nsplit;
    preamble(in, n);
    outcome a, b;
    run(split, nsplit, in, n, &a);
    run(NULL, 0, in, n, &b); /* one shot: same outcome whatever the splits */
    REQUIRE(a.error == b.error);
    REQUIRE(a.data_bytes == b.data_bytes);
    REQUIRE(a.disc_bytes == b.disc_bytes);
    REQUIRE(a.frames == b.frames);
    return 0;
}
