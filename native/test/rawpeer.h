/* rawpeer.h - a raw BSD-socket peer for the C tests: it speaks the wire
 * protocol byte by byte (docs/protocol.md), or breaks it on purpose. */
#ifndef WSDX_RAWPEER_H
#define WSDX_RAWPEER_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds. */
long rp_now_ms(void);
/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int rp_connect(int port);
/* A raw listener on an ephemeral loopback port; rcvbuf > 0 shrinks its buffer. */
int rp_listen(int *port, int rcvbuf);
/* Sends all of p (no SIGPIPE); 1 on success. */
int rp_write(int fd, const void *p, size_t n);
/* A frame header: type, then the payload length big-endian. */
void rp_header(uint8_t out[5], uint8_t type, uint32_t len);
/* A preamble "WSDX", version, mode, two reserved zeros. */
void rp_preamble(uint8_t out[8], int version, int mode);
/* Connects to a wsdx listener and exchanges preambles; fd or -1. */
int rp_client(int port, int mode);
/* Reads until EOF or error: 0 at a clean EOF, -errno at a reset, -ETIMEDOUT
 * after timeout_ms of silence; *got (may be NULL) counts bytes. */
int rp_drain(int fd, long *got, int timeout_ms);

#endif
