/*
 * lib/shm/shm_segment.c - a segment's life: the layout computed from its
 * sizes, creating a fresh file, attaching to an existing one (header
 * checks), the recovery the first attacher runs when nobody else has the
 * file open (locks re-initialised, tables and shards rebuilt, in-flight
 * counts of dead processes dropped), options, stats and close. Who is
 * alone is decided with flock(): every attached handle holds a shared
 * lock; an exclusive one succeeds only when no other process has the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/shm_internal.h"
#include "util/struct_log.h"
#include "util/struct_min_size.h"
#include "sticky/error.h"

#define INIT_MAGIC "STKYINIT" /* written first, replaced by SHM_MAGIC last */
#define PAGE 4096u
#define AUTO_MAPPINGS_PER_SHARD 4096u
#define AUTO_MAX_SHARDS 256u

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static int is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int shm_layout_compute(const struct shm_sizes *z, struct shm_header *h)
{
    if (z->max_sessions == 0 || z->max_sessions > STICKY_SHM_MAX_SESSIONS ||
        !is_pow2(z->shard_count) || z->shard_count > STICKY_SHM_MAX_SHARDS ||
        z->shard_count > z->max_sessions || z->max_channels == 0 ||
        z->max_channels > STICKY_SHM_MAX_CHANNELS || z->max_tenants == 0 ||
        z->max_tenants > STICKY_SHM_MAX_TENANTS || z->max_processes == 0 ||
        z->max_processes > STICKY_SHM_MAX_PROCESSES)
        return STICKY_ECONFIG;
    memset(h, 0, offsetof(struct shm_header, checksum));
    h->layout_version = SHM_LAYOUT_VERSION;
    h->header_bytes = (uint32_t)sizeof(struct shm_header);
    h->abi_check = (uint32_t)(sizeof(pthread_mutex_t) << 16 | sizeof(void *) << 8 | 0x5a);
    h->slot_bytes = (uint32_t)sizeof(struct shm_slot);
    h->sizes = *z;
    h->slots_per_shard = (z->max_sessions + z->shard_count - 1) / z->shard_count;
    h->buckets_per_shard = h->slots_per_shard / 2 != 0 ? h->slots_per_shard / 2 : 1;
    h->channel_index_cap = pow2_at_least(2 * z->max_channels);
    h->tenant_index_cap = pow2_at_least(2 * z->max_tenants);

    uint64_t off = align_up(sizeof(struct shm_header), PAGE);
    h->off_shards = off;
    off = align_up(off + (uint64_t)z->shard_count * sizeof(struct shm_shard), 64);
    h->off_buckets = off;
    off = align_up(off + (uint64_t)z->shard_count * h->buckets_per_shard * 4, 64);
    h->off_slots = off;
    off = align_up(off + (uint64_t)z->shard_count * h->slots_per_shard * sizeof(struct shm_slot),
                   64);
    h->off_channels = off;
    off = align_up(off + (uint64_t)z->max_channels * sizeof(struct shm_channel), 64);
    h->off_channel_index = off;
    off = align_up(off + (uint64_t)h->channel_index_cap * 4, 64);
    h->off_tenants = off;
    off = align_up(off + (uint64_t)z->max_tenants * sizeof(struct shm_tenant), 64);
    h->off_tenant_index = off;
    off = align_up(off + (uint64_t)h->tenant_index_cap * 4, 64);
    h->off_procs = off;
    off = align_up(off + (uint64_t)z->max_processes * sizeof(struct shm_proc), 64);
    h->off_held = off;
    off = align_up(off + (uint64_t)z->max_processes * z->max_channels * sizeof(uint16_t), 64);
    h->off_moves_locks = off;
    off = align_up(off + (uint64_t)SHM_MOVES_LOCKS * sizeof(pthread_mutex_t), 64);
    h->off_moves = off;
    off += (uint64_t)SHM_MOVES_BUCKETS * SHM_MOVES_WAYS * SHM_MOVE_BYTES;
    h->file_bytes = align_up(off, PAGE);
    return STICKY_OK;
}

uint64_t shm_header_checksum(const struct shm_header *h)
{
    const unsigned char *p = (const unsigned char *)h;
    uint64_t x = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < offsetof(struct shm_header, checksum); i++) {
        x ^= p[i];
        x *= 0x100000001b3ULL;
    }
    return x;
}

