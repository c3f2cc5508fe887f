/* catalog_model.h - a Winsock catalog in memory, behind the WSC* table of
 * native/src/win/installer/catalog.h, for the installer's own tests (Wine's
 * catalog calls are stubs). It behaves as Microsoft documents the calls
 * (catalog_model.c cites each) and can "crash": after a chosen number of
 * writes the next write longjmps out, as if the process died there; what
 * was written stays. */
#ifndef WSDX_TEST_CATALOG_MODEL_H
#define WSDX_TEST_CATALOG_MODEL_H

#include <setjmp.h>

#include "catalog.h"

#define MODEL_MAX 64

typedef struct {
    WSAPROTOCOL_INFOW e[MODEL_MAX]; /* in catalog order */
    int n;
    struct {
        GUID g;
        wchar_t path[MAX_PATH];
    } paths[MODEL_MAX]; /* one DLL path per provider GUID */
    int npaths;
    DWORD next_id;
    int writes;      /* writes done so far */
    int crash_after; /* -1: never; else the write after this many longjmps to crash */
    jmp_buf *crash;
    int order_error; /* nonzero: WSCWriteProviderOrder fails with it */
    int update_error; /* nonzero: WSCUpdateProvider fails with it (say, the other vendor's entries are locked) */
    int admin;       /* 0: every write fails WSANO_RECOVERY, as without elevation */
} model;

/* A catalog as a fresh Windows has it: TCP, UDP and RAW for IPv4 and IPv6
 * (base entries, MSAFD), o->ctx = m. */
void model_init(model *m, wsc_ops *o);

/* Another vendor's LSP: its hidden layer entry (GUID g) and one chain for
 * TCP/af over entry id `over` (base or chain), installed and moved to the top
 * of the order, as the SDK's instlsp does. Its layer's id. */
DWORD model_other_lsp(model *m, const GUID *g, int af, DWORD over);

/* The entry of id, or NULL. */
const WSAPROTOCOL_INFOW *model_entry(const model *m, DWORD id);

/* The first TCP entry of af in catalog order (what socket(af, SOCK_STREAM, 0) gets). */
const WSAPROTOCOL_INFOW *model_tcp_top(const model *m, int af);

/* The entry ids a socket of entry e passes through, top first, ending at a
 * base entry; count, or -1 if a link is missing (WSAEPROVIDERFAILEDINIT). */
int model_walk(const model *m, const WSAPROTOCOL_INFOW *e, DWORD out[MAX_PROTOCOL_CHAIN]);

#endif
