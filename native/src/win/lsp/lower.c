/* lower.c - production implementation of the seams to the real ws2_32:
 * wsdx_lsp_find_lower() finds the next provider in our entry's protocol
 * chain in the Winsock catalog and loads its DLL; wsdx_lsp_complete_request()
 * is ws2_32's WPUCompleteOverlappedRequest. (Tests compile the other LSP
 * sources without this file and provide their own.) */
#include "lsp.h"

#include <stdlib.h>
#include <string.h>

/* The whole catalog with the two-call pattern; free() the result. */
static WSAPROTOCOL_INFOW *enum_catalog(int *count, int *err)
{
    DWORD size = 0;
    *count = 0;
    if (WSCEnumProtocols(NULL, NULL, &size, err) != SOCKET_ERROR || *err != WSAENOBUFS)
        return NULL;
    for (int tries = 0; tries < 4; tries++) {
        WSAPROTOCOL_INFOW *buf = (WSAPROTOCOL_INFOW *)malloc(size);
        if (!buf) {
            *err = WSAENOBUFS;
            return NULL;
        }
        int n = WSCEnumProtocols(NULL, buf, &size, err);
        if (n != SOCKET_ERROR) {
            *count = n;
            return buf;
        }
        free(buf);
        if (*err != WSAENOBUFS) /* catalog grew in between: retry with the new size */
            return NULL;
    }
    return NULL;
}

int wsdx_lsp_find_lower(const WSAPROTOCOL_INFOW *self, wsdx_lsp_lower_ref *out)
{
    int err = 0, n = 0;
    memset(out, 0, sizeof *out);
    if (self->ProtocolChain.ChainLen < 2 || self->ProtocolChain.ChainLen > MAX_PROTOCOL_CHAIN)
        return WSAEPROVIDERFAILEDINIT; /* a layered entry has at least [us, next] */

    WSAPROTOCOL_INFOW *cat = enum_catalog(&n, &err);
    if (!cat)
        return WSAEPROVIDERFAILEDINIT;

    /* Our layer id: the hidden dummy entry carrying our GUID. The chain of
     * the entry we were started for must hold it; the link after it is the
     * next provider. */
    DWORD layer_id = 0;
    for (int i = 0; i < n; i++)
        if (IsEqualGUID(&cat[i].ProviderId, &wsdx_lsp_guid_layer) &&
            cat[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL)
            layer_id = cat[i].dwCatalogEntryId;
    int pos = -1;
    for (int k = 0; k < self->ProtocolChain.ChainLen; k++)
        if (self->ProtocolChain.ChainEntries[k] == layer_id) {
            pos = k;
            break;
        }
    if (pos < 0)
        pos = 0; /* the installer always puts the layer first */
    if (pos + 1 >= self->ProtocolChain.ChainLen) {
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }
    DWORD next_id = self->ProtocolChain.ChainEntries[pos + 1];
    const WSAPROTOCOL_INFOW *next = NULL;
    for (int i = 0; i < n && !next; i++)
        if (cat[i].dwCatalogEntryId == next_id)
            next = &cat[i];
    if (!next) {
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }

    WCHAR path[MAX_PATH], expanded[MAX_PATH];
    int len = MAX_PATH - 1;
    if (WSCGetProviderPath((LPGUID)&next->ProviderId, path, &len, &err) == SOCKET_ERROR) {
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }
    DWORD x = ExpandEnvironmentStringsW(path, expanded, MAX_PATH - 1);
    if (x == 0 || x > MAX_PATH - 1 || expanded[0] == 0) {
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }
    HMODULE m = LoadLibraryW(expanded);
    if (!m) {
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }
    LPWSPSTARTUP start = (LPWSPSTARTUP)(void *)GetProcAddress(m, "WSPStartup");
    if (!start) {
        FreeLibrary(m);
        free(cat);
        return WSAEPROVIDERFAILEDINIT;
    }
    out->start = start;
    out->module = m;
    /* A base provider gets its own entry; a further layer gets our entry so
     * that it can find its place in the chain. */
    out->info = next->ProtocolChain.ChainLen == BASE_PROTOCOL ? *next : *self;
    free(cat);
    return 0;
}

int wsdx_lsp_complete_request(SOCKET s, LPWSAOVERLAPPED ov, DWORD err, DWORD n, LPINT lpErrno)
{
    return WPUCompleteOverlappedRequest(s, ov, err, n, lpErrno);
}
