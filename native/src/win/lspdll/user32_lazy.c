/* user32_lazy.c - linked into the provider-only DLL (wsdx-lsp.dll) so that
 * it does not import USER32.
 *
 * Every process that opens a socket through the catalog loads the
 * provider, and processes under Win32k lockdown cannot load USER32. The
 * provider's one USER32 call is IsWindow (WSPAsyncSelect checks the
 * application's window). An application that has a window has USER32
 * loaded already; one that cannot load it has no window, so the answer is
 * FALSE there. The calls go through the __imp_ pointer the headers declare
 * (WINUSERAPI is dllimport), so defining that pointer here keeps the linker
 * from taking the import from libuser32.a. */
#include <windows.h>

static BOOL WINAPI lazy_is_window(HWND wnd)
{
    HMODULE u = GetModuleHandleW(L"user32.dll");
    if (!u)
        u = LoadLibraryW(L"user32.dll"); /* fails under Win32k lockdown: no windows there */
    BOOL(WINAPI * f)(HWND) = u ? (BOOL(WINAPI *)(HWND))(void *)GetProcAddress(u, "IsWindow") : NULL;
    return f ? f(wnd) : FALSE;
}

#ifdef _WIN64
#define IMP_ISWINDOW "__imp_IsWindow"
#else
#define IMP_ISWINDOW "__imp__IsWindow@4" /* stdcall: decorated, and no extra underscore */
#endif
BOOL(WINAPI *wsdx_imp_is_window)(HWND) __asm__(IMP_ISWINDOW) = lazy_is_window;
