/* close_events.c - the close-event recorder of the C tests (close_events.h). */
#include "close_events.h"

#include <stdlib.h>

#include "plat.h"

atomic_int close_count, close_error = -1, close_flags = -1;

void close_events_reset(void)
{
    atomic_store(&close_count, 0);
    atomic_store(&close_error, -1);
    atomic_store(&close_flags, -1);
}

void on_close(wsdx_socket s, int error, int flags, void *ctx)
{
    (void)s;
    (void)ctx;
    atomic_store(&close_error, error);
    atomic_store(&close_flags, flags);
    atomic_fetch_add(&close_count, 1); /* last: a waiter that sees the count sees the rest */
}

int watch_close(wsdx_socket s)
{
    close_events_reset();
    return wsdx_on_close(s, on_close, NULL);
}

int wait_count(atomic_int *counter, int n)
{
    for (int i = 0; i < 500 && atomic_load(counter) < n; i++)
        test_sleep_ms(10);
    return atomic_load(counter);
}

int wait_closes(int n)
{
    return wait_count(&close_count, n);
}
