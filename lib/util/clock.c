/* lib/util/clock.c - the default wall clock and the context's clock accessor. */
#include <time.h>

#include "util/context_internal.h"

int64_t clock_realtime_ms(void *unused)
{
    (void)unused;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

STICKY_API int64_t sticky_ctx_now_ms(const sticky_ctx *ctx)
{
    if (ctx == NULL)
        return 0;
    return ctx->clock_fn(ctx->cfg.clock_user);
}
