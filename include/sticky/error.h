/*
 * sticky/error.h - the error codes every libsticky function returns and the
 * functions that turn them into text. Codes are negative, 0 is success, and
 * the list only ever grows at the end.
 */
#ifndef STICKY_ERROR_H
#define STICKY_ERROR_H

#include "common.h"

STICKY_BEGIN_DECLS

/*
 * Append-only: a code's value never changes and is never reused. Functions
 * return 0 (STICKY_OK) or one of these negative values.
 */
enum sticky_err {
    STICKY_OK = 0,
    STICKY_EINVAL = -1,     /* an argument is invalid (NULL, out of range) */
    STICKY_ENOMEM = -2,     /* the allocator returned NULL */
    STICKY_EPARSE = -3,     /* input bytes (JSON, id) are malformed */
    STICKY_ENOTFOUND = -4,  /* no such entry */
    STICKY_EEXIST = -5,     /* entry already exists */
    STICKY_ESTORE = -6,     /* the storage backend failed */
    STICKY_ENOCHANNEL = -7, /* no channel is usable for this request */
    STICKY_EABI = -8,       /* struct size / vtable version not understood */
    STICKY_EBUSY = -9,      /* resource busy, try again */
    STICKY_ECONFIG = -10,   /* a configuration value is malformed or out of range */
    STICKY_ECRYPTO = -11,   /* libcrypto failed (e.g. SHA-256 unavailable) */
    STICKY_ELIMIT = -12     /* input exceeds a size or depth limit */
};

/**
 * sticky_strerror - human-readable description of an error code.
 *
 * @err: a value of enum sticky_err (or any int).
 * Returns: a static string; unknown codes give "unknown error". Never NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_strerror(int err);

/**
 * sticky_errname - the symbolic name of an error code, e.g. "STICKY_EINVAL".
 *
 * @err: a value of enum sticky_err (or any int).
 * Returns: a static string; unknown codes give "STICKY_EUNKNOWN". Never NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_errname(int err);

STICKY_END_DECLS

#endif /* STICKY_ERROR_H */
