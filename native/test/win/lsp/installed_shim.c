/* installed_shim.c - runs a wsdx.h test program on the installed backend
 * (src/win/provider_client.c) under Wine. Wine never loads a layered
 * provider, so the Winsock calls the backend makes are routed here straight
 * to the provider's WSP table (fake_ws2.c starts it over Wine's ws2_32), the
 * way ws2_32 would route them to an installed wsdx entry. Linked into the
 * test .exe; a constructor sets it up before main. */
#include "fake_ws2.h"
#include "provider_client.h"

#include <ws2tcpip.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local int t_err;
static WSATHREADID tid;

static int fail(int err)
{
    t_err = err;
    return SOCKET_ERROR;
}

#define CALL(expr)                  \
    int err_ = 0;                   \
    int rc_ = (expr);               \
    return rc_ == SOCKET_ERROR ? fail(err_) : rc_

/* ---- the catalog model: the wsdx entries as ws2_32 shows them to the
 * installed backend, which a test installs, removes, repairs (new catalog
 * ids, as `wsdx-install repair` writes them) or breaks (a DLL that does not
 * load). It behaves as the documentation says:
 *  - WSAEnumProtocolsW ("WSAEnumProtocolsW function"): WSAENOBUFS with the
 *    size needed when the buffer is too small, else the entries' count;
 *  - WSASocketW ("WSASocketW function", return value): WSAEINVAL when the
 *    WSAPROTOCOL_INFO's contents are invalid (here: a catalog id no longer
 *    installed), WSAEPROVIDERFAILEDINIT when the provider failed to
 *    initialize (its DLL did not load);
 *  - WSAProviderConfigChange ("WSAProviderConfigChange function"): the first
 *    call, with a NULL handle, completes at once and returns the
 *    notification handle; an overlapped call with it returns WSA_IO_PENDING
 *    and completes (its event set) only when the catalog has changed since;
 *    WSAEOPNOTSUPP where installing or removing needs a restart;
 *    WSA_INVALID_HANDLE for any other handle. */
static struct {
    CRITICAL_SECTION lock;
    int present, fails, unwatchable;
    DWORD id_stream, id_msg, next_id;
    HANDLE handle;                /* the notification handle handed out */
    LPWSAOVERLAPPED pending[16];  /* overlapped requests waiting for a change */
    int npending;
    volatile LONG enums, bad_opens;
} cm = { .present = 1, .id_stream = 9001, .id_msg = 9002, .next_id = 9101 };

/* cm.lock held: the overlapped requests complete (their events set). */
static void complete_pending_locked(DWORD status)
{
    for (int i = 0; i < cm.npending; i++) {
        cm.pending[i]->Internal = status;
        SetEvent(cm.pending[i]->hEvent);
    }
    cm.npending = 0;
}

/* Installs (new catalog ids, as any install writes them) or removes the wsdx entries. */
void installed_shim_catalog(int present)
{
    EnterCriticalSection(&cm.lock);
    cm.present = present;
    if (present) {
        cm.id_stream = cm.next_id++;
        cm.id_msg = cm.next_id++;
    }
    complete_pending_locked(0);
    LeaveCriticalSection(&cm.lock);
}

/* The provider DLL does not load (1) or loads again (0): the catalog is unchanged. */
void installed_shim_provider_fails(int fails) { InterlockedExchange((LONG *)&cm.fails, fails); }

/* 1: WSAProviderConfigChange fails WSAEOPNOTSUPP from now on; requests
 * pending end (WSA_OPERATION_ABORTED), as when their handle is closed. */
void installed_shim_unwatchable(int on)
{
    EnterCriticalSection(&cm.lock);
    cm.unwatchable = on;
    if (on)
        complete_pending_locked((DWORD)WSA_OPERATION_ABORTED);
    LeaveCriticalSection(&cm.lock);
}

long installed_shim_enums(void) { return InterlockedCompareExchange(&cm.enums, 0, 0); }
long installed_shim_bad_opens(void) { return InterlockedCompareExchange(&cm.bad_opens, 0, 0); }

