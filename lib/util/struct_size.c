/* lib/util/struct_size.c - size-prefixed struct checks, copy-in, copy-out, init (see struct_size.h). */
#include "util/struct_size.h"

#include <string.h>

#include "sticky/common.h"
#include "sticky/error.h"

size_t struct_size_of(const void *p)
{
    size_t size;
    memcpy(&size, p, sizeof(size));
    return size;
}

int struct_check_size(size_t size, size_t min_size, const char **why)
{
    const char *reason = NULL;
    if (size < min_size)
        reason = "smaller than the struct's first-release size (not set by its _init function?)";
    else if (size > STICKY_MAX_STRUCT_SIZE)
        reason = "above STICKY_MAX_STRUCT_SIZE (uninitialised or corrupt)";
    if (why != NULL)
        *why = reason;
    return reason == NULL ? STICKY_OK : STICKY_EABI;
}

int struct_copy_in(void *dst, size_t dst_size, const void *src, size_t min_size,
                   const char **why)
{
    size_t src_size = struct_size_of(src);
    int rc = struct_check_size(src_size, min_size, why);
    if (rc != STICKY_OK)
        return rc;
    if (src_size > dst_size) {
        /* Bounded by STICKY_MAX_STRUCT_SIZE, checked above. */
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < src_size - dst_size; i++) {
            if (tail[i] != 0) {
                if (why != NULL)
                    *why = "larger than this library's struct, with fields it does not "
                           "know set (built against a newer header?)";
                return STICKY_EABI;
            }
        }
    }
    size_t n = src_size < dst_size ? src_size : dst_size;
    memcpy(dst, src, n);
    memcpy(dst, &dst_size, sizeof(size_t));
    return STICKY_OK;
}

void struct_copy_out(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    size_t n = src_size < dst_size ? src_size : dst_size;
    if (n <= sizeof(size_t))
        return;
    /* Skip the size field: the caller's value stays. */
    memcpy((unsigned char *)dst + sizeof(size_t),
           (const unsigned char *)src + sizeof(size_t), n - sizeof(size_t));
}

int struct_init(void *p, size_t size, size_t min_size)
{
    if (p == NULL)
        return STICKY_EINVAL;
    if (min_size < sizeof(size_t))
        min_size = sizeof(size_t);
    int rc = struct_check_size(size, min_size, NULL);
    if (rc != STICKY_OK)
        return rc;
    memset(p, 0, size);
    memcpy(p, &size, sizeof(size_t));
    return STICKY_OK;
}

int struct_init_defaults(void *p, size_t size, size_t min_size, const void *defaults,
                         size_t full_size)
{
    int rc = struct_init(p, size, min_size);
    if (rc != STICKY_OK)
        return rc;
    struct_copy_out(p, size, defaults, full_size);
    return STICKY_OK;
}
