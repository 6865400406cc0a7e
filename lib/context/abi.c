/*
 * lib/context/abi.c - sticky_struct_size(): the size of every public struct
 * by its enum sticky_struct_id, for bindings that check their view of the
 * structs against the library they loaded. In the context layer because it
 * names the structs of every layer.
 */
#include "sticky/sticky.h"

STICKY_API size_t sticky_struct_size(int id)
{
    switch (id) {
    case STICKY_STRUCT_CONFIG: return sizeof(sticky_config);
    case STICKY_STRUCT_ALLOCATOR: return sizeof(sticky_allocator);
    case STICKY_STRUCT_MAPPING: return sizeof(sticky_mapping);
    case STICKY_STRUCT_STORE_STATS: return sizeof(sticky_store_stats);
    case STICKY_STRUCT_STORE_VTABLE: return sizeof(sticky_store_vtable);
    case STICKY_STRUCT_MEMORY_STORE_OPTIONS: return sizeof(sticky_memory_store_options);
    case STICKY_STRUCT_CHANNEL: return sizeof(sticky_channel);
    case STICKY_STRUCT_REQUEST: return sizeof(sticky_request);
    case STICKY_STRUCT_DECISION: return sizeof(sticky_decision);
    case STICKY_STRUCT_OUTCOME: return sizeof(sticky_outcome);
    case STICKY_STRUCT_CTX_STATS: return sizeof(sticky_ctx_stats);
    case STICKY_STRUCT_KEY_CHAIN: return sizeof(sticky_key_chain);
    case STICKY_STRUCT_PART: return sizeof(sticky_part);
    case STICKY_STRUCT_MESSAGE: return sizeof(sticky_message);
    case STICKY_STRUCT_HEADER: return sizeof(sticky_header);
    case STICKY_STRUCT_CHANNEL_HEALTH: return sizeof(sticky_channel_health);
    case STICKY_STRUCT_SHM_OPTIONS: return sizeof(sticky_shm_options);
    case STICKY_STRUCT_SHM_STATS: return sizeof(sticky_shm_stats);
    case STICKY_STRUCT_HEALTH_EVENT: return sizeof(sticky_health_event);
    default: return 0;
    }
}
