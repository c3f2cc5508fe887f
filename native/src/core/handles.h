/* handles.h - the generation-checked handle table behind wsdx_socket values,
 * shared by both backends (socket.c in-process, src/win/pc_*.c installed).
 *
 * A handle is (generation << 32) | tag | slot index. A slot's generation moves
 * on when its object is removed, so a stale handle never finds a later object
 * (WSAENOTSOCK), and handles stay positive. Objects embed wsdx_hobj as their
 * first member and are counted: the table holds one reference from add until
 * the owner removes the object and drops it; each lookup takes one more. */
#ifndef WSDX_HANDLES_H
#define WSDX_HANDLES_H

#include "host.h"
#include "wsdx.h"

#include <stdint.h>

/* What the table knows of an object; embed it first. */
typedef struct wsdx_hobj {
    int refs;           /* atomic: the table's reference plus one per user; > 0 while reachable */
    uint32_t idx;       /* its slot; set by wsdx_handles_add, then constant */
    wsdx_socket handle; /* set by wsdx_handles_add, then constant */
} wsdx_hobj;

typedef struct wsdx_hslot {
    wsdx_hobj *obj;     /* NULL while free */
    uint32_t gen;       /* generation of the handle that reaches obj */
    uint32_t next_free; /* free list link, UINT32_MAX at the end */
} wsdx_hslot;

typedef struct wsdx_handles {
    wsdx_mutex mu;      /* guards every field below */
    wsdx_hslot *slots;
    uint32_t nslots, free_head;
    uint32_t live;      /* objects added and not yet ended (wsdx_handles_ended) */
    uint32_t tag;       /* bits every handle of this table carries in its low word */
} wsdx_handles;

/* Sets up an empty table whose handles carry tag (0 or WSDX_HANDLE_INSTALLED). */
void wsdx_handles_init(wsdx_handles *t, uint32_t tag);
/* Gives o a slot and a handle, with one reference (the table's); 0 or -WSAENOBUFS. */
int wsdx_handles_add(wsdx_handles *t, wsdx_hobj *o);
/* The object behind h with a new reference, or NULL (stale, foreign, or
 * usable(o) said no; usable runs under t->mu and may be NULL). */
wsdx_hobj *wsdx_handles_acquire(wsdx_handles *t, wsdx_socket h, int (*usable)(const wsdx_hobj *o));
/* Takes o's handle away: later lookups fail. The owner then drops the table's
 * reference. Removing twice is harmless. */
void wsdx_handles_remove(wsdx_handles *t, wsdx_hobj *o);
/* One object is gone for good (counts down wsdx_handles_live). */
void wsdx_handles_ended(wsdx_handles *t);
/* Objects added and not yet ended: wsdx_open_handles, for leak checks. */
int wsdx_handles_live(wsdx_handles *t);

/* One more reference to o; o must already hold one (asserted). */
void wsdx_hobj_ref(wsdx_hobj *o);
/* Drops a reference; 1 when it was the last (the caller frees o). */
int wsdx_hobj_unref(wsdx_hobj *o);

#endif
