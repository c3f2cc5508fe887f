/* conn.c - the per-socket shutdown state machine (see conn.h). */
#include "conn.h"
#include "wsdx.h"

#include <stdlib.h>
#include <string.h>

void wsdx_conn_init(wsdx_conn *c, int mode)
{
    memset(c, 0, sizeof *c);
    c->mode = (uint8_t)mode;
    wsdx_decoder_init(&c->dec);
    wsdx_rxq_init(&c->rx, mode == WSDX_MESSAGE);
}

void wsdx_conn_free(wsdx_conn *c)
{
    wsdx_rxq_free(&c->rx);
    free(c->disc);
    c->disc = NULL;
}

void wsdx_conn_established(wsdx_conn *c)
{
    c->connected = 1;
}

int wsdx_conn_wants_input(const wsdx_conn *c)
{
    return c->connected && !c->peer_fin && !c->peer_error && !c->dec.error;
}

/* The peer's direction has ended cleanly: FIN, or a complete DISCONNECT frame. */
static int ended_gracefully(const wsdx_conn *c)
{
    return c->peer_fin || c->disc_received;
}

void wsdx_conn_fail(wsdx_conn *c, int error)
{
    if (c->peer_error || ended_gracefully(c))
        return; /* the first ending wins: a reset after a clean end changes nothing */
    c->peer_error = error;
    wsdx_rxq_clear(&c->rx); /* a reset discards what was not read (R3) */
}

/* Records a protocol error (error: a WSA code) for a reset; returns -error.
 * Unlike a reset, the bytes that preceded it stay readable (protocol.md 3). */
static int protocol_error(wsdx_conn *c, int error)
{
    c->must_reset = 1;
    if (ended_gracefully(c))
        return 0; /* bytes after DISCONNECT: the end was already reported; drop them */
    if (!c->peer_error)
        c->peer_error = error;
    return -c->peer_error;
}

/* Stream mode: an empty DATA frame carries nothing; a run of more than
 * WSDX_MAX_EMPTY_RUN of them is a protocol error (protocol.md 2). */
static int empty_frame(wsdx_conn *c)
{
    if (++c->empty_run > WSDX_MAX_EMPTY_RUN)
        return protocol_error(c, WSDX_WSAEPROTONOSUPPORT);
    return 0;
}

static int keep_disconnect(wsdx_conn *c, const wsdx_ev *ev)
{
    if (ev->len) {
        if (!c->disc && !(c->disc = malloc(WSDX_MAX_DISCONNECT_DATA)))
            return protocol_error(c, WSDX_WSAENOBUFS);
        memcpy(c->disc + c->disc_len, ev->ptr, ev->len); /* decoder caps the total */
        c->disc_len = (uint16_t)(c->disc_len + ev->len);
    }
    c->disc_received = (uint8_t)ev->end;
    return 0;
}

int wsdx_conn_ingest(wsdx_conn *c, const uint8_t *in, size_t n)
{
    size_t got = 0;
    return wsdx_conn_ingest_to(c, in, n, NULL, 0, &got);
}

/* Stream payload straight into dst while nothing waits in the queue (order holds). */
static size_t deliver_direct(wsdx_conn *c, const wsdx_ev *ev, uint8_t *dst, size_t cap, size_t *got)
{
    if (!dst || c->mode != WSDX_STREAM || *got >= cap || wsdx_rxq_has_ready(&c->rx))
        return 0;
    size_t take = ev->len < cap - *got ? ev->len : cap - *got;
    memcpy(dst + *got, ev->ptr, take);
    *got += take;
    return take;
}

int wsdx_conn_ingest_to(wsdx_conn *c, const uint8_t *in, size_t n, uint8_t *dst, size_t cap, size_t *got)
{
    while (n > 0 && wsdx_conn_wants_input(c)) {
        wsdx_ev ev;
        size_t used = wsdx_decode(&c->dec, in, n, &ev);
        in += used;
        n -= used;
        switch (ev.kind) {
        case WSDX_EV_ERROR:
            return protocol_error(c, ev.error);
        case WSDX_EV_DATA:
            if (c->mode == WSDX_STREAM && ev.len == 0 && ev.end) {
                if (empty_frame(c))
                    return -c->peer_error;
                break;
            }
            if (ev.len)
                c->empty_run = 0;
            if (c->recv_shut || (c->mode == WSDX_STREAM && ev.len == 0))
                break; /* after SD_RECEIVE arriving data is dropped */
            size_t direct = deliver_direct(c, &ev, dst, cap, got);
            /* queue the rest; an empty message is still a message */
            if ((direct == 0 || direct < ev.len) &&
                wsdx_rxq_push(&c->rx, ev.ptr + direct, ev.len - direct, ev.end))
                return protocol_error(c, WSDX_WSAENOBUFS);
            break;
        case WSDX_EV_DISCONNECT:
            if (keep_disconnect(c, &ev))
                return -c->peer_error;
            break;
        case WSDX_EV_MORE:
            break;
        }
    }
    return -c->peer_error;
}

