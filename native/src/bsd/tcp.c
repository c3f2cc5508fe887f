/* tcp.c - the BSD-sockets code both hosts share (bsd.h): resolution, connect
 * over an address list, listen, the local port. */
#include "bsd.h"
#include "wsdx.h"

#include <stdio.h>
#include <string.h>

static int system_gai(const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **out)
{
    return getaddrinfo(host, service, hints, out);
}

int wsdx_bsd_resolve(const char *host, int port, int passive, struct addrinfo **out)
{
    return wsdx_bsd_resolve_with(system_gai, host, port, passive, out);
}

int wsdx_bsd_resolve_with(wsdx_getaddrinfo_fn gai, const char *host, int port, int passive, struct addrinfo **out)
{
    struct addrinfo hints;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%d", port);
    int rc = gai(host && *host ? host : NULL, service, &hints, out);
    return rc == 0 ? 0 : (rc == EAI_MEMORY ? -WSDX_WSAENOBUFS : -WSDX_WSAEHOSTUNREACH);
}

int wsdx_bsd_port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

int wsdx_io_connect(const char *host, int port, int64_t deadline, const uint8_t *cancel, wsdx_fd *out)
{
    struct addrinfo *res;
    int rc = wsdx_bsd_resolve(host, port, 0, &res);
    if (rc)
        return rc;
    rc = -WSDX_WSAEHOSTUNREACH;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = wsdx__io_connect_one(ai, deadline, cancel, out);
        if (rc == 0 || rc == -WSDX_WSAETIMEDOUT || rc == -WSDX_WSAEINTR)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int wsdx_io_listen(const char *host, int port, int backlog, wsdx_fd *out)
{
    struct addrinfo *res;
    int rc = wsdx_bsd_resolve(host, port, 1, &res);
    if (rc)
        return rc;
    wsdx_fd fd = WSDX_BAD_FD;
    rc = wsdx__io_socket(res->ai_family, &fd);
    if (rc == 0) {
        wsdx__io_listen_options(fd);
        if (bind(fd, res->ai_addr, (socklen_t)res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
            rc = wsdx__io_error();
            wsdx_io_close(fd);
        }
    }
    freeaddrinfo(res);
    if (rc == 0)
        *out = fd;
    return rc;
}

int wsdx_io_local_port(wsdx_fd fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return wsdx__io_error();
    return wsdx_bsd_port_of(&ss);
}

/* WSDX_OPT_* as a level and name; 0 or -WSAENOPROTOOPT. */
static int option_name(int option, int *level, int *name)
{
    switch (option) {
    case WSDX_OPT_TCP_NODELAY: *level = IPPROTO_TCP; *name = TCP_NODELAY; return 0;
    case WSDX_OPT_KEEPALIVE: *level = SOL_SOCKET; *name = SO_KEEPALIVE; return 0;
    case WSDX_OPT_RCVBUF: *level = SOL_SOCKET; *name = SO_RCVBUF; return 0;
    case WSDX_OPT_SNDBUF: *level = SOL_SOCKET; *name = SO_SNDBUF; return 0;
    default: return -WSDX_WSAENOPROTOOPT;
    }
}

int wsdx_io_set_option(wsdx_fd fd, int option, int value)
{
    int level, name, rc = option_name(option, &level, &name);
    if (rc)
        return rc;
    return setsockopt(fd, level, name, (void *)&value, sizeof value) == 0 ? 0 : wsdx__io_error();
}

int wsdx_io_get_option(wsdx_fd fd, int option)
{
    int level, name, value = 0, rc = option_name(option, &level, &name);
    socklen_t len = sizeof value;
    if (rc)
        return rc;
    if (getsockopt(fd, level, name, (void *)&value, &len) != 0)
        return wsdx__io_error();
    return option == WSDX_OPT_TCP_NODELAY || option == WSDX_OPT_KEEPALIVE ? value != 0 : value;
}

int wsdx_io_address(wsdx_fd fd, int peer, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return wsdx__io_error();
    if (getnameinfo((struct sockaddr *)&ss, len, buf, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
        return -WSDX_WSAEFAULT;
    return wsdx_bsd_port_of(&ss);
}
