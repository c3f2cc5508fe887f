/* conn.h - the per-socket shutdown state machine (spec rows S1-S11, R1-R5).
 * It knows nothing of the OS: hosts feed it what arrived (bytes, FIN, reset)
 * and ask it what a call may do; they do the I/O it decides on. */
#ifndef WSDX_CONN_H
#define WSDX_CONN_H

#include "frame.h"
#include "rxqueue.h"

#include <stddef.h>
#include <stdint.h>

/* Stream mode: empty DATA frames a receiver ignores in a row; one more is a protocol error. */
#define WSDX_MAX_EMPTY_RUN 1024

typedef struct {
    wsdx_decoder dec;
    wsdx_rxqueue rx;
    uint8_t *disc;          /* peer's disconnect data, allocated when it arrives */
    uint16_t disc_len;
    uint8_t mode;           /* WSDX_STREAM or WSDX_MESSAGE */
    uint8_t connected;
    uint8_t send_shut;      /* we sent FIN (SD_SEND, disconnect, close) */
    uint8_t recv_shut;      /* SD_RECEIVE or WSPRecvDisconnect: receiving is over */
    uint8_t peer_fin;       /* the peer ended its direction cleanly */
    uint8_t disc_received;  /* the peer's DISCONNECT frame is complete */
    uint8_t close_reported; /* FD_CLOSE went out (R5: once) */
    uint8_t must_reset;     /* we saw a protocol error: the host resets the connection */
    uint16_t empty_run;     /* stream mode: empty DATA frames in a row */
    int peer_error;         /* reset, abort or protocol error (WSA code), 0 if none */
} wsdx_conn;

void wsdx_conn_init(wsdx_conn *c, int mode);
void wsdx_conn_free(wsdx_conn *c);
/* The preamble exchange succeeded. */
void wsdx_conn_established(wsdx_conn *c);

/* --- what arrived from the peer --- */
/* Bytes after the preamble: 0, or -WSA when the connection has failed (a
 * protocol error is recorded for a reset). */
int wsdx_conn_ingest(wsdx_conn *c, const uint8_t *in, size_t n);
/* The same, but in stream mode while nothing is queued the payload goes
 * straight to the receiver's dst (up to cap, counted in *got); the rest is
 * queued. Saves the copy through the queue on the receive path. */
int wsdx_conn_ingest_to(wsdx_conn *c, const uint8_t *in, size_t n, uint8_t *dst, size_t cap, size_t *got);
/* The peer's FIN. Mid-frame it is an abort (WSAECONNABORTED). */
void wsdx_conn_eof(wsdx_conn *c);
/* Reset or lost connection: error is passed through to recv and FD_CLOSE. */
void wsdx_conn_fail(wsdx_conn *c, int error);
/* 1 while more bytes from the peer can still matter. */
int wsdx_conn_wants_input(const wsdx_conn *c);

/* --- local calls: 0 / a count, or a negative WSA code --- */
/* Data for the application: count, 0 at a stream's end, -WSAEDISCON at a
 * message stream's end, -WSAEWOULDBLOCK when the host must read more, or the
 * connection's error. A message cut to len is a count (len) with *partial
 * set: harmless, the rest is dropped. -WSAEMSGSIZE is only ever the fatal
 * frame over the limit (protocol.md §2.2), so the two cannot be confused. */
int wsdx_conn_recv(wsdx_conn *c, uint8_t *buf, size_t len, int *partial);
/* 1 when wsdx_conn_recv returns at once: data, the end (a FIN or the peer's
 * DISCONNECT frame), an error, or reception shut. What FD_READ reports. */
int wsdx_conn_recv_ready(const wsdx_conn *c);
/* May we send now? */
int wsdx_conn_send_check(const wsdx_conn *c);
/* WSPShutdown. *send_fin is set when the host must now send FIN. */
int wsdx_conn_shutdown(wsdx_conn *c, int how, int *send_fin);
/* WSPSendDisconnect: validates and ends sending; on 0 the host sends the
 * frame, then FIN. */
int wsdx_conn_send_disconnect(wsdx_conn *c, const void *data, int len);
/* wsdx_conn_send_disconnect's checks alone: nothing changes. */
int wsdx_conn_send_disconnect_check(const wsdx_conn *c, const void *data, int len);
/* WSPRecvDisconnect. */
int wsdx_conn_recv_disconnect(wsdx_conn *c, void *buf, int cap);

/* 1 while FD_CLOSE is due and not yet reported: the peer's FIN, its complete
 * DISCONNECT frame (the end of its direction, FIN or not), or a failure. */
int wsdx_conn_close_due(const wsdx_conn *c);
/* FD_CLOSE: 1 (once) when it is due now, with its error and flags. */
int wsdx_conn_take_close(wsdx_conn *c, int *error, int *flags);

#endif
