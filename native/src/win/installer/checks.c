/* checks.c - privilege, argument and folder-security checks of wsdx-install.
 *
 * Every process on the machine, SYSTEM services too, loads the DLL the
 * catalog names, so its file and folder must be writable by administrators
 * only; the WSC* calls fail WSANO_RECOVERY without an elevated administrator
 * token, so that is checked first and reported as such. */
#include "checks.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int why_set(char *why, size_t len, const char *fmt, const char *arg)
{
    if (why && len)
        snprintf(why, len, fmt, arg ? arg : "");
    return 0;
}

int wsdx_check_admin(HANDLE token, char *why, size_t why_len)
{
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof sid;
    BOOL member = FALSE;
    if (!CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, sid, &size) ||
        !CheckTokenMembership(token, sid, &member))
        return why_set(why, why_len, "cannot read the access token (error %s)", "CheckTokenMembership");
    if (member)
        return 1;
    /* With UAC an administrator's unelevated token holds Administrators deny-only. */
    HANDLE t = token, own = NULL;
    TOKEN_ELEVATION_TYPE type = TokenElevationTypeDefault;
    DWORD got = 0;
    if (!t && OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &own))
        t = own;
    if (t)
        GetTokenInformation(t, TokenElevationType, &type, sizeof type, &got);
    if (own)
        CloseHandle(own);
    return why_set(why, why_len, "%s",
                   type == TokenElevationTypeLimited
                       ? "not elevated: run it from an administrator prompt (Run as administrator)"
                       : "this account is not an administrator; the Winsock catalog needs one");
}

/* ---------------------------------------------------------------- PE files */

typedef struct {
    const BYTE *b;
    DWORD n;
} image;

static const void *at(const image *im, DWORD off, DWORD len)
{
    return off <= im->n && len <= im->n - off ? im->b + off : NULL;
}

/* file offset of an RVA, through the section table */
static DWORD rva_off(const image *im, const IMAGE_SECTION_HEADER *sec, int nsec, DWORD rva)
{
    for (int i = 0; i < nsec; i++) {
        DWORD size = sec[i].Misc.VirtualSize ? sec[i].Misc.VirtualSize : sec[i].SizeOfRawData;
        if (rva >= sec[i].VirtualAddress && rva - sec[i].VirtualAddress < size)
            return rva - sec[i].VirtualAddress + sec[i].PointerToRawData;
    }
    (void)im;
    return (DWORD)-1;
}

static int exports_name(const image *im, const IMAGE_SECTION_HEADER *sec, int nsec, DWORD dir_rva,
                        const char *want)
{
    const IMAGE_EXPORT_DIRECTORY *ed = at(im, rva_off(im, sec, nsec, dir_rva), sizeof *ed);
    if (!ed || ed->NumberOfNames > 65536)
        return 0;
    const DWORD *names = at(im, rva_off(im, sec, nsec, ed->AddressOfNames), ed->NumberOfNames * 4);
    for (DWORD i = 0; names && i < ed->NumberOfNames; i++) {
        DWORD off = rva_off(im, sec, nsec, names[i]);
        size_t len = strlen(want) + 1;
        const char *s = at(im, off, (DWORD)len);
        if (s && !memcmp(s, want, len))
            return 1;
    }
    return 0;
}

/* 1 when im is a DLL for machine exporting WSPStartup; else 0 and why */
static int pe_ok(const image *im, WORD machine, char *why, size_t why_len)
{
    const IMAGE_DOS_HEADER *dos = at(im, 0, sizeof *dos);
    if (!dos || dos->e_magic != IMAGE_DOS_SIGNATURE)
        return why_set(why, why_len, "%s", "not a PE file (no MZ header)");
    const IMAGE_NT_HEADERS32 *nt = at(im, (DWORD)dos->e_lfanew, sizeof *nt);
    if (!nt || nt->Signature != IMAGE_NT_SIGNATURE)
        return why_set(why, why_len, "%s", "not a PE file (no PE header)");
    if (nt->FileHeader.Machine != machine)
        return why_set(why, why_len, "wrong architecture: this catalog needs %s",
                       machine == IMAGE_FILE_MACHINE_AMD64 ? "an x64 DLL" : "an x86 DLL");
    if (!(nt->FileHeader.Characteristics & IMAGE_FILE_DLL))
        return why_set(why, why_len, "%s", "not a DLL");
    DWORD opt = (DWORD)dos->e_lfanew + 4 + sizeof(IMAGE_FILE_HEADER);
    const IMAGE_DATA_DIRECTORY *dir;
    if (nt->OptionalHeader.Magic == IMAGE_NT_OPTIONAL_HDR64_MAGIC) {
        const IMAGE_OPTIONAL_HEADER64 *o = at(im, opt, sizeof *o);
        dir = o && o->NumberOfRvaAndSizes > 0 ? &o->DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT] : NULL;
    } else {
        const IMAGE_OPTIONAL_HEADER32 *o = at(im, opt, sizeof *o);
        dir = o && o->NumberOfRvaAndSizes > 0 ? &o->DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT] : NULL;
    }
    int nsec = nt->FileHeader.NumberOfSections;
    const IMAGE_SECTION_HEADER *sec =
        at(im, opt + nt->FileHeader.SizeOfOptionalHeader, (DWORD)nsec * sizeof(IMAGE_SECTION_HEADER));
    if (!dir || !dir->VirtualAddress || !sec || !exports_name(im, sec, nsec, dir->VirtualAddress, "WSPStartup"))
        return why_set(why, why_len, "%s", "does not export WSPStartup: not a Winsock provider");
    return 1;
}

