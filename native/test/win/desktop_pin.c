/* desktop_pin.c - holds Wine's desktop open for a whole test run; not a test
 * and not shipped.
 *
 * Wine's server closes a desktop one second after its last user thread goes
 * (server/winstation.c, close_desktop_timeout: the desktop is unlinked and
 * WM_CLOSE is posted to explorer.exe, which owns it). Each test is its own
 * process, so between two tests the desktop closes, and the next test starts
 * explorer again and waits for it at most 10 s (win32u's get_desktop_window,
 * WaitForInputIdle(..., 10000)). A test that attaches during that second, or
 * waits out those 10 s on a loaded machine, has no usable desktop: its USER32
 * fails to initialise and the process ends with STATUS_DLL_INIT_FAILED
 * (0xC0000142, exit code 66) before main runs. On Windows the interactive
 * desktop lives as long as the session, so no test there can meet this.
 *
 * This process is a user of the desktop from before the first test to after
 * the last (build.sh ends it with wineserver -k), so the desktop neither closes
 * nor restarts during the run. It prints "desktop ready" once it has one. */
#include <stdio.h>
#include <windows.h>

int main(void)
{
    /* A window makes this thread a user of the desktop. It is message-only
     * because Wine without a display driver refuses top-level windows
     * ("no driver could be loaded"); GetDesktopWindow then checks that the
     * desktop window, explorer's, exists. */
    HWND w = CreateWindowExW(0, L"STATIC", L"wsdx-desktop-pin", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    if (!w || !GetDesktopWindow()) {
        fprintf(stderr, "desktop_pin: no desktop (error %lu)\n", GetLastError());
        return 1;
    }
    printf("desktop ready\n");
    fflush(stdout);
    MSG m;
    while (GetMessageW(&m, NULL, 0, 0) > 0)
        DispatchMessageW(&m);
    return 0;
}
