/* test_checks.c - wsdx-install's checks under Wine: DLL arguments
 * (existence, PE machine, WSPStartup export, path length), folder security
 * (protected DACL; a folder others may write is refused), the privilege check
 * (a token whose Administrators membership is deny-only, as UAC gives an
 * unelevated administrator), the exit codes, and the global mutex that
 * serialises runs.
 *   test_checks.exe TOOL DLL64 DLL32 NOWSP_DLL */
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "checks.h"

static const wchar_t *tool, *dll64, *dll32, *nowsp;

static int has(const char *s, const char *part) { return strstr(s, part) != NULL; }

static int dll_ok(const wchar_t *path, WORD machine, char *why)
{
    wchar_t full[MAX_PATH];
    why[0] = 0;
    return wsdx_check_dll(path, machine, full, why, 200);
}

static void tmp_path(wchar_t out[MAX_PATH], const wchar_t *name)
{
    wchar_t dir[MAX_PATH];
    GetTempPathW(MAX_PATH, dir);
    _snwprintf(out, MAX_PATH, L"%lswsdx-inst-%lu-%ls", dir, (unsigned long)GetCurrentProcessId(), name);
}

static void I15_7_dllArgumentsAreValidated(void)
{
    char why[200];
    CHECK(dll_ok(dll64, IMAGE_FILE_MACHINE_AMD64, why));
    CHECK(dll_ok(dll32, IMAGE_FILE_MACHINE_I386, why));
    CHECK(!dll_ok(dll32, IMAGE_FILE_MACHINE_AMD64, why) && has(why, "architecture"));
    CHECK(!dll_ok(dll64, IMAGE_FILE_MACHINE_I386, why) && has(why, "architecture"));
    CHECK(!dll_ok(nowsp, IMAGE_FILE_MACHINE_AMD64, why) && has(why, "WSPStartup"));
    CHECK(!dll_ok(tool, IMAGE_FILE_MACHINE_AMD64, why) && has(why, "not a DLL"));
    CHECK(!dll_ok(L"C:\\nowhere\\wsdx-lsp.dll", IMAGE_FILE_MACHINE_AMD64, why) && has(why, "cannot open"));
    wchar_t longp[400];
    wcscpy(longp, L"C:\\");
    for (int i = 0; i < 30; i++)
        wcscat(longp, L"abcdefghi\\");
    wcscat(longp, L"wsdx.dll");
    CHECK(!dll_ok(longp, IMAGE_FILE_MACHINE_AMD64, why) && has(why, "too long"));
    /* a cut-off copy: every header read is bounds-checked */
    wchar_t cut[MAX_PATH];
    tmp_path(cut, L"cut.dll");
    HANDLE in = CreateFileW(dll64, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    HANDLE out = CreateFileW(cut, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    char buf[700];
    DWORD got = 0, put = 0;
    ReadFile(in, buf, sizeof buf, &got, NULL);
    WriteFile(out, buf, got, &put, NULL);
    CloseHandle(in);
    CloseHandle(out);
    CHECK(!dll_ok(cut, IMAGE_FILE_MACHINE_AMD64, why) && why[0]);
    DeleteFileW(cut);
}

/* Adds an ACE granting Users write to path (as "Authenticated Users: Modify" on C:\ would). */
static void grant_users_write(const wchar_t *path)
{
    PACL old = NULL, acl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    GetNamedSecurityInfoW(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &old, NULL, &sd);
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof sid;
    CreateWellKnownSid(WinBuiltinUsersSid, NULL, sid, &size);
    EXPLICIT_ACCESSW ea;
    memset(&ea, 0, sizeof ea);
    ea.grfAccessPermissions = FILE_GENERIC_WRITE | FILE_GENERIC_READ;
    ea.grfAccessMode = GRANT_ACCESS;
    ea.Trustee.TrusteeForm = TRUSTEE_IS_SID;
    ea.Trustee.ptstrName = (LPWSTR)sid;
    SetEntriesInAclW(1, &ea, old, &acl);
    SetNamedSecurityInfoW((LPWSTR)path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, acl, NULL);
    LocalFree(acl);
    LocalFree(sd);
}

/* the check on a security descriptor written as SDDL */
static int sddl_writable(const wchar_t *sddl, char *who)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    PSID owner = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL))
        return -1;
    GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
    GetSecurityDescriptorOwner(sd, &owner, &defaulted);
    who[0] = 0;
    int r = wsdx_acl_user_writable(owner, present ? dacl : NULL, who, 200);
    LocalFree(sd);
    return r;
}

/* Wine keeps a file's security as Unix mode bits only (it gives every
 * directory an owner = the Unix user and no protected DACL), so the folder
 * check is proven here on descriptors, and on a real one in the workflow. */
