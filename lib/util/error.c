/* lib/error.c - text for every enum sticky_err code (see sticky/error.h). */
#include "sticky/error.h"

struct err_text {
    int code;
    const char *name;
    const char *text;
};

static const struct err_text err_table[] = {
    {STICKY_OK, "STICKY_OK", "success"},
    {STICKY_EINVAL, "STICKY_EINVAL", "invalid argument"},
    {STICKY_ENOMEM, "STICKY_ENOMEM", "out of memory"},
    {STICKY_EPARSE, "STICKY_EPARSE", "malformed input"},
    {STICKY_ENOTFOUND, "STICKY_ENOTFOUND", "not found"},
    {STICKY_EEXIST, "STICKY_EEXIST", "already exists"},
    {STICKY_ESTORE, "STICKY_ESTORE", "session store failure"},
    {STICKY_ENOCHANNEL, "STICKY_ENOCHANNEL", "no channel available"},
    {STICKY_EABI, "STICKY_EABI", "struct size or version not supported (ABI mismatch)"},
    {STICKY_EBUSY, "STICKY_EBUSY", "resource busy"},
    {STICKY_ECONFIG, "STICKY_ECONFIG", "invalid configuration value"},
    {STICKY_ECRYPTO, "STICKY_ECRYPTO", "cryptographic library failure"},
    {STICKY_ELIMIT, "STICKY_ELIMIT", "input exceeds a size or depth limit"},
};

static const struct err_text *find_err(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
        if (err_table[i].code == err)
            return &err_table[i];
    }
    return NULL;
}

STICKY_API const char *sticky_strerror(int err)
{
    const struct err_text *e = find_err(err);
    return e ? e->text : "unknown error";
}

STICKY_API const char *sticky_errname(int err)
{
    const struct err_text *e = find_err(err);
    return e ? e->name : "STICKY_EUNKNOWN";
}
