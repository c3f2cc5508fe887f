/* rxqueue.c - the receive queue (see rxqueue.h). */
#include "rxqueue.h"
#include "wsdx.h"

#include <stdlib.h>
#include <string.h>

/* Bytes allocated by every receive queue, for the memory budget. */
static size_t g_held;
static int64_t g_budget; /* 0 until set or read from the environment */

size_t wsdx_rxq_held_total(void)
{
    return __atomic_load_n(&g_held, __ATOMIC_RELAXED);
}

int64_t wsdx_rxq_budget(void)
{
    int64_t b = __atomic_load_n(&g_budget, __ATOMIC_RELAXED);
    if (b > 0)
        return b;
    const char *v = getenv("WSDX_MEMORY_BUDGET_MB");
    long long mb = v ? atoll(v) : 0;
    b = (mb > 0 ? mb : WSDX_DEFAULT_MEMORY_BUDGET_MB) * 1024 * 1024;
    __atomic_store_n(&g_budget, b, __ATOMIC_RELAXED);
    return b;
}

void wsdx_rxq_set_budget(int64_t bytes)
{
    __atomic_store_n(&g_budget, bytes, __ATOMIC_RELAXED);
}

int wsdx_rxq_may_grow(const wsdx_rxqueue *q, size_t n)
{
    if (q->cap < WSDX_RXQ_FLOOR)
        return 1; /* every connection may hold a little: small exchanges never wait */
    return (int64_t)(wsdx_rxq_held_total() + n) <= wsdx_rxq_budget();
}

static void account(int64_t delta)
{
    __atomic_add_fetch(&g_held, (size_t)delta, __ATOMIC_RELAXED);
}

void wsdx_rxq_init(wsdx_rxqueue *q, int records)
{
    memset(q, 0, sizeof *q);
    q->records = (uint8_t)(records != 0);
}

void wsdx_rxq_free(wsdx_rxqueue *q)
{
    account(-(int64_t)q->cap);
    free(q->data);
    q->data = NULL;
    q->head = q->tail = q->cap = q->ready = q->open_at = 0;
    q->open = 0;
}

void wsdx_rxq_clear(wsdx_rxqueue *q)
{
    wsdx_rxq_free(q);
}

/* Room for n more bytes at the tail: slide live bytes down, then grow. */
static int reserve(wsdx_rxqueue *q, size_t n)
{
    /* a message is at most WSDX_MAX_MESSAGE; stream backlog is bounded by the kernel buffer.
     * Checked on every push: the buffer may have slack past the cap (it grows by an eighth). */
    if ((size_t)(q->tail - q->head) + n > (size_t)WSDX_MAX_MESSAGE * 4)
        return -WSDX_WSAENOBUFS;
    if ((size_t)q->cap - q->tail >= n)
        return 0;
    if (q->head > 0) {
        uint32_t live = q->tail - q->head;
        memmove(q->data, q->data + q->head, live);
        q->open_at -= q->open ? q->head : 0;
        q->tail = live;
        q->head = 0;
        if ((size_t)q->cap - q->tail >= n)
            return 0;
    }
    size_t need = (size_t)q->tail + n;
    size_t cap = q->cap ? q->cap : 256;
    while (cap < need && cap < (1u << 20))
        cap *= 2;
    if (cap < need) /* past 1 MiB grow by an eighth: a 16 MiB message must not hold 32 */
        cap = (need + need / 8 + 65535) & ~(size_t)65535;
    uint8_t *p = realloc(q->data, cap);
    if (!p)
        return -WSDX_WSAENOBUFS;
    account((int64_t)cap - (int64_t)q->cap);
    q->data = p;
    q->cap = (uint32_t)cap;
    return 0;
}

static void put_len(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v); /* host order: never leaves this process */
}

static uint32_t get_len(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

int wsdx_rxq_push(wsdx_rxqueue *q, const uint8_t *p, size_t n, int end)
{
    if (q->records && !q->open) {
        if (reserve(q, 4 + n))
            return -WSDX_WSAENOBUFS;
        q->open_at = q->tail;
        q->tail += 4;
        q->open = 1;
    }
    if (n && reserve(q, n))
        return -WSDX_WSAENOBUFS;
    if (n)
        memcpy(q->data + q->tail, p, n);
    q->tail += (uint32_t)n;
    if (!q->records) {
        q->ready = q->tail - q->head;
    } else if (end) {
        put_len(q->data + q->open_at, q->tail - q->open_at - 4);
        q->open = 0;
        q->ready = q->tail - q->head;
    }
    return 0;
}

int wsdx_rxq_has_ready(const wsdx_rxqueue *q)
{
    return q->ready > 0;
}

static void consumed(wsdx_rxqueue *q, uint32_t n)
{
    q->head += n;
    q->ready -= n;
    if (q->head == q->tail)
        wsdx_rxq_free(q);
}

size_t wsdx_rxq_pop(wsdx_rxqueue *q, uint8_t *dst, size_t cap, int *truncated)
{
    *truncated = 0;
    if (!q->ready)
        return 0;
    if (!q->records) {
        size_t n = cap < q->ready ? cap : q->ready;
        if (n)
            memcpy(dst, q->data + q->head, n);
        consumed(q, (uint32_t)n);
        return n;
    }
    uint32_t len = get_len(q->data + q->head);
    size_t n = cap < len ? cap : len;
    if (n)
        memcpy(dst, q->data + q->head + 4, n);
    *truncated = n < len;
    consumed(q, 4 + len);
    return n;
}
