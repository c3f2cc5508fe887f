/* notifier.c (Windows) - the one thread that watches every socket.
 *
 * WSAAsyncSelect on a message-only window: FD_CLOSE is an edge (posted once),
 * FD_WRITE and FD_READ/FD_ACCEPT are re-enabled by the call that drained
 * them, and there is no 64-socket limit as with WSAWaitForMultipleEvents.
 * Windows may hold FD_CLOSE back while unread data waits, so a watched
 * connection also takes FD_READ and the core drains it: on this host the
 * notifier reads ahead of the application.
 *
 * Wake-ups come by an auto-reset event, not a posted message: SetEvent on a
 * valid handle cannot fail, where PostMessageW can (a full queue), and an
 * event coalesces wake-ups without a flag of our own. The wait uses
 * MWMO_INPUTAVAILABLE: without it MsgWaitForMultipleObjects returns only for
 * input that arrived since the queue was last looked at, so messages left
 * after a batch of 256 would wait for the next new one. */
#include "host.h"
#include "wsdx.h"

#include <stdlib.h>

#define WM_WSDX_SOCKET (WM_APP + 1)
#define BUCKETS 4096

typedef struct entry {
    SOCKET fd;
    void *tag;
    struct entry *next;
} entry;

static struct {
    SRWLOCK lock; /* guards the map */
    entry *map[BUCKETS];
    HWND hwnd;
    DWORD tid;
    HANDLE ready;
    HANDLE wake; /* auto-reset */
    int error;
} n;

static entry **slot(SOCKET fd)
{
    entry **pp = &n.map[(size_t)(fd >> 2) % BUCKETS]; /* handles are multiples of 4 */
    while (*pp && (*pp)->fd != fd)
        pp = &(*pp)->next;
    return pp;
}

static void *lookup(SOCKET fd)
{
    AcquireSRWLockShared(&n.lock);
    entry *e = *slot(fd);
    void *tag = e ? e->tag : NULL;
    ReleaseSRWLockShared(&n.lock);
    return tag;
}

static long to_select(int events)
{
    long e = 0;
    if (events & WSDX_WATCH_READ)
        e |= FD_ACCEPT | FD_READ | FD_CLOSE;
    if (events & WSDX_WATCH_CLOSE)
        e |= FD_READ | FD_CLOSE;
    if (events & WSDX_WATCH_WRITE)
        e |= FD_WRITE;
    return e;
}

static int from_select(WORD ev)
{
    int r = 0;
    if (ev & (FD_READ | FD_ACCEPT))
        r |= WSDX_WATCH_READ;
    if (ev & FD_WRITE)
        r |= WSDX_WATCH_WRITE;
    if (ev & FD_CLOSE)
        r |= WSDX_WATCH_CLOSE;
    return r;
}

int wsdx_watch(wsdx_fd fd, void *tag, int events)
{
    entry *e = malloc(sizeof *e);
    if (!e)
        return -WSDX_WSAENOBUFS;
    AcquireSRWLockExclusive(&n.lock);
    entry **pp = slot(fd);
    if (*pp) {
        free(e);
        (*pp)->tag = tag;
    } else {
        e->fd = fd;
        e->tag = tag;
        e->next = NULL;
        *pp = e;
    }
    ReleaseSRWLockExclusive(&n.lock);
    return wsdx_watch_modify(fd, tag, events);
}

int wsdx_watch_modify(wsdx_fd fd, void *tag, int events)
{
    (void)tag;
    return WSAAsyncSelect(fd, n.hwnd, WM_WSDX_SOCKET, to_select(events)) == 0 ? 0 : -WSAGetLastError();
}

void wsdx_unwatch(wsdx_fd fd)
{
    WSAAsyncSelect(fd, n.hwnd, 0, 0);
    AcquireSRWLockExclusive(&n.lock);
    entry **pp = slot(fd), *e = *pp;
    if (e)
        *pp = e->next;
    ReleaseSRWLockExclusive(&n.lock);
    free(e); /* messages still queued for fd find no entry and are dropped */
}

void wsdx_notifier_wake(void)
{
    SetEvent(n.wake);
}

int wsdx_on_notifier_thread(void)
{
    return GetCurrentThreadId() == n.tid;
}

static void dispatch(const MSG *m)
{
    if (m->message == WM_WSDX_SOCKET) {
        void *tag = lookup((SOCKET)m->wParam);
        if (tag)
            wsdx__ready(tag, from_select(WSAGETSELECTEVENT(m->lParam)));
    } else {
        DispatchMessageW(m);
    }
}

static DWORD WINAPI run(LPVOID arg)
{
    (void)arg;
    n.tid = GetCurrentThreadId();
    n.hwnd = CreateWindowExW(0, L"STATIC", L"wsdx-notifier", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, NULL, NULL);
    n.error = n.hwnd ? 0 : -WSDX_WSAENOBUFS;
    SetEvent(n.ready);
    if (!n.hwnd)
        return 1;
    int64_t next_timer = -1;
    for (;;) {
        DWORD timeout = INFINITE;
        if (next_timer >= 0) {
            int64_t left = next_timer - wsdx_now_ms();
            timeout = left < 0 ? 0 : (DWORD)(left > 60000 ? 60000 : left);
        }
        DWORD w = MsgWaitForMultipleObjectsEx(1, &n.wake, timeout, QS_ALLINPUT, MWMO_INPUTAVAILABLE);
        MSG m;
        for (int i = 0; i < 256 && PeekMessageW(&m, NULL, 0, 0, PM_REMOVE); i++) /* bounded: timers run too */
            dispatch(&m);
        if (w == WAIT_OBJECT_0)
            wsdx__posted();
        next_timer = wsdx__timers(wsdx_now_ms());
        wsdx__batch_end();
    }
    return 0;
}

int wsdx_notifier_start(void)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return -WSDX_WSAENETDOWN;
    InitializeSRWLock(&n.lock);
    n.ready = CreateEventW(NULL, TRUE, FALSE, NULL);
    n.wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    HANDLE t = n.ready && n.wake ? CreateThread(NULL, 0, run, NULL, 0, NULL) : NULL;
    if (!t)
        return -WSDX_WSAENOBUFS;
    CloseHandle(t);
    WaitForSingleObject(n.ready, INFINITE);
    CloseHandle(n.ready);
    return n.error;
}
