/*
 * tests/fuzz/fuzz_shm_attach.c - libFuzzer target for attaching to a
 * damaged shared-memory segment (sticky_shm_open) and using it. A small
 * valid segment (64 sessions, 8 channels, 8 tenants, 4 processes) with
 * mappings of every tenant encoding, channels with health and a cooldown is
 * built once; per input a copy of it in a memfd is damaged as the input
 * says, then opened through /proc/self/fd/N and, if the open succeeds,
 * used: store get/put/touch/delete/sweep, a select + report through a
 * context on the segment, both iterators, stats. Every call must return a
 * code; nothing may crash, leak or hang; what the iterators hand out must
 * be well formed (NUL-terminated ids, a state in range).
 *
 * Input: byte 0 = mode bits, bytes 1..4 = truncation length, bytes 5..6 =
 * clock offset in seconds, then patch records until a 0xff byte:
 *   [region % REGIONS][offset: 3 bytes][len: 1 byte, % 16 + 1][bytes]
 * (offset taken modulo the region's length: header, shards, buckets,
 * slots, channels, channel index, tenants, tenant index, processes,
 * in-flight table), then operations, 3 bytes each: [op][key selector][arg].
 *
 * With MODE_HOLD_FLOCK a shared flock is held on the file from another
 * descriptor, as a live process would, so the library attaches without its
 * recovery pass and meets the damage in use. A live process's lock words
 * cannot be judged from outside (a taken lock may be legitimately taken),
 * so in that mode patches that touch a lock word (shard mutexes, the names
 * mutex, a health record's pid lock) are skipped: they would model a hung
 * process, not a damaged file.
 *
 * Every region is patched, the signature memory included; what the library
 * hands out (ids, tenants) must be well formed. The findings of the first
 * runs (a damaged channel id handed out, a signed overflow in the in-flight
 * reclaim, unchecked shard header counters) are fixed in lib/shm and their
 * inputs are in the corpus.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sticky/sticky.h>

#include "shm/shm_layout.h"
#include "util/health_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    MODE_REFRESH_CHECKSUM = 1 << 0, /* recompute the header checksum after patching */
    MODE_HOLD_FLOCK = 1 << 1,       /* another "process" has it open: no recovery */
    MODE_TRUNCATE = 1 << 2,         /* truncate (or extend) to bytes 1..4 */
    MODE_RESET = 1 << 3,            /* STICKY_SHM_RESET_INCOMPATIBLE */
    MODE_SIZES = 1 << 4,            /* ask for other sizes than the file's */
    MODE_NO_CREATE = 1 << 5         /* options without STICKY_SHM_CREATE */
};

#define T0 1750000000000LL
#define N_CHANNELS 5
static const char *const channel_ids[N_CHANNELS] = {"A", "B", "C", "D", "E"};
static const char *const tenants[] = {
    "", "short", "0123456789abcdef0123456789abcdef",
    "a-long-tenant-identifier-that-gets-interned-1",
    "a-long-tenant-identifier-that-gets-interned-2"};
#define N_TENANTS (sizeof(tenants) / sizeof(tenants[0]))
#define N_KEYS 24

static unsigned char *tmpl;  /* the valid segment */
static size_t tmpl_len;
static struct shm_header hdr; /* its header */
static int64_t now_ms = T0;

static int64_t fuzz_clock(void *user)
{
    (void)user;
    return now_ms;
}

static void quiet(int level, const char *msg, void *user)
{
    (void)level, (void)msg, (void)user;
}

static sticky_ctx *new_ctx(void)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = fuzz_clock;
    cfg.log_fn = quiet;
    cfg.ttl_seconds = 3600;
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(&cfg, &ctx) != STICKY_OK)
        abort();
    return ctx;
}

static uint64_t key_of(unsigned i)
{
    return 0x9e3779b97f4a7c15ull * (i + 1);
}

static void body_of(unsigned i, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"messages\":[{\"role\":\"user\",\"content\":\"conversation %u\"}]}",
             i);
}

static void channels_init(sticky_channel *ch)
{
    for (int i = 0; i < N_CHANNELS; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = channel_ids[i];
        ch[i].max_inflight = 4;
    }
}

/* One select + report through @ctx on conversation @i with status @status. */
static void route(sticky_ctx *ctx, unsigned i, const char *tenant, int status)
{
    sticky_channel ch[N_CHANNELS];
    channels_init(ch);
    char body[128];
    body_of(i, body, sizeof(body));
    sticky_request req;
    sticky_request_init(&req);
    req.body = body;
    req.body_len = strlen(body);
    req.tenant = tenant;
    req.tenant_len = strlen(tenant);
    sticky_decision d;
    sticky_decision_init(&d);
    if (sticky_select(ctx, &req, ch, N_CHANNELS, &d) != STICKY_OK)
        return;
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    if (status == 429)
        o.retry_after_seconds = 600;
    if (sticky_report(ctx, &d, &o) != STICKY_OK)
        sticky_release(ctx, &d);
}

