/*
 * lib/util/struct_min_size.h - the first-release size of every public
 * size-prefixed struct of libsticky: the smallest size field the library
 * accepts for it (docs/ABI.md, "Size-prefixed structs"). Each is the end
 * of the struct's last field in the release that introduced the layout
 * (0.2.0, or the release named beside it); fields appended later never change these.
 */
#ifndef STICKY_STRUCT_MIN_SIZE_H
#define STICKY_STRUCT_MIN_SIZE_H

#include "util/struct_size.h"
#include "sticky/config.h"
#include "sticky/key.h"
#include "sticky/memory_store.h"
#include "sticky/request.h"
#include "sticky/select.h"
#include "sticky/shm.h"
#include "sticky/store.h"

#define CONFIG_MIN_SIZE STRUCT_END(sticky_config, breaker_cooldown_seconds)
#define REQUEST_MIN_SIZE STRUCT_END(sticky_request, session_id_len)
#define KEY_CHAIN_MIN_SIZE STRUCT_END(sticky_key_chain, keys)
#define CHANNEL_MIN_SIZE STRUCT_END(sticky_channel, max_inflight)
#define DECISION_MIN_SIZE STRUCT_END(sticky_decision, attempt)
#define OUTCOME_MIN_SIZE STRUCT_END(sticky_outcome, reset_epoch_seconds)
#define CTX_STATS_MIN_SIZE STRUCT_END(sticky_ctx_stats, channels)
#define MAPPING_MIN_SIZE STRUCT_END(sticky_mapping, expires_ms)
#define STORE_STATS_MIN_SIZE STRUCT_END(sticky_store_stats, deletes)
/* Introduced in 0.2.0 (issue 12). */
#define CHANNEL_HEALTH_MIN_SIZE STRUCT_END(sticky_channel_health, failures)
#define MEMORY_STORE_OPTIONS_MIN_SIZE STRUCT_END(sticky_memory_store_options, sweep_on_write)
/* Introduced in 0.3.0 (issue 13). */
#define SHM_OPTIONS_MIN_SIZE STRUCT_END(sticky_shm_options, sweep_on_write)
#define SHM_STATS_MIN_SIZE STRUCT_END(sticky_shm_stats, reclaimed_processes)
#define HEALTH_EVENT_MIN_SIZE STRUCT_END(sticky_health_event, at_ms)

#endif /* STICKY_STRUCT_MIN_SIZE_H */
