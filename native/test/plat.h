/* plat.h - what the socket tests need from the OS beyond wsdx.h: threads,
 * sleeping, and a raw TCP peer that does not speak wsdx. The tests' one
 * platform boundary. */
#ifndef WSDX_TEST_PLAT_H
#define WSDX_TEST_PLAT_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
typedef HANDLE test_thread;
typedef SOCKET raw_fd;

static DWORD WINAPI test_thread_main(LPVOID a)
{
    void **p = a;
    ((void *(*)(void *))p[0])(p[1]);
    free(p);
    return 0;
}
static inline int test_thread_start(test_thread *t, void *(*fn)(void *), void *arg)
{
    void **p = malloc(2 * sizeof *p);
    p[0] = (void *)fn;
    p[1] = arg;
    *t = CreateThread(NULL, 0, test_thread_main, p, 0, NULL);
    return *t ? 0 : -1;
}
static inline void test_thread_join(test_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static inline void test_sleep_ms(int ms) { Sleep((DWORD)ms); }
static inline long long test_now_ms(void) { return (long long)GetTickCount64(); }
static inline int raw_init(void)
{
    WSADATA d;
    return WSAStartup(MAKEWORD(2, 2), &d);
}
static inline int raw_write(raw_fd fd, const void *p, int n) { return send(fd, p, n, 0); }
static inline int raw_read(raw_fd fd, void *p, int n) { return recv(fd, p, n, 0); }
static inline void raw_close(raw_fd fd) { closesocket(fd); }
/* Wine shows some behaviour differently from Windows (the spec's last section). */
static inline int test_under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
typedef pthread_t test_thread;
typedef int raw_fd;
static inline int test_thread_start(test_thread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}
static inline void test_thread_join(test_thread t) { pthread_join(t, NULL); }
static inline void test_sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }
static inline long long test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static inline int raw_init(void) { return 0; }
static inline int raw_write(raw_fd fd, const void *p, int n) { return (int)write(fd, p, (size_t)n); }
static inline int raw_read(raw_fd fd, void *p, int n) { return (int)read(fd, p, (size_t)n); }
static inline void raw_close(raw_fd fd) { close(fd); }
static inline int test_under_wine(void) { return 0; }
#endif

/* A plain TCP connection to 127.0.0.1:port; 0 on success. */
static inline int raw_connect_loopback(int port, raw_fd *out)
{
    raw_fd fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *out = fd;
    return connect(fd, (struct sockaddr *)&sa, sizeof sa);
}

/* A plain TCP listener on 127.0.0.1 (port picked by the system); 0 on success. */
static inline int raw_listen_loopback(raw_fd *out, int *port)
{
    raw_fd fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    int len = sizeof sa; /* socklen_t on POSIX, int on Winsock */
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *out = fd;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 8) ||
        getsockname(fd, (struct sockaddr *)&sa, (void *)&len))
        return -1;
    *port = ntohs(sa.sin_port);
    return 0;
}

#endif
