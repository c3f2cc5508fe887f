/* catalog.c - install, check, remove and repair the wsdx entries in one
 * Winsock catalog, through the WSC* table of catalog.h.
 *
 * What we own: the hidden layer entry (GUID ...0D11), the wsdx protocol
 * entries (...0D12) and, only when asked for, the transparent chains
 * (...0D13), which only observe. Each is chained over the entry that is on
 * top of the catalog order for TCP of its family today (another LSP's chain
 * or the base entry), as the SDK's instlsp layers a new LSP.
 *
 * Order of writes, chosen so that any prefix of them leaves a valid catalog:
 *  install: layer, protocol entries, chains, order (a chain names only ids
 *           that exist when it is written);
 *  remove:  first strip our ids from other LSPs' chains (WSCUpdateProvider,
 *           as the SDK's lspdel does), then our chains and protocol entries,
 *           the layer last;
 *  upgrade: WSCUpdateProvider on our GUIDs with the new DLL path; the ids stay,
 *           so chains of LSPs over ours stay valid. */
#include "catalog_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsp.h"

const GUID wsdx_lsp_guid_layer = WSDX_LSP_GUID_LAYER_INIT;
const GUID wsdx_lsp_guid_proto = WSDX_LSP_GUID_PROTO_INIT;
const GUID wsdx_lsp_guid_chain = WSDX_LSP_GUID_CHAIN_INIT;


int wsdx_snap_take(const wsc_ops *o, wsdx_snap *s)
{
    DWORD size = 0;
    int err = 0;
    s->e = NULL;
    s->n = 0;
    for (int tries = 0; tries < 4; tries++) { /* the catalog may grow between the calls */
        WSAPROTOCOL_INFOW *b = size ? (WSAPROTOCOL_INFOW *)malloc(size) : NULL;
        if (size && !b)
            return WSA_NOT_ENOUGH_MEMORY;
        int n = o->enumerate(o->ctx, b, &size, &err);
        if (n != SOCKET_ERROR) {
            s->e = b;
            s->n = n;
            return 0;
        }
        free(b);
        if (err != WSAENOBUFS)
            return err;
    }
    return WSAENOBUFS;
}

void wsdx_snap_free(wsdx_snap *s)
{
    free(s->e);
    s->e = NULL;
    s->n = 0;
}

int find_id(const wsdx_snap *s, DWORD id)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i].dwCatalogEntryId == id)
            return i;
    return -1;
}

