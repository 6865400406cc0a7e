/*
 * lib/shm/shm_layout.h - the on-file layout of a shared segment: the header
 * (immutable part covered by a checksum, then mutable shared fields), the
 * shards of the session table (robust mutex, counters, buckets, slots), the
 * channel and tenant tables and the process table with its in-flight
 * counters. Every offset is computed from the sizes by shm_layout_compute();
 * a file is accepted only when its header equals what the computation
 * gives. docs/shm.md draws the layout.
 */
#ifndef STICKY_SHM_LAYOUT_H
#define STICKY_SHM_LAYOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sticky/store.h"

#define SHM_MAGIC "STKYSHM\x01"
#define SHM_LAYOUT_VERSION 1u

/* Bytes reserved per channel for the select layer's health record. */
#define SHM_HEALTH_BYTES 448u

/* A region for the select layer's signature memory (select/moves.h):
 * SHM_MOVES_BUCKETS x SHM_MOVES_WAYS entries of SHM_MOVE_BYTES, bucket b
 * guarded by robust mutex b % SHM_MOVES_LOCKS. Opaque here, except that an
 * all-zero entry is free (a repair zeroes a stripe's entries). */
#define SHM_MOVES_BUCKETS 128u
#define SHM_MOVES_WAYS 8u
#define SHM_MOVES_LOCKS 64u
#define SHM_MOVE_BYTES 288u

/* Slot tenant encodings (shm_slot.tenant_kind). */
enum {
    TENANT_EMPTY = 0,   /* "" */
    TENANT_HEX = 1,     /* 32 lowercase hex chars, packed to 16 bytes */
    TENANT_INTERNED = 2, /* index (uint32, little end first) into the tenant table */
    TENANT_RAW0 = 3     /* TENANT_RAW0 + len: 1..16 raw bytes inline */
};
#define TENANT_RAW_MAX 16u

/* Slot states. */
enum { SLOT_FREE = 0, SLOT_USED = 1 };

/*
 * One mapping: 60 bytes, 4-byte aligned (no padding to 64). The 64-bit
 * fields are unaligned-safe because the struct is packed; they are only
 * touched under the shard's lock.
 */
struct __attribute__((packed, aligned(4))) shm_slot {
    uint64_t key;
    int64_t expires_ms;
    int64_t created_ms;
    int64_t last_access_ms;
    uint32_t count;      /* request_count, saturating at UINT32_MAX */
    uint32_t next;       /* bucket chain or free list: slot number + 1; 0 ends */
    uint8_t tenant[16];
    uint16_t channel;    /* index in the channel table */
    uint8_t tenant_kind;
    uint8_t state;       /* SLOT_FREE / SLOT_USED */
};

/* Store counters of one shard (summed into sticky_store_stats). */
struct shm_counters {
    uint64_t hits, misses, inserts, updates, renewals, expirations, evictions, deletes;
};

/* One shard's header; its buckets and slots follow at computed offsets. */
struct shm_shard {
    pthread_mutex_t lock; /* robust, process-shared */
    uint32_t cap;         /* mappings this shard may hold */
    uint32_t count;       /* slots in use */
    uint32_t free_head;   /* free list of released slots (slot + 1) */
    uint32_t fresh;       /* slots [0, fresh) were handed out at least once */
    uint32_t hand;        /* eviction and sweep hand */
    uint32_t writing;     /* slot + 1 being modified, 0 none: a crash
                           * marker the repair drops */
    struct shm_counters c;
    char pad[64];
};

/* A channel: its id (never changes once published) and the select
 * layer's health record (opaque here). */
struct shm_channel {
    _Atomic uint32_t ready; /* 1 once id, hash and health are written */
    uint32_t index;         /* own position (checked) */
    uint64_t hash;          /* fnv1a64(id) */
    char id[STICKY_ID_SIZE];
    _Alignas(64) unsigned char health[SHM_HEALTH_BYTES];
};

/* A tenant id longer than 16 bytes that is not a selector digest. */
struct shm_tenant {
    _Atomic uint32_t ready;
    uint32_t len;
    uint64_t hash;
    char id[STICKY_ID_SIZE];
};

/* A process attached to the segment. owner: 0 free, else pid in the low
 * 32 bits with PROC_RECLAIMING set while a reclaimer gives a dead
 * process's counts back (then the pid is the reclaimer's). */
#define PROC_RECLAIMING (1ull << 32)
struct shm_proc {
    _Atomic uint64_t owner;
    _Atomic uint64_t start_time; /* /proc/<pid>/stat starttime, 0 unknown */
};

/* The sizes a segment is made from (what the header's checksum covers,
 * together with the offsets derived from them). */
struct shm_sizes {
    uint32_t max_sessions;
    uint32_t shard_count;
    uint32_t max_channels;
    uint32_t max_tenants;
    uint32_t max_processes;
};

struct shm_header {
    /* ---- immutable, covered by checksum ---- */
    char magic[8];
    uint32_t layout_version;
    uint32_t header_bytes;    /* sizeof(struct shm_header) */
    uint32_t abi_check;       /* sizeof(pthread_mutex_t) << 16 | sizeof(void *) << 8 | 0x5a */
    uint32_t slot_bytes;      /* sizeof(struct shm_slot) */
    struct shm_sizes sizes;
    uint32_t slots_per_shard; /* ceil(max_sessions / shard_count) */
    uint32_t buckets_per_shard;
    uint32_t channel_index_cap; /* power of two >= 2 * max_channels */
    uint32_t tenant_index_cap;  /* power of two >= 2 * max_tenants */
    uint64_t file_bytes;
    uint64_t off_shards, off_buckets, off_slots;
    uint64_t off_channels, off_channel_index;
    uint64_t off_tenants, off_tenant_index;
    uint64_t off_procs, off_held;
    uint64_t off_moves_locks, off_moves;
    int64_t created_ms;
    uint64_t checksum;        /* FNV-1a 64 of every byte before it */
    /* ---- mutable, shared ---- */
    _Alignas(64) pthread_mutex_t names_lock; /* channel and tenant inserts */
    _Atomic uint32_t channels;
    _Atomic uint32_t tenants;
    _Atomic uint64_t repairs;
    _Atomic uint64_t reclaimed_processes;
    _Atomic uint32_t procs_hwm; /* process slots ever used (scan bound) */
    _Atomic uint32_t sweep_cursor;
    _Atomic uint64_t moves_live;  /* signature memory entries (a hint: never
                                   * below the true count) */
    _Atomic uint64_t moves_group; /* its event ids */
};

/* Fill @h's immutable part from @z (offsets, file size; no magic, no
 * checksum). 0, or STICKY_ECONFIG when the sizes are out of range. */
int shm_layout_compute(const struct shm_sizes *z, struct shm_header *h);

/* FNV-1a 64 over the header's immutable part. */
uint64_t shm_header_checksum(const struct shm_header *h);

#endif /* STICKY_SHM_LAYOUT_H */