static int WSAAPI sh_enum(LPINT protos, LPWSAPROTOCOL_INFOW buf, LPDWORD len)
{
    (void)protos;
    InterlockedIncrement(&cm.enums);
    EnterCriticalSection(&cm.lock);
    WSAPROTOCOL_INFOW e[2] = { g_pi_pt, g_pi_pt }; /* without wsdx: another provider's entry */
    int n = 1;
    if (cm.present) {
        e[0] = g_pi_stream;
        e[0].dwCatalogEntryId = cm.id_stream;
        e[1] = g_pi_msg;
        e[1].dwCatalogEntryId = cm.id_msg;
        n = 2;
    }
    LeaveCriticalSection(&cm.lock);
    DWORD need = (DWORD)n * sizeof(WSAPROTOCOL_INFOW);
    if (!buf || *len < need) {
        *len = need;
        return fail(WSAENOBUFS);
    }
    memcpy(buf, e, need);
    return n;
}

/* ws2_32 hands the provider its own entry, by catalog id. */
static SOCKET WSAAPI sh_socket(int af, int type, int proto, LPWSAPROTOCOL_INFOW pi, GROUP g, DWORD flags)
{
    EnterCriticalSection(&cm.lock);
    WSAPROTOCOL_INFOW *mine = !pi || !cm.present      ? NULL
                              : pi->dwCatalogEntryId == cm.id_stream ? &g_pi_stream
                              : pi->dwCatalogEntryId == cm.id_msg    ? &g_pi_msg
                                                                     : NULL;
    int bad = !mine ? WSAEINVAL : cm.fails ? WSAEPROVIDERFAILEDINIT : 0;
    LeaveCriticalSection(&cm.lock);
    if (bad) {
        InterlockedIncrement(&cm.bad_opens);
        t_err = bad;
        return INVALID_SOCKET;
    }
    int err = 0;
    SOCKET s = T_stream.lpWSPSocket(af, type, proto, mine, g, flags, &err);
    if (s == INVALID_SOCKET)
        t_err = err;
    return s;
}

static void sh_freeaddrinfo_model(struct addrinfo *list)
{
    while (list) {
        struct addrinfo *next = list->ai_next;
        free(list);
        list = next;
    }
}

static int WSAAPI sh_config_change(LPHANDLE h, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr)
{
    (void)cr; /* the backend waits on ov->hEvent; completion routines are not modelled */
    int err = 0;
    EnterCriticalSection(&cm.lock);
    if (cm.unwatchable)
        err = WSAEOPNOTSUPP;
    else if (!*h)
        *h = cm.handle; /* completes at once */
    else if (*h != cm.handle)
        err = WSA_INVALID_HANDLE;
    else if (!ov || cm.npending == 16)
        err = WSAEINVAL; /* a blocking wait for the next change is not modelled: the backend never blocks */
    else
        cm.pending[cm.npending++] = ov, err = WSA_IO_PENDING;
    LeaveCriticalSection(&cm.lock);
    return err ? fail(err) : 0;
}

static int WSAAPI sh_connect(SOCKET s, const struct sockaddr *a, int n)
{
    CALL(T_stream.lpWSPConnect(s, a, n, NULL, NULL, NULL, NULL, &err_));
}
static int WSAAPI sh_bind(SOCKET s, const struct sockaddr *a, int n) { CALL(T_stream.lpWSPBind(s, a, n, &err_)); }
static int WSAAPI sh_listen(SOCKET s, int backlog) { CALL(T_stream.lpWSPListen(s, backlog, &err_)); }

static SOCKET WSAAPI sh_accept(SOCKET s, struct sockaddr *a, int *n)
{
    int err = 0;
    SOCKET r = T_stream.lpWSPAccept(s, a, n, NULL, 0, &err);
    if (r == INVALID_SOCKET)
        t_err = err;
    return r;
}

static int WSAAPI sh_send(SOCKET s, const char *b, int n, int flags)
{
    WSABUF wb = { (ULONG)n, (char *)b };
    DWORD sent = 0;
    int err = 0;
    if (T_stream.lpWSPSend(s, &wb, 1, &sent, (DWORD)flags, NULL, NULL, &tid, &err) == SOCKET_ERROR)
        return fail(err);
    return (int)sent;
}

