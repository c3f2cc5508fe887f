/* other_lsp.c - "another vendor's LSP" for the Windows workflow: layers a
 * chain over the entry on top of the catalog order for TCP/IPv4 (wsdx's
 * transparent chain, when that is installed) the way the SDK's instlsp does,
 * so the workflow can remove wsdx under it and see the other LSP still work.
 * Its DLL is a copy of wsdx-lsp.dll registered under other GUIDs: with no
 * wsdx layer in its chain, that DLL passes everything to the next link.
 *
 *   other-lsp install DLL   layer + chain over the top TCP/IPv4 entry, put first
 *   other-lsp check         its chain names only existing entries and is on top
 *   other-lsp remove */
#include <winsock2.h>
#include <ws2spi.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

static GUID layer_guid = {0x0badc0de, 0x5eed, 0x4a11, {0x9d, 0x01, 0, 0, 0, 0, 0, 1}};
static GUID chain_guid = {0x0badc0de, 0x5eed, 0x4a11, {0x9d, 0x01, 0, 0, 0, 0, 0, 2}};

static WSAPROTOCOL_INFOW *catalog(int *n)
{
    DWORD size = 0;
    int err = 0;
    WSCEnumProtocols(NULL, NULL, &size, &err);
    WSAPROTOCOL_INFOW *c = (WSAPROTOCOL_INFOW *)malloc(size);
    *n = c ? WSCEnumProtocols(NULL, c, &size, &err) : SOCKET_ERROR;
    if (*n == SOCKET_ERROR) {
        free(c);
        *n = 0;
        return NULL;
    }
    return c;
}

static const WSAPROTOCOL_INFOW *top_tcp4(const WSAPROTOCOL_INFOW *c, int n)
{
    for (int i = 0; i < n; i++)
        if (c[i].iAddressFamily == AF_INET && c[i].iSocketType == SOCK_STREAM && c[i].iProtocol == IPPROTO_TCP &&
            c[i].ProtocolChain.ChainLen >= 1)
            return &c[i];
    return NULL;
}

static const WSAPROTOCOL_INFOW *by_guid(const WSAPROTOCOL_INFOW *c, int n, const GUID *g)
{
    for (int i = 0; i < n; i++)
        if (IsEqualGUID(&c[i].ProviderId, g))
            return &c[i];
    return NULL;
}

static int install(const wchar_t *dll)
{
    int n = 0, err = 0;
    WSAPROTOCOL_INFOW *c = catalog(&n);
    const WSAPROTOCOL_INFOW *top = c ? top_tcp4(c, n) : NULL;
    if (!top || top->ProtocolChain.ChainLen + 1 > MAX_PROTOCOL_CHAIN)
        return printf("no TCP/IPv4 entry to layer over\n"), 1;
    WSAPROTOCOL_INFOW layer = *top, chain = *top;
    layer.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
    layer.dwProviderFlags |= PFL_HIDDEN;
    lstrcpynW(layer.szProtocol, L"other-lsp layer", WSAPROTOCOL_LEN + 1);
    if (WSCInstallProvider(&layer_guid, dll, &layer, 1, &err) == SOCKET_ERROR)
        return printf("WSCInstallProvider(layer): %d\n", err), 1;
    free(c);
    c = catalog(&n);
    DWORD lid = by_guid(c, n, &layer_guid)->dwCatalogEntryId;
    int len = chain.ProtocolChain.ChainLen == BASE_PROTOCOL ? 1 : chain.ProtocolChain.ChainLen;
    for (int k = len; k > 0; k--)
        chain.ProtocolChain.ChainEntries[k] = len == 1 ? chain.dwCatalogEntryId : chain.ProtocolChain.ChainEntries[k - 1];
    chain.ProtocolChain.ChainEntries[0] = lid;
    chain.ProtocolChain.ChainLen = len + 1;
    lstrcpynW(chain.szProtocol, L"other-lsp over TCP/IPv4", WSAPROTOCOL_LEN + 1);
    if (WSCInstallProvider(&chain_guid, dll, &chain, 1, &err) == SOCKET_ERROR)
        return printf("WSCInstallProvider(chain): %d\n", err), 1;
    free(c);
    c = catalog(&n);
    DWORD *ids = (DWORD *)malloc(sizeof(DWORD) * (size_t)n);
    int m = 0;
    ids[m++] = by_guid(c, n, &chain_guid)->dwCatalogEntryId;
    for (int i = 0; i < n; i++)
        if (!IsEqualGUID(&c[i].ProviderId, &chain_guid))
            ids[m++] = c[i].dwCatalogEntryId;
    typedef int(WSPAPI * order_fn)(LPDWORD, DWORD);
    order_fn order = (order_fn)(void *)GetProcAddress(GetModuleHandleW(L"ws2_32.dll"), "WSCWriteProviderOrder");
    int rc = order ? order(ids, (DWORD)m) : WSAEOPNOTSUPP;
    printf("other-lsp installed over \"%ls\" (order: %d)\n", top->szProtocol, rc);
    return rc != 0;
}

static int check(void)
{
    int n = 0;
    WSAPROTOCOL_INFOW *c = catalog(&n);
    const WSAPROTOCOL_INFOW *e = c ? by_guid(c, n, &chain_guid) : NULL;
    if (!e)
        return printf("other-lsp is not installed\n"), 1;
    int ok = top_tcp4(c, n) == e;
    printf("other-lsp chain:");
    for (int k = 0; k < e->ProtocolChain.ChainLen; k++) {
        DWORD id = e->ProtocolChain.ChainEntries[k];
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= c[i].dwCatalogEntryId == id;
        printf(" %lu%s", (unsigned long)id, found ? "" : "(MISSING)");
        ok &= found;
    }
    printf("; %s\n", ok ? "valid and on top" : "BROKEN");
    return !ok;
}

static int remove_(void)
{
    int err = 0, rc = 0;
    rc |= WSCDeinstallProvider(&chain_guid, &err) == SOCKET_ERROR;
    rc |= WSCDeinstallProvider(&layer_guid, &err) == SOCKET_ERROR;
    printf("other-lsp removed (%d)\n", rc);
    return rc;
}

int wmain(int argc, wchar_t **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && !wcscmp(argv[1], L"install"))
        return install(argv[2]);
    if (argc == 2 && !wcscmp(argv[1], L"check"))
        return check();
    if (argc == 2 && !wcscmp(argv[1], L"remove"))
        return remove_();
    printf("usage: other-lsp install DLL | check | remove\n");
    return 2;
}
