/*
 * tests/fuzz/fuzz_struct_size.c - libFuzzer target for the size field of
 * every size-prefixed struct a public function reads or writes. Byte 0
 * picks the struct and call, bytes 1..8 are the size field, the rest is
 * the struct's tail beyond the library's sizeof (what a "newer caller"
 * would have there). The struct lives in a heap buffer exactly as large as
 * its size claims (up to STICKY_MAX_STRUCT_SIZE; for a larger claim, only
 * sizeof + tail), so AddressSanitizer reports any read or write past what
 * the caller really owns. Checks: a size outside [first release,
 * STICKY_MAX_STRUCT_SIZE] is STICKY_EABI; nothing crashes or leaks.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sticky/sticky.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sticky_ctx *ctx;
static sticky_store *store;
static sticky_shm *shm;    /* a small segment in a memfd */
static char shm_path[64];  /* /proc/self/fd/N of that memfd */

#define MAX_TAIL 256

/* A heap copy of @proto (@n bytes) whose size field says @claimed and
 * whose bytes after @n are @tail; the buffer is what the claim covers. */
static void *make(const void *proto, size_t n, size_t claimed, const uint8_t *tail,
                  size_t tail_len)
{
    size_t len = n + tail_len;
    if (claimed <= STICKY_MAX_STRUCT_SIZE && claimed > len)
        len = claimed;
    unsigned char *p = calloc(1, len);
    if (p == NULL)
        abort();
    memcpy(p, proto, n);
    memcpy(p + n, tail, tail_len);
    memcpy(p, &claimed, sizeof(claimed));
    return p;
}

/* The first-release size of each struct (lib/util/struct_min_size.h): the
 * end of its last field in the release that introduced the layout. A
 * size below it or above STICKY_MAX_STRUCT_SIZE must be STICKY_EABI;
 * anything between may succeed (a size inside a field is the caller's
 * error: it must not crash, whatever the library answers). */
#define END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define MIN_REQUEST END(sticky_request, session_id_len)
#define MIN_CHANNEL END(sticky_channel, max_inflight)
#define MIN_DECISION END(sticky_decision, attempt)
#define MIN_OUTCOME END(sticky_outcome, reset_epoch_seconds)
#define MIN_CONFIG END(sticky_config, breaker_cooldown_seconds)
#define MIN_MEMORY_OPTIONS END(sticky_memory_store_options, sweep_on_write)
#define MIN_MAPPING END(sticky_mapping, expires_ms)
#define MIN_CTX_STATS END(sticky_ctx_stats, channels)
#define MIN_STORE_STATS END(sticky_store_stats, deletes)
#define MIN_SHM_OPTIONS END(sticky_shm_options, sweep_on_write)
#define MIN_SHM_STATS END(sticky_shm_stats, reclaimed_processes)

static int in_bounds(size_t claimed, size_t min)
{
    return claimed >= min && claimed <= STICKY_MAX_STRUCT_SIZE;
}

