/* install.c - wsdx-install.exe: puts the wsdx layered provider into the
 * Winsock catalog, lists it, removes it.
 *
 *   wsdx-install install [dll64 [dll32]]   (default: wsdx.dll next to this exe;
 *                                           dll32 defaults to x86\wsdx.dll there, if present)
 *   wsdx-install remove
 *   wsdx-install list
 *   wsdx-install repair [dll64 [dll32]]    (remove + install)
 *
 * install creates (idempotently):
 *  - the hidden layer ("dummy") entry, GUID wsdx_lsp_guid_layer, and layered
 *    chains over the system TCP/IPv4 and TCP/IPv6 entries, with
 *    WSCInstallProviderAndChains64_32 (both catalogs; needs the 32-bit DLL)
 *    or, failing that, WSCInstallProvider + WSCWriteProviderOrder (64-bit
 *    catalog of this process only);
 *  - the wsdx protocol entries (stream + message, IPv4 + IPv6,
 *    XP1_DISCONNECT_DATA), GUID wsdx_lsp_guid_proto, in each catalog that has
 *    the layer (the 32-bit one only when dll32 is given), chained over that
 *    catalog's own layer and TCP entries, with that catalog's DLL;
 *  - the LSP category (WSCSetProviderInfo, when the system has it).
 * remove deinstalls exactly our GUIDs: the layer, the protocol entries, and
 * every entry whose chain starts at our layer, in the 64- and 32-bit catalogs.
 * Everything newer than Windows 2000's ws2_32 is resolved with GetProcAddress,
 * so that the program also starts where those functions do not exist (Wine). */
#include <winsock2.h>
#include <ws2spi.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsp.h"

const GUID wsdx_lsp_guid_layer = WSDX_LSP_GUID_LAYER_INIT;
const GUID wsdx_lsp_guid_proto = WSDX_LSP_GUID_PROTO_INIT;
const GUID wsdx_lsp_guid_chain = WSDX_LSP_GUID_CHAIN_INIT;

typedef int(WSPAPI *enum_fn)(LPINT, LPWSAPROTOCOL_INFOW, LPDWORD, LPINT);
typedef int(WSPAPI *deinst_fn)(LPGUID, LPINT);
typedef int(WSPAPI *inst_fn)(LPGUID, const WCHAR *, const LPWSAPROTOCOL_INFOW, DWORD, LPINT);
typedef int(WSPAPI *chains6432_fn)(LPGUID, LPWSTR, LPWSTR, LPWSTR, DWORD, LPWSAPROTOCOL_INFOW, DWORD,
                                   LPDWORD, LPINT);
typedef int(WSPAPI *chains_fn)(LPGUID, LPWSTR, LPWSTR, DWORD, LPWSAPROTOCOL_INFOW, DWORD, LPDWORD, LPINT);
typedef int(WSPAPI *order_fn)(LPDWORD, DWORD);
typedef int(WSPAPI *setinfo_fn)(LPGUID, WSC_PROVIDER_INFO_TYPE, PBYTE, size_t, DWORD, LPINT);

static HMODULE ws2(void) { return GetModuleHandleW(L"ws2_32.dll"); }
static FARPROC sym(const char *name) { return GetProcAddress(ws2(), name); }

typedef struct {
    const char *name;
    enum_fn enumerate;
    deinst_fn deinstall;
    inst_fn install; /* NULL: this process cannot install into it */
} catalog;

#ifdef _WIN64
/* ws2_32 has no 32-bit-only install: WSCInstallProvider64_32 writes both
 * catalogs, then its 64-bit copies (32-bit DLL and ids) are taken out again.
 * Our own 64-bit entries would clash, so they go first; cmd_install fills
 * the 64-bit catalog after this one. */
