/* test_catalog.c - the installer's catalog work (src/win/installer/catalog.c)
 * against the catalog model: what "installed" means, upgrade in place, the
 * opt-in transparent chains, another vendor's LSP over ours and under ours,
 * a failed WSCWriteProviderOrder, and a crash between any two writes of
 * install, upgrade, remove and repair. Names: issue 15 / issue 9 items. */
#include <io.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "catalog_model.h"
#include "check.h"
#include "lsp.h"

static const GUID other_guid = {0x1234abcd, 0x1111, 0x2222, {1, 2, 3, 4, 5, 6, 7, 8}};
static const wchar_t *DLL_A = L"C:\\Program Files\\wsdx\\wsdx-lsp-1.dll";
static const wchar_t *DLL_B = L"C:\\Program Files\\wsdx\\wsdx-lsp-2.dll";

static int saved_stdout = -1;
static void quiet(int on) /* the installer's messages are for people; tests read the model */
{
    fflush(stdout);
    if (on) {
        saved_stdout = _dup(1);
        int nul = _open("NUL", _O_WRONLY);
        _dup2(nul, 1);
        _close(nul);
    } else if (saved_stdout >= 0) {
        _dup2(saved_stdout, 1);
        _close(saved_stdout);
        saved_stdout = -1;
    }
}

static int count_guid(const model *m, const GUID *g)
{
    int n = 0;
    for (int i = 0; i < m->n; i++)
        n += IsEqualGUID(&m->e[i].ProviderId, g);
    return n;
}

static int ours(const model *m)
{
    return count_guid(m, &wsdx_lsp_guid_layer) + count_guid(m, &wsdx_lsp_guid_proto) +
           count_guid(m, &wsdx_lsp_guid_chain);
}

/* Every visible entry opens: its chain names only entries that exist and ends at a base. */
static int all_walk(const model *m)
{
    DWORD ids[MAX_PROTOCOL_CHAIN];
    for (int i = 0; i < m->n; i++)
        if (m->e[i].ProtocolChain.ChainLen != LAYERED_PROTOCOL && model_walk(m, &m->e[i], ids) < 0)
            return 0;
    return 1;
}

/* The other vendor's TCP/IPv4 chain, or NULL. */
static const WSAPROTOCOL_INFOW *other_chain(const model *m)
{
    for (int i = 0; i < m->n; i++)
        if (IsEqualGUID(&m->e[i].ProviderId, &other_guid))
            return &m->e[i];
    return NULL;
}

/* catalog equal to a copy: same ids, order and chains */
static int same_catalog(const model *a, const model *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->e[i].dwCatalogEntryId != b->e[i].dwCatalogEntryId ||
            memcmp(&a->e[i].ProtocolChain, &b->e[i].ProtocolChain, sizeof a->e[i].ProtocolChain))
            return 0;
    return 1;
}

static int installed_as(const wsc_ops *o, const wchar_t *dll, int chains)
{
    wsdx_want w = {dll, chains};
    return wsdx_cat_matches(o, &w, NULL, 0);
}

static int install(const wsc_ops *o, const wchar_t *dll, int chains)
{
    wsdx_want w = {dll, chains};
    quiet(1);
    int rc = wsdx_cat_install(o, &w);
    quiet(0);
    return rc;
}

static int repair(const wsc_ops *o, const wchar_t *dll, int chains)
{
    wsdx_want w = {dll, chains};
    quiet(1);
    int rc = wsdx_cat_repair(o, &w);
    quiet(0);
    return rc;
}

static int remove_(const wsc_ops *o)
{
    quiet(1);
    int rc = wsdx_cat_remove(o);
    quiet(0);
    return rc;
}

static void I15_4_installedMeansPathChainsAndCount(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    CHECK(!installed_as(&o, DLL_A, 0));
    CHECK_EQ(install(&o, DLL_A, 0), 0);
    CHECK(installed_as(&o, DLL_A, 0));
    CHECK_EQ(count_guid(&m, &wsdx_lsp_guid_layer), 1);
    CHECK_EQ(count_guid(&m, &wsdx_lsp_guid_proto), 4); /* stream + message, IPv4 + IPv6 */
    CHECK(!installed_as(&o, DLL_B, 0));                /* another DLL path is not "installed" */
    int writes = m.writes;
    CHECK_EQ(install(&o, DLL_A, 0), 0); /* again: nothing to do */
    CHECK_EQ(m.writes, writes);
    /* one protocol entry lost (a count mismatch) is not "installed", and install rebuilds */
    int idx = -1;
    for (int i = 0; i < m.n; i++)
        if (IsEqualGUID(&m.e[i].ProviderId, &wsdx_lsp_guid_proto))
            idx = i;
    m.e[idx].ProviderId = other_guid;
    CHECK(!installed_as(&o, DLL_A, 0));
    m.e[idx].ProviderId = wsdx_lsp_guid_proto;
    /* a chain id that no longer names the TCP base (stale ids) is not "installed" */
    m.e[idx].ProtocolChain.ChainEntries[1] = 4242;
    CHECK(!installed_as(&o, DLL_A, 0));
    CHECK_EQ(install(&o, DLL_A, 0), 0);
    CHECK(installed_as(&o, DLL_A, 0));
    CHECK(all_walk(&m));
}

