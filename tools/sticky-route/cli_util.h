/* examples/sticky-route/cli_util.h - helpers shared by sticky-route
 * subcommands: reading files, logging to stderr. */
#ifndef STICKY_ROUTE_CLI_UTIL_H
#define STICKY_ROUTE_CLI_UTIL_H

#include <stddef.h>

/* Read a whole file ("-" = stdin) into a malloc'ed buffer. Returns 0 or -1
 * (errno-style message already printed to stderr). */
int read_file(const char *path, char **data, size_t *len);

/* A sticky_log_fn that prints "sticky-route: <level>: <message>". */
void log_to_stderr(int level, const char *message, void *user);

#endif