static int WSPAPI install32(LPGUID g, const WCHAR *dll, const LPWSAPROTOCOL_INFOW list, DWORD n, LPINT err)
{
    inst_fn both = (inst_fn)(void *)sym("WSCInstallProvider64_32");
    int ignored;
    if (!both) {
        *err = WSAEOPNOTSUPP;
        return SOCKET_ERROR;
    }
    WSCDeinstallProvider(g, &ignored); /* usually nothing to take out */
    if (both(g, dll, list, n, err) == SOCKET_ERROR)
        return SOCKET_ERROR;
    return WSCDeinstallProvider(g, err);
}
#endif

static int catalogs(catalog out[2])
{
    int n = 0;
    out[n].name = sizeof(void *) == 8 ? "64-bit" : "32-bit";
    out[n].enumerate = WSCEnumProtocols;
    out[n].deinstall = WSCDeinstallProvider;
    out[n].install = WSCInstallProvider;
    n++;
#ifdef _WIN64
    enum_fn e32 = (enum_fn)(void *)sym("WSCEnumProtocols32");
    deinst_fn d32 = (deinst_fn)(void *)sym("WSCDeinstallProvider32");
    if (e32 && d32) {
        out[n].name = "32-bit";
        out[n].enumerate = e32;
        out[n].deinstall = d32;
        out[n].install = sym("WSCInstallProvider64_32") ? install32 : NULL;
        n++;
    }
#endif
    return n;
}

static WSAPROTOCOL_INFOW *enum_all(enum_fn f, int *count)
{
    DWORD size = 0;
    int err = 0;
    *count = 0;
    if (f(NULL, NULL, &size, &err) != SOCKET_ERROR || err != WSAENOBUFS)
        return NULL;
    for (int tries = 0; tries < 4; tries++) {
        WSAPROTOCOL_INFOW *b = (WSAPROTOCOL_INFOW *)malloc(size);
        if (!b)
            return NULL;
        int n = f(NULL, b, &size, &err);
        if (n != SOCKET_ERROR) {
            *count = n;
            return b;
        }
        free(b);
        if (err != WSAENOBUFS)
            return NULL;
    }
    return NULL;
}

static DWORD layer_id(const WSAPROTOCOL_INFOW *c, int n)
{
    for (int i = 0; i < n; i++)
        if (IsEqualGUID(&c[i].ProviderId, &wsdx_lsp_guid_layer) && c[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL)
            return c[i].dwCatalogEntryId;
    return 0;
}

static int has_guid(const WSAPROTOCOL_INFOW *c, int n, const GUID *g)
{
    for (int i = 0; i < n; i++)
        if (IsEqualGUID(&c[i].ProviderId, g))
            return 1;
    return 0;
}

static int is_ours(const WSAPROTOCOL_INFOW *e, DWORD layer)
{
    if (IsEqualGUID(&e->ProviderId, &wsdx_lsp_guid_layer) || IsEqualGUID(&e->ProviderId, &wsdx_lsp_guid_proto) ||
        IsEqualGUID(&e->ProviderId, &wsdx_lsp_guid_chain))
        return 1;
    return layer && e->ProtocolChain.ChainLen > 1 && e->ProtocolChain.ChainEntries[0] == layer;
}

/* ------------------------------------------------------------------ */

static int cmd_list(void)
{
    catalog cats[2];
    int nc = catalogs(cats);
    int total_ours = 0;
    for (int k = 0; k < nc; k++) {
        int n = 0;
        WSAPROTOCOL_INFOW *c = enum_all(cats[k].enumerate, &n);
        printf("%s catalog: %d catalog entries\n", cats[k].name, n);
        if (!c)
            continue;
        DWORD layer = layer_id(c, n);
        for (int i = 0; i < n; i++) {
            int ours = is_ours(&c[i], layer);
            total_ours += ours;
            printf("%c %5lu  af=%-2d type=%-2d proto=%-5d flags1=0x%05lx chain=%d[", ours ? '*' : ' ',
                   (unsigned long)c[i].dwCatalogEntryId, c[i].iAddressFamily, c[i].iSocketType, c[i].iProtocol,
                   (unsigned long)c[i].dwServiceFlags1, c[i].ProtocolChain.ChainLen);
            for (int j = 0; j < c[i].ProtocolChain.ChainLen && j < MAX_PROTOCOL_CHAIN; j++)
                printf("%s%lu", j ? " " : "", (unsigned long)c[i].ProtocolChain.ChainEntries[j]);
            printf("]  %ls\n", c[i].szProtocol);
        }
        free(c);
    }
    printf("wsdx entries: %d (%s)\n", total_ours, total_ours ? "installed" : "not installed");
    return 0;
}

static int cmd_remove(void)
{
    catalog cats[2];
    int nc = catalogs(cats);
    int failures = 0;
    for (int k = 0; k < nc; k++) {
        int n = 0;
        WSAPROTOCOL_INFOW *c = enum_all(cats[k].enumerate, &n);
        if (!c) {
            printf("%s catalog: cannot enumerate\n", cats[k].name);
            failures++;
            continue;
        }
        DWORD layer = layer_id(c, n);
        GUID done[64];
        int nd = 0;
        /* chains and protocol entries first, the layer last */
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < n; i++) {
                if (!is_ours(&c[i], layer))
                    continue;
                int is_layer = IsEqualGUID(&c[i].ProviderId, &wsdx_lsp_guid_layer);
                if (is_layer != (pass == 1))
                    continue;
                int seen = 0;
                for (int j = 0; j < nd; j++)
                    seen |= IsEqualGUID(&done[j], &c[i].ProviderId);
                if (seen || nd >= 64)
                    continue;
                done[nd++] = c[i].ProviderId;
                int err = 0;
                GUID g = c[i].ProviderId;
                if (cats[k].deinstall(&g, &err) == SOCKET_ERROR) {
                    printf("%s catalog: deinstall %ls failed: %d\n", cats[k].name, c[i].szProtocol, err);
                    failures++;
                } else {
                    printf("%s catalog: removed %ls\n", cats[k].name, c[i].szProtocol);
                }
            }
        if (!nd)
            printf("%s catalog: wsdx not installed\n", cats[k].name);
        free(c);
    }
    if (failures)
        printf("remove failed; recovery: `netsh winsock reset` (as administrator), then reboot\n");
    return failures ? 1 : 0;
}