static void I9_5_transparentChainsAreOptIn(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    DWORD base4 = model_tcp_top(&m, AF_INET)->dwCatalogEntryId;
    CHECK_EQ(install(&o, DLL_A, 0), 0);
    CHECK_EQ(count_guid(&m, &wsdx_lsp_guid_chain), 0);
    CHECK_EQ(model_tcp_top(&m, AF_INET)->dwCatalogEntryId, base4); /* plain TCP does not meet wsdx */
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    CHECK_EQ(count_guid(&m, &wsdx_lsp_guid_chain), 2);
    CHECK(IsEqualGUID(&model_tcp_top(&m, AF_INET)->ProviderId, &wsdx_lsp_guid_chain));
    CHECK(IsEqualGUID(&model_tcp_top(&m, AF_INET6)->ProviderId, &wsdx_lsp_guid_chain));
    CHECK(installed_as(&o, DLL_A, 1));
    CHECK_EQ(install(&o, DLL_A, 0), 0); /* and out again */
    CHECK_EQ(count_guid(&m, &wsdx_lsp_guid_chain), 0);
    CHECK(installed_as(&o, DLL_A, 0));
    CHECK(all_walk(&m));
}

static void I15_4_newFolderUpdatesPathInPlace(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    model before = m;
    CHECK_EQ(install(&o, DLL_B, 1), 0);
    CHECK(installed_as(&o, DLL_B, 1));
    CHECK(same_catalog(&m, &before)); /* same ids, same chains: LSPs over ours keep working */
    CHECK_EQ(m.writes - before.writes, 3); /* one WSCUpdateProvider per GUID */
}

static void I15_3_layersOverTheCurrentTopEntry(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    DWORD base4 = model_tcp_top(&m, AF_INET)->dwCatalogEntryId;
    DWORD other = model_other_lsp(&m, &other_guid, AF_INET, base4);
    model before = m;
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    const WSAPROTOCOL_INFOW *top = model_tcp_top(&m, AF_INET);
    CHECK(IsEqualGUID(&top->ProviderId, &wsdx_lsp_guid_chain));
    DWORD ids[MAX_PROTOCOL_CHAIN];
    CHECK_EQ(model_walk(&m, top, ids), 3); /* wsdx -> other -> TCP */
    CHECK_EQ(ids[1], other);
    CHECK_EQ(ids[2], base4);
    for (int i = 0; i < m.n; i++) /* the wsdx protocol entries over the other LSP too */
        if (IsEqualGUID(&m.e[i].ProviderId, &wsdx_lsp_guid_proto) && m.e[i].iAddressFamily == AF_INET)
            CHECK(model_walk(&m, &m.e[i], ids) == 3 && ids[1] == other);
    CHECK(installed_as(&o, DLL_A, 1));
    CHECK_EQ(remove_(&o), 0);
    CHECK(same_catalog(&m, &before)); /* the other LSP as it was, on top */
}

static void I15_3_removeKeepsAnLspLayeredOverOurs(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    DWORD base4 = model_tcp_top(&m, AF_INET)->dwCatalogEntryId;
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    DWORD ours4 = model_tcp_top(&m, AF_INET)->dwCatalogEntryId;
    model_other_lsp(&m, &other_guid, AF_INET, ours4); /* other -> wsdx -> TCP */
    DWORD ids[MAX_PROTOCOL_CHAIN], other_id = other_chain(&m)->dwCatalogEntryId;
    CHECK_EQ(model_walk(&m, other_chain(&m), ids), 3);
    CHECK(installed_as(&o, DLL_A, 1)); /* another LSP above ours changes nothing of ours */
    CHECK_EQ(remove_(&o), 0);
    CHECK_EQ(ours(&m), 0);
    const WSAPROTOCOL_INFOW *oc = other_chain(&m);
    CHECK(oc != NULL);
    CHECK(oc && oc->dwCatalogEntryId == other_id);        /* same entry, re-chained in place */
    CHECK(oc && model_walk(&m, oc, ids) == 2 && ids[1] == base4); /* other -> TCP */
    CHECK(model_tcp_top(&m, AF_INET) == oc);
    CHECK(all_walk(&m));
    /* repair with the other LSP over ours: it ends up skipping wsdx, still working */
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    model_other_lsp(&m, &other_guid, AF_INET, model_tcp_top(&m, AF_INET)->dwCatalogEntryId);
    CHECK_EQ(repair(&o, DLL_A, 1), 0);
    CHECK(installed_as(&o, DLL_A, 1));
    CHECK(all_walk(&m));
}

