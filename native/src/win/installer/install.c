/* install.c - wsdx-install.exe: puts the wsdx layered provider into the
 * Winsock catalogs, checks it, lists it, removes it, repairs it.
 *
 *   wsdx-install install [--chains] [dll [dll32]]  (install, or update in place)
 *   wsdx-install repair  [--chains] [dll [dll32]]  (remove + install)
 *   wsdx-install remove
 *   wsdx-install check   [--chains] [dll]          (exit 0 when installed exactly so)
 *   wsdx-install list
 *   wsdx-install protect DIR                       (admin-only folder for the DLLs)
 * Options: --chains also installs the transparent chains (they only observe);
 * --wait=MS how long to wait for another run (default 120000).
 * dll defaults to wsdx-lsp.dll next to this exe, dll32 to x86\wsdx-lsp.dll.
 *
 * Before any write: an elevated administrator (exit 3), each DLL exists, has
 * this catalog's architecture and exports WSPStartup (exit 4), neither the
 * DLL nor its folder is writable by a non-administrator (exit 5). Runs are
 * serialised by the named mutex Global\wsdx-install (exit 6 when busy).
 * The x64 tool writes the 64-bit catalog; the 32-bit catalog is written by
 * x86\wsdx-install.exe (WSCInstallProvider from a 32-bit process writes the
 * 32-bit catalog, as the SDK's instlsp does), run with --this-catalog. */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "checks.h"
#include "wsc_real.h"

typedef struct {
    const wchar_t *verb;
    const wchar_t *dll, *dll32; /* as given, or NULL */
    int chains, this_catalog;
    DWORD wait_ms;
} args;

static int usage(void)
{
    printf("usage: wsdx-install install|repair [--chains] [dll [dll32]] | check [--chains] [dll]\n"
           "                    | remove | list | protect DIR      [--wait=MS]\n");
    return WSDX_EXIT_USAGE;
}

static int parse(int argc, wchar_t **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->wait_ms = 120000;
    if (argc < 2)
        return 0;
    a->verb = argv[1];
    int pos = 0;
    for (int i = 2; i < argc; i++) {
        if (!wcscmp(argv[i], L"--chains"))
            a->chains = 1;
        else if (!wcscmp(argv[i], L"--this-catalog"))
            a->this_catalog = 1;
        else if (!wcsncmp(argv[i], L"--wait=", 7))
            a->wait_ms = (DWORD)wcstoul(argv[i] + 7, NULL, 10);
        else if (argv[i][0] == L'-')
            return 0;
        else if (pos == 0 && ++pos)
            a->dll = argv[i];
        else if (pos == 1 && ++pos)
            a->dll32 = argv[i];
        else
            return 0;
    }
    return 1;
}

/* dir of this exe + tail */
static void beside_exe(wchar_t out[MAX_PATH], const wchar_t *tail)
{
    wchar_t dir[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, dir, MAX_PATH);
    wchar_t *slash = n && n < MAX_PATH ? wcsrchr(dir, L'\\') : NULL;
    if (slash)
        *slash = 0;
    _snwprintf(out, MAX_PATH, L"%ls\\%ls", slash ? dir : L".", tail);
    out[MAX_PATH - 1] = 0;
}

/* A DLL the catalog may name: right machine, WSPStartup, and only
 * administrators can change it or its folder. 0 or an exit code. */
static int vet_dll(const wchar_t *given, WORD machine, wchar_t full[MAX_PATH])
{
    char why[200], who[200];
    if (!wsdx_check_dll(given, machine, full, why, sizeof why)) {
        printf("refused: %ls: %s\n", given, why);
        return WSDX_EXIT_BAD_DLL;
    }
    if (wsdx_dll_user_writable(full, who, sizeof who)) {
        printf("refused: %ls or its folder can be changed by %s, and every process would load it.\n"
               "  Put it in a folder only administrators can write: `wsdx-install protect DIR`\n"
               "  (or a folder under %%ProgramFiles%%), then copy the DLL there.\n",
               full, who);
        return WSDX_EXIT_UNSAFE_DIR;
    }
    return 0;
}