static int find_base(const WSAPROTOCOL_INFOW *c, int n, int af)
{
    for (int i = 0; i < n; i++)
        if (c[i].ProtocolChain.ChainLen == BASE_PROTOCOL && c[i].iAddressFamily == af &&
            c[i].iSocketType == SOCK_STREAM && c[i].iProtocol == IPPROTO_TCP &&
            (c[i].dwServiceFlags1 & XP1_IFS_HANDLES))
            return i;
    return -1;
}

static void make_layer_entry(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *base)
{
    *e = *base;
    e->iSocketType = 0;
    e->iProtocol = 0;
    e->dwProviderFlags |= PFL_HIDDEN;
    e->dwProviderFlags &= ~PFL_MATCHES_PROTOCOL_ZERO;
    e->ProtocolChain.ChainLen = LAYERED_PROTOCOL;
    lstrcpynW(e->szProtocol, WSDX_LSP_NAME L" layer", WSAPROTOCOL_LEN + 1);
}

/* entry = base with [layer, base...] as its chain */
static void make_chained(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *base, DWORD layer, const GUID *g,
                         const wchar_t *prefix)
{
    *e = *base;
    e->ProviderId = *g;
    e->ProtocolChain.ChainLen = 2;
    e->ProtocolChain.ChainEntries[0] = layer;
    e->ProtocolChain.ChainEntries[1] = base->dwCatalogEntryId;
    _snwprintf(e->szProtocol, WSAPROTOCOL_LEN, L"%ls over [%ls]", prefix, base->szProtocol);
    e->szProtocol[WSAPROTOCOL_LEN] = 0;
}

