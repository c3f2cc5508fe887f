/* errors.c - names of the WSA codes wsdx reports, from WSDX_ERROR_MAP (wsdx.h). */
#include "wsdx.h"

const char *wsdx_error_name(int e)
{
    switch (e) {
    case 0: return "NO_ERROR";
#define NAME(name, value) case value: return #name;
    WSDX_ERROR_MAP(NAME)
#undef NAME
    default: return "WSA?";
    }
}
