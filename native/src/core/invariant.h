/* invariant.h - WSDX_ASSERT: invariants the code relies on (notifier thread only,
 * references > 0, ...). Compiled in when WSDX_CHECKS is defined (the sanitized
 * C test run: native/fuzz/sanitize.sh), compiled out in release builds, where
 * a broken invariant must not take the host process down. */
#ifndef WSDX_INVARIANT_H
#define WSDX_INVARIANT_H

#ifdef WSDX_CHECKS
/* Prints the failed condition and aborts (the sanitizers then print a stack). */
void wsdx__assert_failed(const char *cond, const char *file, int line);
#define WSDX_ASSERT(cond) ((cond) ? (void)0 : wsdx__assert_failed(#cond, __FILE__, __LINE__))
#define WSDX_ASSERTS_ON 1
#else
#define WSDX_ASSERT(cond) ((void)0)
#define WSDX_ASSERTS_ON 0
#endif

#endif
