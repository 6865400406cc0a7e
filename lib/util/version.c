/* lib/util/version.c - runtime version functions (see sticky/version.h). */
#include "sticky/version.h"

STICKY_API unsigned sticky_version_number(void)
{
    return (unsigned)STICKY_VERSION_HEX;
}

STICKY_API const char *sticky_version_string(void)
{
    return STICKY_VERSION_STRING;
}