DWORD layer_id(const wsdx_snap *s)
{
    for (int i = 0; i < s->n; i++)
        if (IsEqualGUID(&s->e[i].ProviderId, &wsdx_lsp_guid_layer) &&
            s->e[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL)
            return s->e[i].dwCatalogEntryId;
    return 0;
}

int our_guid(const GUID *g)
{
    return IsEqualGUID(g, &wsdx_lsp_guid_layer) || IsEqualGUID(g, &wsdx_lsp_guid_proto) ||
           IsEqualGUID(g, &wsdx_lsp_guid_chain);
}

int chain_len(const WSAPROTOCOL_INFOW *e)
{
    int n = e->ProtocolChain.ChainLen;
    return n < 0 ? 0 : n > MAX_PROTOCOL_CHAIN ? MAX_PROTOCOL_CHAIN : n;
}

int names(const WSAPROTOCOL_INFOW *e, DWORD id)
{
    for (int k = 0; k < chain_len(e) && e->ProtocolChain.ChainLen > 1; k++)
        if (e->ProtocolChain.ChainEntries[k] == id)
            return 1;
    return 0;
}

int is_ours(const WSAPROTOCOL_INFOW *e, DWORD layer)
{
    return our_guid(&e->ProviderId) ||
           (layer && e->ProtocolChain.ChainLen > 1 && e->ProtocolChain.ChainEntries[0] == layer);
}

int wsdx_cat_dangling(const wsdx_snap *s, int print)
{
    int bad = 0;
    for (int i = 0; i < s->n; i++) {
        const WSAPROTOCOL_INFOW *e = &s->e[i];
        if (e->ProtocolChain.ChainLen <= BASE_PROTOCOL)
            continue;
        for (int k = 0; k < chain_len(e); k++)
            if (find_id(s, e->ProtocolChain.ChainEntries[k]) < 0) {
                bad++;
                if (print)
                    printf("  entry %lu (%ls) names missing entry %lu\n", (unsigned long)e->dwCatalogEntryId,
                           e->szProtocol, (unsigned long)e->ProtocolChain.ChainEntries[k]);
                break;
            }
    }
    return bad;
}

/* The entry on top of the order for TCP of af that is not ours and not over
 * ours, with room for one more link; -1 if none. */
static int top_tcp(const wsdx_snap *s, int af, DWORD layer)
{
    for (int i = 0; i < s->n; i++) {
        const WSAPROTOCOL_INFOW *e = &s->e[i];
        if (e->iAddressFamily != af || e->iSocketType != SOCK_STREAM || e->iProtocol != IPPROTO_TCP)
            continue;
        if (e->ProtocolChain.ChainLen < BASE_PROTOCOL || e->ProtocolChain.ChainLen >= MAX_PROTOCOL_CHAIN)
            continue;
        if (is_ours(e, layer) || (layer && names(e, layer)) || (e->dwProviderFlags & PFL_HIDDEN))
            continue;
        return i;
    }
    return -1;
}

/* e's chain = our layer over top */
static void chain_over(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *top, DWORD layer)
{
    WSAPROTOCOLCHAIN *c = &e->ProtocolChain;
    c->ChainEntries[0] = layer;
    if (top->ProtocolChain.ChainLen == BASE_PROTOCOL) {
        c->ChainEntries[1] = top->dwCatalogEntryId;
        c->ChainLen = 2;
    } else {
        for (int k = 0; k < chain_len(top); k++)
            c->ChainEntries[k + 1] = top->ProtocolChain.ChainEntries[k];
        c->ChainLen = chain_len(top) + 1;
    }
}

static void make_layer(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *top)
{
    *e = *top;
    e->iSocketType = 0;
    e->iProtocol = 0;
    e->dwProviderFlags |= PFL_HIDDEN;
    e->dwProviderFlags &= ~(PFL_MATCHES_PROTOCOL_ZERO | PFL_RECOMMENDED_PROTO_ENTRY);
    e->ProtocolChain.ChainLen = LAYERED_PROTOCOL;
    lstrcpynW(e->szProtocol, WSDX_LSP_NAME L" layer", WSAPROTOCOL_LEN + 1);
}

static void make_chain(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *top, DWORD layer)
{
    *e = *top;
    e->ProviderId = wsdx_lsp_guid_chain;
    chain_over(e, top, layer);
    _snwprintf(e->szProtocol, WSAPROTOCOL_LEN, WSDX_LSP_NAME L" over [%ls]", top->szProtocol);
    e->szProtocol[WSAPROTOCOL_LEN] = 0;
}

static void make_proto(WSAPROTOCOL_INFOW *e, const WSAPROTOCOL_INFOW *top, DWORD layer, int message)
{
    *e = *top;
    e->ProviderId = wsdx_lsp_guid_proto;
    chain_over(e, top, layer);
    _snwprintf(e->szProtocol, WSAPROTOCOL_LEN, L"%ls over [%ls]", message ? L"wsdx message" : L"wsdx stream",
               top->szProtocol);
    e->szProtocol[WSAPROTOCOL_LEN] = 0;
    e->dwServiceFlags1 = XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | XP1_GRACEFUL_CLOSE | XP1_DISCONNECT_DATA |
                         (message ? XP1_MESSAGE_ORIENTED : 0); /* own handles: not IFS */
    e->dwProviderFlags &= ~(PFL_MATCHES_PROTOCOL_ZERO | PFL_RECOMMENDED_PROTO_ENTRY);
    e->iSocketType = message ? SOCK_SEQPACKET : SOCK_STREAM;
    e->iProtocol = message ? WSDX_LSP_PROTO_MESSAGE : WSDX_LSP_PROTO_STREAM;
    e->iProtocolMaxOffset = 0;
    e->dwMessageSize = message ? (16u * 1024 * 1024) : 0;
}

/* The wanted entries of one GUID, from the catalog as it is; count. */
static int wanted(const wsdx_snap *s, DWORD layer, const GUID *g, WSAPROTOCOL_INFOW out[4])
{
    static const int afs[2] = {AF_INET, AF_INET6};
    int m = 0;
    for (int msg = 0; msg < 2; msg++)
        for (int a = 0; a < 2; a++) {
            int t = top_tcp(s, afs[a], layer);
            if (t < 0)
                continue;
            if (IsEqualGUID(g, &wsdx_lsp_guid_proto))
                make_proto(&out[m++], &s->e[t], layer, msg);
            else if (!msg)
                make_chain(&out[m++], &s->e[t], layer);
        }
    return m;
}

static int same_chain(const WSAPROTOCOL_INFOW *a, const WSAPROTOCOL_INFOW *b)
{
    if (a->ProtocolChain.ChainLen != b->ProtocolChain.ChainLen)
        return 0;
    for (int k = 0; k < chain_len(a); k++)
        if (a->ProtocolChain.ChainEntries[k] != b->ProtocolChain.ChainEntries[k])
            return 0;
    return 1;
}

static int path_is(const wsc_ops *o, const GUID *g, const wchar_t *dll)
{
    wchar_t p[MAX_PATH];
    int len = MAX_PATH, err = 0;
    GUID id = *g;
    if (o->get_path(o->ctx, &id, p, &len, &err) == SOCKET_ERROR)
        return 0;
    return !_wcsicmp(p, dll);
}

/* Our entries of GUID g; count (and their indexes in idx). */
int ours_of(const wsdx_snap *s, const GUID *g, int idx[OURS_MAX])
{
    int m = 0;
    for (int i = 0; i < s->n && m < OURS_MAX; i++)
        if (IsEqualGUID(&s->e[i].ProviderId, g))
            idx[m++] = i;
    return m;
}

/* Entries match: same count, each wanted one present (by family, type and chain). */
static int guid_matches(const wsdx_snap *s, const GUID *g, const WSAPROTOCOL_INFOW *want, int nw)
{
    int idx[OURS_MAX];
    if (ours_of(s, g, idx) != nw)
        return 0;
    for (int w = 0; w < nw; w++) {
        int found = 0;
        for (int k = 0; k < nw && !found; k++) {
            const WSAPROTOCOL_INFOW *e = &s->e[idx[k]];
            found = e->iAddressFamily == want[w].iAddressFamily && e->iSocketType == want[w].iSocketType &&
                    e->iProtocol == want[w].iProtocol && same_chain(e, &want[w]);
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* Each chain of ours is ordered before the entry it covers. */
static int chains_first(const wsdx_snap *s)
{
    for (int i = 0; i < s->n; i++) {
        if (!IsEqualGUID(&s->e[i].ProviderId, &wsdx_lsp_guid_chain))
            continue;
        const WSAPROTOCOLCHAIN *c = &s->e[i].ProtocolChain;
        for (int j = 0; j < i; j++) { /* anything above us for the same TCP, not over us, wins */
            const WSAPROTOCOL_INFOW *e = &s->e[j];
            if (e->iAddressFamily == s->e[i].iAddressFamily && e->iSocketType == SOCK_STREAM &&
                e->iProtocol == IPPROTO_TCP && !names(e, c->ChainEntries[0]) && !our_guid(&e->ProviderId))
                return 0;
        }
    }
    return 1;
}

static int why_set(char *why, size_t len, const char *msg)
{
    if (why && len)
        snprintf(why, len, "%s", msg);
    return 0;
}

int wsdx_cat_matches(const wsc_ops *o, const wsdx_want *w, char *why, size_t why_len)
{
    wsdx_snap s;
    if (wsdx_snap_take(o, &s))
        return why_set(why, why_len, "cannot enumerate the catalog");
    DWORD layer = layer_id(&s);
    WSAPROTOCOL_INFOW want[4];
    int idx[OURS_MAX], ok = 0, np = layer ? wanted(&s, layer, &wsdx_lsp_guid_proto, want) : 0;
    if (!layer)
        why_set(why, why_len, "no wsdx layer entry");
    else if (ours_of(&s, &wsdx_lsp_guid_layer, idx) != 1)
        why_set(why, why_len, "more than one wsdx layer entry");
    else if (!np || !guid_matches(&s, &wsdx_lsp_guid_proto, want, np))
        why_set(why, why_len, "wsdx protocol entries missing, extra, or not over the top TCP entries");
    else if (!guid_matches(&s, &wsdx_lsp_guid_chain, want, w->chains ? wanted(&s, layer, &wsdx_lsp_guid_chain, want) : 0))
        why_set(why, why_len, w->chains ? "transparent chains missing or stale" : "transparent chains present");
    else if (w->chains && !chains_first(&s))
        why_set(why, why_len, "transparent chains not first in the catalog order");
    else if (!path_is(o, &wsdx_lsp_guid_layer, w->dll) || !path_is(o, &wsdx_lsp_guid_proto, w->dll) ||
             (w->chains && !path_is(o, &wsdx_lsp_guid_chain, w->dll)))
        why_set(why, why_len, "registered with another DLL path");
    else
        ok = 1;
    for (int i = 0; ok && i < s.n; i++)
        if (!our_guid(&s.e[i].ProviderId) && is_ours(&s.e[i], layer))
            ok = why_set(why, why_len, "a stray entry chained at our layer");
    if (ok && wsdx_cat_dangling(&s, 0))
        ok = why_set(why, why_len, "an entry names a missing catalog id");
    wsdx_snap_free(&s);
    return ok;
}

/* ------------------------------------------------------------------ install */

static int install_guid(const wsc_ops *o, const GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *list, int n,
                        const char *what)
{
    GUID id = *g;
    int err = 0;
    if (o->install(o->ctx, &id, dll, list, (DWORD)n, &err) == SOCKET_ERROR) {
        printf("%s catalog: WSCInstallProvider(%s) failed: %d\n", o->name, what, err);
        return 1;
    }
    printf("%s catalog: installed %s (%d entr%s)\n", o->name, what, n, n == 1 ? "y" : "ies");
    return 0;
}

/* Our chains move up to just before the entry each covers; the rest keep their order. */
static int order_chains(const wsc_ops *o)
{
    wsdx_snap s;
    if (wsdx_snap_take(o, &s))
        return 1;
    DWORD *ids = (DWORD *)malloc(sizeof(DWORD) * (size_t)(s.n ? s.n : 1));
    int m = 0, rc = 0;
    for (int i = 0; i < s.n; i++) {
        if (IsEqualGUID(&s.e[i].ProviderId, &wsdx_lsp_guid_chain))
            continue;
        for (int j = 0; j < s.n; j++) /* a chain goes before the first TCP entry of its family */
            if (IsEqualGUID(&s.e[j].ProviderId, &wsdx_lsp_guid_chain) &&
                s.e[j].iAddressFamily == s.e[i].iAddressFamily && s.e[i].iSocketType == SOCK_STREAM &&
                s.e[i].iProtocol == IPPROTO_TCP && !s.e[j].dwProviderReserved) {
                ids[m++] = s.e[j].dwCatalogEntryId;
                s.e[j].dwProviderReserved = 1; /* placed (this copy only) */
            }
        ids[m++] = s.e[i].dwCatalogEntryId;
    }
    for (int j = 0; j < s.n; j++)
        if (IsEqualGUID(&s.e[j].ProviderId, &wsdx_lsp_guid_chain) && !s.e[j].dwProviderReserved)
            ids[m++] = s.e[j].dwCatalogEntryId;
    int err = o->write_order(o->ctx, ids, (DWORD)m);
    if (err) {
        printf("%s catalog: WSCWriteProviderOrder failed: %d\n", o->name, err);
        rc = 1;
    }
    free(ids);
    wsdx_snap_free(&s);
    return rc;
}

/* From a catalog with nothing of ours: layer, protocol entries, chains, order. */
static int install_fresh(const wsc_ops *o, const wsdx_want *w)
{
    wsdx_snap s;
    int rc = 1;
    WSAPROTOCOL_INFOW list[4];
    if (wsdx_snap_take(o, &s))
        return 1;
    int t = top_tcp(&s, AF_INET, 0);
    if (t < 0)
        t = top_tcp(&s, AF_INET6, 0);
    if (t < 0) {
        printf("%s catalog: no TCP entry to layer over\n", o->name);
        goto out;
    }
    make_layer(&list[0], &s.e[t]);
    if (install_guid(o, &wsdx_lsp_guid_layer, w->dll, list, 1, "the wsdx layer"))
        goto out;
    wsdx_snap_free(&s);
    if (wsdx_snap_take(o, &s) || !layer_id(&s)) {
        printf("%s catalog: the layer entry did not appear\n", o->name);
        goto out;
    }
    DWORD layer = layer_id(&s);
    int n = wanted(&s, layer, &wsdx_lsp_guid_proto, list);
    if (install_guid(o, &wsdx_lsp_guid_proto, w->dll, list, n, "the wsdx protocol entries"))
        goto out;
    if (w->chains) {
        n = wanted(&s, layer, &wsdx_lsp_guid_chain, list);
        if (install_guid(o, &wsdx_lsp_guid_chain, w->dll, list, n, "the transparent chains") || order_chains(o))
            goto out;
    }
    if (o->set_categories) { /* LSP_INSPECTOR...: informational; failure changes nothing */
        GUID g = wsdx_lsp_guid_layer;
        int err = 0;
        if (o->set_categories(o->ctx, &g, LSP_INSPECTOR | LSP_INBOUND_MODIFY | LSP_OUTBOUND_MODIFY, &err))
            printf("%s catalog: WSCSetProviderInfo(LSP categories) failed: %d (ignored)\n", o->name, err);
    }
    rc = 0;
out:
    wsdx_snap_free(&s);
    return rc;
}

/* Our entries are all there as wanted but for the DLL path: switch it in place. */
static int update_paths(const wsc_ops *o, const wsdx_want *w)
{
    static const GUID *gs[3] = {&wsdx_lsp_guid_layer, &wsdx_lsp_guid_proto, &wsdx_lsp_guid_chain};
    wsdx_snap s;
    if (wsdx_snap_take(o, &s))
        return 1;
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        int idx[OURS_MAX], n = ours_of(&s, gs[k], idx);
        WSAPROTOCOL_INFOW list[OURS_MAX];
        if (!n || path_is(o, gs[k], w->dll))
            continue;
        for (int i = 0; i < n; i++)
            list[i] = s.e[idx[i]];
        GUID g = *gs[k];
        int err = 0;
        if (o->update(o->ctx, &g, w->dll, list, (DWORD)n, &err) == SOCKET_ERROR) {
            printf("%s catalog: WSCUpdateProvider(new DLL path) failed: %d\n", o->name, err);
            rc = 1;
        }
    }
    wsdx_snap_free(&s);
    if (!rc)
        printf("%s catalog: now registered with %ls (catalog ids kept)\n", o->name, w->dll);
    return rc;
}

/* Would w match once the DLL path were switched? */
static int matches_but_path(const wsc_ops *o, const wsdx_want *w)
{
    wsdx_snap s;
    if (wsdx_snap_take(o, &s))
        return 0;
    wchar_t p[MAX_PATH];
    int len = MAX_PATH, err = 0, ok = 0;
    GUID g = wsdx_lsp_guid_layer;
    if (layer_id(&s) && o->get_path(o->ctx, &g, p, &len, &err) != SOCKET_ERROR) {
        wsdx_want as_is = {p, w->chains};
        ok = wsdx_cat_matches(o, &as_is, NULL, 0);
        if (ok)
            ok = path_is(o, &wsdx_lsp_guid_proto, p) && (!w->chains || path_is(o, &wsdx_lsp_guid_chain, p));
    }
    wsdx_snap_free(&s);
    return ok;
}

static int check_done(const wsc_ops *o, const wsdx_want *w)
{
    char why[160];
    if (wsdx_cat_matches(o, w, why, sizeof why))
        return 0;
    printf("%s catalog: after install: %s\n", o->name, why);
    return 1;
}

int wsdx_cat_install(const wsc_ops *o, const wsdx_want *w)
{
    char why[160];
    if (wsdx_cat_matches(o, w, why, sizeof why)) {
        printf("%s catalog: wsdx is installed as wanted (%ls); nothing to do\n", o->name, w->dll);
        return 0;
    }
    wsdx_snap s;
    if (wsdx_snap_take(o, &s)) {
        printf("%s catalog: cannot enumerate\n", o->name);
        return 1;
    }
    int present = layer_id(&s) != 0;
    for (int i = 0; i < s.n; i++)
        present |= our_guid(&s.e[i].ProviderId);
    wsdx_snap_free(&s);
    if (present && matches_but_path(o, w))
        return update_paths(o, w) || check_done(o, w);
    if (present) {
        printf("%s catalog: wsdx is there but not as wanted (%s): rebuilding\n", o->name, why);
        return wsdx_cat_repair(o, w);
    }
    if (install_fresh(o, w) || check_done(o, w)) {
        printf("%s catalog: install failed; taking out what it added\n", o->name);
        wsdx_cat_remove(o);
        return 1;
    }
    return 0;
}

int wsdx_cat_repair(const wsc_ops *o, const wsdx_want *w)
{
    if (wsdx_cat_remove(o))
        return 1;
    if (install_fresh(o, w) || check_done(o, w)) {
        printf("%s catalog: install failed; taking out what it added\n", o->name);
        wsdx_cat_remove(o);
        return 1;
    }
    return 0;
}