/* ---- options ---------------------------------------------------------------- */

static void options_defaults(sticky_shm_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->flags = STICKY_SHM_CREATE;
    o->renew_mode = STICKY_RENEW_THRESHOLD;
    o->renew_threshold_seconds = STICKY_RENEW_THRESHOLD_FROM_CTX;
    o->sweep_on_write = 8;
}

STICKY_API int sticky_shm_options_init_sized(sticky_shm_options *o, size_t size)
{
    sticky_shm_options d;
    options_defaults(&d);
    return struct_init_defaults(o, size, SHM_OPTIONS_MIN_SIZE, &d, sizeof(d));
}

STICKY_API int sticky_shm_stats_init_sized(sticky_shm_stats *s, size_t size)
{
    return struct_init(s, size, SHM_STATS_MIN_SIZE);
}

/* Session settings from the context where asked; range checks. */
static int resolve_session_options(const sticky_ctx *ctx, sticky_shm_options *o)
{
    const sticky_config *cfg = &ctx->cfg;
    if (o->ttl_seconds == 0)
        o->ttl_seconds = cfg->ttl_seconds;
    if (o->renew_threshold_seconds == STICKY_RENEW_THRESHOLD_FROM_CTX)
        o->renew_threshold_seconds = (int32_t)cfg->renew_threshold_seconds;
    if (o->file_mode == 0)
        o->file_mode = 0600;
    const char *bad = NULL;
    if (o->flags & ~(unsigned)(STICKY_SHM_CREATE | STICKY_SHM_RESET_INCOMPATIBLE))
        bad = "flags";
    else if (o->file_mode > 07777)
        bad = "file_mode";
    else if (o->ttl_seconds > STICKY_MAX_TTL_SECONDS)
        bad = "ttl_seconds";
    else if (o->renew_mode != STICKY_RENEW_THRESHOLD && o->renew_mode != STICKY_RENEW_SLIDING)
        bad = "renew_mode";
    else if (o->renew_threshold_seconds < 0 ||
             (uint32_t)o->renew_threshold_seconds > o->ttl_seconds)
        bad = "renew_threshold_seconds (0..ttl_seconds)";
    else if (o->max_sessions > STICKY_SHM_MAX_SESSIONS)
        bad = "max_sessions (1..1e8)";
    else if (o->shard_count != 0 && (!is_pow2(o->shard_count) ||
                                     o->shard_count > STICKY_SHM_MAX_SHARDS))
        bad = "shard_count (a power of two, 1..1024)";
    else if (o->max_channels > STICKY_SHM_MAX_CHANNELS)
        bad = "max_channels (1..32768)";
    else if (o->max_tenants > STICKY_SHM_MAX_TENANTS)
        bad = "max_tenants (1..1048576)";
    else if (o->max_processes > STICKY_SHM_MAX_PROCESSES)
        bad = "max_processes (1..4096)";
    if (bad != NULL) {
        ctx_log(ctx, STICKY_LOG_ERROR, "shm: invalid option %s", bad);
        return STICKY_ECONFIG;
    }
    return STICKY_OK;
}

/* The sizes of a new segment: the options, else the defaults. */
static struct shm_sizes sizes_for_create(const sticky_ctx *ctx, const sticky_shm_options *o)
{
    struct shm_sizes z;
    z.max_sessions = o->max_sessions != 0 ? o->max_sessions : ctx->cfg.max_sessions;
    if (z.max_sessions > STICKY_SHM_MAX_SESSIONS)
        z.max_sessions = STICKY_SHM_MAX_SESSIONS;
    if (o->shard_count != 0) {
        z.shard_count = o->shard_count;
    } else {
        uint32_t want = z.max_sessions / AUTO_MAPPINGS_PER_SHARD;
        z.shard_count = 1;
        while (z.shard_count * 2 <= want && z.shard_count * 2 <= AUTO_MAX_SHARDS)
            z.shard_count *= 2;
    }
    z.max_channels = o->max_channels != 0 ? o->max_channels : STICKY_SHM_DEFAULT_MAX_CHANNELS;
    z.max_tenants = o->max_tenants != 0 ? o->max_tenants : STICKY_SHM_DEFAULT_MAX_TENANTS;
    z.max_processes =
        o->max_processes != 0 ? o->max_processes : STICKY_SHM_DEFAULT_MAX_PROCESSES;
    return z;
}

