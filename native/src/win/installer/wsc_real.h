/* wsc_real.h - the WSC* table of catalog.h over the real ws2_32. */
#ifndef WSDX_INSTALLER_WSC_REAL_H
#define WSDX_INSTALLER_WSC_REAL_H

#include "catalog.h"

/* This process's own catalog. */
void wsdx_wsc_native(wsc_ops *o);
/* The 32-bit catalog from a 64-bit process (list, update, remove; no
 * install); 0 when this is not a 64-bit process or ws2_32 lacks the calls. */
int wsdx_wsc_32_from_64(wsc_ops *o);

#endif
