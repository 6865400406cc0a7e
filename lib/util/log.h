/*
 * lib/util/log.h - formatting log lines and handing them to the host's log
 * callback. Silent when no callback is set or the level is filtered out.
 */
#ifndef STICKY_LOG_H
#define STICKY_LOG_H

#include "sticky/config.h"

#if defined(__GNUC__)
#define STICKY_PRINTF(fmt_idx, arg_idx) \
    __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define STICKY_PRINTF(fmt_idx, arg_idx)
#endif

/* Longest line passed to the callback; longer lines are truncated. */
#define STICKY_LOG_LINE_MAX 512

/* Log through the callback in @cfg (a full-size, validated config). */
void log_cfg(const sticky_config *cfg, int level, const char *fmt, ...)
    STICKY_PRINTF(3, 4);

#endif /* STICKY_LOG_H */
