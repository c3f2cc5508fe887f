/* checks.h - what wsdx-install checks before it touches a catalog. */
#ifndef WSDX_INSTALLER_CHECKS_H
#define WSDX_INSTALLER_CHECKS_H

#include <windows.h>

#include <stddef.h>

/* Exit codes of wsdx-install (docs/windows.md lists them). */
enum {
    WSDX_EXIT_OK = 0,
    WSDX_EXIT_CATALOG = 1,  /* a WSC call failed; the catalog is valid, `repair` finishes the job */
    WSDX_EXIT_USAGE = 2,
    WSDX_EXIT_NOT_ADMIN = 3, /* not an administrator, or not elevated */
    WSDX_EXIT_BAD_DLL = 4,   /* missing, wrong architecture, no WSPStartup, path too long */
    WSDX_EXIT_UNSAFE_DIR = 5, /* a non-administrator may write the DLL or its folder */
    WSDX_EXIT_BUSY = 6,       /* another wsdx-install holds the catalog */
};

/* 1: token (NULL: this thread's) is an enabled member of Administrators. Else
 * 0 and why says whether the account is no administrator or not elevated. */
int wsdx_check_admin(HANDLE token, char *why, size_t why_len);

/* The PE machine this tool's provider DLLs must have. */
#ifdef _WIN64
#define WSDX_OWN_MACHINE IMAGE_FILE_MACHINE_AMD64
#else
#define WSDX_OWN_MACHINE IMAGE_FILE_MACHINE_I386
#endif

/* 1 when path names a DLL for machine that exports WSPStartup and whose full
 * path fits the catalog (MAX_PATH); full gets that path. Else 0 and why. */
int wsdx_check_dll(const wchar_t *path, WORD machine, wchar_t full[MAX_PATH], char *why, size_t why_len);

/* 1 when someone other than Administrators, SYSTEM or TrustedInstaller may
 * change path (its DACL, or its owner); who gets that trustee's SID. Also 1
 * when the security cannot be read. */
int wsdx_user_writable(const wchar_t *path, char *who, size_t who_len);

/* The same for a DLL and the folder it is in: whoever may write the folder
 * may swap the file, so a registered DLL is only as safe as both. */
int wsdx_dll_user_writable(const wchar_t *dll, char *who, size_t who_len);

/* The same on a DACL and owner already read. */
int wsdx_acl_user_writable(PSID owner, PACL dacl, char *who, size_t who_len);

/* What wsdx_protect_dir writes. P: protected (nothing inherited from the
 * parent); OICI: files inside inherit it; BA, SY full control; BU read and
 * execute; OW (OWNER RIGHTS): whoever owns a file inside gets read only, not
 * the owner's implicit WRITE_DAC. Owner: Administrators. */
#define WSDX_PROTECTED_SDDL L"O:BAD:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICI;0x1200a9;;;OW)"

/* Creates dir if missing and gives it a protected DACL: Administrators and
 * SYSTEM full control, Users read and execute, nothing inherited; owner
 * Administrators. 0 or a Win32 error. */
DWORD wsdx_protect_dir(const wchar_t *dir);

#endif
