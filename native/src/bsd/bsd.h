/* bsd.h - what the POSIX and Windows hosts share: both speak BSD sockets, so
 * name resolution, ports, and connect/listen over an address list are written
 * once (tcp.c). Each host folder provides host_net.h (its socket headers) and
 * the wsdx__io_* hooks below (its io.c); the OS differences stay there. */
#ifndef WSDX_BSD_H
#define WSDX_BSD_H

#include "host.h"
#include "host_net.h"

#include <stdint.h>

/* getaddrinfo for a TCP host:port (host NULL or "" with passive: any);
 * 0 or -WSA (-WSAENOBUFS, else -WSAEHOSTUNREACH). */
int wsdx_bsd_resolve(const char *host, int port, int passive, struct addrinfo **out);
/* The same through gai, a getaddrinfo of the caller's (the installed backend's Winsock table). */
typedef int (*wsdx_getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
int wsdx_bsd_resolve_with(wsdx_getaddrinfo_fn gai, const char *host, int port, int passive, struct addrinfo **out);
/* The port of an IPv4 or IPv6 address, in host order. */
int wsdx_bsd_port_of(const struct sockaddr_storage *ss);

/* --- hooks: each host's io.c --- */
/* The last failed socket call's error on this thread, as -WSA. */
int wsdx__io_error(void);
/* A non-blocking TCP socket of family; 0 or -WSA. */
int wsdx__io_socket(int family, wsdx_fd *out);
/* Connects to one address before deadline; 0 or -WSA (-WSAETIMEDOUT and
 * -WSAEINTR, once *cancel is set, end the search). */
int wsdx__io_connect_one(const struct addrinfo *ai, int64_t deadline, const uint8_t *cancel, wsdx_fd *out);
/* Address reuse for a listener about to bind (the host's own rule). */
void wsdx__io_listen_options(wsdx_fd fd);

#endif