/* ws2_32's WSARecv hands the provider's *lpNumberOfBytesRecvd and *lpFlags
 * back as they are, error or not (WSPRecv: on WSAEMSGSIZE "MSG_PARTIAL is set
 * in lpFlags"); a non-overlapped call passes no overlapped structure. */
static int WSAAPI sh_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD fl,
                          LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr)
{
    int err = 0;
    if (T_stream.lpWSPRecv(s, b, nb, got, fl, ov, cr, &tid, &err) == SOCKET_ERROR)
        return fail(err);
    return 0;
}

static int WSAAPI sh_select(int n, fd_set *r, fd_set *w, fd_set *x, const PTIMEVAL t)
{
    CALL(T_stream.lpWSPSelect(n, r, w, x, t, &err_));
}
static int WSAAPI sh_shutdown(SOCKET s, int how) { CALL(T_stream.lpWSPShutdown(s, how, &err_)); }
static int WSAAPI sh_senddisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPSendDisconnect(s, d, &err_)); }
static int WSAAPI sh_recvdisc(SOCKET s, LPWSABUF d) { CALL(T_stream.lpWSPRecvDisconnect(s, d, &err_)); }
/* ---- names: the one the tests add, as a hosts file listing two addresses
 * for it would give it (getaddrinfo: one addrinfo per address, in order);
 * any other name goes to ws2_32's getaddrinfo. */
static const char several_name[] = "several.wsdx.test";
static const char *const several[] = { "127.0.0.2", "127.0.0.3" };

static INT WSAAPI sh_getaddrinfo(PCSTR host, PCSTR service, const ADDRINFOA *hints, PADDRINFOA *out)
{
    if (!host || strcmp(host, several_name) || !service)
        return getaddrinfo(host, service, hints, out);
    struct addrinfo *head = NULL, **tail = &head;
    for (int i = 0; i < 2; i++) {
        struct node { struct addrinfo ai; struct sockaddr_in sin; } *n = calloc(1, sizeof *n);
        if (!n) {
            sh_freeaddrinfo_model(head);
            return EAI_MEMORY;
        }
        n->sin.sin_family = AF_INET;
        n->sin.sin_port = htons((u_short)atoi(service));
        inet_pton(AF_INET, several[i], &n->sin.sin_addr);
        n->ai.ai_family = AF_INET;
        n->ai.ai_socktype = SOCK_STREAM;
        n->ai.ai_protocol = IPPROTO_TCP;
        n->ai.ai_addr = (struct sockaddr *)&n->sin;
        n->ai.ai_addrlen = sizeof n->sin;
        n->ai.ai_canonname = (char *)several_name; /* marks the model's nodes */
        *tail = &n->ai;
        tail = &n->ai.ai_next;
    }
    *out = head;
    return 0;
}

static VOID WSAAPI sh_freeaddrinfo(PADDRINFOA list)
{
    if (list && list->ai_canonname == several_name)
        sh_freeaddrinfo_model(list);
    else if (list)
        freeaddrinfo(list);
}

/* ---- test hook: a close event that arrives while a call holds the socket
 * exclusively (wsdx_set_linger holds its entry's io lock around SO_LINGER) */
static CRITICAL_SECTION sel_lock;
static struct { SOCKET s; WSAEVENT ev; } sel[256]; /* the latest WSAEventSelect per socket */
static volatile LONG gate_armed, gate_in;

static void note_select(SOCKET s, WSAEVENT ev)
{
    EnterCriticalSection(&sel_lock);
    int i = 0;
    while (i < 255 && sel[i].s && sel[i].s != s)
        i++;
    sel[i].s = s;
    sel[i].ev = ev;
    LeaveCriticalSection(&sel_lock);
}

static WSAEVENT event_of(SOCKET s)
{
    WSAEVENT ev = NULL;
    EnterCriticalSection(&sel_lock);
    for (int i = 0; i < 256 && sel[i].s; i++)
        if (sel[i].s == s)
            ev = sel[i].ev;
    LeaveCriticalSection(&sel_lock);
    return ev;
}

