/* test_backend_default.c - the first call of a fresh process: with WSDX_BACKEND unset and no
 * provider installed (POSIX has none), wsdx_backend() resolves to the in-process backend and
 * says so. Its own program because the environment is read once per process.
 * Mutation (a survivor of native/mutate/mutate.py): api.c wanted, the CAS's
 * `int expected = -1` -> `0` (the environment's choice was never stored; wsdx_backend() failed). */
#include "check.h"
#include "wsdx.h"

#include <stdlib.h>

int main(void)
{
    unsetenv("WSDX_BACKEND");
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS);
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS); /* and it stays */
    wsdx_socket s = wsdx_socket_open(WSDX_STREAM);
    CHECK(s > 0);
    CHECK_EQ(wsdx_close(s), 0);
    return check_summary("test_backend_default");
}
