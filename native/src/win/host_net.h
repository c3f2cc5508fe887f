/* host_net.h (Windows) - the socket headers src/bsd needs. */
#ifndef WSDX_HOST_NET_H
#define WSDX_HOST_NET_H

#include "host_types.h"

#include <ws2tcpip.h>

#endif
