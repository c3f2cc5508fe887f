/* peer.c - the conformance peer of docs/protocol.md section 5 on libwsdx:
 *   peer server PORT stream|message       serves every connection
 *   peer client HOST:PORT stream|message  connects again and again until refused
 * Echoes each message / the bytes; answers the peer's end with its disconnect data. */
#include "wsdx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int mode;

static void *serve(void *arg)
{
    wsdx_socket s = (wsdx_socket)(intptr_t)arg;
    char *buf = malloc(WSDX_MAX_MESSAGE);
    for (;;) {
        int n = buf ? wsdx_recv(s, buf, WSDX_MAX_MESSAGE, -1) : -1;
        if (n == 0 && mode == WSDX_STREAM)
            n = -WSDX_WSAEDISCON; /* the end of a stream */
        if (n == -WSDX_WSAEDISCON) {
            char d[WSDX_MAX_DISCONNECT_DATA];
            int dn = wsdx_recv_disconnect(s, d, sizeof d);
            wsdx_send_disconnect(s, d, dn > 0 ? dn : 0);
            break;
        }
        if (n < 0)
            break; /* reset or protocol error: this connection is over */
        for (int off = 0; off < n || (n == 0 && off == 0);) {
            int w = wsdx_send(s, buf + off, n - off);
            if (w < 0 || n == 0)
                break;
            off += w;
        }
    }
    free(buf);
    wsdx_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: peer server PORT MODE | peer client HOST:PORT MODE\n");
        return 2;
    }
    mode = strcmp(argv[3], "message") == 0 ? WSDX_MESSAGE : WSDX_STREAM;
    if (strcmp(argv[1], "server") == 0) {
        wsdx_socket l = wsdx_listen("127.0.0.1", atoi(argv[2]), mode, 0);
        if (l < 0)
            return 1;
        for (;;) {
            wsdx_socket s = wsdx_accept(l, -1);
            pthread_t th;
            if (s > 0 && pthread_create(&th, NULL, serve, (void *)(intptr_t)s) == 0)
                pthread_detach(th);
        }
    }
    char host[256];
    snprintf(host, sizeof host, "%s", argv[2]);
    char *colon = strrchr(host, ':');
    if (!colon)
        return 2;
    *colon = 0;
    int port = atoi(colon + 1), served = 0;
    time_t give_up = time(NULL) + 20; /* the kit may not listen yet */
    for (;;) {
        wsdx_socket s = wsdx_socket_open(mode);
        int rc = wsdx_connect(s, host, port, 10000);
        if (rc == -WSDX_WSAECONNREFUSED && (served || time(NULL) > give_up)) {
            wsdx_close(s);
            return 0; /* the kit is done */
        }
        if (rc == -WSDX_WSAECONNREFUSED) {
            wsdx_close(s);
            usleep(50000);
            continue;
        }
        served = 1;
        if (rc == 0)
            serve((void *)(intptr_t)s);
        else
            wsdx_close(s);
    }
}
