/*
 * lib/util/error.h - what the library itself asks of its error list
 * (sticky/error.h, STICKY_ERROR_LIST).
 */
#ifndef STICKY_UTIL_ERROR_H
#define STICKY_UTIL_ERROR_H

/* 1 if @err is a code of enum sticky_err (STICKY_OK included), else 0. */
int error_known(int err);

#endif /* STICKY_UTIL_ERROR_H */
