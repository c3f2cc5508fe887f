/* catalog_model.c - the Winsock catalog model behind the installer's WSC*
 * table. Each call does what Microsoft's documentation says the real one
 * does (learn.microsoft.com, ws2spi.h), and no more:
 *  - WSCEnumProtocols (lpiProtocols NULL): every entry, hidden and layered
 *    ones included, in catalog order; a short buffer fails WSAENOBUFS and
 *    sets *lpdwBufferLength to the size needed.
 *  - WSCInstallProvider: "the provider is already installed" fails
 *    WSANO_RECOVERY; each new entry gets a new dwCatalogEntryId; new entries
 *    go to the end of the catalog order (the order in which providers are
 *    installed governs the order WSCEnumProtocols returns them). It does not
 *    check the ids a chain names: a chain naming a missing id is written as
 *    given, and only fails when a socket is opened on it.
 *  - WSCDeinstallProvider: removes every entry of the GUID; an unknown GUID
 *    fails WSAEFAULT ("lpProviderId ... not valid"). Chains of others that
 *    name the removed ids are left as they are (the SDK's lspdel has to fix
 *    them with WSCUpdateProvider, which is why it exists).
 *  - WSCUpdateProvider: "modifies the specified transport provider": the
 *    GUID's entries take the given WSAPROTOCOL_INFOW and DLL path in place,
 *    keeping their catalog ids and positions (lspdel relies on that); an
 *    unknown GUID or a different number of entries fails WSAEINVAL.
 *  - WSCWriteProviderOrder: the array must hold every catalog id exactly
 *    once, else WSAEINVAL; returns the error code itself, 0 on success.
 *  - WSCGetProviderPath: the GUID's DLL path; unknown GUID: WSAEINVAL.
 *  - without administrator rights every write fails WSANO_RECOVERY.
 * Every write counts; with crash_after set, the write after that many
 * longjmps to m->crash before changing anything: the process died there. */
#include "catalog_model.h"

#include <stdio.h>
#include <string.h>

static model *M(void *ctx) { return (model *)ctx; }

static int fail(int *err, int code)
{
    *err = code;
    return SOCKET_ERROR;
}

static void write_begins(model *m)
{
    if (m->crash_after >= 0 && m->writes == m->crash_after)
        longjmp(*m->crash, 1);
    m->writes++;
}

static int count_guid(const model *m, const GUID *g)
{
    int n = 0;
    for (int i = 0; i < m->n; i++)
        n += IsEqualGUID(&m->e[i].ProviderId, g);
    return n;
}

static int path_slot(model *m, const GUID *g)
{
    for (int i = 0; i < m->npaths; i++)
        if (IsEqualGUID(&m->paths[i].g, g))
            return i;
    return -1;
}

static void set_path(model *m, const GUID *g, const wchar_t *dll)
{
    int k = path_slot(m, g);
    if (k < 0) {
        k = m->npaths++;
        m->paths[k].g = *g;
    }
    lstrcpynW(m->paths[k].path, dll, MAX_PATH);
}

static int m_enum(void *ctx, WSAPROTOCOL_INFOW *buf, DWORD *size, int *err)
{
    model *m = M(ctx);
    DWORD need = (DWORD)(sizeof(WSAPROTOCOL_INFOW) * (size_t)m->n);
    if (!buf || *size < need) {
        *size = need;
        return fail(err, WSAENOBUFS);
    }
    memcpy(buf, m->e, need);
    return m->n;
}

static int m_path(void *ctx, GUID *g, wchar_t *path, int *len, int *err)
{
    model *m = M(ctx);
    int k = count_guid(m, g) ? path_slot(m, g) : -1;
    if (k < 0)
        return fail(err, WSAEINVAL);
    if (*len < (int)wcslen(m->paths[k].path) + 1)
        return fail(err, WSAEFAULT);
    wcscpy(path, m->paths[k].path);
    return 0;
}

static int m_install(void *ctx, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *list, DWORD n, int *err)
{
    model *m = M(ctx);
    write_begins(m);
    if (!m->admin)
        return fail(err, WSANO_RECOVERY);
    if (count_guid(m, g))
        return fail(err, WSANO_RECOVERY); /* "the provider is already installed" */
    if (!n || m->n + (int)n > MODEL_MAX)
        return fail(err, n ? WSA_NOT_ENOUGH_MEMORY : WSAEINVAL);
    for (DWORD i = 0; i < n; i++) {
        WSAPROTOCOL_INFOW *e = &m->e[m->n++];
        *e = list[i];
        e->ProviderId = *g;
        e->dwCatalogEntryId = m->next_id++;
    }
    set_path(m, g, dll);
    return 0;
}

