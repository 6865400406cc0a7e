/* lib/util/error.c - text for every enum sticky_err code, generated from STICKY_ERROR_LIST (sticky/error.h). */
#include "util/error.h"
#include "sticky/error.h"

struct err_text {
    int code;
    const char *name;
    const char *text;
};

#define ERR_ROW(name, value, text) {value, "STICKY_" #name, text},
static const struct err_text err_table[] = {STICKY_ERROR_LIST(ERR_ROW)};
#undef ERR_ROW

static const struct err_text *find_err(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
        if (err_table[i].code == err)
            return &err_table[i];
    }
    return NULL;
}

int error_known(int err)
{
    return find_err(err) != NULL;
}

STICKY_API const char *sticky_strerror(int err)
{
    const struct err_text *e = find_err(err);
    return e ? e->text : "unknown error";
}

STICKY_API const char *sticky_err_name(int err)
{
    const struct err_text *e = find_err(err);
    return e ? e->name : "STICKY_EUNKNOWN";
}
