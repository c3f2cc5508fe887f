/* options.c - socket options (TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF,
 * SO_SNDBUF) and addresses of an in-process connection. */
#include "sock.h"

/* Locks a connected socket; NULL and *rc on failure. */
static sock *connected(wsdx_socket h, int *rc)
{
    sock *s = sock_acquire(h);
    *rc = s ? 0 : -WSDX_WSAENOTSOCK;
    if (!s)
        return NULL;
    wsdx_mutex_lock(&s->mu);
    if (s->phase != P_OPEN || s->fd == WSDX_BAD_FD) {
        wsdx_mutex_unlock(&s->mu);
        sock_release(s);
        *rc = -WSDX_WSAENOTCONN;
        return NULL;
    }
    return s;
}

static int done(sock *s, int rc)
{
    wsdx_mutex_unlock(&s->mu);
    sock_release(s);
    return rc;
}

int sk_set_option(wsdx_socket h, int option, int value)
{
    int rc;
    sock *s = connected(h, &rc);
    if (!s)
        return rc;
    return done(s, value < 0 ? -WSDX_WSAEINVAL : wsdx_io_set_option(s->fd, option, value));
}

int sk_get_option(wsdx_socket h, int option)
{
    int rc;
    sock *s = connected(h, &rc);
    if (!s)
        return rc;
    return done(s, wsdx_io_get_option(s->fd, option));
}

int sk_address(wsdx_socket h, int peer, char *buf, int cap)
{
    if (!buf || cap <= 0)
        return -WSDX_WSAEFAULT;
    int rc;
    sock *s = connected(h, &rc);
    if (!s)
        return rc;
    return done(s, wsdx_io_address(s->fd, peer, buf, (size_t)cap));
}
