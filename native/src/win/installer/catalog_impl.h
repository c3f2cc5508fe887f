/* catalog_impl.h - what catalog.c and catalog_remove.c share. */
#ifndef WSDX_INSTALLER_CATALOG_IMPL_H
#define WSDX_INSTALLER_CATALOG_IMPL_H

#include "catalog.h"

#define OURS_MAX 16

int find_id(const wsdx_snap *s, DWORD id);          /* index of id, or -1 */
DWORD layer_id(const wsdx_snap *s);                 /* our layer entry's id, or 0 */
int our_guid(const GUID *g);                        /* one of our three GUIDs */
int chain_len(const WSAPROTOCOL_INFOW *e);          /* ChainLen clamped to 0..MAX_PROTOCOL_CHAIN */
int names(const WSAPROTOCOL_INFOW *e, DWORD id);    /* e's chain names id */
int is_ours(const WSAPROTOCOL_INFOW *e, DWORD layer); /* our GUID, or a chain starting at our layer */
int ours_of(const wsdx_snap *s, const GUID *g, int idx[OURS_MAX]); /* entries of g; count */

#endif