/* Does an existing file's sizes agree with the options (0 = any)? */
static const char *sizes_mismatch(const struct shm_sizes *f, const sticky_shm_options *o)
{
    if (o->max_sessions != 0 && o->max_sessions != f->max_sessions)
        return "max_sessions";
    if (o->shard_count != 0 && o->shard_count != f->shard_count)
        return "shard_count";
    if (o->max_channels != 0 && o->max_channels != f->max_channels)
        return "max_channels";
    if (o->max_tenants != 0 && o->max_tenants != f->max_tenants)
        return "max_tenants";
    if (o->max_processes != 0 && o->max_processes != f->max_processes)
        return "max_processes";
    return NULL;
}

/* ---- mapping ---------------------------------------------------------------- */

/* Point into the mapping using @valid, the header as checked (or just
 * computed); it is copied, and only the copy is read from now on, so a
 * later stray write to the file's header cannot move any pointer. */
static void bind_pointers(struct sticky_shm *s, const struct shm_header *valid)
{
    s->geo = *valid;
    const struct shm_header *h = &s->geo;
    s->hdr = (struct shm_header *)s->base;
    s->shards = (struct shm_shard *)(s->base + h->off_shards);
    s->buckets = (uint32_t *)(s->base + h->off_buckets);
    s->slots = (struct shm_slot *)(s->base + h->off_slots);
    s->channels = (struct shm_channel *)(s->base + h->off_channels);
    s->channel_index = (uint32_t *)(s->base + h->off_channel_index);
    s->tenants = (struct shm_tenant *)(s->base + h->off_tenants);
    s->tenant_index = (uint32_t *)(s->base + h->off_tenant_index);
    s->procs = (struct shm_proc *)(s->base + h->off_procs);
    s->held = (_Atomic uint16_t *)(s->base + h->off_held);
    s->moves_locks = (pthread_mutex_t *)(s->base + h->off_moves_locks);
    s->moves = s->base + h->off_moves;
    s->shard_mask = h->sizes.shard_count - 1;
}

static int map_file(struct sticky_shm *s, size_t bytes, const char *path)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (p == MAP_FAILED) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: mmap %s (%zu bytes): %s", path, bytes,
                strerror(errno));
        return STICKY_ESTORE;
    }
    s->base = p;
    s->bytes = bytes;
    return STICKY_OK;
}

/* Allocate every block of the file now: a sparse file on a full
 * filesystem (a small /dev/shm) would otherwise fail later, inside a lock,
 * as SIGBUS on the first write to an unbacked page. */
static int reserve_space(struct sticky_shm *s, uint64_t bytes, const char *path)
{
    int e = posix_fallocate(s->fd, 0, (off_t)bytes);
    if (e == 0)
        return STICKY_OK;
    ctx_log(s->ctx, STICKY_LOG_ERROR,
            "shm: %s: cannot reserve %llu bytes: %s%s", path, (unsigned long long)bytes,
            strerror(e), e == ENOSPC ? " (is the filesystem, e.g. /dev/shm, large enough?)" : "");
    return STICKY_ESTORE;
}

static void unmap(struct sticky_shm *s)
{
    if (s->base != NULL)
        munmap(s->base, s->bytes);
    s->base = NULL;
    s->bytes = 0;
}

/* Every lock of the segment, initialised (fresh file or recovery). */
static int init_locks(struct sticky_shm *s)
{
    if (shm_mutex_init(&s->hdr->names_lock) != STICKY_OK)
        return STICKY_ESTORE;
    for (uint32_t i = 0; i < s->geo.sizes.shard_count; i++) {
        if (shm_mutex_init(&s->shards[i].lock) != STICKY_OK)
            return STICKY_ESTORE;
    }
    for (uint32_t i = 0; i < SHM_MOVES_LOCKS; i++) {
        if (shm_mutex_init(&s->moves_locks[i]) != STICKY_OK)
            return STICKY_ESTORE;
    }
    return STICKY_OK;
}

