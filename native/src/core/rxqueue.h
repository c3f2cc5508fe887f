/* rxqueue.h - decoded bytes waiting for the application's receive.
 * Stream mode keeps plain bytes; message mode keeps [u32 length][payload]
 * records so that message boundaries survive. Storage is freed whenever the
 * queue empties, so an idle connection costs nothing here. */
#ifndef WSDX_RXQUEUE_H
#define WSDX_RXQUEUE_H

#include <stddef.h>
#include <stdint.h>


typedef struct {
    uint8_t *data;
    uint32_t head, tail, cap; /* bytes live in [head, tail) */
    uint32_t ready;           /* bytes from head that form complete items */
    uint32_t open_at;         /* message mode: offset of the open record */
    uint8_t records;          /* 1 = message mode */
    uint8_t open;             /* a record is being filled */
} wsdx_rxqueue;

/* The memory budget: bytes every receive queue together may hold
 * (wsdx_set_memory_budget, else WSDX_MEMORY_BUDGET_MB, else this). Past it a
 * connection stops reading (the kernel's flow control pushes back on its
 * peer) unless its queue is under WSDX_RXQ_FLOOR. */
#define WSDX_DEFAULT_MEMORY_BUDGET_MB 256
#define WSDX_RXQ_FLOOR (256 * 1024)
size_t wsdx_rxq_held_total(void);
int64_t wsdx_rxq_budget(void);
void wsdx_rxq_set_budget(int64_t bytes);
/* 1 when q may take n more bytes within the budget. */
int wsdx_rxq_may_grow(const wsdx_rxqueue *q, size_t n);

void wsdx_rxq_init(wsdx_rxqueue *q, int records);
void wsdx_rxq_free(wsdx_rxqueue *q);
/* Appends payload; in message mode end closes the record. 0 or -WSAENOBUFS. */
int wsdx_rxq_push(wsdx_rxqueue *q, const uint8_t *p, size_t n, int end);
/* 1 when a complete item (any byte in stream mode, a whole message) waits. */
int wsdx_rxq_has_ready(const wsdx_rxqueue *q);
/* Copies out up to cap bytes (one message at most). Returns the count;
 * *truncated is set when a message did not fit (its rest is dropped). */
size_t wsdx_rxq_pop(wsdx_rxqueue *q, uint8_t *dst, size_t cap, int *truncated);
/* Drops everything, including a half-filled record. */
void wsdx_rxq_clear(wsdx_rxqueue *q);

#endif
