/* lib/util/log.c - log line formatting and dispatch (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

void log_cfg(const sticky_config *cfg, int level, const char *fmt, ...)
{
    if (cfg == NULL || cfg->log_fn == NULL || level > cfg->log_level)
        return;
    char line[STICKY_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    cfg->log_fn(level, line, cfg->log_user);
}