/* A fresh segment of sizes @z in the (exclusively locked) file. */
static int create_fresh(struct sticky_shm *s, const struct shm_sizes *z, const char *path)
{
    struct shm_header h;
    int rc = shm_layout_compute(z, &h);
    if (rc != STICKY_OK) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: sizes out of range");
        return rc;
    }
    if (ftruncate(s->fd, 0) != 0 || ftruncate(s->fd, (off_t)h.file_bytes) != 0) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: ftruncate %s to %llu bytes: %s", path,
                (unsigned long long)h.file_bytes, strerror(errno));
        return STICKY_ESTORE;
    }
    rc = reserve_space(s, h.file_bytes, path);
    if (rc == STICKY_OK)
        rc = map_file(s, (size_t)h.file_bytes, path);
    if (rc != STICKY_OK)
        return rc;
    struct shm_header *fh = (struct shm_header *)s->base;
    memcpy(h.magic, SHM_MAGIC, 8);
    h.created_ms = sticky_ctx_now_ms(s->ctx);
    h.checksum = shm_header_checksum(&h); /* of the final header */
    memcpy(fh, &h, offsetof(struct shm_header, checksum) + sizeof(h.checksum));
    memcpy(fh->magic, INIT_MAGIC, 8);
    bind_pointers(s, &h);
    for (uint32_t i = 0; i < z->shard_count; i++) {
        uint32_t cap = z->max_sessions / z->shard_count +
                       (i < z->max_sessions % z->shard_count ? 1u : 0u);
        s->shards[i].cap = cap;
    }
    rc = init_locks(s);
    if (rc != STICKY_OK)
        return rc;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the magic last, even after a crash */
    memcpy(fh->magic, SHM_MAGIC, 8);
    ctx_log(s->ctx, STICKY_LOG_INFO,
            "shm: created %s: %u mappings in %u shards, %u channels, %u tenants, "
            "%u processes, %llu bytes",
            path, z->max_sessions, z->shard_count, z->max_channels, z->max_tenants,
            z->max_processes, (unsigned long long)h.file_bytes);
    return STICKY_OK;
}

/* Check a file's header (read from the file, not mapped yet). NULL when
 * it is a segment of our layout; else why not. */
static const char *header_problem(const struct shm_header *h, uint64_t file_size)
{
    if (memcmp(h->magic, SHM_MAGIC, 8) != 0)
        return "not a libsticky segment (bad magic)";
    if (h->layout_version != SHM_LAYOUT_VERSION)
        return "layout version differs from this library's";
    if (h->header_bytes != sizeof(struct shm_header) ||
        h->abi_check != (uint32_t)(sizeof(pthread_mutex_t) << 16 | sizeof(void *) << 8 | 0x5a) ||
        h->slot_bytes != sizeof(struct shm_slot))
        return "made by a build with another ABI";
    if (h->checksum != shm_header_checksum(h))
        return "header checksum mismatch (damaged)";
    struct shm_header want;
    if (shm_layout_compute(&h->sizes, &want) != STICKY_OK)
        return "sizes out of range (damaged)";
    if (memcmp(&want.layout_version, &h->layout_version,
               offsetof(struct shm_header, created_ms) -
                   offsetof(struct shm_header, layout_version)) != 0)
        return "offsets disagree with the sizes (damaged)";
    if (file_size < h->file_bytes)
        return "file shorter than its header says (truncated)";
    return NULL;
}