/* The valid segment, built once in a memfd and copied to memory. */
static void build_template(void)
{
    int fd = memfd_create("sticky-fuzz-template", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    sticky_ctx *ctx = new_ctx();
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.max_sessions = 64;
    o.shard_count = 4;
    o.max_channels = 8;
    o.max_tenants = 8;
    o.max_processes = 4;
    sticky_shm *shm;
    sticky_store *st;
    if (sticky_shm_open(ctx, path, &o, &shm) != STICKY_OK ||
        sticky_shm_store_new(shm, &st) != STICKY_OK ||
        sticky_ctx_use_shm(ctx, shm) != STICKY_OK)
        abort();
    for (unsigned i = 0; i < N_KEYS; i++) { /* every tenant encoding */
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = key_of(i);
        strcpy(m.channel_id, channel_ids[i % N_CHANNELS]);
        strcpy(m.tenant_id, tenants[i % N_TENANTS]);
        if (sticky_store_put(st, &m, 0, NULL) != STICKY_OK)
            abort();
    }
    for (unsigned i = 0; i < 12; i++) /* channels with health, a cooldown, an auth state */
        route(ctx, i, tenants[i % N_TENANTS], i == 3 ? 429 : i == 7 ? 401 : 200);
    sticky_channel ch[N_CHANNELS];
    channels_init(ch);
    sticky_request req;
    sticky_request_init(&req);
    req.body = "{\"messages\":[{\"role\":\"user\",\"content\":\"open\"}]}";
    req.body_len = strlen(req.body);
    sticky_decision d; /* one attempt left open: an in-flight count in the file */
    sticky_decision_init(&d);
    (void)sticky_select(ctx, &req, ch, N_CHANNELS, &d);
    off_t len = lseek(fd, 0, SEEK_END);
    tmpl = malloc((size_t)len);
    if (tmpl == NULL || pread(fd, tmpl, (size_t)len, 0) != len)
        abort();
    tmpl_len = (size_t)len;
    memcpy(&hdr, tmpl, sizeof(hdr));
    sticky_release(ctx, &d);
    sticky_store_free(st);
    sticky_shm_close(shm);
    sticky_ctx_free(ctx);
    close(fd);
}

#define REGIONS 12
static void region(unsigned r, uint64_t *start, uint64_t *len)
{
    const uint64_t off[REGIONS + 1] = {
        0,                      hdr.off_shards,   hdr.off_buckets,       hdr.off_slots,
        hdr.off_channels,       hdr.off_channel_index, hdr.off_tenants, hdr.off_tenant_index,
        hdr.off_procs,          hdr.off_held,     hdr.off_moves_locks,   hdr.off_moves,
        hdr.file_bytes};
    *start = off[r];
    *len = off[r + 1] - off[r];
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Does [@at, @at + @len) touch a lock word of the segment? */
static int touches_lock(uint64_t at, uint64_t len)
{
    if (overlaps(at, len, offsetof(struct shm_header, names_lock), sizeof(pthread_mutex_t)))
        return 1;
    for (uint32_t s = 0; s < hdr.sizes.shard_count; s++) {
        uint64_t lock = hdr.off_shards + s * sizeof(struct shm_shard);
        if (overlaps(at, len, lock, sizeof(pthread_mutex_t)))
            return 1;
    }
    if (overlaps(at, len, hdr.off_moves_locks, (uint64_t)SHM_MOVES_LOCKS * sizeof(pthread_mutex_t)))
        return 1;
    for (uint32_t c = 0; c < hdr.sizes.max_channels; c++) {
        uint64_t lock = hdr.off_channels + c * sizeof(struct shm_channel) +
                        offsetof(struct shm_channel, health) +
                        offsetof(struct channel_health, lock);
        if (overlaps(at, len, lock, sizeof(uint32_t)))
            return 1;
    }
    return 0;
}

/* Iterator checks: what the library hands out is well formed. */

static int on_session(const sticky_mapping *m, void *arg)
{
    if (memchr(m->channel_id, 0, STICKY_ID_SIZE) == NULL ||
        memchr(m->tenant_id, 0, STICKY_ID_SIZE) == NULL)
        abort();
    if (m->channel_id[0] == '\0')
        abort();
    ++*(unsigned *)arg;
    return 0;
}

static int on_channel(const char *id, const sticky_channel_health *h, void *arg)
{
    if (h->state < STICKY_HEALTH_OK || h->state > STICKY_HEALTH_AUTH)
        abort();
    size_t len = strnlen(id, STICKY_ID_SIZE); /* bounded: the id may be damaged */
    if (len == 0 || len == STICKY_ID_SIZE)
        abort();
    ++*(unsigned *)arg;
    return 0;
}

static void use_segment(sticky_shm *shm, const uint8_t *ops, size_t n)
{
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    if (sticky_shm_get_stats(shm, &ss) != STICKY_OK)
        abort();
    sticky_store *st = NULL;
    if (sticky_shm_store_new(shm, &st) != STICKY_OK)
        abort();
    sticky_ctx *ctx2 = new_ctx();
    int shared = sticky_ctx_use_shm(ctx2, shm) == STICKY_OK;
    if (!shared)
        abort();
    for (size_t i = 0; i + 3 <= n && i < 3 * 64; i += 3) {
        uint64_t key = ops[i + 1] < 0xf0 ? key_of(ops[i + 1] % (N_KEYS + 4))
                                         : 0x0101010101010101ull * ops[i + 2];
        sticky_mapping m;
        sticky_mapping_init(&m);
        size_t reclaimed;
        switch (ops[i] % 9) {
        case 0:
            (void)sticky_store_get(st, key, 0, &m);
            break;
        case 1:
            (void)sticky_store_get(st, key, STICKY_STORE_PEEK, &m);
            break;
        case 2:
            m.key = key;
            strcpy(m.channel_id, channel_ids[ops[i + 2] % N_CHANNELS]);
            strcpy(m.tenant_id, tenants[ops[i + 2] % N_TENANTS]);
            (void)sticky_store_put(st, &m, ops[i + 2] & 0x80 ? STICKY_STORE_IF_ABSENT : 0, NULL);
            break;
        case 3:
            (void)sticky_store_touch(st, key, &m);
            break;
        case 4:
            (void)sticky_store_delete(st, key);
            break;
        case 5:
            (void)sticky_store_sweep(st, ops[i + 2], &reclaimed);
            break;
        case 6: {
            static const int statuses[] = {200, 429, 529, 500, 401, 0};
            route(ctx2, ops[i + 1] % 16, tenants[ops[i + 1] % N_TENANTS],
                  statuses[ops[i + 2] % 6]);
            break;
        }
        case 7:
            now_ms += (int64_t)ops[i + 2] * 60000; /* time passes */
            break;
        default: {
            sticky_store_stats s;
            sticky_store_stats_init(&s);
            (void)sticky_store_get_stats(st, &s);
            break;
        }
        }
    }
    unsigned count = 0;
    (void)sticky_shm_each_session(shm, now_ms, on_session, &count);
    (void)sticky_shm_each_channel(shm, now_ms, on_channel, &count);
    route(ctx2, 0, "", 200);
    sticky_store_free(st);
    sticky_ctx_free(ctx2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tmpl == NULL) {
        build_template();
    }
    if (size < 7)
        return 0;
    unsigned mode = data[0];
    uint32_t trunc;
    memcpy(&trunc, data + 1, 4);
    now_ms = T0 + (int64_t)(data[5] | data[6] << 8) * 1000;
    size_t pos = 7;

    unsigned char *img = malloc(tmpl_len);
    if (img == NULL)
        abort();
    memcpy(img, tmpl, tmpl_len);
    while (pos + 5 <= size && data[pos] != 0xff) {
        uint64_t start, rlen;
        region(data[pos] % REGIONS, &start, &rlen);
        uint32_t off = (uint32_t)data[pos + 1] | (uint32_t)data[pos + 2] << 8 |
                       (uint32_t)data[pos + 3] << 16;
        size_t len = data[pos + 4] % 16 + 1;
        pos += 5;
        if (len > size - pos)
            len = size - pos;
        if (rlen == 0 || len == 0)
            break;
        uint64_t at = start + off % rlen;
        if (at + len > tmpl_len)
            len = tmpl_len - at;
        if (!((mode & MODE_HOLD_FLOCK) && touches_lock(at, len)))
            memcpy(img + at, data + pos, len);
        pos += len;
    }
    if (pos < size && data[pos] == 0xff)
        pos++;
    if (mode & MODE_REFRESH_CHECKSUM) {
        struct shm_header *h = (struct shm_header *)img;
        h->checksum = shm_header_checksum(h);
    }
    size_t file_len = tmpl_len;
    if (mode & MODE_TRUNCATE)
        file_len = trunc % (tmpl_len + 4096);

    int fd = memfd_create("sticky-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t wlen = file_len < tmpl_len ? file_len : tmpl_len;
    if (ftruncate(fd, (off_t)file_len) != 0 ||
        (wlen > 0 && pwrite(fd, img, wlen, 0) != (ssize_t)wlen))
        abort();
    free(img);
    if ((mode & MODE_HOLD_FLOCK) && flock(fd, LOCK_SH) != 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    sticky_ctx *ctx = new_ctx();
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    if (mode & MODE_RESET)
        o.flags |= STICKY_SHM_RESET_INCOMPATIBLE;
    if (mode & MODE_NO_CREATE)
        o.flags &= ~(unsigned)STICKY_SHM_CREATE;
    if (mode & MODE_SIZES)
        o.max_sessions = 32;
    sticky_shm *shm = NULL;
    int rc = sticky_shm_open(ctx, path, &o, &shm);
    if ((rc == STICKY_OK) != (shm != NULL))
        abort();
    if (rc == STICKY_OK) {
        use_segment(shm, data + pos, size - pos);
        sticky_shm_close(shm);
    }
    sticky_ctx_free(ctx);
    close(fd);
    return 0;
}
