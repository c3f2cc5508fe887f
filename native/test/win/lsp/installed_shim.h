/* installed_shim.h - the controls of installed_shim.c's catalog model, for
 * tests of how the installed backend follows the catalog. */
#ifndef WSDX_INSTALLED_SHIM_H
#define WSDX_INSTALLED_SHIM_H

/* Installs the wsdx entries (new catalog ids each time, as `repair` writes
 * them) or removes them; pending change notifications complete. */
void installed_shim_catalog(int present);
/* The provider DLL does not load (1) or loads again (0); the catalog is unchanged. */
void installed_shim_provider_fails(int fails);
/* WSAProviderConfigChange unsupported (1) from now on; pending requests end. */
void installed_shim_unwatchable(int on);
/* WSAEnumProtocolsW calls so far. */
long installed_shim_enums(void);
/* WSASocketW calls that failed on a stale or broken entry so far. */
long installed_shim_bad_opens(void);

#endif