/* When the LSP over ours cannot be re-chained, nothing of ours is taken out:
 * removing our layer would leave its chain naming a missing entry. */
static void I15_3_removeRefusesWhenTheLspOverOursCannotBeRechained(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    model_other_lsp(&m, &other_guid, AF_INET, model_tcp_top(&m, AF_INET)->dwCatalogEntryId);
    model before = m;
    m.update_error = WSANO_RECOVERY;
    CHECK_EQ(remove_(&o), 1);
    CHECK(same_catalog(&m, &before));
    CHECK(installed_as(&o, DLL_A, 1));
    CHECK(all_walk(&m));
}

static void I15_4_failedProviderOrderFailsAndRollsBack(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    model before = m;
    m.order_error = WSATRY_AGAIN; /* "called by another thread or process" */
    CHECK_EQ(install(&o, DLL_A, 1), 1);
    CHECK_EQ(ours(&m), 0);
    CHECK(same_catalog(&m, &before));
    m.order_error = 0;
    CHECK_EQ(install(&o, DLL_A, 1), 0);
    CHECK(installed_as(&o, DLL_A, 1));
}

static void I15_6_writesWithoutRightsChangeNothing(void)
{
    model m;
    wsc_ops o;
    model_init(&m, &o);
    model before = m;
    m.admin = 0; /* WSANO_RECOVERY on every write */
    CHECK_EQ(install(&o, DLL_A, 1), 1);
    CHECK(same_catalog(&m, &before));
}

/* ---------------------------------------------------------------- crashes */

typedef enum { OP_INSTALL, OP_UPGRADE, OP_REMOVE, OP_REPAIR } op;

/* The catalog an op starts from: for remove and repair, wsdx with another LSP over it. */
static void start(model *m, wsc_ops *o, op what)
{
    model_init(m, o);
    if (what == OP_INSTALL)
        return;
    install(o, DLL_A, 1);
    if (what != OP_UPGRADE)
        model_other_lsp(m, &other_guid, AF_INET, model_tcp_top(m, AF_INET)->dwCatalogEntryId);
}

static int run(const wsc_ops *o, op what)
{
    switch (what) {
    case OP_INSTALL:
        return install(o, DLL_A, 1);
    case OP_UPGRADE:
        return install(o, DLL_B, 1);
    case OP_REMOVE:
        return remove_(o);
    default:
        return repair(o, DLL_A, 1);
    }
}

/* Die before each write in turn; the catalog must stay usable for everyone,
 * and the next run (repair, or remove again) must finish the job. */
static void crash_everywhere(op what, const char *name)
{
    model m;
    wsc_ops o;
    start(&m, &o, what);
    int base = m.writes;
    CHECK_EQ(run(&o, what), 0);
    int total = m.writes - base, bad = 0;
    CHECK(total >= 2);
    for (int k = 0; k < total; k++) {
        jmp_buf jb;
        start(&m, &o, what);
        m.crash = &jb;
        m.crash_after = m.writes + k;
        if (!setjmp(jb)) {
            run(&o, what);
            bad++; /* it should have crashed */
            continue;
        }
        quiet(0); /* the longjmp skipped it */
        m.crash_after = -1;
        int walks = all_walk(&m), b;
        if (what == OP_REMOVE) {
            b = !walks || remove_(&o) != 0 || ours(&m) != 0 || !all_walk(&m) || !other_chain(&m);
        } else {
            const wchar_t *dll = what == OP_UPGRADE ? DLL_B : DLL_A;
            b = !walks || repair(&o, dll, 1) != 0 || !installed_as(&o, dll, 1) || !all_walk(&m);
        }
        bad += b;
        if (b)
            fprintf(stderr, "%s: crash after write %d of %d left a catalog repair does not fix\n", name, k, total);
    }
    CHECK_EQ(bad, 0);
}

static void I15_4_crashBetweenAnyTwoWritesThenRepairRestores(void)
{
    crash_everywhere(OP_INSTALL, "install");
    crash_everywhere(OP_UPGRADE, "upgrade");
    crash_everywhere(OP_REMOVE, "remove");
    crash_everywhere(OP_REPAIR, "repair");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    I15_4_installedMeansPathChainsAndCount();
    I9_5_transparentChainsAreOptIn();
    I15_4_newFolderUpdatesPathInPlace();
    I15_3_layersOverTheCurrentTopEntry();
    I15_3_removeKeepsAnLspLayeredOverOurs();
    I15_3_removeRefusesWhenTheLspOverOursCannotBeRechained();
    I15_4_failedProviderOrderFailsAndRollsBack();
    I15_6_writesWithoutRightsChangeNothing();
    I15_4_crashBetweenAnyTwoWritesThenRepairRestores();
    return check_summary("test_catalog");
}
