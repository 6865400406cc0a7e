/*
 * sticky/version.h - compile-time version macros and the runtime version
 * functions, so a program can compare the header it was built against with
 * the library it runs with.
 */
#ifndef STICKY_VERSION_H
#define STICKY_VERSION_H

#include "common.h"

#define STICKY_VERSION_MAJOR 0
#define STICKY_VERSION_MINOR 5
#define STICKY_VERSION_PATCH 0
#define STICKY_VERSION_STRING "0.5.0"

/* 0xMMmmpp: one byte each for major, minor, patch (0.5.0 -> 0x000500). */
#define STICKY_VERSION_HEX                                                   \
    ((STICKY_VERSION_MAJOR << 16) | (STICKY_VERSION_MINOR << 8) |            \
     STICKY_VERSION_PATCH)

STICKY_BEGIN_DECLS

/**
 * sticky_version_number - version of the running library.
 *
 * Returns: the version encoded like STICKY_VERSION_HEX (0xMMmmpp).
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API unsigned sticky_version_number(void);

/**
 * sticky_version_string - version of the running library as text.
 *
 * Returns: a static string such as "0.1.0"; never NULL, never freed.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_version_string(void);

STICKY_END_DECLS

#endif /* STICKY_VERSION_H */
