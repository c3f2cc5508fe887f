/* host_types.h (Windows) - the OS types the portable core embeds. */
#ifndef WSDX_HOST_TYPES_H
#define WSDX_HOST_TYPES_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00 /* with NTDDI below, declares SIO_TCP_INFO: used only where it answers */
#endif
#ifndef NTDDI_VERSION
#define NTDDI_VERSION 0x0A000003 /* NTDDI_WIN10_RS2 */
#endif
#include <winsock2.h>
#include <windows.h>

typedef SRWLOCK wsdx_mutex;
typedef CONDITION_VARIABLE wsdx_cond;
typedef SOCKET wsdx_fd;
#define WSDX_BAD_FD INVALID_SOCKET

#endif
