/*
 * lib/util/alloc.c - allocation through the host's allocator or libc: the
 * internal mem_*() every library file uses and the public
 * sticky_ctx_mem_*() on top of them, for backends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/context_internal.h"

void *allocator_malloc(const sticky_allocator *a, size_t size)
{
    if (a->malloc_fn != NULL)
        return a->malloc_fn(size, a->user);
    return malloc(size);
}

void allocator_free(const sticky_allocator *a, void *ptr)
{
    if (ptr == NULL)
        return;
    if (a->free_fn != NULL)
        a->free_fn(ptr, a->user);
    else
        free(ptr);
}

void *mem_malloc(const sticky_ctx *ctx, size_t size)
{
    return allocator_malloc(&ctx->cfg.allocator, size);
}

void *mem_calloc(const sticky_ctx *ctx, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = mem_malloc(ctx, n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *mem_realloc(const sticky_ctx *ctx, void *ptr, size_t size)
{
    /* A host's realloc_fn need not accept NULL. */
    if (ptr == NULL)
        return mem_malloc(ctx, size);
    const sticky_allocator *a = &ctx->cfg.allocator;
    if (a->realloc_fn != NULL)
        return a->realloc_fn(ptr, size, a->user);
    return realloc(ptr, size);
}

void mem_free(const sticky_ctx *ctx, void *ptr)
{
    allocator_free(&ctx->cfg.allocator, ptr);
}

STICKY_API void *sticky_ctx_mem_alloc(const sticky_ctx *ctx, size_t size)
{
    return ctx != NULL ? mem_malloc(ctx, size) : NULL;
}

STICKY_API void *sticky_ctx_mem_calloc(const sticky_ctx *ctx, size_t n, size_t size)
{
    return ctx != NULL ? mem_calloc(ctx, n, size) : NULL;
}

STICKY_API void *sticky_ctx_mem_realloc(const sticky_ctx *ctx, void *ptr, size_t size)
{
    return ctx != NULL ? mem_realloc(ctx, ptr, size) : NULL;
}

STICKY_API void sticky_ctx_mem_free(const sticky_ctx *ctx, void *ptr)
{
    if (ctx != NULL)
        mem_free(ctx, ptr);
}
