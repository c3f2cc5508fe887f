/* linger.h - what WSPCloseSocket does under SO_LINGER / SO_DONTLINGER (S7-S10). */
#ifndef WSDX_LINGER_H
#define WSDX_LINGER_H

#include <stddef.h>

enum wsdx_close_plan {
    WSDX_CLOSE_GRACEFUL,  /* return now; queued data then FIN go out in the background (S7) */
    WSDX_CLOSE_ABORT,     /* return now; drop queued data; reset (S8) */
    WSDX_CLOSE_WAIT,      /* block until delivered or the timeout, then reset (S9) */
    WSDX_CLOSE_WOULDBLOCK /* non-blocking with data queued: fail, stay open (S10) */
};

enum wsdx_close_plan wsdx_linger_plan(int on, int seconds, int blocking, size_t unsent);
/* 1 when wsdx_linger_plan's answer depends on unsent (a linger with a
 * timeout): only then need the caller ask the kernel how much that is. */
int wsdx_linger_counts_unsent(int on, int seconds);

#endif
