/* host_net.h (POSIX) - the socket headers src/bsd needs. */
#ifndef WSDX_HOST_NET_H
#define WSDX_HOST_NET_H

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#endif
