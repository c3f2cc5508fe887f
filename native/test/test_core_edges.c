/* test_core_edges.c - behaviours of the portable core that no socket-level
 * test can see (issue 16): data after SD_RECEIVE, the receive backlog cap at
 * its exact value, the receive queue's compaction around an open record, the
 * handle generation's wrap-around, the memory budget's unit and floor. Uses the internal conn.h / rxqueue.h /
 * handles.h on purpose and nothing else.
 * Each comment names the hand mutation that made the test fail. */
#include "check.h"
#include "conn.h"
#include "frame.h"
#include "handles.h"
#include "rxqueue.h"
#include "wsdx.h"

/* wsdx_conn_recv's "message was cut" flag, for the calls that do not check it */
static int t_partial;

#include <stdlib.h>
#include <string.h>

static void connected(wsdx_conn *c, int mode)
{
    wsdx_conn_init(c, mode);
    wsdx_conn_established(c);
}

/* S2: data arriving after SD_RECEIVE is dropped, not queued (nothing kept,
 * nothing allocated). Mutation: conn.c ingest, `if (c->recv_shut || ...)`
 * -> `if (... )` without recv_shut: the queue holds the bytes. */
static void S2_dataAfterShutdownReceiveIsDropped(void)
{
    for (int mode = WSDX_STREAM; mode <= WSDX_MESSAGE; mode++) {
        wsdx_conn c;
        int fin;
        connected(&c, mode);
        CHECK_EQ(wsdx_conn_shutdown(&c, WSDX_SD_RECEIVE, &fin), 0);
        CHECK_EQ(fin, 0);
        uint8_t w[5 + 3];
        wsdx_frame_header_encode(w, WSDX_FRAME_DATA, 3);
        memcpy(w + 5, "abc", 3);
        CHECK_EQ(wsdx_conn_ingest(&c, w, sizeof w), 0);
        CHECK(!wsdx_rxq_has_ready(&c.rx));
        CHECK(c.rx.data == NULL); /* not even a half-open record */
        uint8_t b[8];
        CHECK_EQ(wsdx_conn_recv(&c, b, sizeof b, &t_partial), -WSDX_WSAESHUTDOWN);
        wsdx_conn_free(&c);
    }
}

/* The receive backlog cap (4 x WSDX_MAX_MESSAGE) holds at its exact value
 * and refuses one byte more. The check runs when the buffer grows, so the
 * second half arrives in one push that asks for exactly the cap.
 * Mutations: rxqueue.c reserve `need >` -> `need >=` (the exact value fails);
 * the cap `* 4` -> `* 4 + 1` (one byte past is taken). */
static void receiveBacklogCapAtExactValue(void)
{
    const size_t cap = (size_t)WSDX_MAX_MESSAGE * 4;
    uint8_t *p = calloc(1, cap / 2);
    wsdx_rxqueue q;
    wsdx_rxq_init(&q, 0);
    CHECK_EQ(wsdx_rxq_push(&q, p, cap / 2, 1), 0);
    CHECK_EQ(wsdx_rxq_push(&q, p, cap / 2, 1), 0);
    CHECK_EQ(q.ready, cap);
    CHECK_EQ(wsdx_rxq_push(&q, p, 1, 1), -WSDX_WSAENOBUFS);
    CHECK_EQ(q.ready, cap); /* the refused byte changed nothing */
    int truncated;
    CHECK_EQ(wsdx_rxq_pop(&q, p, 1, &truncated), 1);
    CHECK_EQ(wsdx_rxq_push(&q, p, 1, 1), 0); /* one read makes room for one byte */
    wsdx_rxq_free(&q);
    free(p);
}

/* Compaction (sliding live bytes to the front) keeps the half-filled record
 * whole: its length lands in its own header, the message comes out intact.
 * Mutation: rxqueue.c reserve, delete `q->open_at -= ...`: the length is
 * written at the old offset and the second message is garbage. */
static void compactionKeepsOpenRecord(void)
{
    wsdx_rxqueue q;
    uint8_t a[100], b[200], out[256];
    int truncated;
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)i;
    wsdx_rxq_init(&q, 1);
    CHECK_EQ(wsdx_rxq_push(&q, a, sizeof a, 1), 0);   /* [4+100] */
    CHECK_EQ(wsdx_rxq_push(&q, b, 100, 0), 0);        /* [4+100 open] */
    CHECK_EQ(wsdx_rxq_pop(&q, out, sizeof out, &truncated), 100);
    CHECK(q.head > 0);                                /* room only after a slide */
    CHECK_EQ(wsdx_rxq_push(&q, b + 100, 100, 1), 0);
    CHECK_EQ(q.head, 0);                              /* it did slide */
    CHECK_EQ(wsdx_rxq_pop(&q, out, sizeof out, &truncated), 200);
    CHECK_EQ(truncated, 0);
    CHECK(memcmp(out, b, sizeof b) == 0);
    CHECK(!wsdx_rxq_has_ready(&q));
    wsdx_rxq_free(&q);
}