/* The next SO_LINGER set holds until gate_hold is done. */
void installed_shim_gate_linger(void) { InterlockedExchange(&gate_armed, 1); }
/* 1 once the gated SO_LINGER is holding. */
int installed_shim_gate_holding(void) { return InterlockedCompareExchange(&gate_in, 0, 0); }

/* Inside the gated SO_LINGER: waits for the peer's close to reach s (s
 * readable), then for the group thread to have taken the close event (seen
 * set, then reset; or never seen set for 2 s: it was taken before we looked). */
static void gate_hold(SOCKET s)
{
    WSAEVENT ev = event_of(s);
    int err = 0, seen = 0;
    InterlockedExchange(&gate_in, 1);
    for (int i = 0; i < 5000; i++) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(s, &r);
        TIMEVAL tv = { 0, 1000 };
        if (T_stream.lpWSPSelect(0, &r, NULL, NULL, &tv, &err) == 1)
            break;
    }
    for (int i = 0; ev && i < 2000; i++) {
        int set = WaitForSingleObject(ev, 0) == WAIT_OBJECT_0;
        if (seen && !set)
            break;
        seen |= set;
        Sleep(1);
    }
    InterlockedExchange(&gate_in, 0);
}

static int WSAAPI sh_setsockopt(SOCKET s, int lv, int o, const char *v, int n)
{
    if (lv == SOL_SOCKET && o == SO_LINGER && InterlockedExchange(&gate_armed, 0))
        gate_hold(s);
    CALL(T_stream.lpWSPSetSockOpt(s, lv, o, v, n, &err_));
}
static int WSAAPI sh_getsockopt(SOCKET s, int lv, int o, char *v, int *n)
{
    CALL(T_stream.lpWSPGetSockOpt(s, lv, o, v, n, &err_));
}
static int WSAAPI sh_getsockname(SOCKET s, struct sockaddr *a, int *n) { CALL(T_stream.lpWSPGetSockName(s, a, n, &err_)); }
static int WSAAPI sh_ioctl(SOCKET s, __LONG32 cmd, u_long *arg)
{
    DWORD ret = 0;
    CALL(T_stream.lpWSPIoctl(s, (DWORD)cmd, arg, sizeof *arg, arg, sizeof *arg, &ret, NULL, NULL, &tid, &err_));
}
static int WSAAPI sh_close(SOCKET s) { CALL(T_stream.lpWSPCloseSocket(s, &err_)); }
static int WSAAPI sh_eventselect(SOCKET s, WSAEVENT e, __LONG32 m)
{
    if (e)
        note_select(s, e);
    CALL(T_stream.lpWSPEventSelect(s, e, m, &err_));
}
static int WSAAPI sh_enumevents(SOCKET s, WSAEVENT e, LPWSANETWORKEVENTS ne)
{
    CALL(T_stream.lpWSPEnumNetworkEvents(s, e, ne, &err_));
}
static int WSAAPI sh_last_error(void) { return t_err; }

static const wsdx_winsock shim = {
    sh_enum, sh_socket, sh_connect, sh_bind, sh_listen, sh_accept, sh_send, sh_recv, sh_select,
    sh_shutdown, sh_senddisc, sh_recvdisc, sh_setsockopt, sh_getsockopt, sh_getsockname, sh_ioctl,
    sh_close, sh_eventselect, sh_enumevents, sh_last_error, sh_config_change, sh_getaddrinfo, sh_freeaddrinfo,
};

/* Routes the installed backend here; the program then chooses it
 * (wsdx_use_backend) or lets AUTO find it. */
__attribute__((constructor)) static void route_installed_backend(void)
{
    InitializeCriticalSection(&sel_lock);
    InitializeCriticalSection(&cm.lock);
    cm.handle = CreateEventW(NULL, TRUE, FALSE, NULL);
    int rc = fake_ws2_start();
    wsdx_provider_client_use(&shim);
    if (rc) {
        printf("the provider's WSP table: WSPStartup failed (%d)\n", rc);
        exit(1);
    }
}
