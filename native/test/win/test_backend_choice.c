/* test_backend_choice.c - how the backend choice follows the Winsock catalog
 * (issue 15 item 9), on the installed backend routed through installed_shim.c,
 * whose catalog model a test installs, removes, repairs and breaks:
 *  - a failed choice is not kept: installing the provider later makes it usable;
 *  - AUTO follows the catalog, reading it again only when
 *    WSAProviderConfigChange says it changed;
 *  - AUTO opens one socket before it takes the installed backend: a provider
 *    DLL that does not load leaves it in-process, and INSTALLED says why;
 *  - after `repair` (new catalog ids) connects work: the catalog is read
 *    again on the change notification, or, without one, when a socket on
 *    the cached entry fails. */
#include "check.h"
#include "installed_shim.h"
#include "wsdx.h"

#include <stdio.h>
#include <stdlib.h>

#include "plat.h"

#define WSAEPROVIDERFAILEDINIT_CODE 10106

/* A server on the in-process backend, a client on the installed one: 0 when
 * they connect and a byte goes across. */
static int exchange_on_installed(void)
{
    wsdx_use_backend(WSDX_BACKEND_IN_PROCESS);
    wsdx_socket l = wsdx_listen("127.0.0.1", 0, WSDX_STREAM, 0);
    int chosen = wsdx_use_backend(WSDX_BACKEND_INSTALLED);
    wsdx_socket c = wsdx_socket_open(WSDX_STREAM), a = -1;
    wsdx_use_backend(WSDX_BACKEND_AUTO); /* the tests run on AUTO */
    int rc = chosen == WSDX_BACKEND_INSTALLED ? wsdx_connect(c, "127.0.0.1", wsdx_local_port(l), 5000) : chosen;
    if (!rc && (a = wsdx_accept(l, 5000)) < 0)
        rc = (int)a;
    char b = 0;
    if (!rc && (wsdx_send(c, "x", 1) != 1 || wsdx_recv(a, &b, 1, 5000) != 1 || b != 'x'))
        rc = -1;
    if (a > 0)
        wsdx_close(a);
    wsdx_close(c);
    wsdx_close(l);
    return rc;
}

/* The first choice fails (nothing installed); after the install it works. */
static void failed_choice_is_not_kept(void)
{
    installed_shim_catalog(0); /* before the backend's first look */
    CHECK_EQ(wsdx_use_backend(WSDX_BACKEND_INSTALLED), -WSDX_WSAEPROTONOSUPPORT);
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS); /* AUTO, the default */
    installed_shim_catalog(1);
    CHECK_EQ(wsdx_use_backend(WSDX_BACKEND_INSTALLED), WSDX_BACKEND_INSTALLED);
    CHECK_EQ(exchange_on_installed(), 0);
    CHECK_EQ(wsdx_use_backend(WSDX_BACKEND_AUTO), WSDX_BACKEND_INSTALLED);
}

/* AUTO takes what the catalog has now; unchanged, the catalog is not read again. */
static void auto_follows_the_catalog(void)
{
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_INSTALLED);
    installed_shim_catalog(0);
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS);
    long reads = installed_shim_enums();
    for (int i = 0; i < 20; i++)
        CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS);
    CHECK_EQ(installed_shim_enums(), reads); /* "none installed" kept while nothing changed */
    installed_shim_catalog(1);
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_INSTALLED);
}

/* Entries present, DLL broken: AUTO stays in-process, INSTALLED says why;
 * once the DLL loads again (no catalog change), both find it. */
static void auto_checks_the_dll_loads(void)
{
    installed_shim_provider_fails(1);
    installed_shim_catalog(1); /* installed again, over a DLL that does not load */
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_IN_PROCESS);
    CHECK_EQ(wsdx_use_backend(WSDX_BACKEND_INSTALLED), -WSAEPROVIDERFAILEDINIT_CODE);
    CHECK_EQ(wsdx_last_error(), WSAEPROVIDERFAILEDINIT_CODE);
    installed_shim_provider_fails(0);
    CHECK_EQ(wsdx_backend(), WSDX_BACKEND_INSTALLED);
    CHECK_EQ(exchange_on_installed(), 0);
}

/* `repair` gives the entries new ids: with the notification, the catalog is
 * read again before any socket fails; without it, after one fails. */
static void repair_gives_new_ids(void)
{
    CHECK_EQ(exchange_on_installed(), 0);
    long bad = installed_shim_bad_opens();
    installed_shim_catalog(1);
    CHECK_EQ(exchange_on_installed(), 0);
    CHECK_EQ(installed_shim_bad_opens(), bad);
    installed_shim_unwatchable(1);
    CHECK_EQ(exchange_on_installed(), 0); /* the aborted request: read once more, unwatched now */
    installed_shim_catalog(1);            /* no notification of this one */
    CHECK_EQ(exchange_on_installed(), 0);
    CHECK_EQ(installed_shim_bad_opens(), bad + 1); /* the stale id, once */
    CHECK_EQ(exchange_on_installed(), 0);
    CHECK_EQ(installed_shim_bad_opens(), bad + 1);
}

int main(void)
{
    raw_init();
    failed_choice_is_not_kept();
    auto_follows_the_catalog();
    auto_checks_the_dll_loads();
    repair_gives_new_ids();
    for (int i = 0; i < 100 && wsdx_open_handles() > 0; i++)
        test_sleep_ms(10);
    CHECK_EQ(wsdx_open_handles(), 0);
    return check_summary("test_backend_choice");
}