static int read_header(int fd, struct shm_header *h, uint64_t size)
{
    memset(h, 0, sizeof(*h));
    size_t want = size < sizeof(*h) ? (size_t)size : sizeof(*h);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, (char *)h + got, want - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Alone with the file: re-initialise locks, rebuild the name tables and
 * every shard, forget the process table (nobody else is attached). */
static void recover_alone(struct sticky_shm *s)
{
    struct shm_header *h = s->hdr;
    init_locks(s);
    memset(s->procs, 0, (size_t)s->geo.sizes.max_processes * sizeof(struct shm_proc));
    memset((void *)s->held, 0,
           (size_t)s->geo.sizes.max_processes * s->geo.sizes.max_channels * sizeof(uint16_t));
    atomic_store(&h->procs_hwm, 0);
    uint64_t live = 0;
    for (uint32_t i = 0; i < SHM_MOVES_BUCKETS * SHM_MOVES_WAYS; i++) {
        uint64_t key;
        memcpy(&key, s->moves + (size_t)i * SHM_MOVE_BYTES, sizeof(key));
        live += key != 0;
    }
    atomic_store(&h->moves_live, live);
    shm_names_rebuild(s);
    for (uint32_t i = 0; i < s->geo.sizes.shard_count; i++) {
        uint32_t cap = s->geo.sizes.max_sessions / s->geo.sizes.shard_count +
                       (i < s->geo.sizes.max_sessions % s->geo.sizes.shard_count ? 1u : 0u);
        s->shards[i].cap = cap;
        shm_shard_repair(s, i);
    }
}

static int lock_file(int fd, int op)
{
    int rc;
    do
        rc = flock(fd, op);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* Attach to (or create) the file behind s->fd. */
static int attach(struct sticky_shm *s, const char *path)
{
    const sticky_shm_options *o = &s->opts;
    int alone = lock_file(s->fd, LOCK_EX | LOCK_NB) == 0;
    if (!alone && lock_file(s->fd, LOCK_SH) != 0) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: flock %s: %s", path, strerror(errno));
        return STICKY_ESTORE;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: fstat %s: %s", path, strerror(errno));
        return STICKY_ESTORE;
    }
    uint64_t size = (uint64_t)st.st_size;
    struct shm_header h;
    if (size > 0 && read_header(s->fd, &h, size) != 0) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: read %s: %s", path, strerror(errno));
        return STICKY_ESTORE;
    }
    int rc;
    if (size == 0 && !(o->flags & STICKY_SHM_CREATE)) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: %s: empty file, not a segment (and "
                "STICKY_SHM_CREATE not given)", path);
        return STICKY_ECORRUPT;
    }
    if (alone && (size == 0 || memcmp(h.magic, INIT_MAGIC, 8) == 0)) {
        /* New, or its creator died before finishing. */
        struct shm_sizes z = sizes_for_create(s->ctx, o);
        rc = create_fresh(s, &z, path);
        goto out;
    }
    const char *why = size < sizeof(h) ? "file too short for a segment header"
                                       : header_problem(&h, size);
    const char *differs = why == NULL ? sizes_mismatch(&h.sizes, o) : NULL;
    if (why != NULL || differs != NULL) {
        int code = why != NULL ? STICKY_ECORRUPT : STICKY_ECONFIG;
        if ((o->flags & STICKY_SHM_RESET_INCOMPATIBLE) && alone) {
            ctx_log(s->ctx, STICKY_LOG_WARN, "shm: %s: %s%s; replaced by a fresh segment",
                    path, why != NULL ? why : "created with another ",
                    why != NULL ? "" : differs);
            struct shm_sizes z = sizes_for_create(s->ctx, o);
            rc = create_fresh(s, &z, path);
            goto out;
        }
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: %s: %s%s%s", path,
                why != NULL ? why : "created with another ", why != NULL ? "" : differs,
                (o->flags & STICKY_SHM_RESET_INCOMPATIBLE) && !alone
                    ? " (not reset: other processes have it open)"
                    : "");
        return code;
    }
    rc = reserve_space(s, h.file_bytes, path);
    if (rc == STICKY_OK)
        rc = map_file(s, (size_t)h.file_bytes, path);
    if (rc != STICKY_OK)
        return rc;
    bind_pointers(s, &h);
    if (alone) {
        recover_alone(s);
        ctx_log(s->ctx, STICKY_LOG_INFO, "shm: attached %s (first process: checked and "
                "recovered %u shards)", path, h.sizes.shard_count);
    }
out:
    if (rc == STICKY_OK && alone && lock_file(s->fd, LOCK_SH) != 0) {
        ctx_log(s->ctx, STICKY_LOG_ERROR, "shm: flock %s: %s", path, strerror(errno));
        rc = STICKY_ESTORE;
    }
    return rc;
}