static void expect(int rc, size_t claimed, size_t min)
{
    if (!in_bounds(claimed, min) && rc != STICKY_EABI)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    if (ctx == NULL) {
        if (sticky_ctx_new(NULL, &ctx) != STICKY_OK ||
            sticky_memory_store_new(ctx, NULL, &store) != STICKY_OK ||
            sticky_ctx_set_store(ctx, store) != STICKY_OK)
            abort();
        int fd = memfd_create("sticky-fuzz-struct-size", MFD_CLOEXEC);
        sticky_shm_options o;
        sticky_shm_options_init(&o);
        o.max_sessions = 64;
        o.max_channels = 4;
        o.max_tenants = 4;
        o.max_processes = 4;
        snprintf(shm_path, sizeof(shm_path), "/proc/self/fd/%d", fd);
        if (fd < 0 || sticky_shm_open(ctx, shm_path, &o, &shm) != STICKY_OK)
            abort();
    }
    size_t claimed;
    memcpy(&claimed, data + 1, sizeof(claimed));
    /* Mostly sizes near the real ones, sometimes the raw 8 bytes. */
    if (!(data[0] & 0x80))
        claimed %= 2 * STICKY_MAX_STRUCT_SIZE;
    const uint8_t *tail = data + 9;
    size_t tail_len = size - 9 > MAX_TAIL ? MAX_TAIL : size - 9;

    static const char *const body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    sticky_channel ch;
    sticky_channel_init(&ch);
    ch.id = "A";
    sticky_request req;
    sticky_request_init(&req);
    req.body = body;
    req.body_len = strlen(body);
    sticky_decision d;
    sticky_decision_init(&d);
    int rc;
    switch (data[0] % 10) {
    case 0: { /* the request of select and key_derive */
        sticky_request *r = make(&req, sizeof(req), claimed, tail, tail_len);
        rc = sticky_select(ctx, r, &ch, 1, &d);
        expect(rc, claimed, MIN_REQUEST);
        if (rc == STICKY_OK)
            sticky_release(ctx, &d);
        sticky_key_chain chain;
        sticky_key_chain_init(&chain);
        expect(sticky_key_derive(ctx, r, &chain), claimed, MIN_REQUEST);
        free(r);
        break;
    }
    case 1: { /* one channel: its size is the array's stride */
        sticky_channel *c = make(&ch, sizeof(ch), claimed, tail, tail_len);
        rc = sticky_select(ctx, &req, c, 1, &d);
        expect(rc, claimed, MIN_CHANNEL);
        if (rc == STICKY_OK)
            sticky_release(ctx, &d);
        free(c);
        break;
    }
    case 2: { /* the decision written by select, read by report */
        sticky_decision *dd = make(&d, sizeof(d), claimed, tail, tail_len);
        rc = sticky_select(ctx, &req, &ch, 1, dd);
        expect(rc, claimed, MIN_DECISION);
        if (rc == STICKY_OK) {
            sticky_outcome o;
            sticky_outcome_init(&o);
            o.status = 200;
            /* A decision select accepted and wrote is one report takes. */
            if (sticky_report(ctx, dd, &o) != STICKY_OK)
                abort();
        }
        free(dd);
        break;
    }
    case 3: { /* the outcome of report */
        if (sticky_select(ctx, &req, &ch, 1, &d) != STICKY_OK)
            abort();
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = 200;
        sticky_outcome *po = make(&o, sizeof(o), claimed, tail, tail_len);
        expect(sticky_report(ctx, &d, po), claimed, MIN_OUTCOME);
        sticky_release(ctx, &d);
        free(po);
        break;
    }
    case 4: { /* the config of ctx_new, and ctx_config's out-struct */
        sticky_config cfg;
        sticky_config_init(&cfg);
        sticky_config *pc = make(&cfg, sizeof(cfg), claimed, tail, tail_len);
        sticky_ctx *c2 = NULL;
        rc = sticky_ctx_new(pc, &c2);
        expect(rc, claimed, MIN_CONFIG);
        sticky_ctx_free(c2);
        expect(sticky_ctx_config(ctx, pc), claimed, MIN_CONFIG);
        free(pc);
        break;
    }
    case 5: { /* memory store options */
        sticky_memory_store_options o;
        sticky_memory_store_options_init(&o);
        sticky_memory_store_options *po = make(&o, sizeof(o), claimed, tail, tail_len);
        sticky_store *st = NULL;
        expect(sticky_memory_store_new(ctx, po, &st), claimed, MIN_MEMORY_OPTIONS);
        sticky_store_free(st);
        free(po);
        break;
    }
    case 6: { /* a mapping put, then read back into the same record */
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = 42;
        strcpy(m.channel_id, "A");
        sticky_mapping *pm = make(&m, sizeof(m), claimed, tail, tail_len);
        expect(sticky_store_put(store, pm, 0, NULL), claimed, MIN_MAPPING);
        expect(sticky_store_get(store, 42, STICKY_STORE_PEEK, pm), claimed, MIN_MAPPING);
        free(pm);
        break;
    }
    case 8: { /* shm options: the caller's tail decides flags and sizes; an
               * existing segment, so sizes are 0 or its own or ECONFIG */
        sticky_shm_options o;
        sticky_shm_options_init(&o);
        sticky_shm_options *po = make(&o, sizeof(o), claimed, tail, tail_len);
        sticky_shm *s2 = NULL;
        rc = sticky_shm_open(ctx, shm_path, po, &s2);
        expect(rc, claimed, MIN_SHM_OPTIONS);
        if ((rc == STICKY_OK) != (s2 != NULL))
            abort();
        sticky_shm_close(s2);
        free(po);
        break;
    }
    case 9: { /* shm stats */
        sticky_shm_stats s;
        sticky_shm_stats_init(&s);
        sticky_shm_stats *ps = make(&s, sizeof(s), claimed, tail, tail_len);
        rc = sticky_shm_get_stats(shm, ps);
        expect(rc, claimed, MIN_SHM_STATS);
        if (rc == STICKY_OK && ps->max_sessions != 64)
            abort();
        free(ps);
        break;
    }
    default: { /* counters */
        sticky_ctx_stats s;
        sticky_ctx_stats_init(&s);
        sticky_ctx_stats *ps = make(&s, sizeof(s), claimed, tail, tail_len);
        expect(sticky_ctx_get_stats(ctx, ps), claimed, MIN_CTX_STATS);
        free(ps);
        sticky_store_stats ss;
        sticky_store_stats_init(&ss);
        sticky_store_stats *pss = make(&ss, sizeof(ss), claimed, tail, tail_len);
        expect(sticky_store_get_stats(store, pss), claimed, MIN_STORE_STATS);
        free(pss);
        break;
    }
    }
    return 0;
}
