/* test_notifier.c - the in-process notifier (src/win/notifier.c) alone,
 * under Wine, with the core's four callbacks played by this file.
 *
 * WN1: more than one batch (256) of socket messages already queued when the
 *      notifier looks: every one is dispatched, without any new input.
 * WN2: a wake-up that arrives behind such a backlog reaches wsdx__posted.
 * WN3: wake-ups never get stuck: many from several threads, each one seen
 *      (coalescing allowed, losing the last one not). */
#include <stdio.h>

#include "check.h"
#include "host.h"
#include "wsdx.h"

static volatile LONG readies, posted, gate_open;
static HANDLE gate, entered, all_ready, posted_ev;
static LONG want_readies;

void wsdx__ready(void *tag, int events)
{
    (void)tag;
    (void)events;
    if (!gate_open) { /* hold the notifier until the whole backlog is queued */
        SetEvent(entered);
        WaitForSingleObject(gate, INFINITE);
        gate_open = 1;
    }
    if (InterlockedIncrement(&readies) == want_readies)
        SetEvent(all_ready);
}

void wsdx__posted(void)
{
    InterlockedIncrement(&posted);
    SetEvent(posted_ev);
}

int64_t wsdx__timers(int64_t now)
{
    (void)now;
    return -1;
}

void wsdx__batch_end(void) {}

/* Holds the notifier inside wsdx__ready, queues n socket messages behind it
 * (the very messages WSAAsyncSelect posts: wParam the socket, lParam the event). */
static void backlog(HWND w, SOCKET s, int n)
{
    ResetEvent(gate);
    gate_open = 0;
    readies = 0;
    want_readies = n + 1;
    PostMessageW(w, WM_APP + 1, (WPARAM)s, FD_READ);
    WaitForSingleObject(entered, INFINITE); /* the first one is taken: the notifier now waits on gate */
    for (int i = 0; i < n; i++)
        PostMessageW(w, WM_APP + 1, (WPARAM)s, FD_READ);
}

/* Waits until wsdx__posted has run after b was read. A set of posted_ev
 * alone proves nothing: a wake-up taken before b was read increments first
 * and sets the event after (wsdx__posted), so its set can land after the
 * caller's look. 20 s bounds a lost wake-up. */
static int posted_after(LONG b)
{
    for (int i = 0; i < 200 && InterlockedCompareExchange(&posted, 0, 0) == b; i++)
        WaitForSingleObject(posted_ev, 100);
    return InterlockedCompareExchange(&posted, 0, 0) != b;
}

static DWORD WINAPI waker(LPVOID arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        wsdx_notifier_wake();
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    gate = CreateEventW(NULL, TRUE, FALSE, NULL);
    entered = CreateEventW(NULL, FALSE, FALSE, NULL);
    all_ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    posted_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK_EQ(wsdx_notifier_start(), 0);
    HWND w = FindWindowExW(HWND_MESSAGE, NULL, L"STATIC", L"wsdx-notifier");
    CHECK(w != NULL);
    SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    CHECK(s != INVALID_SOCKET);
    CHECK_EQ(wsdx_watch(s, (void *)1, WSDX_WATCH_READ), 0); /* a UDP socket with nothing to read: quiet */

    /* WN1: 1000 queued = four batches; a hang here is the defect (bounded so the run ends) */
    backlog(w, s, 1000);
    SetEvent(gate);
    CHECK_EQ(WaitForSingleObject(all_ready, 20000), WAIT_OBJECT_0);
    CHECK_EQ(readies, 1001);

    /* WN2: the wake-up comes while 1000 messages wait */
    LONG before = posted;
    backlog(w, s, 1000);
    wsdx_notifier_wake();
    SetEvent(gate);
    CHECK(posted_after(before));
    CHECK_EQ(WaitForSingleObject(all_ready, 20000), WAIT_OBJECT_0);

    /* WN3: wake-ups from 4 threads; after they end, one more wake is always seen */
    HANDLE t[4];
    for (int i = 0; i < 4; i++)
        t[i] = CreateThread(NULL, 0, waker, NULL, 0, NULL);
    WaitForMultipleObjects(4, t, TRUE, INFINITE);
    for (int i = 0; i < 4; i++)
        CloseHandle(t[i]);
    for (int round = 0; round < 50; round++) {
        LONG b = posted;
        wsdx_notifier_wake();
        if (!posted_after(b)) {
            CHECK(!"a wake-up was lost");
            break;
        }
    }
    wsdx_unwatch(s);
    closesocket(s);
    return check_summary("test_notifier");
}
