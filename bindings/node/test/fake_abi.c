/*
 * fake_abi.c - test-only stand-in, preloaded (LD_PRELOAD) by
 * test/abi.test.js: sticky_version_number() answers STICKY_FAKE_VERSION
 * (hex) and sticky_struct_size() answers 1 for the id in
 * STICKY_FAKE_STRUCT, so the addon's load-time check sees a library it was
 * not compiled for. Otherwise they answer what the real libsticky (already
 * loaded as the addon's dependency) answers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

/* The real libsticky's @name. */
static void *real_sym(const char *name)
{
    void *h = dlopen("libsticky.so.0", RTLD_LAZY | RTLD_NOLOAD);
    return h != NULL ? dlsym(h, name) : NULL;
}

unsigned sticky_version_number(void)
{
    const char *e = getenv("STICKY_FAKE_VERSION");
    if (e != NULL)
        return (unsigned)strtoul(e, NULL, 16);
    void *sym = real_sym("sticky_version_number");
    unsigned (*real)(void) = NULL;
    if (sym != NULL)
        memcpy(&real, &sym, sizeof real); /* ISO C has no object-to-function cast */
    return real != NULL ? real() : 0;
}

size_t sticky_struct_size(int id)
{
    const char *e = getenv("STICKY_FAKE_STRUCT");
    if (e != NULL && atoi(e) == id)
        return 1;
    void *sym = real_sym("sticky_struct_size");
    size_t (*real)(int) = NULL;
    if (sym != NULL)
        memcpy(&real, &sym, sizeof real);
    return real != NULL ? real(id) : 0;
}
