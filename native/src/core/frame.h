/* frame.h - the wsdx wire format (docs/protocol.md): preamble and frames.
 * Pure byte handling: no I/O, no allocation. */
#ifndef WSDX_FRAME_H
#define WSDX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSDX_PREAMBLE_LEN 8
#define WSDX_FRAME_HEADER_LEN 5
#define WSDX_FRAME_DATA 0x01
#define WSDX_FRAME_DISCONNECT 0x02

void wsdx_preamble_encode(uint8_t out[WSDX_PREAMBLE_LEN], int mode);
/* 0 when the peer's preamble matches mode, else -WSA: the code to report. */
int wsdx_preamble_verify(const uint8_t in[WSDX_PREAMBLE_LEN], int mode);
/* The first have bytes of a preamble (have < 8 while it arrives): 0 while they
 * may still start a valid one, else -WSA at once (magic, version, mode in order). */
int wsdx_preamble_verify_prefix(const uint8_t *in, size_t have, int mode);
void wsdx_frame_header_encode(uint8_t out[WSDX_FRAME_HEADER_LEN], int type, uint32_t len);
/* The handshake time in ms (protocol.md 1): how long either side waits for
 * the peer's preamble. WSDX_HANDSHAKE_MS from the environment (100..600000),
 * read at each call so that every backend and test sees the same value,
 * else the default. */
#define WSDX_HANDSHAKE_MS_DEFAULT 10000
int wsdx_handshake_ms(void);

/* What the decoder found in its input. */
enum wsdx_ev_kind {
    WSDX_EV_MORE,       /* input used up, nothing to report */
    WSDX_EV_DATA,       /* ptr/len: a piece of a DATA payload; end = frame complete */
    WSDX_EV_DISCONNECT, /* ptr/len: a piece of the DISCONNECT payload; end = complete */
    WSDX_EV_ERROR       /* error: protocol violation (WSA code); the decoder stays failed */
};

typedef struct {
    enum wsdx_ev_kind kind;
    const uint8_t *ptr;
    size_t len;
    int end;
    int error;
} wsdx_ev;

/* Incremental frame decoder for one direction, after the preamble. */
typedef struct {
    uint8_t hdr[WSDX_FRAME_HEADER_LEN];
    uint8_t hdr_have;
    uint8_t type;       /* frame being read; 0 between frames */
    uint8_t finished;   /* DISCONNECT fully read: nothing may follow */
    uint8_t pad_;
    uint32_t left;      /* payload bytes still to come */
    int error;
} wsdx_decoder;

void wsdx_decoder_init(wsdx_decoder *d);
/* Decodes from in[0..n); returns how many bytes it used and fills *ev with
 * the next event. Call again with the rest until it reports WSDX_EV_MORE. */
size_t wsdx_decode(wsdx_decoder *d, const uint8_t *in, size_t n, wsdx_ev *ev);
/* 1 when the stream may end here (between frames or after DISCONNECT). */
int wsdx_decoder_at_boundary(const wsdx_decoder *d);

#endif