static int m_deinstall(void *ctx, GUID *g, int *err)
{
    model *m = M(ctx);
    write_begins(m);
    if (!m->admin)
        return fail(err, WSANO_RECOVERY);
    if (!count_guid(m, g))
        return fail(err, WSAEFAULT);
    int k = 0;
    for (int i = 0; i < m->n; i++)
        if (!IsEqualGUID(&m->e[i].ProviderId, g))
            m->e[k++] = m->e[i];
    m->n = k;
    return 0;
}

static int m_update(void *ctx, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *list, DWORD n, int *err)
{
    model *m = M(ctx);
    write_begins(m);
    if (!m->admin)
        return fail(err, WSANO_RECOVERY);
    if (!count_guid(m, g) || count_guid(m, g) != (int)n)
        return fail(err, WSAEINVAL);
    if (m->update_error)
        return fail(err, m->update_error);
    DWORD j = 0;
    for (int i = 0; i < m->n; i++) {
        if (!IsEqualGUID(&m->e[i].ProviderId, g))
            continue;
        DWORD id = m->e[i].dwCatalogEntryId;
        m->e[i] = list[j++];
        m->e[i].ProviderId = *g;
        m->e[i].dwCatalogEntryId = id;
    }
    set_path(m, g, dll);
    return 0;
}

static int m_order(void *ctx, DWORD *ids, DWORD n)
{
    model *m = M(ctx);
    write_begins(m);
    if (!m->admin)
        return WSANO_RECOVERY;
    if (m->order_error)
        return m->order_error;
    if ((int)n != m->n)
        return WSAEINVAL;
    WSAPROTOCOL_INFOW next[MODEL_MAX];
    for (DWORD i = 0; i < n; i++) {
        int found = -1;
        for (int k = 0; k < m->n; k++)
            if (m->e[k].dwCatalogEntryId == ids[i])
                found = k;
        for (DWORD j = 0; j < i; j++)
            if (ids[j] == ids[i])
                found = -1;
        if (found < 0)
            return WSAEINVAL;
        next[i] = m->e[found];
    }
    memcpy(m->e, next, sizeof(WSAPROTOCOL_INFOW) * n);
    return 0;
}

static WSAPROTOCOL_INFOW base(DWORD id, int af, int type, int proto, const wchar_t *name)
{
    static const GUID msafd = {0xe70f1aa0, 0xab8b, 0x11cf, {0x8c, 0xa3, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92}};
    WSAPROTOCOL_INFOW e;
    memset(&e, 0, sizeof e);
    e.ProviderId = msafd;
    e.dwCatalogEntryId = id;
    e.iAddressFamily = af;
    e.iSocketType = type;
    e.iProtocol = proto;
    e.ProtocolChain.ChainLen = BASE_PROTOCOL;
    e.iVersion = 2;
    e.dwServiceFlags1 = XP1_IFS_HANDLES | (type == SOCK_STREAM ? XP1_GUARANTEED_DELIVERY | XP1_GRACEFUL_CLOSE : 0);
    e.dwProviderFlags = PFL_MATCHES_PROTOCOL_ZERO;
    lstrcpynW(e.szProtocol, name, WSAPROTOCOL_LEN + 1);
    return e;
}

void model_init(model *m, wsc_ops *o)
{
    memset(m, 0, sizeof *m);
    m->crash_after = -1;
    m->admin = 1;
    m->next_id = 1001;
    static const int afs[2] = {AF_INET, AF_INET6};
    for (int a = 0; a < 2; a++) {
        const wchar_t *v = a ? L"IPv6" : L"IPv4";
        wchar_t name[64];
        _snwprintf(name, 64, L"MSAFD Tcpip [TCP/%ls]", v);
        m->e[m->n++] = base(m->next_id++, afs[a], SOCK_STREAM, IPPROTO_TCP, name);
        _snwprintf(name, 64, L"MSAFD Tcpip [UDP/%ls]", v);
        m->e[m->n++] = base(m->next_id++, afs[a], SOCK_DGRAM, IPPROTO_UDP, name);
        _snwprintf(name, 64, L"MSAFD Tcpip [RAW/%ls]", v);
        m->e[m->n++] = base(m->next_id++, afs[a], SOCK_RAW, 0, name);
    }
    set_path(m, &m->e[0].ProviderId, L"%SystemRoot%\\system32\\mswsock.dll");
    memset(o, 0, sizeof *o);
    o->name = "model";
    o->ctx = m;
    o->enumerate = m_enum;
    o->get_path = m_path;
    o->install = m_install;
    o->deinstall = m_deinstall;
    o->update = m_update;
    o->write_order = m_order;
}

