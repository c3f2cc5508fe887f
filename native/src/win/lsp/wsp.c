/* wsp.c - WSPStartup / WSPCleanup of the wsdx layered service provider.
 *
 * ws2_32 calls WSPStartup once per catalog entry of ours that an application
 * uses. We find the next provider in that entry's protocol chain (through the
 * seam wsdx_lsp_find_lower: lower.c in production, the harness in tests),
 * start it, check its 30 entries, and return our own 30-entry table: the
 * transparent one or the wsdx protocol one. Nothing here runs in DllMain. */
#include "lsp.h"

#include <string.h>

const GUID wsdx_lsp_guid_layer = WSDX_LSP_GUID_LAYER_INIT;
const GUID wsdx_lsp_guid_proto = WSDX_LSP_GUID_PROTO_INIT;
const GUID wsdx_lsp_guid_chain = WSDX_LSP_GUID_CHAIN_INIT;

WSPUPCALLTABLE wsdx_lsp_up;
wsdx_lsp_observed wsdx_lsp_obs;

/* A critical section needs initialising before first use; do it lazily with
 * a one-time init (no work in DllMain). */
CRITICAL_SECTION wsdx_lsp_glock;
static INIT_ONCE g_once = INIT_ONCE_STATIC_INIT;
static wsdx_lsp_provider g_prov[WSDX_LSP_MAX_PROVIDERS];
static int g_nprov;
static int g_starts; /* successful WSPStartup calls not yet matched by WSPCleanup */

static BOOL CALLBACK init_once(PINIT_ONCE o, PVOID p, PVOID *c)
{
    (void)o; (void)p; (void)c;
    InitializeCriticalSection(&wsdx_lsp_glock);
    return TRUE;
}

int wsdx_lsp_is_proto_entry(const WSAPROTOCOL_INFOW *pi)
{
    return pi && IsEqualGUID(&pi->ProviderId, &wsdx_lsp_guid_proto);
}

wsdx_lsp_provider *wsdx_lsp_provider_for(const WSAPROTOCOL_INFOW *pi)
{
    wsdx_lsp_provider *found = NULL;
    if (!pi)
        return NULL;
    EnterCriticalSection(&wsdx_lsp_glock);
    for (int i = 0; i < g_nprov && !found; i++)
        if (g_prov[i].starts && g_prov[i].self_id == pi->dwCatalogEntryId)
            found = &g_prov[i];
    /* Called through another LSP layered over us: find our link in its chain. */
    for (int k = 1; k < pi->ProtocolChain.ChainLen && k < MAX_PROTOCOL_CHAIN && !found; k++)
        for (int i = 0; i < g_nprov && !found; i++)
            if (g_prov[i].starts && g_prov[i].self_id == pi->ProtocolChain.ChainEntries[k])
                found = &g_prov[i];
    LeaveCriticalSection(&wsdx_lsp_glock);
    return found;
}

wsdx_lsp_provider *wsdx_lsp_first_provider(int wsdx)
{
    wsdx_lsp_provider *found = NULL;
    EnterCriticalSection(&wsdx_lsp_glock);
    for (int i = 0; i < g_nprov && !found; i++)
        if (g_prov[i].starts && g_prov[i].wsdx == wsdx)
            found = &g_prov[i];
    LeaveCriticalSection(&wsdx_lsp_glock);
    return found;
}

/* Address conversions are the lower provider's, for both faces (both run
 * over TCP): that of the entry given, else of any started one. */
static wsdx_lsp_provider *converter(LPWSAPROTOCOL_INFOW pi, LPINT lpErrno)
{
    wsdx_lsp_provider *p = wsdx_lsp_provider_for(pi);
    if (!p)
        p = wsdx_lsp_first_provider(1);
    if (!p)
        p = wsdx_lsp_first_provider(0);
    if (!p)
        *lpErrno = WSAEINVAL;
    return p;
}

static INT WSPAPI lsp_AddressToString(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW pi, LPWSTR str,
                                      LPDWORD strlen_, LPINT lpErrno)
{
    wsdx_lsp_provider *p = converter(pi, lpErrno);
    return p ? p->next.lpWSPAddressToString(sa, salen, &p->lower_info, str, strlen_, lpErrno) : SOCKET_ERROR;
}

static INT WSPAPI lsp_StringToAddress(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW pi, LPSOCKADDR sa, LPINT salen,
                                      LPINT lpErrno)
{
    wsdx_lsp_provider *p = converter(pi, lpErrno);
    return p ? p->next.lpWSPStringToAddress(str, af, &p->lower_info, sa, salen, lpErrno) : SOCKET_ERROR;
}

static int table_complete(const WSPPROC_TABLE *t)
{
    void *const *p = (void *const *)t;
    for (size_t i = 0; i < sizeof *t / sizeof(void *); i++)
        if (!p[i])
            return 0;
    return 1;
}

static int WSPAPI lsp_cleanup(LPINT lpErrno)
{
    EnterCriticalSection(&wsdx_lsp_glock);
    if (g_starts == 0) {
        LeaveCriticalSection(&wsdx_lsp_glock);
        *lpErrno = WSANOTINITIALISED;
        return SOCKET_ERROR;
    }
    g_starts--;
    int last = g_starts == 0;
    LeaveCriticalSection(&wsdx_lsp_glock);
    if (!last)
        return 0;
    /* Last cleanup: clean up each lower provider as often as it was started.
     * Sockets the application never closed keep their provider slot: it is
     * neither cleared nor reused for another entry (a later WSPStartup of the
     * same entry takes it again), and the lower provider's module stays
     * loaded, like ours (pin_module), since their pool waits, timers and
     * background closes may still call it. */
    for (int i = 0; i < g_nprov; i++) {
        wsdx_lsp_provider *p = &g_prov[i];
        while (p->starts > 0) {
            int e = 0;
            p->next.lpWSPCleanup(&e);
            p->starts--;
        }
    }
    wsdx_lsp_passthru_reset();
    return 0;
}