int wsdx_check_dll(const wchar_t *path, WORD machine, wchar_t full[MAX_PATH], char *why, size_t why_len)
{
    DWORD len = GetFullPathNameW(path, MAX_PATH, full, NULL);
    if (!len)
        return why_set(why, why_len, "%s", "not a valid path");
    if (len >= MAX_PATH) /* the catalog keeps at most MAX_PATH characters */
        return why_set(why, why_len, "%s", "path too long for the Winsock catalog (MAX_PATH)");
    HANDLE h = CreateFileW(full, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return why_set(why, why_len, "%s", "cannot open it (missing?)");
    LARGE_INTEGER size;
    int ok = 0;
    if (!GetFileSizeEx(h, &size) || size.QuadPart > 256LL * 1024 * 1024) {
        why_set(why, why_len, "%s", "cannot read it, or larger than 256 MiB");
    } else {
        image im = {(BYTE *)malloc((size_t)size.QuadPart + 1), 0};
        DWORD got = 0;
        if (im.b && ReadFile(h, (void *)im.b, (DWORD)size.QuadPart, &got, NULL)) {
            im.n = got;
            ok = pe_ok(&im, machine, why, why_len);
        } else {
            why_set(why, why_len, "%s", "cannot read it");
        }
        free((void *)im.b);
    }
    CloseHandle(h);
    return ok;
}

/* ----------------------------------------------------------- folder safety */

static int trusted(PSID sid)
{
    static const WELL_KNOWN_SID_TYPE ok[] = {WinBuiltinAdministratorsSid, WinLocalSystemSid};
    BYTE buf[SECURITY_MAX_SID_SIZE];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        DWORD size = sizeof buf;
        if (CreateWellKnownSid(ok[i], NULL, buf, &size) && EqualSid(sid, buf))
            return 1;
    }
    PSID ti = NULL; /* NT SERVICE\TrustedInstaller */
    int is = ConvertStringSidToSidW(L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", &ti) &&
             EqualSid(sid, ti);
    LocalFree(ti);
    return is;
}

static int name_sid(PSID sid, char *who, size_t who_len)
{
    char *s = NULL;
    if (ConvertSidToStringSidA(sid, &s)) {
        snprintf(who, who_len, "%s", s);
        LocalFree(s);
    }
    return 1;
}

int wsdx_acl_user_writable(PSID owner, PACL dacl, char *who, size_t who_len)
{
    const DWORD write = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_DELETE_CHILD | DELETE |
                        WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL;
    BYTE ow[SECURITY_MAX_SID_SIZE];
    DWORD ow_size = sizeof ow;
    int owner_rights = 0;
    CreateWellKnownSid(WinCreatorOwnerRightsSid, NULL, ow, &ow_size);
    if (!dacl) { /* a NULL DACL grants everyone everything */
        snprintf(who, who_len, "Everyone (no DACL)");
        return 1;
    }
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *h = NULL;
        if (!GetAce(dacl, i, (void **)&h) || h->AceType != ACCESS_ALLOWED_ACE_TYPE || (h->AceFlags & INHERIT_ONLY_ACE))
            continue; /* deny ACEs only take away; inherit-only ones do not apply here */
        ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)h;
        owner_rights |= EqualSid((PSID)&a->SidStart, ow);
        if ((a->Mask & write) && !trusted((PSID)&a->SidStart))
            return name_sid((PSID)&a->SidStart, who, who_len);
    }
    /* The owner may rewrite the DACL (implicit WRITE_DAC) unless an OWNER
     * RIGHTS (S-1-3-4) ACE replaces those implicit rights (Vista and later). */
    if (owner && !trusted(owner) && !owner_rights)
        return name_sid(owner, who, who_len);
    return 0;
}

int wsdx_user_writable(const wchar_t *path, char *who, size_t who_len)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    PSID owner = NULL;
    snprintf(who, who_len, "?");
    DWORD rc = GetNamedSecurityInfoW(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION,
                                     &owner, NULL, &dacl, NULL, &sd);
    if (rc != ERROR_SUCCESS) {
        snprintf(who, who_len, "cannot read its security (error %lu)", (unsigned long)rc);
        return 1;
    }
    int bad = wsdx_acl_user_writable(owner, dacl, who, who_len);
    LocalFree(sd);
    return bad;
}

int wsdx_dll_user_writable(const wchar_t *dll, char *who, size_t who_len)
{
    wchar_t dir[MAX_PATH];
    _snwprintf(dir, MAX_PATH, L"%ls", dll);
    dir[MAX_PATH - 1] = 0;
    wchar_t *slash = wcsrchr(dir, L'\\');
    if (slash)
        *slash = 0;
    return wsdx_user_writable(dll, who, who_len) || (slash && wsdx_user_writable(dir, who, who_len));
}

DWORD wsdx_protect_dir(const wchar_t *dir)
{
    if (!CreateDirectoryW(dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
        return GetLastError();
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(WSDX_PROTECTED_SDDL, SDDL_REVISION_1, &sd, NULL))
        return GetLastError();
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    PSID owner = NULL;
    GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
    GetSecurityDescriptorOwner(sd, &owner, &defaulted);
    DWORD rc = SetNamedSecurityInfoW((LPWSTR)dir, SE_FILE_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                         PROTECTED_DACL_SECURITY_INFORMATION,
                                     owner, NULL, dacl, NULL);
    LocalFree(sd);
    return rc;
}