static void make_proto(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *base, DWORD layer, int message)
{
    make_chained(e, base, layer, &wsdx_lsp_guid_proto, message ? L"wsdx message" : L"wsdx stream");
    e->dwServiceFlags1 = XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | XP1_GRACEFUL_CLOSE | XP1_DISCONNECT_DATA |
                         (message ? XP1_MESSAGE_ORIENTED : 0); /* own handles: not IFS */
    e->dwProviderFlags &= ~(PFL_MATCHES_PROTOCOL_ZERO | PFL_RECOMMENDED_PROTO_ENTRY);
    e->iSocketType = message ? SOCK_SEQPACKET : SOCK_STREAM;
    e->iProtocol = message ? WSDX_LSP_PROTO_MESSAGE : WSDX_LSP_PROTO_STREAM;
    e->iProtocolMaxOffset = 0;
    e->dwMessageSize = message ? (16u * 1024 * 1024) : 0;
}

static int install_chains_fallback(const wchar_t *dll, WSAPROTOCOL_INFOW *c, int n, const int *bases, int nb)
{
    int err = 0;
    WSAPROTOCOL_INFOW e;
    make_layer_entry(&e, &c[bases[0]]);
    GUID g = wsdx_lsp_guid_layer;
    if (WSCInstallProvider(&g, dll, &e, 1, &err) == SOCKET_ERROR) {
        printf("WSCInstallProvider(layer) failed: %d\n", err);
        return 1;
    }
    free(c);
    c = enum_all(WSCEnumProtocols, &n);
    DWORD layer = c ? layer_id(c, n) : 0;
    if (!layer) {
        printf("layer entry not found after install\n");
        free(c);
        return 1;
    }
    WSAPROTOCOL_INFOW chains[2];
    int nch = 0;
    for (int k = 0; k < nb; k++) {
        int i = find_base(c, n, k == 0 ? AF_INET : AF_INET6);
        if (i >= 0)
            make_chained(&chains[nch++], &c[i], layer, &wsdx_lsp_guid_chain, WSDX_LSP_NAME);
    }
    g = wsdx_lsp_guid_chain;
    if (WSCInstallProvider(&g, dll, chains, (DWORD)nch, &err) == SOCKET_ERROR) {
        printf("WSCInstallProvider(chains) failed: %d\n", err);
        free(c);
        return 1;
    }
    /* our chains first, the rest in their order */
    free(c);
    c = enum_all(WSCEnumProtocols, &n);
    order_fn order = (order_fn)(void *)sym("WSCWriteProviderOrder");
    if (c && order) {
        DWORD *ids = (DWORD *)malloc(sizeof(DWORD) * (size_t)n);
        int m = 0;
        for (int i = 0; i < n; i++)
            if (IsEqualGUID(&c[i].ProviderId, &wsdx_lsp_guid_chain))
                ids[m++] = c[i].dwCatalogEntryId;
        for (int i = 0; i < n; i++)
            if (!IsEqualGUID(&c[i].ProviderId, &wsdx_lsp_guid_chain))
                ids[m++] = c[i].dwCatalogEntryId;
        int rc = order(ids, (DWORD)m);
        if (rc)
            printf("WSCWriteProviderOrder failed: %d\n", rc);
        free(ids);
    }
    free(c);
    return 0;
}

/* the system call that installs layer + chains; 0: missing or failed, fall back */
static int install_and_chains(const wchar_t *dll64, const wchar_t *dll32, WSAPROTOCOL_INFOW *list, int nb)
{
    GUID g = wsdx_lsp_guid_layer;
    int err = 0;
#ifdef _WIN64
    chains6432_fn f = (chains6432_fn)(void *)sym("WSCInstallProviderAndChains64_32");
    if (!f || !dll32)
        return 0;
    if (f(&g, (LPWSTR)dll64, (LPWSTR)dll32, (LPWSTR)WSDX_LSP_NAME, XP1_IFS_HANDLES, list, (DWORD)nb, NULL, &err) !=
        SOCKET_ERROR)
        return 1;
    printf("WSCInstallProviderAndChains64_32 failed: %d; falling back\n", err);
#else
    (void)dll32;
    chains_fn f = (chains_fn)(void *)sym("WSCInstallProviderAndChains");
    if (!f)
        return 0;
    if (f(&g, (LPWSTR)dll64, (LPWSTR)WSDX_LSP_NAME, XP1_IFS_HANDLES, list, (DWORD)nb, NULL, &err) != SOCKET_ERROR)
        return 1;
    printf("WSCInstallProviderAndChains failed: %d; falling back\n", err);
#endif
    return 0;
}

