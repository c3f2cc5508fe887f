/* installed.c (POSIX) - there is no Winsock catalog here: the protocol
 * always runs in-process (backend.h). */
#include "backend.h"

#include <stddef.h>

const wsdx_backend_ops *wsdx_host_installed_backend(int *err)
{
    *err = -WSDX_WSAEPROTONOSUPPORT;
    return NULL;
}
const wsdx_backend_ops *wsdx_host_installed_known(void) { return NULL; }
