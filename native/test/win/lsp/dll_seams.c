/* dll_seams.c - the provider's two seams for wsdx-lsp-test.dll, the provider
 * built as a DLL for the harness's unload row (UNLOAD): the fake catalog and
 * the fake WPUCompleteOverlappedRequest live in the harness exe, which
 * exports them (fake_ws2.c), as the real ones live in ws2_32. */
#include "lsp.h"

typedef int (*find_lower_fn)(const WSAPROTOCOL_INFOW *, wsdx_lsp_lower_ref *);
typedef int (*complete_fn)(SOCKET, LPWSAOVERLAPPED, DWORD, DWORD, LPINT);

int wsdx_lsp_find_lower(const WSAPROTOCOL_INFOW *self, wsdx_lsp_lower_ref *out)
{
    find_lower_fn f = (find_lower_fn)(void *)GetProcAddress(GetModuleHandleW(NULL), "fake_find_lower");
    return f ? f(self, out) : WSAEPROVIDERFAILEDINIT;
}

int wsdx_lsp_complete_request(SOCKET s, LPWSAOVERLAPPED ov, DWORD err, DWORD n, LPINT lpErrno)
{
    complete_fn f = (complete_fn)(void *)GetProcAddress(GetModuleHandleW(NULL), "fake_complete_request");
    if (!f) {
        *lpErrno = WSAEINVAL;
        return SOCKET_ERROR;
    }
    return f(s, ov, err, n, lpErrno);
}