STICKY_API int sticky_shm_open(sticky_ctx *ctx, const char *path,
                               const sticky_shm_options *opts, sticky_shm **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (ctx == NULL || path == NULL)
        return STICKY_EINVAL;
    size_t plen = strnlen(path, 4096);
    if (plen == 0 || plen >= 4096) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "shm_open: path: empty or longer than 4095 bytes");
        return STICKY_EINVAL;
    }
    struct sticky_shm *s = mem_calloc(ctx, 1, sizeof(*s));
    if (s == NULL)
        return STICKY_ENOMEM;
    s->ctx = ctx;
    s->fd = -1;
    atomic_init(&s->refs, 1);
    atomic_init(&s->row, -1);
    atomic_init(&s->last_reclaim_ms, INT64_MIN);
    options_defaults(&s->opts);
    int rc = STICKY_OK;
    if (opts != NULL)
        rc = struct_in(ctx, "shm_open", "opts", &s->opts, sizeof(s->opts), opts,
                       SHM_OPTIONS_MIN_SIZE);
    if (rc == STICKY_OK)
        rc = resolve_session_options(ctx, &s->opts);
    if (rc != STICKY_OK) {
        mem_free(ctx, s);
        return rc;
    }
    if (pthread_mutex_init(&s->row_lock, NULL) != 0) {
        mem_free(ctx, s);
        return STICKY_ENOMEM;
    }
    int flags = O_RDWR | O_CLOEXEC | ((s->opts.flags & STICKY_SHM_CREATE) ? O_CREAT : 0);
    s->fd = open(path, flags, (mode_t)s->opts.file_mode);
    if (s->fd < 0) {
        rc = errno == ENOENT ? STICKY_ENOTFOUND : STICKY_ESTORE;
        ctx_log(ctx, rc == STICKY_ENOTFOUND ? STICKY_LOG_INFO : STICKY_LOG_ERROR,
                "shm: open %s: %s", path, strerror(errno));
    } else {
        rc = attach(s, path);
    }
    if (rc != STICKY_OK) {
        sticky_shm_close(s);
        return rc;
    }
    *out = s;
    return STICKY_OK;
}

void shm_ref(struct sticky_shm *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

static void shm_free(struct sticky_shm *s);

void shm_unref(struct sticky_shm *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        shm_free(s);
}

STICKY_API void sticky_shm_close(sticky_shm *s)
{
    if (s != NULL)
        shm_unref(s);
}

static void shm_free(struct sticky_shm *s)
{
    if (s->base != NULL)
        shm_proc_detach(s);
    unmap(s);
    if (s->fd >= 0)
        close(s->fd); /* drops this handle's flock */
    pthread_mutex_destroy(&s->row_lock);
    mem_free(s->ctx, s);
}

STICKY_API int sticky_shm_get_stats(sticky_shm *s, sticky_shm_stats *out)
{
    if (s == NULL || out == NULL)
        return STICKY_EINVAL;
    if (struct_size_ok(s->ctx, "shm_get_stats", "out", out->size, SHM_STATS_MIN_SIZE) !=
        STICKY_OK)
        return STICKY_EABI;
    const struct shm_header *h = s->hdr;
    sticky_shm_stats v;
    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    v.file_bytes = s->geo.file_bytes;
    v.max_sessions = s->geo.sizes.max_sessions;
    for (uint32_t i = 0; i < s->geo.sizes.shard_count; i++) {
        if (shm_shard_lock(s, i) != STICKY_OK)
            return STICKY_ESTORE;
        v.sessions += s->shards[i].count;
        shm_shard_unlock(s, i);
    }
    v.shard_count = s->geo.sizes.shard_count;
    v.max_channels = s->geo.sizes.max_channels;
    v.channels = atomic_load_explicit(&h->channels, memory_order_relaxed);
    v.max_tenants = s->geo.sizes.max_tenants;
    v.tenants = atomic_load_explicit(&h->tenants, memory_order_relaxed);
    v.max_processes = s->geo.sizes.max_processes;
    uint32_t hwm = atomic_load_explicit(&h->procs_hwm, memory_order_relaxed);
    for (uint32_t i = 0; i < hwm && i < s->geo.sizes.max_processes; i++)
        v.processes += atomic_load_explicit(&s->procs[i].owner, memory_order_relaxed) != 0;
    v.repairs = atomic_load_explicit(&h->repairs, memory_order_relaxed);
    v.reclaimed_processes = atomic_load_explicit(&h->reclaimed_processes, memory_order_relaxed);
    struct_copy_out(out, out->size, &v, sizeof(v));
    return STICKY_OK;
}