void wsdx_conn_eof(wsdx_conn *c)
{
    if (c->peer_error || c->peer_fin || c->dec.error)
        return;
    if (!wsdx_decoder_at_boundary(&c->dec)) {
        protocol_error(c, WSDX_WSAECONNABORTED); /* truncated frame */
        return;
    }
    c->peer_fin = 1;
}

int wsdx_conn_recv(wsdx_conn *c, uint8_t *buf, size_t len, int *partial)
{
    *partial = 0;
    if (!c->connected)
        return -WSDX_WSAENOTCONN;
    if (c->recv_shut)
        return -WSDX_WSAESHUTDOWN;
    if (wsdx_rxq_has_ready(&c->rx)) { /* what preceded a protocol error or the end comes first */
        return (int)wsdx_rxq_pop(&c->rx, buf, len, partial);
    }
    if (c->peer_error)
        return -c->peer_error;
    if (ended_gracefully(c))
        return c->mode == WSDX_MESSAGE ? -WSDX_WSAEDISCON : 0;
    return -WSDX_WSAEWOULDBLOCK;
}

int wsdx_conn_recv_ready(const wsdx_conn *c)
{
    return !c->connected || c->recv_shut || wsdx_rxq_has_ready(&c->rx) || c->peer_error ||
           ended_gracefully(c);
}

int wsdx_conn_send_check(const wsdx_conn *c)
{
    if (!c->connected)
        return -WSDX_WSAENOTCONN;
    if (c->send_shut)
        return -WSDX_WSAESHUTDOWN;
    if (c->peer_error)
        return -c->peer_error;
    if (c->dec.error)
        return -WSDX_WSAECONNRESET; /* we reset it (bytes after the peer's DISCONNECT) */
    return 0;
}

int wsdx_conn_shutdown(wsdx_conn *c, int how, int *send_fin)
{
    *send_fin = 0;
    if (how != WSDX_SD_RECEIVE && how != WSDX_SD_SEND && how != WSDX_SD_BOTH)
        return -WSDX_WSAEINVAL;
    if (!c->connected)
        return -WSDX_WSAENOTCONN;
    if (how != WSDX_SD_SEND) {
        c->recv_shut = 1;
        wsdx_rxq_clear(&c->rx);
    }
    if (how != WSDX_SD_RECEIVE && !c->send_shut) {
        c->send_shut = 1;
        *send_fin = 1;
    }
    return 0;
}

int wsdx_conn_send_disconnect_check(const wsdx_conn *c, const void *data, int len)
{
    if (len < 0 || len > WSDX_MAX_DISCONNECT_DATA)
        return -WSDX_WSAEINVAL;
    if (len > 0 && !data)
        return -WSDX_WSAEFAULT;
    return wsdx_conn_send_check(c);
}

int wsdx_conn_send_disconnect(wsdx_conn *c, const void *data, int len)
{
    int rc = wsdx_conn_send_disconnect_check(c, data, len);
    if (rc)
        return rc;
    c->send_shut = 1;
    return 0;
}

int wsdx_conn_recv_disconnect(wsdx_conn *c, void *buf, int cap)
{
    /* a DISCONNECT frame still arriving is not disconnect data yet */
    int have = c->disc_received ? c->disc_len : 0;
    if (!c->connected)
        return -WSDX_WSAENOTCONN;
    if (cap < 0 || (cap > 0 && !buf) || cap < have)
        return -WSDX_WSAEFAULT;
    if (have)
        memcpy(buf, c->disc, (size_t)have);
    c->recv_shut = 1;
    wsdx_rxq_clear(&c->rx);
    return have;
}

int wsdx_conn_close_due(const wsdx_conn *c)
{
    return !c->close_reported && (ended_gracefully(c) || c->peer_error);
}

int wsdx_conn_take_close(wsdx_conn *c, int *error, int *flags)
{
    if (!wsdx_conn_close_due(c))
        return 0;
    c->close_reported = 1;
    *error = c->peer_error;
    /* an empty DISCONNECT and a FIN alone are the same: no disconnect data */
    *flags = c->disc_received && c->disc_len ? WSDX_CLOSE_DISCONNECT_DATA : 0;
    return 1;
}
