/* provider_client.h - the Winsock calls the installed backend makes
 * (provider_client.c), as a table. Production uses ws2_32's own functions;
 * the Wine test routes them to the provider's WSP table, because Wine never
 * loads a layered provider from the catalog. Not exported from wsdx.dll. */
#ifndef WSDX_PROVIDER_CLIENT_H
#define WSDX_PROVIDER_CLIENT_H

#include <winsock2.h>
#include <ws2tcpip.h>

typedef struct wsdx_winsock {
    int (WSAAPI *enum_protocols)(LPINT, LPWSAPROTOCOL_INFOW, LPDWORD);
    SOCKET (WSAAPI *socket)(int, int, int, LPWSAPROTOCOL_INFOW, GROUP, DWORD);
    int (WSAAPI *connect)(SOCKET, const struct sockaddr *, int);
    int (WSAAPI *bind)(SOCKET, const struct sockaddr *, int);
    int (WSAAPI *listen)(SOCKET, int);
    SOCKET (WSAAPI *accept)(SOCKET, struct sockaddr *, int *);
    int (WSAAPI *send)(SOCKET, const char *, int, int);
    /* WSARecv, for its flags: a cut message is WSAEMSGSIZE with MSG_PARTIAL */
    int (WSAAPI *recv)(SOCKET, LPWSABUF, DWORD, LPDWORD, LPDWORD, LPWSAOVERLAPPED,
                       LPWSAOVERLAPPED_COMPLETION_ROUTINE);
    int (WSAAPI *select)(int, fd_set *, fd_set *, fd_set *, const PTIMEVAL);
    int (WSAAPI *shutdown)(SOCKET, int);
    int (WSAAPI *send_disconnect)(SOCKET, LPWSABUF);
    int (WSAAPI *recv_disconnect)(SOCKET, LPWSABUF);
    int (WSAAPI *setsockopt)(SOCKET, int, int, const char *, int);
    int (WSAAPI *getsockopt)(SOCKET, int, int, char *, int *);
    int (WSAAPI *getsockname)(SOCKET, struct sockaddr *, int *);
    int (WSAAPI *ioctlsocket)(SOCKET, __LONG32, u_long *);
    int (WSAAPI *closesocket)(SOCKET);
    int (WSAAPI *event_select)(SOCKET, WSAEVENT, __LONG32);
    int (WSAAPI *enum_network_events)(SOCKET, WSAEVENT, LPWSANETWORKEVENTS);
    int (WSAAPI *last_error)(void);
    int (WSAAPI *config_change)(LPHANDLE, LPWSAOVERLAPPED, LPWSAOVERLAPPED_COMPLETION_ROUTINE);
    INT (WSAAPI *getaddrinfo)(PCSTR, PCSTR, const ADDRINFOA *, PADDRINFOA *);
    VOID (WSAAPI *freeaddrinfo)(PADDRINFOA);
} wsdx_winsock;

/* Tests: route the installed backend's calls through ws (before its first use). */
void wsdx_provider_client_use(const wsdx_winsock *ws);

#endif
