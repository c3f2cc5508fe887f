/* catalog.h - the installer's work on one Winsock catalog.
 *
 * The WSC* calls come through a table, so that the installer's own tests can
 * hand it the catalog model (native/test/win/installer/catalog_model.c)
 * instead of the real ws2_32 (wsc_real.c). Every step keeps the catalog
 * valid: no chain ever names an entry that is not there, so a run that dies
 * between any two writes leaves a catalog that works and that `repair`
 * brings back to the wanted state. */
#ifndef WSDX_INSTALLER_CATALOG_H
#define WSDX_INSTALLER_CATALOG_H

#include <winsock2.h>
#include <ws2spi.h>
#include <windows.h>

typedef struct wsc_ops {
    const char *name; /* "64-bit", "32-bit" */
    void *ctx;
    /* WSCEnumProtocols(NULL, buf, size, err): every entry, hidden ones too, in catalog order */
    int (*enumerate)(void *ctx, WSAPROTOCOL_INFOW *buf, DWORD *size, int *err);
    int (*get_path)(void *ctx, GUID *g, wchar_t *path, int *len, int *err);
    int (*install)(void *ctx, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *list, DWORD n, int *err);
    int (*deinstall)(void *ctx, GUID *g, int *err);
    int (*update)(void *ctx, GUID *g, const wchar_t *dll, WSAPROTOCOL_INFOW *list, DWORD n, int *err);
    int (*write_order)(void *ctx, DWORD *ids, DWORD n); /* 0 or a WSA code, as WSCWriteProviderOrder */
    int (*set_categories)(void *ctx, GUID *g, DWORD cats, int *err); /* NULL: not on this system */
} wsc_ops;

/* What install wants in the catalog: the DLL path, and whether the
 * transparent chains (they only observe) are there too. */
typedef struct {
    const wchar_t *dll;
    int chains;
} wsdx_want;

/* A copy of the catalog, in catalog order. */
typedef struct {
    WSAPROTOCOL_INFOW *e;
    int n;
} wsdx_snap;

int wsdx_snap_take(const wsc_ops *o, wsdx_snap *s); /* 0 or a WSA code */
void wsdx_snap_free(wsdx_snap *s);

/* Entries whose chain names an id the catalog lacks (WSAEPROVIDERFAILEDINIT
 * for every socket on them); prints them when out is set. */
int wsdx_cat_dangling(const wsdx_snap *s, int print);

/* 1 when the catalog holds exactly what w wants: the layer and the protocol
 * entries (and the chains, if wanted, ordered before what they cover), all
 * with w->dll, each chained over the current top TCP entry of its family,
 * nothing else of ours. why gets the first difference. */
int wsdx_cat_matches(const wsc_ops *o, const wsdx_want *w, char *why, size_t why_len);

/* 0 on success, else 1 (a WSC call failed; printed, catalog left valid). */
int wsdx_cat_install(const wsc_ops *o, const wsdx_want *w);
int wsdx_cat_remove(const wsc_ops *o);
int wsdx_cat_repair(const wsc_ops *o, const wsdx_want *w);
int wsdx_cat_list(const wsc_ops *o);

/* The DLL paths registered for our GUIDs (distinct, up to max); count. */
int wsdx_cat_paths(const wsc_ops *o, wchar_t (*paths)[MAX_PATH], int max);

#endif