static void I15_1_providerFolderOnlyAdministratorsWrite(void)
{
    char who[200];
    CHECK_EQ(sddl_writable(WSDX_PROTECTED_SDDL, who), 0);
    /* the same folder owned by a user (copied there, say): OWNER RIGHTS keeps it read-only */
    CHECK_EQ(sddl_writable(L"O:S-1-5-21-1-2-3-1001D:P(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;OW)", who), 0);
    /* C:\ on Windows: Authenticated Users may create folders and modify what they create */
    CHECK_EQ(sddl_writable(L"O:SYD:(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1301bf;;;AU)(A;OICI;0x1200a9;;;BU)",
                           who), 1);
    CHECK(has(who, "S-1-5-11"));
    CHECK_EQ(sddl_writable(L"O:BAD:(A;;FA;;;BA)(A;;0x2;;;BU)", who), 1);     /* Users: FILE_ADD_FILE */
    CHECK_EQ(sddl_writable(L"O:BAD:(A;;FA;;;BA)(A;;0x40;;;BU)", who), 1);    /* Users: FILE_DELETE_CHILD */
    CHECK_EQ(sddl_writable(L"O:BAD:(A;;FA;;;BA)(A;;0x40000;;;WD)", who), 1); /* Everyone: WRITE_DAC */
    CHECK(has(who, "S-1-1-0"));
    CHECK_EQ(sddl_writable(L"O:S-1-5-21-1-2-3-1001D:(A;;FA;;;BA)", who), 1); /* owner may rewrite the DACL */
    CHECK(has(who, "S-1-5-21-1-2-3-1001"));
    CHECK_EQ(sddl_writable(L"O:BA", who), 1); /* no DACL at all: everyone everything */
    /* write for CREATOR OWNER on children only (inherit-only) does not apply to the folder */
    CHECK_EQ(sddl_writable(L"O:BAD:(A;;FA;;;BA)(A;OICIIO;FA;;;CO)", who), 0);
    CHECK_EQ(sddl_writable(L"O:BAD:(A;;FA;;;BA)(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)",
                           who), 0); /* TrustedInstaller */
    if (GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version")) {
        /* Wine's directories (owner: the Unix user, no OWNER RIGHTS) count as open */
        wchar_t dir[MAX_PATH];
        tmp_path(dir, L"plain");
        CreateDirectoryW(dir, NULL);
        CHECK(wsdx_user_writable(dir, who, sizeof who));
        RemoveDirectoryW(dir);
    }
}

static void I15_6_unelevatedAdministratorIsRefused(void)
{
    char why[200] = "";
    HANDLE proc = NULL, restricted = NULL, imp = NULL;
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof sid;
    CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, sid, &size);
    SID_AND_ATTRIBUTES deny = {sid, 0};
    CHECK(OpenProcessToken(GetCurrentProcess(), TOKEN_ALL_ACCESS, &proc));
    CHECK(wsdx_check_admin(NULL, why, sizeof why)); /* Wine's user is an administrator */
    /* Administrators deny-only: what an unelevated UAC token holds */
    CHECK(CreateRestrictedToken(proc, 0, 1, &deny, 0, NULL, 0, NULL, &restricted));
    CHECK(DuplicateToken(restricted, SecurityImpersonation, &imp));
    CHECK(!wsdx_check_admin(imp, why, sizeof why));
    CHECK(has(why, "administrator"));
    CloseHandle(imp);
    CloseHandle(restricted);
    CloseHandle(proc);
}

static DWORD tool_exit(const wchar_t *args)
{
    wchar_t cmd[2 * MAX_PATH];
    _snwprintf(cmd, 2 * MAX_PATH, L"\"%ls\" %ls", tool, args);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(tool, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        return 9999;
    DWORD rc = 9998;
    WaitForSingleObject(pi.hProcess, 60000);
    GetExitCodeProcess(pi.hProcess, &rc);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return rc;
}

static void I15_7_toolRefusesBadArgumentsWithItsOwnExitCodes(void)
{
    wchar_t args[3 * MAX_PATH];
    CHECK_EQ(tool_exit(L"frobnicate"), WSDX_EXIT_USAGE);
    CHECK_EQ(tool_exit(L"install --bogus"), WSDX_EXIT_USAGE);
    CHECK_EQ(tool_exit(L"install C:\\nowhere\\wsdx-lsp.dll"), WSDX_EXIT_BAD_DLL);
    _snwprintf(args, 3 * MAX_PATH, L"install \"%ls\"", dll32);
    CHECK_EQ(tool_exit(args), WSDX_EXIT_BAD_DLL);
    _snwprintf(args, 3 * MAX_PATH, L"install \"%ls\"", nowsp);
    CHECK_EQ(tool_exit(args), WSDX_EXIT_BAD_DLL);
    /* a good DLL in a folder Users may write is refused before any catalog call */
    wchar_t dir[MAX_PATH], copy[MAX_PATH];
    tmp_path(dir, L"open");
    CreateDirectoryW(dir, NULL);
    grant_users_write(dir);
    _snwprintf(copy, MAX_PATH, L"%ls\\wsdx-lsp-1.dll", dir);
    CopyFileW(dll64, copy, FALSE);
    _snwprintf(args, 3 * MAX_PATH, L"install \"%ls\"", copy);
    CHECK_EQ(tool_exit(args), WSDX_EXIT_UNSAFE_DIR);
    DeleteFileW(copy);
    RemoveDirectoryW(dir);
}

static void I15_4_runsAreSerialisedByAGlobalMutex(void)
{
    HANDLE m = CreateMutexW(NULL, TRUE, L"Global\\wsdx-install");
    CHECK(m != NULL);
    CHECK_EQ(tool_exit(L"remove --wait=0"), WSDX_EXIT_BUSY);
    ReleaseMutex(m);
    CHECK_EQ(tool_exit(L"remove --wait=0"), WSDX_EXIT_OK); /* nothing of ours in Wine's catalog */
    CloseHandle(m);
}

int wmain(int argc, wchar_t **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 5) {
        printf("usage: test_checks TOOL DLL64 DLL32 NOWSP_DLL\n");
        return 2;
    }
    tool = argv[1], dll64 = argv[2], dll32 = argv[3], nowsp = argv[4];
    I15_7_dllArgumentsAreValidated();
    I15_1_providerFolderOnlyAdministratorsWrite();
    I15_6_unelevatedAdministratorIsRefused();
    I15_7_toolRefusesBadArgumentsWithItsOwnExitCodes();
    I15_4_runsAreSerialisedByAGlobalMutex();
    return check_summary("test_checks");
}
