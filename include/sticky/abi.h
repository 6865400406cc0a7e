/*
 * sticky/abi.h - for language bindings: the size of each public struct as
 * the loaded library was built, by a stable id, so that a binding can check
 * at load time that its own view of the structs (generated from some
 * release's headers) fits the library it actually loaded.
 *
 * Usage (what a binding does once, at load):
 *     size_t lib = sticky_struct_size(STICKY_STRUCT_CHANNEL);
 *     if (lib == 0)                // this library has no such struct
 *         refuse to load;
 *     if (my_sizeof_channel > lib) // the binding is newer than the library:
 *         ...                      // leave fields past `lib` zero
 *
 * docs/ABI.md, "For binding authors", says what to do with each answer.
 */
#ifndef STICKY_ABI_H
#define STICKY_ABI_H

#include "common.h"

STICKY_BEGIN_DECLS

/*
 * One id per public struct of libsticky. Append-only: a value never
 * changes and is never reused; a struct removed from the API keeps its
 * number retired. (libsticky-redis has its own ids and function,
 * sticky_redis_store_struct_size() in sticky/redis_store.h.)
 */
enum sticky_struct_id {
    STICKY_STRUCT_CONFIG = 1,              /* sticky_config (size-prefixed) */
    STICKY_STRUCT_ALLOCATOR = 2,           /* sticky_allocator (frozen) */
    STICKY_STRUCT_MAPPING = 3,             /* sticky_mapping (size-prefixed) */
    STICKY_STRUCT_STORE_STATS = 4,         /* sticky_store_stats (size-prefixed) */
    STICKY_STRUCT_STORE_VTABLE = 5,        /* sticky_store_vtable (versioned) */
    STICKY_STRUCT_MEMORY_STORE_OPTIONS = 6, /* sticky_memory_store_options (size-prefixed) */
    STICKY_STRUCT_CHANNEL = 7,             /* sticky_channel (size-prefixed) */
    STICKY_STRUCT_REQUEST = 8,             /* sticky_request (size-prefixed) */
    STICKY_STRUCT_DECISION = 9,            /* sticky_decision (size-prefixed) */
    STICKY_STRUCT_OUTCOME = 10,            /* sticky_outcome (size-prefixed) */
    STICKY_STRUCT_CTX_STATS = 11,          /* sticky_ctx_stats (size-prefixed) */
    STICKY_STRUCT_KEY_CHAIN = 12,          /* sticky_key_chain (size-prefixed) */
    STICKY_STRUCT_PART = 13,               /* sticky_part (frozen) */
    STICKY_STRUCT_MESSAGE = 14,            /* sticky_message (frozen) */
    STICKY_STRUCT_HEADER = 15,             /* sticky_header (frozen) */
    STICKY_STRUCT_CHANNEL_HEALTH = 16,     /* sticky_channel_health (size-prefixed) */
    STICKY_STRUCT_SHM_OPTIONS = 17,        /* sticky_shm_options (size-prefixed) */
    STICKY_STRUCT_SHM_STATS = 18,          /* sticky_shm_stats (size-prefixed) */
    STICKY_STRUCT_HEALTH_EVENT = 19        /* sticky_health_event (size-prefixed), 0.3.0 */
};

/**
 * sticky_struct_size - sizeof a public struct in the running library.
 *
 * A binding compares it with the size of its own definition: for a
 * size-prefixed struct, fields past the library's size are unknown to it
 * (keep them zero, or a call returns STICKY_EABI); for a frozen struct
 * (sticky_allocator, sticky_part, sticky_message, sticky_header) the two
 * sizes must be equal; for sticky_store_vtable the library's size covers
 * the methods it can call. See docs/ABI.md, "For binding authors".
 *
 * @id: an enum sticky_struct_id value.
 * Returns: the struct's size in bytes as this library was compiled; 0 for
 *          an id this library does not know (e.g. from a newer header).
 * Thread-safety: safe from any thread (a pure function).
 * Since: 0.2.0
 */
STICKY_API size_t sticky_struct_size(int id);

STICKY_END_DECLS

#endif /* STICKY_ABI_H */
