/*
 * lib/struct_size.h - the one place that implements the size-prefixed struct
 * rule (DESIGN.md section 4): read only as much of a caller's struct as its
 * size field covers, default the rest, reject unknown non-zero tails.
 */
#ifndef STICKY_STRUCT_SIZE_H
#define STICKY_STRUCT_SIZE_H

#include <stddef.h>

/*
 * Copy a caller struct of @src_size bytes into @dst (our full struct of
 * @dst_size bytes, already holding defaults). Bytes beyond @src_size keep
 * their defaults. If @src_size > @dst_size, every byte past @dst_size must
 * be zero. The size field itself is rewritten to @dst_size.
 * Returns 0 or STICKY_EABI.
 */
int struct_copy_in(void *dst, size_t dst_size, const void *src,
                          size_t src_size);

/*
 * Copy our full struct @src (@src_size bytes) out into a caller struct
 * whose size field says @dst_size bytes; writes min(@src_size, @dst_size)
 * bytes and keeps the caller's size field. Returns 0 or STICKY_EABI.
 */
int struct_copy_out(void *dst, size_t dst_size, const void *src,
                           size_t src_size);

/*
 * The body of every *_init_sized() function: zero @size bytes at @p and
 * store @size in the leading size field. Returns 0, STICKY_EINVAL (@p NULL)
 * or STICKY_EABI (@size smaller than the size field).
 */
int struct_init(void *p, size_t size);

/*
 * struct_init() followed by the fields of @defaults (our full struct
 * of @full_size bytes) as far as @size covers: the body of every
 * *_init_sized() whose struct has non-zero defaults. A caller struct larger
 * than ours keeps zeros in the part we do not know.
 */
int struct_init_defaults(void *p, size_t size, const void *defaults,
                                size_t full_size);

#endif /* STICKY_STRUCT_SIZE_H */
