/*
 * lib/shm/shm_shard.h - structural operations on one shard of the session
 * table (shm_shard.c), used by the store (shm_store.c) and the inspector.
 * Callers hold the shard's lock. SHARD_CORRUPT means the shard's links
 * are damaged: the caller repairs it (shm_shard_repair()) and retries.
 */
#ifndef STICKY_SHM_SHARD_H
#define STICKY_SHM_SHARD_H

#include "shm/shm_internal.h"

enum { SHARD_ABSENT = 0, SHARD_FOUND = 1, SHARD_CORRUPT = -1 };

/* Find @key (hash @h) in @shard: *@slot, and *@prev (the slot + 1 before
 * it in its chain, 0 when first). */
int shard_find(struct sticky_shm *s, uint32_t shard, uint64_t key, uint64_t h, uint32_t *slot,
               uint32_t *prev);

/* Take @slot out of its chain. */
int shard_unlink(struct sticky_shm *s, uint32_t shard, uint32_t slot);

/* Unlink @slot, mark it free, put it on the free list, count - 1. */
int shard_release(struct sticky_shm *s, uint32_t shard, uint32_t slot);

/* A free slot (not linked, state untouched); SHARD_ABSENT when none. */
int shard_alloc(struct sticky_shm *s, uint32_t shard, uint32_t *slot);

/* Put @slot at the head of its bucket's chain. */
void shard_link(struct sticky_shm *s, uint32_t shard, uint32_t slot, uint64_t h);

#endif /* STICKY_SHM_SHARD_H */
