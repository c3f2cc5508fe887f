/* wsc_real.c - the WSC* table over the real ws2_32.
 *
 * wsdx_wsc_native: this process's own catalog (the 64-bit one from the x64
 * tool, the 32-bit one from the x86 tool: WSCInstallProvider from a 32-bit
 * process writes the 32-bit catalog, as the SDK's instlsp relies on).
 * wsdx_wsc_32_from_64: the 32-bit catalog seen from a 64-bit process
 * (WSCEnumProtocols32, WSCUpdateProvider32, WSCDeinstallProvider32, ...):
 * enough to list and remove; installing there is the x86 tool's job.
 * Calls newer than Windows 2000's ws2_32 are looked up with GetProcAddress,
 * so the tool starts where they are missing (Wine). */
#include "wsc_real.h"

typedef int(WSPAPI *enum_fn)(LPINT, LPWSAPROTOCOL_INFOW, LPDWORD, LPINT);
typedef int(WSPAPI *path_fn)(LPGUID, WCHAR *, LPINT, LPINT);
typedef int(WSPAPI *inst_fn)(LPGUID, const WCHAR *, const LPWSAPROTOCOL_INFOW, DWORD, LPINT);
typedef int(WSPAPI *deinst_fn)(LPGUID, LPINT);
typedef int(WSPAPI *order_fn)(LPDWORD, DWORD);
typedef int(WSPAPI *setinfo_fn)(LPGUID, WSC_PROVIDER_INFO_TYPE, PBYTE, size_t, DWORD, LPINT);

typedef struct {
    enum_fn enumerate;
    path_fn path;
    inst_fn install, update;
    deinst_fn deinstall;
    order_fn order;
    setinfo_fn setinfo;
} fns;

static FARPROC sym(const char *name)
{
    return GetProcAddress(GetModuleHandleW(L"ws2_32.dll"), name);
}

static int missing(int *err)
{
    *err = WSAEOPNOTSUPP;
    return SOCKET_ERROR;
}

static int r_enum(void *c, WSAPROTOCOL_INFOW *b, DWORD *size, int *err)
{
    fns *f = (fns *)c;
    return f->enumerate ? f->enumerate(NULL, b, size, err) : missing(err);
}

static int r_path(void *c, GUID *g, wchar_t *p, int *len, int *err)
{
    fns *f = (fns *)c;
    return f->path ? f->path(g, p, len, err) : missing(err);
}

static int r_install(void *c, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *l, DWORD n, int *err)
{
    fns *f = (fns *)c;
    return f->install ? f->install(g, dll, l, n, err) : missing(err);
}

static int r_update(void *c, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *l, DWORD n, int *err)
{
    fns *f = (fns *)c;
    return f->update ? f->update(g, dll, l, n, err) : missing(err);
}

static int r_deinstall(void *c, GUID *g, int *err)
{
    fns *f = (fns *)c;
    return f->deinstall ? f->deinstall(g, err) : missing(err);
}

static int r_order(void *c, DWORD *ids, DWORD n)
{
    fns *f = (fns *)c;
    return f->order ? f->order(ids, n) : WSAEOPNOTSUPP;
}

static int r_setinfo(void *c, GUID *g, DWORD cats, int *err)
{
    fns *f = (fns *)c;
    return f->setinfo(g, ProviderInfoLspCategories, (PBYTE)&cats, sizeof cats, 0, err);
}

static void fill(wsc_ops *o, fns *f, const char *name)
{
    o->name = name;
    o->ctx = f;
    o->enumerate = r_enum;
    o->get_path = r_path;
    o->install = r_install;
    o->update = r_update;
    o->deinstall = r_deinstall;
    o->write_order = r_order;
    o->set_categories = f->setinfo ? r_setinfo : NULL;
}

void wsdx_wsc_native(wsc_ops *o)
{
    static fns f;
    f.enumerate = WSCEnumProtocols;
    f.path = (path_fn)(void *)sym("WSCGetProviderPath");
    f.install = (inst_fn)(void *)sym("WSCInstallProvider");
    f.update = (inst_fn)(void *)sym("WSCUpdateProvider");
    f.deinstall = WSCDeinstallProvider;
    f.order = (order_fn)(void *)sym("WSCWriteProviderOrder");
    f.setinfo = (setinfo_fn)(void *)sym("WSCSetProviderInfo");
    fill(o, &f, sizeof(void *) == 8 ? "64-bit" : "32-bit");
}

int wsdx_wsc_32_from_64(wsc_ops *o)
{
    static fns f;
    if (sizeof(void *) != 8)
        return 0;
    f.enumerate = (enum_fn)(void *)sym("WSCEnumProtocols32");
    f.path = (path_fn)(void *)sym("WSCGetProviderPath32");
    f.install = NULL;
    f.update = (inst_fn)(void *)sym("WSCUpdateProvider32");
    f.deinstall = (deinst_fn)(void *)sym("WSCDeinstallProvider32");
    f.order = (order_fn)(void *)sym("WSCWriteProviderOrder32");
    f.setinfo = NULL;
    if (!f.enumerate || !f.deinstall)
        return 0;
    fill(o, &f, "32-bit");
    return 1;
}