/* the layer entry and the transparent chains; -1 failed, 0 already there, 1 added */
static int install_layer(const wchar_t *dll64, const wchar_t *dll32)
{
    int n = 0;
    WSAPROTOCOL_INFOW *c = enum_all(WSCEnumProtocols, &n);
    if (!c) {
        printf("cannot enumerate the catalog\n");
        return -1;
    }
    if (layer_id(c, n)) {
        free(c);
        return 0;
    }
    int bases[2], nb = 0;
    int i4 = find_base(c, n, AF_INET), i6 = find_base(c, n, AF_INET6);
    if (i4 >= 0)
        bases[nb++] = i4;
    if (i6 >= 0)
        bases[nb++] = i6;
    if (!nb) {
        printf("no TCP base provider in the catalog\n");
        free(c);
        return -1;
    }
    WSAPROTOCOL_INFOW list[2];
    for (int k = 0; k < nb; k++)
        list[k] = c[bases[k]];
    if (!install_and_chains(dll64, dll32, list, nb)) {
        WSAPROTOCOL_INFOW *copy = (WSAPROTOCOL_INFOW *)malloc(sizeof *copy * (size_t)n);
        memcpy(copy, c, sizeof *copy * (size_t)n);
        if (install_chains_fallback(dll64, copy, n, bases, nb)) {
            free(c);
            return -1;
        }
    }
    free(c);
    c = enum_all(WSCEnumProtocols, &n);
    DWORD layer = c ? layer_id(c, n) : 0;
    free(c);
    if (!layer) {
        printf("the layer entry did not appear in the catalog\n");
        return -1;
    }
    printf("installed the layer (entry %lu) and chains over TCP/IPv4%s\n", (unsigned long)layer,
           nb > 1 ? " and TCP/IPv6" : "");
    return 1;
}

/* the wsdx protocol entries of one catalog: chained over its own layer and
 * TCP entries, since catalog ids differ between catalogs; -1 failed, 0 nothing
 * done, 1 added */
static int install_protos(const catalog *cat, const wchar_t *dll)
{
    int n = 0, err = 0;
    WSAPROTOCOL_INFOW *c = enum_all(cat->enumerate, &n);
    if (!c) {
        printf("%s catalog: cannot enumerate\n", cat->name);
        return -1;
    }
    DWORD layer = layer_id(c, n);
    int have = has_guid(c, n, &wsdx_lsp_guid_proto);
    int b4 = find_base(c, n, AF_INET), b6 = find_base(c, n, AF_INET6);
    WSAPROTOCOL_INFOW list[4];
    int m = 0;
    for (int msg = 0; msg < 2; msg++) {
        if (b4 >= 0)
            make_proto(&list[m++], &c[b4], layer, msg);
        if (b6 >= 0)
            make_proto(&list[m++], &c[b6], layer, msg);
    }
    free(c);
    if (have)
        return 0;
    if (!layer) { /* the layer step decides which catalogs are covered */
        printf("%s catalog: no wsdx layer entry, so no wsdx protocol entries either\n", cat->name);
        return 0;
    }
    if (!cat->install) {
        printf("%s catalog: ws2_32 has no WSCInstallProvider64_32; no wsdx protocol entries there\n", cat->name);
        return 0;
    }
    if (!m) {
        printf("%s catalog: no TCP base provider\n", cat->name);
        return -1;
    }
    GUID g = wsdx_lsp_guid_proto;
    if (cat->install(&g, dll, list, (DWORD)m, &err) == SOCKET_ERROR) {
        printf("%s catalog: installing the wsdx protocol entries failed: %d\n", cat->name, err);
        return -1;
    }
    printf("%s catalog: installed %d wsdx protocol entries (XP1_DISCONNECT_DATA)\n", cat->name, m);
    return 1;
}

