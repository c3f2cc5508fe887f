/* linger.c - the linger policy of WSPCloseSocket (see linger.h). */
#include "linger.h"

int wsdx_linger_counts_unsent(int on, int seconds)
{
    return on && seconds != 0;
}

enum wsdx_close_plan wsdx_linger_plan(int on, int seconds, int blocking, size_t unsent)
{
    if (!wsdx_linger_counts_unsent(on, seconds))
        return on ? WSDX_CLOSE_ABORT : WSDX_CLOSE_GRACEFUL;
    if (blocking)
        return unsent ? WSDX_CLOSE_WAIT : WSDX_CLOSE_GRACEFUL;
    return unsent ? WSDX_CLOSE_WOULDBLOCK : WSDX_CLOSE_GRACEFUL;
}