const WSAPROTOCOL_INFOW *model_entry(const model *m, DWORD id)
{
    for (int i = 0; i < m->n; i++)
        if (m->e[i].dwCatalogEntryId == id)
            return &m->e[i];
    return NULL;
}

const WSAPROTOCOL_INFOW *model_tcp_top(const model *m, int af)
{
    for (int i = 0; i < m->n; i++)
        if (m->e[i].iAddressFamily == af && m->e[i].iSocketType == SOCK_STREAM &&
            m->e[i].iProtocol == IPPROTO_TCP && !(m->e[i].dwProviderFlags & PFL_HIDDEN))
            return &m->e[i];
    return NULL;
}

int model_walk(const model *m, const WSAPROTOCOL_INFOW *e, DWORD out[MAX_PROTOCOL_CHAIN])
{
    if (e->ProtocolChain.ChainLen == BASE_PROTOCOL) {
        out[0] = e->dwCatalogEntryId;
        return 1;
    }
    int n = e->ProtocolChain.ChainLen;
    if (n < 2 || n > MAX_PROTOCOL_CHAIN)
        return -1;
    for (int k = 0; k < n; k++) {
        const WSAPROTOCOL_INFOW *x = model_entry(m, e->ProtocolChain.ChainEntries[k]);
        int want = k == n - 1 ? BASE_PROTOCOL : LAYERED_PROTOCOL;
        if (!x || x->ProtocolChain.ChainLen != want)
            return -1;
        out[k] = x->dwCatalogEntryId;
    }
    return n;
}

DWORD model_other_lsp(model *m, const GUID *g, int af, DWORD over)
{
    wsc_ops o;
    memset(&o, 0, sizeof o);
    o.ctx = m;
    o.install = m_install;
    o.write_order = m_order;
    const WSAPROTOCOL_INFOW *top = model_entry(m, over);
    WSAPROTOCOL_INFOW layer = *top, chain = *top;
    layer.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
    layer.dwProviderFlags |= PFL_HIDDEN;
    lstrcpynW(layer.szProtocol, L"other layer", WSAPROTOCOL_LEN + 1);
    int err = 0, crash = m->crash_after;
    m->crash_after = -1; /* the other vendor's installer is not under test */
    GUID lg = *g;
    lg.Data4[7] ^= 0xff; /* its layer has a GUID of its own, as instlsp's does */
    o.install(m, &lg, L"C:\\Program Files\\Other\\other.dll", &layer, 1, &err);
    DWORD lid = m->e[m->n - 1].dwCatalogEntryId;
    int len = top->ProtocolChain.ChainLen == BASE_PROTOCOL ? 1 : top->ProtocolChain.ChainLen;
    chain.ProtocolChain.ChainEntries[0] = lid;
    for (int k = 0; k < len; k++)
        chain.ProtocolChain.ChainEntries[k + 1] = len == 1 ? over : top->ProtocolChain.ChainEntries[k];
    chain.ProtocolChain.ChainLen = len + 1;
    chain.iAddressFamily = af;
    lstrcpynW(chain.szProtocol, L"other over tcp", WSAPROTOCOL_LEN + 1);
    o.install(m, (GUID *)g, L"C:\\Program Files\\Other\\other.dll", &chain, 1, &err);
    DWORD ids[MODEL_MAX];
    ids[0] = m->e[m->n - 1].dwCatalogEntryId;
    for (int i = 0; i < m->n - 1; i++)
        ids[i + 1] = m->e[i].dwCatalogEntryId;
    o.write_order(m, ids, (DWORD)m->n);
    m->writes -= 3;
    m->crash_after = crash;
    return lid;
}
