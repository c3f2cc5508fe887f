/* handles.c - the generation-checked handle table (handles.h). */
#include "handles.h"
#include "invariant.h"

#include <stdlib.h>

#define GEN_MASK 0x7fffffffu   /* the generation is the handle's high word: keeps it positive */
#define FIRST_SLOTS 64
#define MAX_SLOTS 0x80000000u  /* slot indexes never reach WSDX_HANDLE_INSTALLED */

void wsdx_handles_init(wsdx_handles *t, uint32_t tag)
{
    wsdx_mutex_init(&t->mu);
    t->slots = NULL;
    t->nslots = t->live = 0;
    t->free_head = UINT32_MAX;
    t->tag = tag;
}

/* t->mu held: doubles the table; 0 or -WSAENOBUFS. */
static int grow_locked(wsdx_handles *t)
{
    uint32_t n = t->nslots ? t->nslots * 2 : FIRST_SLOTS;
    wsdx_hslot *grown = n <= MAX_SLOTS ? realloc(t->slots, (size_t)n * sizeof *grown) : NULL;
    if (!grown)
        return -WSDX_WSAENOBUFS;
    for (uint32_t i = t->nslots; i < n; i++)
        grown[i] = (wsdx_hslot){ NULL, 1, i + 1 < n ? i + 1 : UINT32_MAX };
    t->slots = grown;
    t->free_head = t->nslots;
    t->nslots = n;
    return 0;
}

int wsdx_handles_add(wsdx_handles *t, wsdx_hobj *o)
{
    wsdx_mutex_lock(&t->mu);
    if (t->free_head == UINT32_MAX && grow_locked(t) != 0) {
        wsdx_mutex_unlock(&t->mu);
        return -WSDX_WSAENOBUFS;
    }
    wsdx_hslot *sl = &t->slots[t->free_head];
    o->idx = t->free_head;
    t->free_head = sl->next_free;
    sl->obj = o;
    o->refs = 1; /* the table's */
    o->handle = (wsdx_socket)(((uint64_t)sl->gen << 32) | t->tag | o->idx);
    t->live++;
    wsdx_mutex_unlock(&t->mu);
    return 0;
}

wsdx_hobj *wsdx_handles_acquire(wsdx_handles *t, wsdx_socket h, int (*usable)(const wsdx_hobj *o))
{
    uint32_t low = (uint32_t)((uint64_t)h & 0xffffffffu);
    uint32_t gen = (uint32_t)((uint64_t)h >> 32);
    uint32_t idx = low & ~t->tag;
    wsdx_hobj *o = NULL;
    if (h <= 0 || (low & t->tag) != t->tag)
        return NULL;
    wsdx_mutex_lock(&t->mu);
    if (idx < t->nslots && t->slots[idx].gen == gen && t->slots[idx].obj) {
        o = t->slots[idx].obj;
        if (usable && !usable(o))
            o = NULL;
        else
            wsdx_hobj_ref(o);
    }
    wsdx_mutex_unlock(&t->mu);
    return o;
}

void wsdx_handles_remove(wsdx_handles *t, wsdx_hobj *o)
{
    wsdx_mutex_lock(&t->mu);
    wsdx_hslot *sl = &t->slots[o->idx];
    if (sl->obj == o) {
        sl->obj = NULL;
        sl->gen = (sl->gen + 1) & GEN_MASK;
        if (sl->gen == 0)
            sl->gen = 1;
        sl->next_free = t->free_head;
        t->free_head = o->idx;
    }
    wsdx_mutex_unlock(&t->mu);
}

void wsdx_handles_ended(wsdx_handles *t)
{
    wsdx_mutex_lock(&t->mu);
    WSDX_ASSERT(t->live > 0);
    t->live--;
    wsdx_mutex_unlock(&t->mu);
}

int wsdx_handles_live(wsdx_handles *t)
{
    wsdx_mutex_lock(&t->mu);
    int n = (int)t->live;
    wsdx_mutex_unlock(&t->mu);
    return n;
}

void wsdx_hobj_ref(wsdx_hobj *o)
{
    int before = __atomic_fetch_add(&o->refs, 1, __ATOMIC_ACQ_REL);
    WSDX_ASSERT(before > 0);
    (void)before;
}

int wsdx_hobj_unref(wsdx_hobj *o)
{
    int left = __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
    WSDX_ASSERT(left >= 0);
    return left == 0;
}

#ifdef WSDX_CHECKS
#include <stdio.h>
void wsdx__assert_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, "wsdx: assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}
#endif
