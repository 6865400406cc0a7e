/*
 * sticky/common.h - export macro, C++ guards and basic includes shared by
 * every public libsticky header. Include <sticky/sticky.h> instead of this
 * file directly.
 */
#ifndef STICKY_COMMON_H
#define STICKY_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * STICKY_API marks a function that is part of the public, versioned ABI.
 * The library is built with -fvisibility=hidden, so only functions carrying
 * this macro (and listed in the library's linker version script) are
 * exported.
 */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(STICKY_BUILDING)
#    define STICKY_API __declspec(dllexport)
#  else
#    define STICKY_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define STICKY_API __attribute__((visibility("default")))
#else
#  define STICKY_API
#endif

/*
 * STICKY_PRINTF(fmt_idx, arg_idx) marks a printf-style function (e.g.
 * sticky_ctx_log()) so that GCC and Clang check its arguments against the
 * format: @fmt_idx is the format's parameter position, @arg_idx the first
 * argument's (0 for a va_list function).
 */
#if defined(__GNUC__)
#  define STICKY_PRINTF(fmt_idx, arg_idx) \
      __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#  define STICKY_PRINTF(fmt_idx, arg_idx)
#endif

#ifdef __cplusplus
#  define STICKY_BEGIN_DECLS extern "C" {
#  define STICKY_END_DECLS }
#else
#  define STICKY_BEGIN_DECLS
#  define STICKY_END_DECLS
#endif

/*
 * The largest value libsticky accepts in the size field of a size-prefixed
 * struct. A larger size is rejected with STICKY_EABI before any byte past
 * the size field is read (docs/ABI.md, "Size-prefixed structs").
 */
#define STICKY_MAX_STRUCT_SIZE 4096u

/* The two opaque handles, declared here so that every header can name them.
 * sticky_ctx: create with sticky_ctx_new(), destroy with sticky_ctx_free().
 * sticky_store: a storage backend (vtable + state) as one handle; create
 * with sticky_store_new() or a backend's constructor, destroy with
 * sticky_store_free(). */
typedef struct sticky_ctx sticky_ctx;
typedef struct sticky_store sticky_store;

#endif /* STICKY_COMMON_H */
