/* pc_catalog.c (Windows) - the wsdx entries of the Winsock catalog that the
 * installed backend opens its sockets on. The catalog is read at first use
 * and read again whenever what was read may be out of date:
 *  - the catalog changed: WSAProviderConfigChange's notification completed
 *    ("WSAProviderConfigChange function", learn.microsoft.com: arm it, then
 *    WSAEnumProtocols, and repeat both whenever it completes);
 *  - a socket could not be opened on a cached entry (`repair` installed the
 *    entries again, with new catalog ids);
 *  - the last read failed: only "no wsdx entries" is kept, and only while
 *    the notification watches for a change; any other failure is read again
 *    at the next use.
 * A read counts only if one socket opens on the entry: a provider DLL that
 * does not load fails there, so AUTO stays in-process and INSTALLED says why. */
#include "pc.h"

#include <stdlib.h>
#include <string.h>

static struct {
    SRWLOCK lock;                 /* shared: the entries are read; exclusive: the catalog is */
    WSAPROTOCOL_INFOW info[2][2]; /* [IPv6?][message?]; lock */
    int have[2][2];               /* lock */
    int state;                    /* 1 usable, -WSA kept (see above), 0 read again; atomic */
    int started;                  /* WSAStartup succeeded; lock exclusive */
    HANDLE change;                /* WSAProviderConfigChange's handle, or NULL; lock exclusive */
    WSAOVERLAPPED ov;             /* its pending request; ov.hEvent is set when it completes */
    int armed;                    /* a request is pending on ov; lock exclusive */
} cat = { .lock = SRWLOCK_INIT };

void pc_catalog_setup(void)
{
    cat.ov.hEvent = WSACreateEvent(); /* manual reset; NULL: no watching, every failure read again */
}

/* --------------------------------------------------------------- reading */

/* What the last read said, or 0 when the catalog must be read (again). */
static int kept(void)
{
    int st = __atomic_load_n(&cat.state, __ATOMIC_ACQUIRE);
    if (st && cat.ov.hEvent && WaitForSingleObject(cat.ov.hEvent, 0) == WAIT_OBJECT_0)
        return 0; /* the catalog changed since */
    return st;
}

/* Arms the change notification before the catalog is read, unless a request
 * is still pending (no change since it was armed). */
static void watch(void)
{
    if (!cat.ov.hEvent || (cat.armed && WaitForSingleObject(cat.ov.hEvent, 0) != WAIT_OBJECT_0))
        return;
    cat.armed = 0;
    WSAResetEvent(cat.ov.hEvent);
    /* The first call, with a NULL handle, completes at once and returns the handle. */
    if (!cat.change && pc__g.ws->config_change(&cat.change, NULL, NULL) != 0) {
        cat.change = NULL; /* WSAEOPNOTSUPP: no install or removal without a restart */
        return;
    }
    if (pc__g.ws->config_change(&cat.change, &cat.ov, NULL) == 0 || pc_werr() == WSA_IO_PENDING)
        cat.armed = 1;
}

/* Keeps the first wsdx entry of each family and mode. */
static void note_entries(const WSAPROTOCOL_INFOW *pi, int n)
{
    static const GUID proto = WSDX_LSP_GUID_PROTO_INIT;
    memset(cat.have, 0, sizeof cat.have);
    for (int i = 0; i < n; i++) {
        if (memcmp(&pi[i].ProviderId, &proto, sizeof proto))
            continue;
        int v6 = pi[i].iAddressFamily == AF_INET6;
        int msg = (pi[i].dwServiceFlags1 & XP1_MESSAGE_ORIENTED) != 0;
        if (!cat.have[v6][msg]) {
            cat.info[v6][msg] = pi[i];
            cat.have[v6][msg] = 1;
        }
    }
}

/* Finds the wsdx catalog entries; 0 or -WSA. */
static int find_entries(void)
{
    DWORD size = 0;
    if (pc__g.ws->enum_protocols(NULL, NULL, &size) != SOCKET_ERROR || pc_werr() != WSAENOBUFS || !size)
        return -WSDX_WSAEPROTONOSUPPORT;
    WSAPROTOCOL_INFOW *pi = malloc(size);
    if (!pi)
        return -WSDX_WSAENOBUFS;
    int n = pc__g.ws->enum_protocols(NULL, pi, &size);
    int rc = n == SOCKET_ERROR ? -pc_werr() : 0;
    note_entries(pi, n == SOCKET_ERROR ? 0 : n);
    free(pi);
    if (!rc && !(cat.have[0][0] && cat.have[0][1]))
        rc = -WSDX_WSAEPROTONOSUPPORT;
    return rc;
}

/* One socket on the stream entry, closed at once: ws2_32 loads the provider
 * DLL and starts it (WSPStartup) for the first one. 0 or -WSA. */
static int test_open(void)
{
    SOCKET s = pc__g.ws->socket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &cat.info[0][0], 0,
                                WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return -pc_werr();
    pc__g.ws->closesocket(s);
    return 0;
}

/* Lock exclusive: reads the catalog; 1 or -WSA. */
static int read_locked(void)
{
    if (!cat.started) {
        WSADATA wd;
        if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
            return -WSDX_WSAENETDOWN;
        cat.started = 1;
    }
    watch();
    int rc = find_entries();
    if (!rc)
        rc = test_open();
    int st = rc ? rc : 1;
    int keep = st == 1 || (st == -WSDX_WSAEPROTONOSUPPORT && cat.armed);
    __atomic_store_n(&cat.state, keep ? st : 0, __ATOMIC_RELEASE);
    return st;
}

int pc_catalog_ready(void)
{
    int st = kept();
    if (st)
        return st;
    AcquireSRWLockExclusive(&cat.lock);
    st = kept(); /* another thread may have read it meanwhile */
    if (!st)
        st = read_locked();
    ReleaseSRWLockExclusive(&cat.lock);
    return st;
}

/* ---------------------------------------------------------------- entries */

int pc_catalog_entry(int v6, int msg, WSAPROTOCOL_INFOW *out)
{
    int st = pc_catalog_ready();
    if (st < 0)
        return st;
    AcquireSRWLockShared(&cat.lock);
    int have = cat.have[v6][msg];
    if (have)
        *out = cat.info[v6][msg];
    ReleaseSRWLockShared(&cat.lock);
    return have ? 0 : -WSDX_WSAEPROTONOSUPPORT;
}

int pc_catalog_failed(const WSAPROTOCOL_INFOW *pi, int err)
{
    if (err == WSAEMFILE || err == WSAENOBUFS)
        return 0; /* out of resources: says nothing about the entry */
    AcquireSRWLockExclusive(&cat.lock);
    int v6 = pi->iAddressFamily == AF_INET6, msg = (pi->dwServiceFlags1 & XP1_MESSAGE_ORIENTED) != 0;
    if (cat.have[v6][msg] && cat.info[v6][msg].dwCatalogEntryId == pi->dwCatalogEntryId)
        __atomic_store_n(&cat.state, 0, __ATOMIC_RELEASE); /* not read again since: read it now */
    ReleaseSRWLockExclusive(&cat.lock);
    return pc_catalog_ready() == 1;
}