/* The x86 tool on the 32-bit catalog; its exit code. */
static int run_x86(const args *a, const wchar_t *dll32)
{
    wchar_t tool[MAX_PATH], cmd[3 * MAX_PATH];
    beside_exe(tool, L"x86\\wsdx-install.exe");
    _snwprintf(cmd, 3 * MAX_PATH, L"\"%ls\" %ls --this-catalog%ls \"%ls\"", tool, a->verb,
               a->chains ? L" --chains" : L"", dll32);
    cmd[3 * MAX_PATH - 1] = 0;
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(tool, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        printf("32-bit catalog: cannot run %ls (error %lu); it writes the 32-bit catalog\n", tool,
               (unsigned long)GetLastError());
        return WSDX_EXIT_BAD_DLL;
    }
    DWORD rc = 1;
    WaitForSingleObject(pi.hProcess, INFINITE); /* never cut short: it may be writing the catalog */
    GetExitCodeProcess(pi.hProcess, &rc);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return (int)rc;
}

static int do_install(const args *a, int repair)
{
    wchar_t d64[MAX_PATH], d32[MAX_PATH], def[MAX_PATH];
    const wchar_t *g32 = a->dll32;
    beside_exe(def, L"wsdx-lsp.dll");
    int rc = vet_dll(a->dll ? a->dll : def, WSDX_OWN_MACHINE, d64);
    if (!rc && !a->this_catalog && sizeof(void *) == 8) {
        beside_exe(def, L"x86\\wsdx-lsp.dll");
        if (!g32 && GetFileAttributesW(def) != INVALID_FILE_ATTRIBUTES)
            g32 = def;
        if (g32)
            rc = vet_dll(g32, IMAGE_FILE_MACHINE_I386, d32);
        beside_exe(def, L"x86\\wsdx-install.exe");
        if (!rc && g32 && GetFileAttributesW(def) == INVALID_FILE_ATTRIBUTES) {
            printf("refused: the 32-bit catalog is written by %ls, which is missing\n", def);
            rc = WSDX_EXIT_BAD_DLL;
        }
    }
    if (rc)
        return rc;
    wsc_ops o;
    wsdx_wsc_native(&o);
    wsdx_want w = {d64, a->chains};
    int before = wsdx_cat_matches(&o, &w, NULL, 0);
    rc = repair ? wsdx_cat_repair(&o, &w) : wsdx_cat_install(&o, &w);
    if (rc || a->this_catalog || !g32)
        return rc;
    rc = run_x86(a, d32);
    if (rc && !before) { /* both catalogs or neither */
        printf("32-bit catalog failed (exit %d): taking wsdx out of the 64-bit catalog again\n", rc);
        wsdx_cat_remove(&o);
    }
    return rc;
}

static int do_remove(void)
{
    wsc_ops o, o32;
    wsdx_wsc_native(&o);
    int rc = wsdx_cat_remove(&o);
    if (wsdx_wsc_32_from_64(&o32))
        rc |= wsdx_cat_remove(&o32);
    return rc ? WSDX_EXIT_CATALOG : 0;
}

/* Registered DLLs that a non-administrator could change, or whose folder
 * one could write; count (printed). */
static int unsafe_paths(const wsc_ops *o)
{
    wchar_t paths[3][MAX_PATH], exp[MAX_PATH];
    char who[200];
    int bad = 0, n = wsdx_cat_paths(o, paths, 3);
    for (int i = 0; i < n; i++) {
        ExpandEnvironmentStringsW(paths[i], exp, MAX_PATH);
        if (wsdx_dll_user_writable(exp, who, sizeof who)) {
            printf("%s catalog: UNSAFE: %ls or its folder can be changed by %s\n", o->name, exp, who);
            bad++;
        }
    }
    return bad;
}

static int do_list(void)
{
    wsc_ops o, o32;
    wsdx_wsc_native(&o);
    int rc = wsdx_cat_list(&o);
    unsafe_paths(&o);
    if (wsdx_wsc_32_from_64(&o32)) {
        rc |= wsdx_cat_list(&o32);
        unsafe_paths(&o32);
    }
    return rc;
}

