/* tools/sticky-route/cli_util.h - helpers shared by sticky-route
 * subcommands: bounded file reading, JSON output and input checks, logging
 * to stderr. The CLI reads untrusted traces, bodies and channel lists:
 * every file read is bounded, every string printed into JSON goes through
 * json_print_string(), and every number read from JSON through
 * json_get_int(). */
#ifndef STICKY_ROUTE_CLI_UTIL_H
#define STICKY_ROUTE_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* The largest integer a JSON number (a double) holds exactly: 2^53 - 1. */
#define JSON_MAX_EXACT_INT 9007199254740991LL

/*
 * Read a whole file ("-" = stdin) into a malloc'ed buffer, NUL-terminated
 * (the NUL is not counted in *len). At most @max bytes are accepted: reading
 * stops at byte @max + 1, so /dev/zero or an endless pipe costs @max + 1
 * bytes, not all memory. Returns 0; -1 if it cannot be read, -2 if it is
 * larger than @max; either way a message naming @path is printed to stderr.
 */
int read_file(const char *path, size_t max, char **data, size_t *len);

/* Print @s as a JSON string literal: quotes, backslashes and control
 * characters escaped, valid UTF-8 copied, each byte of invalid UTF-8
 * replaced by \ufffd, so the output is always valid JSON text. */
void json_print_string(FILE *out, const char *s);

/*
 * Member @name of @obj as an integer in @lo..@hi (|lo|, |hi| <= 2^53 - 1).
 * Returns 1 and sets *@out; 0 if absent (or null); -1 if present but not an
 * integer in range, with the message "\"<name>\": <value> is not an integer
 * in <lo>..<hi>" in @err. Never casts an out-of-range double.
 */
int json_get_int(const cJSON *obj, const char *name, int64_t lo, int64_t hi, int64_t *out,
                 char *err, size_t err_cap);

/* A sticky_log_fn that prints "sticky-route: <level>: <message>". */
void log_to_stderr(int level, const char *message, void *user);

#endif
