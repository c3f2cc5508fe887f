/* notifier.c (POSIX) - the one epoll thread that watches every socket and
 * calls back into the core: FIN, reset and error detection, send queues,
 * accepts and handshakes, and work posted by other threads. */
#include "host.h"
#include "wsdx.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BATCH 256

static int g_ep = -1, g_wake = -1;
static pthread_t g_thread;
static char g_wake_tag; /* epoll tag of the wake-up eventfd */

static uint32_t to_epoll(int events)
{
    uint32_t e = 0;
    if (events & WSDX_WATCH_READ)
        e |= EPOLLIN | EPOLLRDHUP; /* level-triggered */
    if (events & (WSDX_WATCH_WRITE | WSDX_WATCH_CLOSE))
        e |= EPOLLET | EPOLLRDHUP;
    if (events & WSDX_WATCH_WRITE)
        e |= EPOLLOUT;
    return e; /* EPOLLERR and EPOLLHUP are always reported */
}

static int from_epoll(uint32_t e)
{
    int ev = 0;
    if (e & EPOLLIN)
        ev |= WSDX_WATCH_READ;
    if (e & EPOLLOUT)
        ev |= WSDX_WATCH_WRITE;
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        ev |= WSDX_WATCH_CLOSE;
    return ev;
}

int wsdx_watch(wsdx_fd fd, void *tag, int events)
{
    struct epoll_event e = {.events = to_epoll(events), .data.ptr = tag};
    return epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &e) == 0 ? 0 : -WSDX_WSAENOBUFS;
}

int wsdx_watch_modify(wsdx_fd fd, void *tag, int events)
{
    struct epoll_event e = {.events = to_epoll(events), .data.ptr = tag};
    return epoll_ctl(g_ep, EPOLL_CTL_MOD, fd, &e) == 0 ? 0 : -WSDX_WSAENOBUFS;
}

void wsdx_unwatch(wsdx_fd fd)
{
    epoll_ctl(g_ep, EPOLL_CTL_DEL, fd, NULL);
}

void wsdx_notifier_wake(void)
{
    uint64_t one = 1;
    ssize_t r = write(g_wake, &one, sizeof one);
    (void)r; /* a full counter already means "wake up" */
}

int wsdx_on_notifier_thread(void)
{
    return g_ep >= 0 && pthread_equal(pthread_self(), g_thread);
}

static void *run(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "wsdx-notifier"); /* tests find it in /proc/self/task */
    struct epoll_event evs[BATCH];
    int64_t next_timer = -1;
    for (;;) {
        int timeout = -1;
        if (next_timer >= 0) {
            int64_t left = next_timer - wsdx_now_ms();
            timeout = left < 0 ? 0 : (int)(left > 60000 ? 60000 : left);
        }
        int n = epoll_wait(g_ep, evs, BATCH, timeout);
        if (n < 0 && errno != EINTR)
            break;
        int woken = 0;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &g_wake_tag) {
                uint64_t v;
                ssize_t r = read(g_wake, &v, sizeof v);
                (void)r;
                woken = 1;
                continue;
            }
            wsdx__ready(evs[i].data.ptr, from_epoll(evs[i].events));
        }
        if (woken)
            wsdx__posted();
        next_timer = wsdx__timers(wsdx_now_ms());
        wsdx__batch_end();
    }
    return NULL;
}

int wsdx_notifier_start(void)
{
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    g_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g_ep < 0 || g_wake < 0)
        return -WSDX_WSAEMFILE;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &g_wake_tag};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, g_wake, &e) != 0)
        return -WSDX_WSAENOBUFS;
    /* the notifier takes no signals: they belong to the host process */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g_thread, NULL, run, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -WSDX_WSAENOBUFS;
    /* named here too, so that it carries its name before the start returns
     * (tests find it in /proc/self/task right after the first listen) */
    pthread_setname_np(g_thread, "wsdx-notifier");
    pthread_detach(g_thread);
    return 0;
}