static void set_categories(const wchar_t *dll32)
{
    setinfo_fn si = (setinfo_fn)(void *)sym("WSCSetProviderInfo");
    if (!si)
        return;
    DWORD cat = LSP_INSPECTOR | LSP_INBOUND_MODIFY | LSP_OUTBOUND_MODIFY;
    GUID g = wsdx_lsp_guid_layer;
    int err = 0;
    if (si(&g, ProviderInfoLspCategories, (PBYTE)&cat, sizeof cat, 0, &err) == SOCKET_ERROR)
        printf("WSCSetProviderInfo(LSP categories) failed: %d (ignored)\n", err);
#ifdef _WIN64
    setinfo_fn si32 = (setinfo_fn)(void *)sym("WSCSetProviderInfo32");
    if (si32 && dll32)
        si32(&g, ProviderInfoLspCategories, (PBYTE)&cat, sizeof cat, 0, &err);
#else
    (void)dll32;
#endif
}

static int cmd_install(const wchar_t *dll64, const wchar_t *dll32)
{
    int added = install_layer(dll64, dll32), failed = 0;
    if (added < 0)
        return 1;
    catalog cats[2];
    int nc = catalogs(cats);
#ifdef _WIN64
    if (dll32 && nc < 2)
        printf("ws2_32 has no WSCEnumProtocols32 (Wine?): wsdx goes into the 64-bit catalog only\n");
#endif
    /* the 32-bit catalog first: install32 takes our GUID out of the 64-bit one */
    for (int k = nc - 1; k >= 0; k--) {
        if (k && !dll32)
            continue;
        int r = install_protos(&cats[k], k ? dll32 : dll64);
        failed |= r < 0;
        added |= r > 0;
    }
    if (failed)
        return 1;
    if (!added) {
        printf("wsdx is already installed; nothing to do\n");
        return 0;
    }
    set_categories(dll32);
    return 0;
}

static int usage(void)
{
    printf("usage: wsdx-install install [dll64 [dll32]] | remove | list | repair [dll64 [dll32]]\n");
    return 2;
}

int wmain(int argc, wchar_t **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return usage();
    WSADATA wd;
    WSAStartup(MAKEWORD(2, 2), &wd);
    int rc;
    if (!wcscmp(argv[1], L"list")) {
        rc = cmd_list();
    } else if (!wcscmp(argv[1], L"remove")) {
        rc = cmd_remove();
    } else if (!wcscmp(argv[1], L"install") || !wcscmp(argv[1], L"repair")) {
        wchar_t dir[MAX_PATH], d64[MAX_PATH], d32[MAX_PATH];
        GetModuleFileNameW(NULL, dir, MAX_PATH);
        wchar_t *slash = wcsrchr(dir, L'\\');
        if (slash)
            *slash = 0;
        if (argc > 2)
            GetFullPathNameW(argv[2], MAX_PATH, d64, NULL);
        else
            _snwprintf(d64, MAX_PATH, L"%ls\\wsdx.dll", dir);
        const wchar_t *p32 = NULL;
        if (argc > 3) {
            GetFullPathNameW(argv[3], MAX_PATH, d32, NULL);
            p32 = d32;
        } else {
            _snwprintf(d32, MAX_PATH, L"%ls\\x86\\wsdx.dll", dir);
            if (GetFileAttributesW(d32) != INVALID_FILE_ATTRIBUTES)
                p32 = d32;
        }
        d64[MAX_PATH - 1] = d32[MAX_PATH - 1] = 0;
        if (GetFileAttributesW(d64) == INVALID_FILE_ATTRIBUTES) {
            printf("provider DLL not found: %ls\n", d64);
            rc = 1;
        } else {
            rc = 0;
            if (!wcscmp(argv[1], L"repair"))
                rc = cmd_remove();
            if (!rc)
                rc = cmd_install(d64, p32);
            if (!rc)
                printf("done; verify with `wsdx-install list` and `netsh winsock show catalog`\n");
        }
    } else {
        rc = usage();
    }
    WSACleanup();
    return rc;
}
