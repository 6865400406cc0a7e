/*
 * lib/util/struct_size.h - the one place that implements the size-prefixed
 * struct rule (docs/ABI.md, "Size-prefixed structs"): a caller's size field
 * must lie between the struct's first-release size and
 * STICKY_MAX_STRUCT_SIZE; read only as much of a caller's struct as its
 * size covers, default the rest, reject unknown non-zero tails. Also
 * compiled (privately) into libsticky-redis, so it logs nothing itself:
 * each rejection returns a static reason the caller logs.
 */
#ifndef STICKY_STRUCT_SIZE_H
#define STICKY_STRUCT_SIZE_H

#include <stddef.h>

/* The end of @field in @type: the size of a struct whose last field is @field. */
#define STRUCT_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/*
 * Check a caller's size field. Returns 0 when @min_size <= @size <=
 * STICKY_MAX_STRUCT_SIZE; else STICKY_EABI with *@why (if @why is not NULL)
 * set to a static text saying which bound failed.
 */
int struct_check_size(size_t size, size_t min_size, const char **why);

/*
 * Copy a caller struct @src into @dst (our full struct of @dst_size bytes,
 * already holding defaults). The caller's size is read from @src and
 * checked with struct_check_size() before anything else is read. Bytes
 * beyond the caller's size keep their defaults; if the caller's size is
 * larger than @dst_size, every byte past @dst_size must be zero. The size
 * field of @dst is set to @dst_size. Returns 0 or STICKY_EABI (with *@why).
 */
int struct_copy_in(void *dst, size_t dst_size, const void *src, size_t min_size,
                   const char **why);

/*
 * Copy our full struct @src (@src_size bytes) out into a caller struct
 * whose size field says @dst_size bytes (already checked); writes
 * min(@src_size, @dst_size) bytes and keeps the caller's size field.
 */
void struct_copy_out(void *dst, size_t dst_size, const void *src, size_t src_size);

/*
 * The body of every *_init_sized() function: zero @size bytes at @p and
 * store @size in the leading size field. Returns 0, STICKY_EINVAL (@p NULL)
 * or STICKY_EABI (@size outside [@min_size, STICKY_MAX_STRUCT_SIZE]).
 */
int struct_init(void *p, size_t size, size_t min_size);

/*
 * struct_init() followed by the fields of @defaults (our full struct of
 * @full_size bytes) as far as @size covers: the body of every
 * *_init_sized() whose struct has non-zero defaults. A caller struct larger
 * than ours keeps zeros in the part we do not know.
 */
int struct_init_defaults(void *p, size_t size, size_t min_size, const void *defaults,
                         size_t full_size);

/* The size field of a caller struct (read without alignment assumptions). */
size_t struct_size_of(const void *p);

#endif /* STICKY_STRUCT_SIZE_H */
