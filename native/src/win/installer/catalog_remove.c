/* catalog_remove.c - take the wsdx entries out of one catalog without
 * breaking LSPs layered over them, and list a catalog. See catalog.c for the
 * order of writes and why every prefix of them leaves a valid catalog. */
#include "catalog_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsp.h"

/* ------------------------------------------------------------------- remove */

/* Is id one of ours in s? */
static int our_id(const wsdx_snap *s, DWORD layer, DWORD id)
{
    int i = find_id(s, id);
    return i >= 0 && is_ours(&s->e[i], layer);
}

/* Other LSPs' entries that name one of our ids lose those links
 * (WSCUpdateProvider on their GUID, with all of that GUID's entries and its
 * own DLL path), as the SDK's lspdel does; their ids stay. */
static int strip_dependents(const wsc_ops *o, const wsdx_snap *s, DWORD layer)
{
    for (int i = 0; i < s->n; i++) {
        const WSAPROTOCOL_INFOW *e = &s->e[i];
        int dep = 0;
        for (int k = 1; k < chain_len(e) && e->ProtocolChain.ChainLen > 1 && !is_ours(e, layer); k++)
            dep |= our_id(s, layer, e->ProtocolChain.ChainEntries[k]);
        int first = 1;
        for (int j = 0; j < i && dep; j++)
            first &= !IsEqualGUID(&s->e[j].ProviderId, &e->ProviderId);
        if (!dep || !first)
            continue; /* one update per GUID, at its first entry */
        WSAPROTOCOL_INFOW list[OURS_MAX];
        int n = 0;
        for (int j = i; j < s->n && n < OURS_MAX; j++) {
            if (!IsEqualGUID(&s->e[j].ProviderId, &e->ProviderId))
                continue;
            WSAPROTOCOL_INFOW x = s->e[j];
            int m = 0;
            for (int k = 0; k < chain_len(&s->e[j]) && s->e[j].ProtocolChain.ChainLen > 1; k++)
                if (k == 0 || !our_id(s, layer, s->e[j].ProtocolChain.ChainEntries[k]))
                    x.ProtocolChain.ChainEntries[m++] = s->e[j].ProtocolChain.ChainEntries[k];
            if (s->e[j].ProtocolChain.ChainLen > 1)
                x.ProtocolChain.ChainLen = m;
            list[n++] = x;
        }
        wchar_t path[MAX_PATH];
        int len = MAX_PATH, err = 0;
        GUID g = e->ProviderId;
        if (o->get_path(o->ctx, &g, path, &len, &err) == SOCKET_ERROR ||
            o->update(o->ctx, &g, path, list, (DWORD)n, &err) == SOCKET_ERROR) {
            printf("%s catalog: \"%ls\" is layered over wsdx and could not be re-chained without it (%d);\n"
                   "  wsdx stays installed. Remove that LSP first, then wsdx.\n",
                   o->name, e->szProtocol, err);
            return 1;
        }
        printf("%s catalog: \"%ls\" was layered over wsdx: its chains now skip wsdx\n", o->name, e->szProtocol);
    }
    return 0;
}

int wsdx_cat_remove(const wsc_ops *o)
{
    static const GUID *gs[3] = {&wsdx_lsp_guid_chain, &wsdx_lsp_guid_proto, &wsdx_lsp_guid_layer};
    wsdx_snap s;
    if (wsdx_snap_take(o, &s)) {
        printf("%s catalog: cannot enumerate\n", o->name);
        return 1;
    }
    DWORD layer = layer_id(&s);
    int rc = strip_dependents(o, &s, layer), removed = 0;
    /* strays: other GUIDs whose chain starts at our layer; then ours, the layer last */
    for (int i = 0; i < s.n && !rc; i++) {
        const GUID *g = &s.e[i].ProviderId;
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= !IsEqualGUID(&s.e[j].ProviderId, g);
        if (!first || our_guid(g) || !is_ours(&s.e[i], layer))
            continue;
        GUID id = *g;
        int err = 0;
        if (o->deinstall(o->ctx, &id, &err) == SOCKET_ERROR) {
            printf("%s catalog: deinstalling %ls failed: %d\n", o->name, s.e[i].szProtocol, err);
            rc = 1;
        }
        removed++;
    }
    for (int k = 0; k < 3 && !rc; k++) {
        int idx[OURS_MAX];
        if (!ours_of(&s, gs[k], idx))
            continue;
        GUID id = *gs[k];
        int err = 0;
        if (o->deinstall(o->ctx, &id, &err) == SOCKET_ERROR) {
            printf("%s catalog: WSCDeinstallProvider failed: %d\n", o->name, err);
            rc = 1;
        }
        removed++;
    }
    wsdx_snap_free(&s);
    if (rc) {
        printf("%s catalog: remove stopped; the catalog is valid; run `wsdx-install repair` or `remove` again\n",
               o->name);
        return 1;
    }
    printf("%s catalog: %s\n", o->name, removed ? "wsdx removed" : "wsdx not installed");
    return 0;
}

/* --------------------------------------------------------------------- list */

int wsdx_cat_list(const wsc_ops *o)
{
    wsdx_snap s;
    if (wsdx_snap_take(o, &s)) {
        printf("%s catalog: cannot enumerate\n", o->name);
        return 1;
    }
    DWORD layer = layer_id(&s);
    int ours = 0;
    printf("%s catalog: %d catalog entries\n", o->name, s.n);
    for (int i = 0; i < s.n; i++) {
        const WSAPROTOCOL_INFOW *e = &s.e[i];
        int mine = is_ours(e, layer), over = !mine && layer && names(e, layer);
        ours += mine;
        printf("%c %5lu  af=%-2d type=%-2d proto=%-5d flags1=0x%05lx chain=%d[", mine ? '*' : over ? '^' : ' ',
               (unsigned long)e->dwCatalogEntryId, e->iAddressFamily, e->iSocketType, e->iProtocol,
               (unsigned long)e->dwServiceFlags1, e->ProtocolChain.ChainLen);
        for (int j = 0; j < chain_len(e) && e->ProtocolChain.ChainLen > 1; j++)
            printf("%s%lu", j ? " " : "", (unsigned long)e->ProtocolChain.ChainEntries[j]);
        printf("]  %ls\n", e->szProtocol);
    }
    if (wsdx_cat_dangling(&s, 1))
        printf("%s catalog: entries above name missing ids: run `wsdx-install repair`\n", o->name);
    printf("%s catalog: wsdx entries: %d (%s); ^ = another LSP layered over wsdx\n", o->name, ours,
           ours ? "installed" : "not installed");
    wsdx_snap_free(&s);
    return 0;
}

int wsdx_cat_paths(const wsc_ops *o, wchar_t (*paths)[MAX_PATH], int max)
{
    static const GUID *gs[3] = {&wsdx_lsp_guid_layer, &wsdx_lsp_guid_proto, &wsdx_lsp_guid_chain};
    int n = 0;
    for (int k = 0; k < 3 && n < max; k++) {
        GUID g = *gs[k];
        int len = MAX_PATH, err = 0, dup = 0;
        if (o->get_path(o->ctx, &g, paths[n], &len, &err) == SOCKET_ERROR)
            continue;
        for (int j = 0; j < n; j++)
            dup |= !_wcsicmp(paths[j], paths[n]);
        n += !dup;
    }
    return n;
}