/* A slot's generation wraps after 2^31 reuses; it must skip 0, or slot 0's
 * next handle would be 0, which every lookup refuses (handles.h: handles stay
 * positive, and 0 is no socket): the object would be unreachable. The test
 * puts the slot at the last generation instead of reusing it 2^31 times.
 * Mutation: handles.c wsdx_handles_remove, `sl->gen = 1` -> `= 0` after the
 * wrap (a mutate.py survivor): the new handle is 0 and acquire fails. */
static void handleGenerationWrapSkipsZero(void)
{
    wsdx_handles t;
    wsdx_hobj a, last, b;
    wsdx_handles_init(&t, 0);
    CHECK_EQ(wsdx_handles_add(&t, &a), 0); /* makes the slots */
    wsdx_handles_remove(&t, &a);
    t.slots[0].gen = 0x7fffffffu; /* GEN_MASK: its next remove wraps */
    CHECK_EQ(wsdx_handles_add(&t, &last), 0);
    CHECK_EQ(last.idx, 0u);
    wsdx_handles_remove(&t, &last);
    CHECK_EQ(wsdx_handles_add(&t, &b), 0);
    CHECK_EQ(b.idx, 0u);
    CHECK((uint64_t)b.handle >> 32 == 1); /* generation 1, not 0 */
    CHECK(b.handle > 0);
    wsdx_hobj *o = wsdx_handles_acquire(&t, b.handle, NULL);
    CHECK(o == &b);
    if (o)
        wsdx_hobj_unref(o);
    CHECK(wsdx_handles_acquire(&t, last.handle, NULL) == NULL); /* the stale one stays refused */
    wsdx_handles_remove(&t, &b);
    free(t.slots);
    wsdx_mutex_destroy(&t.mu);
}

/* Past the memory budget a connection still reads until its queue holds
 * WSDX_RXQ_FLOOR (wsdx.h: every connection may hold a little), and no more:
 * the queue's capacities (256 doubled) meet the floor exactly. Mutations:
 * rxqueue.c reserve, first capacity 256 -> 255 and -> 257 (mutate.py
 * survivors first judged equivalent): 255 x 2^10 is just under the floor, so
 * the queue doubles once more, to 522,240 bytes; 257 x 2^10 passes it by 1 KiB. */
static void budgetExhaustedStopsAtTheFloor(void)
{
    static uint8_t chunk[1024];
    wsdx_rxqueue q;
    wsdx_rxq_init(&q, 0);
    wsdx_rxq_set_budget(1); /* exhausted from the first byte */
    size_t took = 0;
    while (wsdx_rxq_may_grow(&q, sizeof chunk) && took < 4 * WSDX_RXQ_FLOOR) {
        CHECK_EQ(wsdx_rxq_push(&q, chunk, sizeof chunk, 1), 0);
        took += sizeof chunk;
    }
    CHECK_EQ(q.cap, WSDX_RXQ_FLOOR);
    CHECK(took <= WSDX_RXQ_FLOOR);
    wsdx_rxq_free(&q);
    wsdx_rxq_set_budget(0); /* back to the environment's or the default */
}

/* The memory budget (wsdx.h, WSDX_MEMORY_BUDGET_MB) is a count of MiB.
 * Mutation: rxqueue.c wsdx_rxq_budget, `* 1024 * 1024` -> `* 1024 * 1023`
 * (a mutate.py survivor): 3 MiB read as 3,142,656 bytes. */
static void memoryBudgetFromEnvironmentIsMiB(void)
{
    setenv("WSDX_MEMORY_BUDGET_MB", "3", 1);
    wsdx_rxq_set_budget(0); /* 0: read the environment again */
    CHECK_EQ(wsdx_rxq_budget(), (int64_t)3 << 20);
    setenv("WSDX_MEMORY_BUDGET_MB", "none", 1);
    wsdx_rxq_set_budget(0);
    CHECK_EQ(wsdx_rxq_budget(), (int64_t)WSDX_DEFAULT_MEMORY_BUDGET_MB << 20);
    unsetenv("WSDX_MEMORY_BUDGET_MB");
    wsdx_rxq_set_budget(0);
    CHECK_EQ(wsdx_rxq_budget(), (int64_t)WSDX_DEFAULT_MEMORY_BUDGET_MB << 20);
}

int main(void)
{
    S2_dataAfterShutdownReceiveIsDropped();
    receiveBacklogCapAtExactValue();
    compactionKeepsOpenRecord();
    handleGenerationWrapSkipsZero();
    budgetExhaustedStopsAtTheFloor();
    memoryBudgetFromEnvironmentIsMiB();
    return check_summary("test_core_edges");
}
