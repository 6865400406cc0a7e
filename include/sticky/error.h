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
 * The error codes, one line each: X(NAME, value, "message"). This list is
 * the only place a code is defined: enum sticky_err, sticky_strerror() and
 * sticky_err_name() are all generated from it. Append-only: a code's value
 * never changes and is never reused; new codes go at the end.
 */
#define STICKY_ERROR_LIST(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(EPARSE, -3, "malformed input")                                           \
    X(ENOTFOUND, -4, "not found")                                              \
    X(EEXIST, -5, "already exists")                                            \
    X(ESTORE, -6, "session store failure")                                     \
    X(ENOCHANNEL, -7, "no channel available")                                  \
    X(EABI, -8, "struct size or version not supported (ABI mismatch)")         \
    X(EBUSY, -9, "resource busy")                                              \
    X(ECONFIG, -10, "invalid configuration value")                             \
    X(ECRYPTO, -11, "cryptographic library failure")                           \
    X(ELIMIT, -12, "input exceeds a size or depth limit")                     \
    X(ECORRUPT, -13, "stored data is corrupt or of an incompatible layout")    \
    X(EINPROGRESS, -14, "operation in progress; it completes through its callback") \
    X(EWOULDBLOCK, -15, "the call would block: the store has no non-blocking methods")

/*
 * Functions return 0 (STICKY_OK) or one of these negative values:
 * STICKY_EINVAL an argument is invalid (NULL, out of range; a debug log
 * line names it), STICKY_ENOMEM the allocator returned NULL, STICKY_EPARSE
 * input bytes (JSON, id) are malformed, STICKY_ENOTFOUND no such entry (a
 * session key; for sticky_report(), no such open attempt),
 * STICKY_EEXIST entry already exists, STICKY_ESTORE the storage backend
 * failed, STICKY_ENOCHANNEL no channel is usable for this request,
 * STICKY_EABI a struct size or vtable version is not understood,
 * STICKY_EBUSY resource busy, STICKY_ECONFIG a configuration value is
 * malformed or out of range, STICKY_ECRYPTO libcrypto failed,
 * STICKY_ELIMIT input exceeds a size or depth limit, STICKY_ECORRUPT a
 * file (a shared segment) is damaged or of another layout version,
 * STICKY_EINPROGRESS an asynchronous call will complete through its
 * callback (not a failure: hosts that test rc < 0 must test it first),
 * STICKY_EWOULDBLOCK an asynchronous call was refused because the store
 * would block the caller's thread.
 */
#define STICKY_ERR_ENUMERATOR_(name, value, text) STICKY_##name = value,
enum sticky_err { STICKY_ERROR_LIST(STICKY_ERR_ENUMERATOR_) };
#undef STICKY_ERR_ENUMERATOR_

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
 * sticky_err_name - the symbolic name of an error code, e.g. "STICKY_EINVAL".
 *
 * @err: a value of enum sticky_err (or any int).
 * Returns: a static string; unknown codes give "STICKY_EUNKNOWN". Never NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_err_name(int err);

STICKY_END_DECLS

#endif /* STICKY_ERROR_H */
