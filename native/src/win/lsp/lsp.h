/* lsp.h - internals of the wsdx layered service provider (LSP).
 *
 * The provider has two faces, chosen per catalog entry in WSPStartup:
 *  - transparent entries (chains over the system TCP/IPv4 and TCP/IPv6
 *    entries): every call goes straight to the lower provider, whose IFS
 *    socket handles are given to the application as they are (passthru.c);
 *  - wsdx protocol entries (stream and message, XP1_DISCONNECT_DATA): own
 *    socket handles made with WPUCreateSocketHandle, the wsdx wire format of
 *    docs/protocol.md over a lower TCP socket (proto_*.c), driven by the
 *    portable state machine in native/src/core/conn.h.
 *
 * Finding and loading the lower provider is a compile-time seam:
 * wsdx_lsp_find_lower() is implemented by lower.c in the production DLL and
 * by the Wine harness (native/test/win/lsp/harness.c) in tests. No test hook
 * is exported from the DLL.
 */
#ifndef WSDX_LSP_H
#define WSDX_LSP_H

#include <winsock2.h>
#include <ws2spi.h>
#include <windows.h>

/* {5D7F0B6A-9C1E-4E8B-A2D4-7A1B3C5E0D11}: the hidden layer ("dummy") entry. */
#define WSDX_LSP_GUID_LAYER_INIT \
    { 0x5d7f0b6a, 0x9c1e, 0x4e8b, { 0xa2, 0xd4, 0x7a, 0x1b, 0x3c, 0x5e, 0x0d, 0x11 } }
/* {5D7F0B6A-9C1E-4E8B-A2D4-7A1B3C5E0D12}: the wsdx protocol entries (stream + message). */
#define WSDX_LSP_GUID_PROTO_INIT \
    { 0x5d7f0b6a, 0x9c1e, 0x4e8b, { 0xa2, 0xd4, 0x7a, 0x1b, 0x3c, 0x5e, 0x0d, 0x12 } }
/* {5D7F0B6A-9C1E-4E8B-A2D4-7A1B3C5E0D13}: the transparent chains (fallback installer path). */
#define WSDX_LSP_GUID_CHAIN_INIT \
    { 0x5d7f0b6a, 0x9c1e, 0x4e8b, { 0xa2, 0xd4, 0x7a, 0x1b, 0x3c, 0x5e, 0x0d, 0x13 } }

extern const GUID wsdx_lsp_guid_layer;
extern const GUID wsdx_lsp_guid_proto;
extern const GUID wsdx_lsp_guid_chain;

/* Protocol numbers of the wsdx entries (iProtocol); outside IANA's range on purpose. */
#define WSDX_LSP_PROTO_STREAM  0x5744 /* "WD" */
#define WSDX_LSP_PROTO_MESSAGE 0x5745

#define WSDX_LSP_NAME L"wsdx"

/* getsockopt(SOL_SOCKET) on wsdx entries:
 *  SO_DISCDATALEN: length of the peer's disconnect data once its DISCONNECT
 *    frame arrived, -1 before (the OSI transports' option, read-only here);
 *  WSDX_LSP_SO_REJECTED: peers a listener reset because they were not wsdx.
 * setsockopt/getsockopt(SOL_SOCKET, WSDX_LSP_SO_CONNECT_TIMEOUT, DWORD ms):
 *  one deadline for WSPConnect's TCP connect and preamble exchange
 *  (0, the default: 30 s for the connect, then 10 s for the preamble). */
#ifndef SO_DISCDATALEN
#define SO_DISCDATALEN 0x7006
#endif
#define WSDX_LSP_SO_REJECTED 0x5744
#define WSDX_LSP_SO_CONNECT_TIMEOUT 0x5745

/* What the seam hands back: the lower provider's WSPStartup and the
 * WSAPROTOCOL_INFOW to pass to it (the lower base entry, or our own entry when
 * the next link is itself layered). module may be NULL (tests). */
typedef struct {
    LPWSPSTARTUP start;
    WSAPROTOCOL_INFOW info;
    HMODULE module;
} wsdx_lsp_lower_ref;

/* The seam: 0 or a WSA error code, positive. The one exception to the
 * internal -WSAE convention, on purpose: its result is WSPStartup's own return
 * value (the SPI returns the code itself, as the lower WSPStartup it reaches
 * does), so no sign is flipped on the way out. self is the entry WSPStartup
 * was called for. */
int wsdx_lsp_find_lower(const WSAPROTOCOL_INFOW *self, wsdx_lsp_lower_ref *out);

/* The second seam: ws2_32's WPUCompleteOverlappedRequest (exported by
 * ws2_32, not in the upcall table): notifies an overlapped request's
 * completion on one of our handles by its event or its completion port. */
int wsdx_lsp_complete_request(SOCKET s, LPWSAOVERLAPPED ov, DWORD err, DWORD n, LPINT lpErrno);

/* One started lower provider (one per catalog entry of ours that was started). */
typedef struct {
    DWORD self_id;              /* our entry's dwCatalogEntryId */
    WSAPROTOCOL_INFOW self;     /* our entry */
    WSAPROTOCOL_INFOW lower_info;
    WSPPROC_TABLE next;         /* the lower provider's table */
    HMODULE module;
    int wsdx;                   /* 1 for a wsdx protocol entry */
    int starts;
} wsdx_lsp_provider;

#define WSDX_LSP_MAX_PROVIDERS 32

extern WSPUPCALLTABLE wsdx_lsp_up; /* copy of the upcall table (passed by value) */
extern CRITICAL_SECTION wsdx_lsp_glock;

/* Is this catalog entry one of the wsdx protocol entries? */
int wsdx_lsp_is_proto_entry(const WSAPROTOCOL_INFOW *pi);
/* Started provider for an entry (by catalog id, then by chain), or NULL. */
wsdx_lsp_provider *wsdx_lsp_provider_for(const WSAPROTOCOL_INFOW *pi);
wsdx_lsp_provider *wsdx_lsp_first_provider(int wsdx);

/* The two tables (passthru.c, proto_socket.c). */
void wsdx_lsp_fill_passthru(WSPPROC_TABLE *t);
void wsdx_lsp_fill_proto(WSPPROC_TABLE *t);
/* Per-table cleanup of socket bookkeeping on the last WSPCleanup. */
void wsdx_lsp_passthru_reset(void);

/* Observation counters of the transparent entries (read by tests). */
typedef struct {
    volatile LONG shutdowns, send_disconnects, recv_disconnects, closes, fd_close_seen;
} wsdx_lsp_observed;
extern wsdx_lsp_observed wsdx_lsp_obs;
/* wsdx entries' socket contexts not yet freed (read by tests: leaks). */
extern volatile LONG wsdx_lsp_live_contexts;

/* Start of WSPStartup, shared by both faces (wsp.c). */
int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
                      LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
                      LPWSPPROC_TABLE lpProcTable);

#endif
