/* proto.h - the WSP functions of the wsdx protocol entries, by role:
 * proto_socket.c (make, connect, accept, shut down, close; and the table,
 * wsdx_lsp_fill_proto), proto_data.c, proto_events.c, proto_control.c.
 * Each is the WSPPROC_TABLE entry of the same name (Windows Sockets SPI):
 * 0 / a count / TRUE / a handle on success, else SOCKET_ERROR / FALSE /
 * INVALID_SOCKET with the WSA code in *lpErrno. Internal to the provider. */
#ifndef WSDX_PROTO_H
#define WSDX_PROTO_H

#include "wsock.h"

/* proto_data.c */
/* WSPRecv: blocking, non-blocking or overlapped; no receive flags offered. */
int WSPAPI wp_Recv(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD got, LPDWORD flags, LPWSAOVERLAPPED ov,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno);
/* WSPRecvFrom: WSPRecv, then the peer's address. */
int WSPAPI wp_RecvFrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags, struct sockaddr *from,
                       LPINT fromlen, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                       LPINT lpErrno);
/* WSPSend: the buffers as one DATA frame (one message in message mode). */
int WSPAPI wp_Send(SOCKET s, LPWSABUF bufs, DWORD nbufs, LPDWORD sent, DWORD flags, LPWSAOVERLAPPED ov,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno);
/* WSPSendTo: WSPSend; the address is ignored (connection-oriented). */
int WSPAPI wp_SendTo(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD sent, DWORD flags, const struct sockaddr *to,
                     int tolen, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t,
                     LPINT lpErrno);
/* WSPGetOverlappedResult: the result wsk_op_result stored (ovl.c). */
WINBOOL WSPAPI wp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, WINBOOL wait, LPDWORD flags,
                                      LPINT lpErrno);
/* SIO_EXT_SENDMSG: WSASendMsg on a wsdx handle. 0 or -WSA code (-WSA_IO_PENDING). */
int wp_ext_sendmsg(SOCKET s, WSASENDMSG *m, DWORD len, LPWSATHREADID t);

/* proto_events.c */
/* WSPEventSelect: the events to set ev for (the socket becomes non-blocking). */
int WSPAPI wp_EventSelect(SOCKET s, WSAEVENT ev, __LONG32 mask, LPINT lpErrno);
/* WSPAsyncSelect: the events to post msg to wnd for. */
int WSPAPI wp_AsyncSelect(SOCKET s, HWND wnd, unsigned int msg, __LONG32 mask, LPINT lpErrno);
/* WSPEnumNetworkEvents: the events due, each told once; resets ev. */
int WSPAPI wp_EnumNetworkEvents(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne, LPINT lpErrno);
/* WSPSelect over wsdx handles (ws2_32 routes select() here). */
int WSPAPI wp_Select(int nfds, fd_set *r, fd_set *wr, fd_set *x, const PTIMEVAL t, LPINT lpErrno);
/* SIO_EXT_POLL: WSAPoll over wsdx handles; pd in and out. 0 or -WSA code. */
int wp_ext_poll(WSAPOLLDATA *pd, DWORD len);

/* proto_control.c */
/* WSPBind: on the lower socket. */
int WSPAPI wp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno);
/* WSPListen: on the lower socket; the wsock becomes a listener. */
int WSPAPI wp_Listen(SOCKET s, int backlog, LPINT lpErrno);
/* WSPGetPeerName: the lower socket's peer. */
int WSPAPI wp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno);
/* WSPGetSockName: the lower socket's address. */
int WSPAPI wp_GetSockName(SOCKET s, struct sockaddr *name, LPINT len, LPINT lpErrno);
/* WSPGetSockOpt: ours (lsp.h's options, linger, type, entry), else the lower socket's. */
int WSPAPI wp_GetSockOpt(SOCKET s, int level, int opt, char *val, LPINT len, LPINT lpErrno);
/* WSPSetSockOpt: the connect timeout is ours; every other option goes down too. */
int WSPAPI wp_SetSockOpt(SOCKET s, int level, int opt, const char *val, int len, LPINT lpErrno);
/* WSPIoctl: FIONBIO, FIONREAD, the SIO_BSP / SIO_EXT codes and extensions are ours. */
int WSPAPI wp_Ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret,
                    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID t, LPINT lpErrno);
/* WSPDuplicateSocket: not offered (the state machine lives in this process). */
int WSPAPI wp_DuplicateSocket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT lpErrno);
/* WSPJoinLeaf: not offered. */
SOCKET WSPAPI wp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF caller, LPWSABUF callee,
                          LPQOS sq, LPQOS gq, DWORD flags, LPINT lpErrno);
/* WSPGetQOSByName: not offered. */
WINBOOL WSPAPI wp_GetQOSByName(SOCKET s, LPWSABUF name, LPQOS q, LPINT lpErrno);
/* WSPCancelBlockingCall: the lower provider's. */
int WSPAPI wp_CancelBlockingCall(LPINT lpErrno);

#endif
