/* close_events.h - one recorder of close events (wsdx_on_close) for the C
 * tests, and the bounded wait they all use. Portable (plat.h): linked into
 * every test by run-tests.sh, and into the Windows socket tests by
 * native/win/build.sh. The raw BSD-socket peer (raw_peer.h) is POSIX only,
 * hence a file of its own. */
#ifndef WSDX_CLOSE_EVENTS_H
#define WSDX_CLOSE_EVENTS_H

#include "wsdx.h"

#include <stdatomic.h>

/* What the close callbacks reported since close_events_reset(): how many
 * came, and the error and flags of the last one (-1 before the first). */
extern atomic_int close_count, close_error, close_flags;

/* close_count 0, close_error and close_flags -1. */
void close_events_reset(void);
/* The recording callback (a wsdx_close_fn). */
void on_close(wsdx_socket s, int error, int flags, void *ctx);
/* close_events_reset(), then on_close registered on s; wsdx_on_close's result. */
int watch_close(wsdx_socket s);
/* Waits (at most 5 s) until *counter >= n; returns *counter. A missing event
 * thus fails the caller's check instead of hanging the test. */
int wait_count(atomic_int *counter, int n);
/* wait_count(&close_count, n). */
int wait_closes(int n);

#endif
