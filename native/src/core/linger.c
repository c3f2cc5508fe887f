/* linger.c - the linger policy of WSPCloseSocket (see linger.h). */
#include "linger.h"

enum wsdx_close_plan wsdx_linger_plan(int on, int seconds, int blocking, size_t unsent)
{
    if (!on)
        return WSDX_CLOSE_GRACEFUL;
    if (seconds == 0)
        return WSDX_CLOSE_ABORT;
    if (blocking)
        return unsent ? WSDX_CLOSE_WAIT : WSDX_CLOSE_GRACEFUL;
    return unsent ? WSDX_CLOSE_WOULDBLOCK : WSDX_CLOSE_GRACEFUL;
}