/* ws2_32 frees the provider DLL after the last WSPCleanup (WSACleanup:
 * "the provider DLL is unloaded"), but what the sockets set running outlives
 * it: pool waits on lower sockets, connect deadlines of up to 40 s,
 * background closes of up to 120 s, completion routines queued as APCs, and
 * sockets the application never closed. Waiting for all of them in
 * WSPCleanup would stall the application's WSACleanup for minutes, and
 * aborting them would turn graceful closes into resets; so the module pins
 * itself on its first start (GetModuleHandleEx, GET_MODULE_HANDLE_EX_FLAG_PIN):
 * it stays mapped until the process ends, and a later WSAStartup finds it
 * there. (An upgrade replaces the file for new processes; docs/windows.md.) */
static void pin_module(void)
{
    HMODULE self = NULL;
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                       (LPCWSTR)(void *)pin_module, &self);
}

/* x64: exported by this attribute. i686: stdcall decorates the symbol as
 * WSPStartup@76, so the DLL's .def exports it undecorated
 * (src/win/lsp/wsdx-lsp32.def: WSPStartup = WSPStartup@76). */
#ifdef _WIN64
#define WSDX_LSP_EXPORT __declspec(dllexport)
#else
#define WSDX_LSP_EXPORT
#endif

WSDX_LSP_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
                                      LPWSPPROC_TABLE lpProcTable)
{
    InitOnceExecuteOnce(&g_once, init_once, NULL, NULL);
    if (!lpWSPData || !lpProtocolInfo || !lpProcTable)
        return WSAEFAULT;
    if (LOBYTE(wVersionRequested) < 2)
        return WSAVERNOTSUPPORTED;

    EnterCriticalSection(&wsdx_lsp_glock);
    if (g_starts == 0) {
        wsdx_lsp_up = UpcallTable; /* passed by value: keep a copy, never its address */
        pin_module();
    }

    wsdx_lsp_provider *p = NULL;
    for (int i = 0; i < g_nprov && !p; i++)
        if (g_prov[i].self_id == lpProtocolInfo->dwCatalogEntryId)
            p = &g_prov[i];
    int rc = 0;
    if (!p) {
        if (g_nprov >= WSDX_LSP_MAX_PROVIDERS) {
            rc = WSAEPROVIDERFAILEDINIT;
            goto out;
        }
        wsdx_lsp_lower_ref ref;
        memset(&ref, 0, sizeof ref);
        rc = wsdx_lsp_find_lower(lpProtocolInfo, &ref);
        if (rc)
            goto out;
        p = &g_prov[g_nprov];
        memset(p, 0, sizeof *p);
        p->self_id = lpProtocolInfo->dwCatalogEntryId;
        p->self = *lpProtocolInfo;
        p->lower_info = ref.info;
        p->module = ref.module;
        p->wsdx = wsdx_lsp_is_proto_entry(lpProtocolInfo);
        WSPDATA lower_data;
        memset(&lower_data, 0, sizeof lower_data);
        memset(&p->next, 0, sizeof p->next);
        rc = ref.start(wVersionRequested, &lower_data, &p->lower_info, UpcallTable, &p->next);
        if (rc) {
            if (p->module)
                FreeLibrary(p->module);
            goto out;
        }
        if (!table_complete(&p->next)) {
            int e = 0;
            if (p->next.lpWSPCleanup)
                p->next.lpWSPCleanup(&e);
            if (p->module)
                FreeLibrary(p->module);
            rc = WSAEINVALIDPROCTABLE;
            goto out;
        }
        p->starts = 1;
        g_nprov++;
    } else {
        /* Same entry started again: start its lower provider again too, so
         * the WSPCleanup counts match. */
        WSPDATA lower_data;
        WSPPROC_TABLE again;
        memset(&again, 0, sizeof again);
        wsdx_lsp_lower_ref ref;
        memset(&ref, 0, sizeof ref);
        rc = wsdx_lsp_find_lower(lpProtocolInfo, &ref);
        if (!rc)
            rc = ref.start(wVersionRequested, &lower_data, &p->lower_info, UpcallTable, &again);
        if (ref.module)
            FreeLibrary(ref.module); /* the first start holds a reference */
        if (!rc && p->starts == 0 && !table_complete(&again))
            rc = WSAEINVALIDPROCTABLE;
        if (rc)
            goto out;
        if (p->starts == 0) /* after a last WSPCleanup: the same module's functions, copied one by one */
            for (size_t i = 0; i < sizeof again / sizeof(void *); i++)
                ((void *volatile *)&p->next)[i] = ((void **)&again)[i];
        p->starts++;
    }

    memset(lpWSPData, 0, sizeof *lpWSPData);
    lpWSPData->wVersion = MAKEWORD(2, 2);
    lpWSPData->wHighVersion = MAKEWORD(2, 2);
    lstrcpynW(lpWSPData->szDescription,
              p->wsdx ? L"wsdx disconnect-data provider" : L"wsdx layered provider (transparent)",
              WSPDESCRIPTION_LEN + 1);
    if (p->wsdx)
        wsdx_lsp_fill_proto(lpProcTable);
    else
        wsdx_lsp_fill_passthru(lpProcTable);
    lpProcTable->lpWSPCleanup = lsp_cleanup;
    lpProcTable->lpWSPAddressToString = lsp_AddressToString;
    lpProcTable->lpWSPStringToAddress = lsp_StringToAddress;
    g_starts++;
out:
    LeaveCriticalSection(&wsdx_lsp_glock);
    return rc;
}
