/*
 * lib/util/log.c - log line formatting and dispatch (see log.h), and the
 * public sticky_ctx_log() / sticky_ctx_vlog() that let backends log
 * through the same path.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/context_internal.h"

void log_vcfg(const sticky_config *cfg, int level, const char *fmt, va_list ap)
{
    if (cfg == NULL || cfg->log_fn == NULL || level > cfg->log_level)
        return;
    char line[STICKY_LOG_LINE_MAX];
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0)
        return;
    cfg->log_fn(level, line, cfg->log_user);
}

void log_cfg(const sticky_config *cfg, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vcfg(cfg, level, fmt, ap);
    va_end(ap);
}

STICKY_API void sticky_ctx_vlog(const sticky_ctx *ctx, int level, const char *fmt,
                                va_list ap)
{
    /* A level outside the enum is the caller's mistake: drop the line
     * rather than hand the callback a level it does not know. */
    if (ctx == NULL || fmt == NULL || level < STICKY_LOG_ERROR ||
        level > STICKY_LOG_DEBUG)
        return;
    log_vcfg(&ctx->cfg, level, fmt, ap);
}

STICKY_API void sticky_ctx_log(const sticky_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sticky_ctx_vlog(ctx, level, fmt, ap);
    va_end(ap);
}
