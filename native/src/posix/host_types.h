/* host_types.h (POSIX) - the OS types the portable core embeds. */
#ifndef WSDX_HOST_TYPES_H
#define WSDX_HOST_TYPES_H

#include <pthread.h>

typedef pthread_mutex_t wsdx_mutex;
typedef pthread_cond_t wsdx_cond;
typedef int wsdx_fd;
#define WSDX_BAD_FD (-1)

#endif
