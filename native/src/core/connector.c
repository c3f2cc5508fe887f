/* connector.c - wsdx_connect on a non-blocking socket, as Winsock's connect
 * does it: the call fails WSAEWOULDBLOCK at once, and FD_CONNECT (wsdx_select)
 * reports the result later with its error code. The TCP connect and the
 * preamble exchange run on one of a few connector threads, with the same code
 * and deadline as a blocking connect (socket.c, sock_connect_locked); the
 * result is posted to the notifier, which reports FD_CONNECT. Name lookup and
 * connect are blocking calls in every host, so they get threads of their own,
 * never the notifier. The threads are bounded (CONNECTORS_MAX; more connects
 * wait their turn in order) and leave when the queue is empty; a connect that
 * waits for a slow server holds one, so the bound is generous (each reserves
 * only a small stack). */
#include "sock.h"

#include <stdlib.h>
#include <string.h>

#define CONNECTORS_MAX 64

typedef struct job {
    sock *s; /* a counted reference */
    char *host;
    int port, timeout_ms;
    struct job *next;
} job;

static struct {
    wsdx_mutex mu; /* guards the queue and threads */
    job *head, *tail;
    int threads;
} q;

void sock_connector_init(void)
{
    wsdx_mutex_init(&q.mu);
}

/* Connects s and posts FD_CONNECT with the result. */
static void run(job *j)
{
    sock *s = j->s;
    wsdx_mutex_lock(&s->mu);
    int rc = sock_connect_locked(s, j->host, j->port, j->timeout_ms);
    s->connect_rc = rc;
    s->connect_due = 1;
    wsdx_mutex_unlock(&s->mu);
    sock_post(s); /* FD_CONNECT, from the notifier thread */
    sock_release(s);
    free(j->host);
    free(j);
}

static void connector_main(void *unused)
{
    (void)unused;
    for (;;) {
        wsdx_mutex_lock(&q.mu);
        job *j = q.head;
        if (j && !(q.head = j->next))
            q.tail = NULL;
        if (!j)
            q.threads--;
        wsdx_mutex_unlock(&q.mu);
        if (!j)
            return;
        run(j);
    }
}

int sock_connect_start(sock *s, const char *host, int port, int timeout_ms)
{
    WSDX_ASSERT(wsdx_mutex_is_locked(&s->mu));
    job *j = calloc(1, sizeof *j);
    size_t n = strlen(host) + 1;
    char *h = j ? malloc(n) : NULL;
    if (!h) {
        free(j);
        return -WSDX_WSAENOBUFS;
    }
    memcpy(h, host, n);
    *j = (job){.s = s, .host = h, .port = port, .timeout_ms = timeout_ms};
    sock_ref(s);
    wsdx_mutex_lock(&q.mu);
    if (q.tail)
        q.tail->next = j;
    else
        q.head = j;
    q.tail = j;
    int spawn = q.threads < CONNECTORS_MAX;
    q.threads += spawn;
    int rc = spawn ? wsdx_thread_spawn(connector_main, NULL) : 0;
    if (rc && --q.threads == 0) { /* no thread to run it: take it back */
        q.head = q.tail = NULL;
        wsdx_mutex_unlock(&q.mu);
        sock_release(s);
        free(h);
        free(j);
        return rc;
    }
    wsdx_mutex_unlock(&q.mu);
    return -WSDX_WSAEWOULDBLOCK;
}
