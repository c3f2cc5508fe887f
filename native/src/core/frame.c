/* frame.c - the wsdx frame codec: preamble, frame headers, incremental decoder. */
#include "frame.h"
#include "wsdx.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[4] = {'W', 'S', 'D', 'X'};

int wsdx_handshake_ms(void)
{
    const char *e = getenv("WSDX_HANDSHAKE_MS");
    long n = e ? strtol(e, NULL, 10) : 0;
    return n >= 100 && n <= 600000 ? (int)n : WSDX_HANDSHAKE_MS_DEFAULT;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wsdx_preamble_encode(uint8_t out[WSDX_PREAMBLE_LEN], int mode)
{
    memcpy(out, MAGIC, 4);
    out[4] = WSDX_PROTOCOL_VERSION;
    out[5] = (uint8_t)mode;
    out[6] = 0;
    out[7] = 0;
}

int wsdx_preamble_verify_prefix(const uint8_t *in, size_t have, int mode)
{
    /* each field is judged as soon as its bytes are here, in order (protocol.md 1) */
    for (size_t i = 0; i < have && i < 4; i++)
        if (in[i] != MAGIC[i])
            return -WSDX_WSAEPROTONOSUPPORT;
    if (have > 4 && in[4] != WSDX_PROTOCOL_VERSION)
        return -WSDX_WSAVERNOTSUPPORTED;
    if (have > 5 && in[5] != mode)
        return -WSDX_WSAEPROTOTYPE;
    return 0;
}

int wsdx_preamble_verify(const uint8_t in[WSDX_PREAMBLE_LEN], int mode)
{
    return wsdx_preamble_verify_prefix(in, WSDX_PREAMBLE_LEN, mode);
}

void wsdx_frame_header_encode(uint8_t out[WSDX_FRAME_HEADER_LEN], int type, uint32_t len)
{
    out[0] = (uint8_t)type;
    put_be32(out + 1, len);
}

void wsdx_decoder_init(wsdx_decoder *d)
{
    memset(d, 0, sizeof *d);
}

int wsdx_decoder_at_boundary(const wsdx_decoder *d)
{
    return d->error == 0 && d->type == 0 && d->hdr_have == 0;
}

static size_t fail(wsdx_decoder *d, wsdx_ev *ev, int error, size_t used)
{
    d->error = error;
    ev->kind = WSDX_EV_ERROR;
    ev->error = error;
    return used;
}

/* A complete header: check it and start the frame. 0 or -WSA. */
static int start_frame(wsdx_decoder *d)
{
    uint32_t len = get_be32(d->hdr + 1);
    uint8_t type = d->hdr[0];
    d->hdr_have = 0;
    if (type == WSDX_FRAME_DATA && len > WSDX_MAX_FRAME)
        return -WSDX_WSAEMSGSIZE;
    if (type == WSDX_FRAME_DISCONNECT && len > WSDX_MAX_DISCONNECT_DATA)
        return -WSDX_WSAEMSGSIZE;
    if (type != WSDX_FRAME_DATA && type != WSDX_FRAME_DISCONNECT)
        return -WSDX_WSAEPROTONOSUPPORT;
    d->type = type;
    d->left = len;
    return 0;
}

size_t wsdx_decode(wsdx_decoder *d, const uint8_t *in, size_t n, wsdx_ev *ev)
{
    size_t used = 0;
    memset(ev, 0, sizeof *ev);
    if (d->error)
        return fail(d, ev, d->error, 0);
    if (d->finished)
        return n ? fail(d, ev, WSDX_WSAEPROTONOSUPPORT, 0) : 0;
    if (d->type == 0) {
        size_t take = WSDX_FRAME_HEADER_LEN - d->hdr_have;
        if (take > n)
            take = n;
        memcpy(d->hdr + d->hdr_have, in, take);
        d->hdr_have = (uint8_t)(d->hdr_have + take);
        used = take;
        if (d->hdr_have < WSDX_FRAME_HEADER_LEN)
            return used; /* WSDX_EV_MORE */
        int err = start_frame(d);
        if (err)
            return fail(d, ev, -err, used);
    }
    size_t take = n - used < d->left ? n - used : d->left;
    ev->kind = d->type == WSDX_FRAME_DATA ? WSDX_EV_DATA : WSDX_EV_DISCONNECT;
    ev->ptr = in + used;
    ev->len = take;
    d->left -= (uint32_t)take;
    if (d->left == 0) {
        ev->end = 1;
        d->finished = d->type == WSDX_FRAME_DISCONNECT;
        d->type = 0;
    } else if (take == 0) {
        ev->kind = WSDX_EV_MORE; /* header done, payload not here yet */
    }
    return used + take;
}
