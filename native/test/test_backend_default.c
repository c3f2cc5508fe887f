/* test_backend_default.c - the first call of a fresh process: with WSDX_BACKEND unset and no
 * provider installed (POSIX has none), wsdx_backend() resolves to the in-process backend and
 * says so. Its own program because the choice is made once per process.
 * Mutation (a survivor of native/mutate/mutate.py): api.c wsdx_backend, the CAS's
 * `int expected = 0` -> `1` (the choice was never stored; wsdx_backend() returned 0). */
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
