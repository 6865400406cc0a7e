/* lib/alloc.c - allocation through the host's allocator or libc. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context_internal.h"

void *sticky_alloc_malloc(const sticky_allocator *a, size_t size)
{
    if (a->malloc_fn != NULL)
        return a->malloc_fn(size, a->user);
    return malloc(size);
}

void sticky_alloc_free(const sticky_allocator *a, void *ptr)
{
    if (ptr == NULL)
        return;
    if (a->free_fn != NULL)
        a->free_fn(ptr, a->user);
    else
        free(ptr);
}

void *sticky_malloc(const sticky_ctx *ctx, size_t size)
{
    return sticky_alloc_malloc(&ctx->cfg.allocator, size);
}

void *sticky_calloc(const sticky_ctx *ctx, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = sticky_malloc(ctx, n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *sticky_realloc(const sticky_ctx *ctx, void *ptr, size_t size)
{
    const sticky_allocator *a = &ctx->cfg.allocator;
    if (a->realloc_fn != NULL)
        return a->realloc_fn(ptr, size, a->user);
    return realloc(ptr, size);
}

void sticky_free(const sticky_ctx *ctx, void *ptr)
{
    sticky_alloc_free(&ctx->cfg.allocator, ptr);
}
