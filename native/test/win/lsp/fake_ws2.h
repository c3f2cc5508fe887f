/* fake_ws2.h - the fake ws2_32 environment of the provider tests (fake_ws2.c). */
#ifndef WSDX_FAKE_WS2_H
#define WSDX_FAKE_WS2_H

#include "lsp.h"
#include "wsdx.h"

#define BASE_TCP4_ID 1001
#define LAYER_ID 9000

/* Catalog entries handed to WSPStartup, and the tables it returned. */
extern WSAPROTOCOL_INFOW g_pi_stream, g_pi_msg, g_pi_pt;
extern WSPPROC_TABLE T_stream, T_msg, T_pt;
extern WSPUPCALLTABLE g_up;
extern int g_bad_lower;  /* 1: the fake lower provider returns a table with a NULL entry */
extern int fk_cleanups;
extern DWORD_PTR g_dup_reserved; /* dwProviderReserved of the lower provider's last duplicate */
extern volatile LONG g_abortive_closes; /* lower sockets closed with SO_LINGER {1, 0}: the RSTs Windows sends */
extern volatile LONG g_preempt_ms; /* the lower send sleeps this long after WSAEWOULDBLOCK (preemption) */  /* WSPCleanup calls the lower provider saw */

/* WSAStartup, the upcall table, and WSPStartup for the three entries: 0 or the first error. */
int fake_ws2_start(void);
/* Instead (Windows, provider installed): the tables are ws2_32 itself over the
 * catalog's wsdx entries. 0, or WSAEPROVIDERFAILEDINIT when they are not there. */
int fake_ws2_start_installed(void);
extern int g_installed;
/* A catalog entry layered over the fake base TCP entry. */
WSAPROTOCOL_INFOW entry(DWORD id, const GUID *g, DWORD flags, int type, int proto, const wchar_t *name);
/* Associates one of the provider's handles with a completion port. */
int fake_associate_port(SOCKET s, HANDLE port, ULONG_PTR key);
/* Completions notified (late, on the fake's own thread), and those whose
 * Internal the provider had already changed before WPUCompleteOverlappedRequest. */
extern volatile LONG g_completions, g_early_results;
/* Provider socket handles still open. */
int live_handles(void);
int handles_made(void); /* every handle WPUCreateSocketHandle gave out (never reused) */

/* select(), WSAPoll() and WSASendMsg() as ws2_32 routes them (fake_ws2.c):
 * results as the Winsock calls give them, *err the WSA code on SOCKET_ERROR. */
int ws2_select(fd_set *r, fd_set *w, fd_set *x, const TIMEVAL *tv, int *err);
int ws2_poll(WSAPOLLFD *fds, ULONG n, INT timeout, int *err);
int ws2_sendmsg(SOCKET s, WSAMSG *m, DWORD flags, DWORD *sent, int *err);

#endif