static int do_check(const args *a)
{
    wchar_t full[MAX_PATH], def[MAX_PATH];
    char why[200];
    beside_exe(def, L"wsdx-lsp.dll");
    if (!GetFullPathNameW(a->dll ? a->dll : def, MAX_PATH, full, NULL))
        return WSDX_EXIT_BAD_DLL;
    wsc_ops o;
    wsdx_wsc_native(&o);
    wsdx_want w = {full, a->chains};
    if (!wsdx_cat_matches(&o, &w, why, sizeof why)) {
        printf("%s catalog: not installed as wanted: %s\n", o.name, why);
        return WSDX_EXIT_CATALOG;
    }
    if (unsafe_paths(&o))
        return WSDX_EXIT_UNSAFE_DIR;
    printf("%s catalog: installed as wanted (%ls)\n", o.name, full);
    return 0;
}

static int locked(const args *a, int (*fn)(const args *), HANDLE *mutex)
{
    if (a->this_catalog) /* the parent run holds the mutex */
        return fn(a);
    *mutex = CreateMutexW(NULL, FALSE, L"Global\\wsdx-install");
    DWORD w = *mutex ? WaitForSingleObject(*mutex, a->wait_ms) : WAIT_FAILED;
    if (w == WAIT_TIMEOUT || w == WAIT_FAILED) {
        printf("another wsdx-install is changing the catalog; try again later\n");
        return WSDX_EXIT_BUSY;
    }
    if (w == WAIT_ABANDONED) /* what it left is valid; install/repair finishes it */
        printf("an earlier wsdx-install ended mid-run; `wsdx-install repair` completes its work\n");
    int rc = fn(a);
    ReleaseMutex(*mutex);
    return rc;
}

static int v_install(const args *a) { return do_install(a, 0); }
static int v_repair(const args *a) { return do_install(a, 1); }
static int v_remove(const args *a) { return (void)a, do_remove(); }

static int v_protect(const args *a)
{
    char who[200];
    DWORD e = wsdx_protect_dir(a->dll);
    if (e) {
        printf("protect %ls failed: error %lu\n", a->dll, (unsigned long)e);
        return WSDX_EXIT_UNSAFE_DIR;
    }
    if (wsdx_user_writable(a->dll, who, sizeof who)) {
        printf("protect %ls: still writable by %s\n", a->dll, who);
        return WSDX_EXIT_UNSAFE_DIR;
    }
    printf("%ls: Administrators and SYSTEM full control, Users read; nothing inherited\n", a->dll);
    return 0;
}

int wmain(int argc, wchar_t **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    args a;
    if (!parse(argc, argv, &a))
        return usage();
    WSADATA wd;
    WSAStartup(MAKEWORD(2, 2), &wd);
    int rc;
    HANDLE mutex = NULL;
    char why[200];
    int admin_verb = !wcscmp(a.verb, L"install") || !wcscmp(a.verb, L"repair") || !wcscmp(a.verb, L"remove") ||
                     !wcscmp(a.verb, L"protect");
    if (admin_verb && !wsdx_check_admin(NULL, why, sizeof why)) {
        printf("wsdx-install %ls: %s\n", a.verb, why);
        rc = WSDX_EXIT_NOT_ADMIN;
    } else if (!wcscmp(a.verb, L"install")) {
        rc = locked(&a, v_install, &mutex);
    } else if (!wcscmp(a.verb, L"repair")) {
        rc = locked(&a, v_repair, &mutex);
    } else if (!wcscmp(a.verb, L"remove")) {
        rc = locked(&a, v_remove, &mutex);
    } else if (!wcscmp(a.verb, L"protect") && a.dll && !a.dll32) {
        rc = v_protect(&a);
    } else if (!wcscmp(a.verb, L"check")) {
        rc = do_check(&a);
    } else if (!wcscmp(a.verb, L"list")) {
        rc = do_list();
    } else {
        rc = usage();
    }
    if (mutex)
        CloseHandle(mutex);
    if (!rc && (!wcscmp(a.verb, L"install") || !wcscmp(a.verb, L"repair")))
        printf("done; verify with `wsdx-install list` and `netsh winsock show catalog`\n");
    WSACleanup();
    return rc;
}
