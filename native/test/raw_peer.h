/* raw_peer.h - a raw BSD-socket peer that is not wsdx, for the C tests: it
 * writes the wire format of docs/protocol.md byte by byte (test_hostile.c,
 * test_protocol_rules.c, test_limits.c, bench/soak.c). Linked into every test (run-tests.sh). */
#ifndef WSDX_RAW_PEER_H
#define WSDX_RAW_PEER_H

#include "wsdx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds. */
long now_ms(void);
/* A TCP connection to 127.0.0.1:port, or -1. */
int raw_connect(int port);
/* A raw client past the preamble exchange (version 1, mode), or -1. */
int raw_client(int port, int mode);
/* A raw listener on an ephemeral port; rcvbuf > 0 shrinks its receive buffer. */
int raw_listen(int *port, int rcvbuf);
/* 1 when all n bytes went out. */
int write_all(int fd, const void *p, size_t n);
/* A frame header: type and big-endian length. */
void put_header(uint8_t *out, uint8_t type, uint32_t len);
/* A preamble with any version and mode. */
void preamble(uint8_t out[8], int version, int mode);

/* A raw server on another thread: accepts one connection, sends reply[0..n)
 * (then FIN if fin is 1, RST if 2), and hands the socket over (-1 after a
 * reset) without ever reading it. */
typedef struct {
    int lfd;
    const void *reply;
    size_t n;
    int fin;
    int trickle; /* 1: reply one byte every 20 ms (raw_server_trickle) */
    atomic_int fd; /* the accepted socket, -1 until then */
    pthread_t th;
} raw_server;

void raw_server_start(raw_server *r, int lfd, const void *reply, size_t n, int fin);
/* The same server, sending reply[0..n) one byte every 20 ms, no FIN. */
void raw_server_trickle(raw_server *r, int lfd, const void *reply, size_t n);
/* Joins the server thread; returns the accepted socket. */
int raw_server_join(raw_server *r);
/* Reads until EOF or error: 0 at a clean EOF, -errno at a reset, -ETIMEDOUT;
 * *got counts bytes. */
int drain(int fd, long *got, int timeout_ms);
/* A wsdx listener (*l) and a raw client past the preamble exchange; *a is
 * the accepted wsdx socket. Returns the raw client's fd, or -1. */
int raw_peer_accepted(int mode, wsdx_socket *l, wsdx_socket *a);
/* raw_peer_accepted, with *a's close events recorded (watch_close, close_events.h). */
int raw_peer_watched(int mode, wsdx_socket *l, wsdx_socket *a);

#endif
