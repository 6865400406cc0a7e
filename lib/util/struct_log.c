/* lib/util/struct_log.c - size checks that log what they reject (see struct_log.h). */
#include "util/struct_log.h"

#include "sticky/error.h"

static void log_reject(const sticky_ctx *ctx, const char *op, const char *what, size_t size,
                       const char *why)
{
    if (ctx != NULL)
        ctx_log(ctx, STICKY_LOG_DEBUG, "%s: %s.size %zu: %s", op, what, size, why);
}

int struct_size_ok(const sticky_ctx *ctx, const char *op, const char *what, size_t size,
                   size_t min_size)
{
    const char *why = NULL;
    int rc = struct_check_size(size, min_size, &why);
    if (rc != STICKY_OK)
        log_reject(ctx, op, what, size, why);
    return rc;
}

int struct_in(const sticky_ctx *ctx, const char *op, const char *what, void *dst,
              size_t dst_size, const void *src, size_t min_size)
{
    const char *why = NULL;
    int rc = struct_copy_in(dst, dst_size, src, min_size, &why);
    if (rc != STICKY_OK)
        log_reject(ctx, op, what, struct_size_of(src), why);
    return rc;
}
