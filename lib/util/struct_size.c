/* lib/struct_size.c - size-prefixed struct copy-in / copy-out (see struct_size.h). */
#include "util/struct_size.h"

#include <string.h>

#include "sticky/error.h"

int struct_copy_in(void *dst, size_t dst_size, const void *src,
                          size_t src_size)
{
    if (src_size < sizeof(size_t))
        return STICKY_EABI;
    if (src_size > dst_size) {
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < src_size - dst_size; i++) {
            if (tail[i] != 0)
                return STICKY_EABI;
        }
    }
    size_t n = src_size < dst_size ? src_size : dst_size;
    memcpy(dst, src, n);
    memcpy(dst, &dst_size, sizeof(size_t));
    return STICKY_OK;
}

int struct_copy_out(void *dst, size_t dst_size, const void *src,
                           size_t src_size)
{
    if (dst_size < sizeof(size_t))
        return STICKY_EABI;
    size_t n = src_size < dst_size ? src_size : dst_size;
    /* Skip the size field: the caller's value stays. */
    memcpy((unsigned char *)dst + sizeof(size_t),
           (const unsigned char *)src + sizeof(size_t), n - sizeof(size_t));
    return STICKY_OK;
}

int struct_init_defaults(void *p, size_t size, const void *defaults,
                                size_t full_size)
{
    int rc = struct_init(p, size);
    if (rc != STICKY_OK)
        return rc;
    return struct_copy_out(p, size, defaults, full_size);
}

int struct_init(void *p, size_t size)
{
    if (p == NULL)
        return STICKY_EINVAL;
    if (size < sizeof(size_t))
        return STICKY_EABI;
    memset(p, 0, size);
    memcpy(p, &size, sizeof(size_t));
    return STICKY_OK;
}
