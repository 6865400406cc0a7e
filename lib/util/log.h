/*
 * lib/util/log.h - formatting log lines and handing them to the host's log
 * callback. Silent when no callback is set or the level is filtered out.
 */
#ifndef STICKY_LOG_H
#define STICKY_LOG_H

#include <stdarg.h>

#include "sticky/config.h" /* and common.h: STICKY_PRINTF */

/* Longest line passed to the callback; longer lines are truncated. */
#define STICKY_LOG_LINE_MAX 512

/* Log through the callback in @cfg (a full-size, validated config): the
 * one implementation behind ctx_log(), sticky_ctx_log() and
 * sticky_ctx_vlog(). */
void log_vcfg(const sticky_config *cfg, int level, const char *fmt, va_list ap)
    STICKY_PRINTF(3, 0);
void log_cfg(const sticky_config *cfg, int level, const char *fmt, ...)
    STICKY_PRINTF(3, 4);

#endif /* STICKY_LOG_H */
