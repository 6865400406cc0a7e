/*
 * lib/util/struct_log.h - the size-prefixed struct checks of struct_size.h
 * as the public functions of libsticky use them: on a rejection, one debug
 * line through the context's log names the call, the struct and the rule
 * ("select: request.size 1048576: above STICKY_MAX_STRUCT_SIZE ...").
 */
#ifndef STICKY_STRUCT_LOG_H
#define STICKY_STRUCT_LOG_H

#include "util/context_internal.h"
#include "util/struct_min_size.h"

/* struct_check_size(); @ctx may be NULL (then nothing is logged). */
int struct_size_ok(const sticky_ctx *ctx, const char *op, const char *what, size_t size,
                   size_t min_size);

/* struct_copy_in(); @ctx may be NULL (then nothing is logged). */
int struct_in(const sticky_ctx *ctx, const char *op, const char *what, void *dst,
              size_t dst_size, const void *src, size_t min_size);

#endif /* STICKY_STRUCT_LOG_H */
