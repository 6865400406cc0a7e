/*
 * tests/bench/bench_shm.c - shared-memory segment benchmarks (`meson test
 * -C build --benchmark`), one JSON line per case, each against a baseline
 * measured in the same process (docs/PERFORMANCE.md, "Shared-memory
 * segment"):
 *  - file bytes per mapping at 1M mappings (sticky_shm_get_stats after
 *    putting 1,000,000 keys into a segment made for 1,000,000; issue 13's
 *    target: <= 64; the line also says how many it held: a full shard
 *    evicts while others still have room);
 *  - store get hit at 1M mappings, shm store vs memory store;
 *  - sticky_select() sticky hit (precomputed key, 4 channels), a context on
 *    the segment vs one on a memory store (target: ratio <= 1.5);
 *  - new sessions through sticky_select(), shm vs memory;
 *  - hit throughput of 2 forked processes on one segment vs 1 process;
 *  - recovery after a lock holder was killed: a child takes a shard lock
 *    (test hook shm_test_hold_shard, half-writing a slot), is SIGKILLed,
 *    and the parent's next get on that shard locks + repairs it.
 * The segment lives in a file under /dev/shm (else $TMPDIR), unlinked at
 * the end. Not a test: nothing here passes or fails on timing.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sticky/sticky.h>

#include "bench_util.h"
#include "shm/shm_internal.h"

#define BIG 1000000u
#define N_CHANNELS 4
#define PROC_OPS 2000000L
#define REPS 3

static char names[N_CHANNELS][16];
/* The filled keys the segment kept: a shard that fills up evicts even
 * while others have room, so slightly fewer than BIG (hits use these). */
static uint64_t *present;
static uint32_t n_present;
static sticky_channel channels[N_CHANNELS];

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The i-th key of the filled set (distinct, spread). */
static uint64_t key_at(uint64_t i)
{
    uint64_t s = i * 0x2545F4914F6CDD1DULL;
    return splitmix(&s) | 1;
}

static char path[4096], path2[4200]; /* the segment files, removed on exit */

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "bench_shm: %s: %s\n", what, sticky_strerror(rc));
    unlink(path);
    unlink(path2);
    exit(1);
}

static sticky_ctx *new_ctx(void)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.max_sessions = BIG;
    cfg.log_level = STICKY_LOG_ERROR;
    sticky_ctx *ctx;
    int rc = sticky_ctx_new(&cfg, &ctx);
    if (rc != STICKY_OK)
        die("ctx_new", rc);
    return ctx;
}

static void fill(sticky_store *st, uint32_t n)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    for (uint32_t i = 0; i < n; i++) {
        m.key = key_at(i);
        snprintf(m.channel_id, sizeof(m.channel_id), "%s", names[i % N_CHANNELS]);
        /* No tenant: the select cases below look these keys up without one. */
        int rc = sticky_store_put(st, &m, 0, NULL);
        if (rc != STICKY_OK)
            die("fill put", rc);
    }
}

/* ---- store get hit ------------------------------------------------------ */

struct get_case {
    sticky_store *st;
    uint64_t seed;
};

static void run_get(void *arg)
{
    struct get_case *g = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    if (sticky_store_get(g->st, present[splitmix(&g->seed) % n_present], STICKY_STORE_PEEK, &m) !=
        STICKY_OK)
        abort();
}

/* ---- select ---------------------------------------------------------------- */

struct sel_case {
    sticky_ctx *ctx;
    sticky_request req;
    sticky_key_chain chain;
    uint64_t seed, next_key;
    int fresh; /* new sessions, else hits on the filled keys */
};

static void sel_init(struct sel_case *c, sticky_ctx *ctx, int fresh, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->fresh = fresh;
    c->seed = seed;
    c->next_key = (seed << 40) | 1;
    sticky_request_init(&c->req);
    sticky_key_chain_init(&c->chain);
    c->chain.source = fresh ? STICKY_KEY_SOURCE_CONTENT : STICKY_KEY_SOURCE_EXPLICIT;
    c->chain.n_keys = 1;
    c->req.chain = &c->chain;
}

static void run_select(void *arg)
{
    struct sel_case *c = arg;
    c->chain.keys[0] = c->fresh ? c->next_key++ : present[splitmix(&c->seed) % n_present];
    sticky_decision d;
    sticky_decision_init(&d);
    if (sticky_select(c->ctx, &c->req, channels, N_CHANNELS, &d) != STICKY_OK)
        abort();
    if (!c->fresh && d.reason != STICKY_REASON_HIT && d.reason != STICKY_REASON_EXPLICIT_HIT)
        abort(); /* the hit case must measure hits */
    sticky_release(c->ctx, &d);
}

/* ---- processes ------------------------------------------------------------- */

/* Throughput (ops/s) of @n forked processes doing select hits on @shm,
 * each with its own context; they start together on a pipe. */
static double procs_throughput(sticky_shm *shm, int n)
{
    int go[2], res[2];
    if (pipe(go) != 0 || pipe(res) != 0)
        abort();
    pid_t pids[2];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            abort();
        if (pids[i] == 0) {
            sticky_ctx *ctx = new_ctx();
            int rc = sticky_ctx_use_shm(ctx, shm);
            if (rc != STICKY_OK)
                die("child ctx_use_shm", rc);
            struct sel_case c;
            sel_init(&c, ctx, 0, 1000 + (uint64_t)i);
            char b;
            if (read(go[0], &b, 1) != 1)
                _exit(1);
            double t0 = bench_now_ns();
            for (long k = 0; k < PROC_OPS; k++)
                run_select(&c);
            double ops = (double)PROC_OPS / ((bench_now_ns() - t0) / 1e9);
            if (write(res[1], &ops, sizeof(ops)) != sizeof(ops))
                _exit(1);
            sticky_ctx_free(ctx);
            _exit(0);
        }
    }
    usleep(200000); /* let every child get ready */
    if (write(go[1], "gg", (size_t)n) != n)
        abort();
    double total = 0;
    for (int i = 0; i < n; i++) {
        double ops;
        if (read(res[0], &ops, sizeof(ops)) != sizeof(ops))
            abort();
        total += ops;
    }
    for (int i = 0; i < n; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            abort();
    }
    close(go[0]), close(go[1]), close(res[0]), close(res[1]);
    return total;
}

/* ---- recovery after a killed lock holder ------------------------------------ */

/* ns of the first get on the shard of key @k after its lock holder was
 * SIGKILLed mid-write (lock EOWNERDEAD + shard repair + the get). */
static double recovery_ns(sticky_shm *shm, sticky_store *st, uint64_t k)
{
    int ready[2];
    if (pipe(ready) != 0)
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        if (shm_test_hold_shard(shm, k, 1) != STICKY_OK)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char b;
    if (read(ready[0], &b, 1) != 1)
        abort();
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(ready[0]), close(ready[1]);
    sticky_mapping m;
    sticky_mapping_init(&m);
    double t0 = bench_now_ns();
    int rc = sticky_store_get(st, k, STICKY_STORE_PEEK, &m);
    double ns = bench_now_ns() - t0;
    if (rc != STICKY_ENOTFOUND) /* the half-written mapping is dropped */
        die("get after repair (expected ENOTFOUND)", rc);
    return ns;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
    return v[n / 2];
}

int main(void)
{
    for (int i = 0; i < N_CHANNELS; i++) {
        snprintf(names[i], sizeof(names[i]), "channel-%d", i);
        sticky_channel_init(&channels[i]);
        channels[i].id = names[i];
    }
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/bench-shm-%d.sticky", dir ? dir : "/tmp", (int)getpid());
    unlink(path);

    /* Bytes per mapping at 1M: the file's size with 1M mappings in it. */
    sticky_ctx *ctx = new_ctx();
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.max_sessions = BIG;
    sticky_shm *shm;
    int rc = sticky_shm_open(ctx, path, &o, &shm);
    if (rc != STICKY_OK)
        die("shm_open", rc);
    sticky_store *shm_st;
    if ((rc = sticky_shm_store_new(shm, &shm_st)) != STICKY_OK)
        die("shm_store_new", rc);
    double t0 = bench_now_ns();
    fill(shm_st, BIG);
    double shm_fill_ns = (bench_now_ns() - t0) / BIG;
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    sticky_shm_get_stats(shm, &ss);
    present = malloc(BIG * sizeof(*present));
    for (uint32_t i = 0; i < BIG; i++) {
        sticky_mapping m;
        sticky_mapping_init(&m);
        if (sticky_store_get(shm_st, key_at(i), STICKY_STORE_PEEK, &m) == STICKY_OK)
            present[n_present++] = key_at(i);
    }
    if (n_present < BIG / 2)
        die("fill: fewer than half the mappings kept", STICKY_ELIMIT);
    char extra[256];
    snprintf(extra, sizeof(extra),
             "\"file_bytes\": %llu, \"mappings_held\": %llu, \"shards\": %u, \"max_channels\": %u, "
             "\"max_tenants\": %u, \"max_processes\": %u",
             (unsigned long long)ss.file_bytes, (unsigned long long)ss.sessions, ss.shard_count,
             ss.max_channels, ss.max_tenants, ss.max_processes);
    printf("{\"bench\": \"shm_file_bytes_per_mapping_1m\", \"ns_per_op\": null, "
           "\"ratio_vs\": \"target_64\", \"ratio\": %.3f, \"bytes_per_mapping\": %.2f, %s}\n",
           (double)ss.file_bytes / BIG / 64.0, (double)ss.file_bytes / BIG, extra);

    /* The memory store with the same 1M mappings. */
    sticky_ctx *mctx = new_ctx();
    sticky_store *mem_st;
    if ((rc = sticky_memory_store_new(mctx, NULL, &mem_st)) != STICKY_OK)
        die("memory_store_new", rc);
    t0 = bench_now_ns();
    fill(mem_st, BIG);
    double mem_fill_ns = (bench_now_ns() - t0) / BIG;
    bench_print("memory_store_put_fill_1m", mem_fill_ns, NULL, 0, NULL);
    bench_print("shm_store_put_fill_1m", shm_fill_ns, "memory_store_put_fill_1m", mem_fill_ns,
                NULL);

    /* Store get hit at 1M, random keys. */
    struct get_case gm = {mem_st, 1}, gs = {shm_st, 1};
    double mem_get = bench_run(run_get, &gm, 100);
    double shm_get = bench_run(run_get, &gs, 100);
    bench_print("memory_store_get_hit_1m", mem_get, NULL, 0, NULL);
    bench_print("shm_store_get_hit_1m", shm_get, "memory_store_get_hit_1m", mem_get, NULL);

    /* sticky_select hit: a context on the segment vs one on the memory store. */
    sticky_ctx *sctx = new_ctx();
    if ((rc = sticky_ctx_set_store(sctx, shm_st)) != STICKY_OK ||
        (rc = sticky_ctx_use_shm(sctx, shm)) != STICKY_OK)
        die("ctx_use_shm", rc);
    if ((rc = sticky_ctx_set_store(mctx, mem_st)) != STICKY_OK)
        die("ctx_set_store", rc);
    struct sel_case hm, hs;
    sel_init(&hm, mctx, 0, 7);
    sel_init(&hs, sctx, 0, 7);
    double mem_hit = bench_run(run_select, &hm, 100);
    double shm_hit = bench_run(run_select, &hs, 100);
    bench_print("memory_select_hit_1m_4ch", mem_hit, NULL, 0, NULL);
    bench_print("shm_select_hit_1m_4ch", shm_hit, "memory_select_hit_1m_4ch", mem_hit,
                "\"target_ratio\": 1.5");

    /* New sessions, into an empty second segment and an empty memory
     * store (1M capacity each), so the filled ones keep their keys. */
    snprintf(path2, sizeof(path2), "%s.new", path);
    unlink(path2);
    sticky_shm *shm2;
    sticky_ctx *nctx = new_ctx(), *nmctx = new_ctx();
    sticky_store *nmem = NULL;
    if ((rc = sticky_shm_open(nctx, path2, &o, &shm2)) != STICKY_OK ||
        (rc = sticky_ctx_use_shm(nctx, shm2)) != STICKY_OK ||
        (rc = sticky_memory_store_new(nmctx, NULL, &nmem)) != STICKY_OK ||
        (rc = sticky_ctx_set_store(nmctx, nmem)) != STICKY_OK)
        die("new-session set-up", rc);
    struct sel_case nm, ns;
    sel_init(&nm, nmctx, 1, 11);
    sel_init(&ns, nctx, 1, 11);
    double mem_new = bench_run(run_select, &nm, 100);
    double shm_new = bench_run(run_select, &ns, 100);
    bench_print("memory_select_new_session_4ch", mem_new, NULL, 0, NULL);
    bench_print("shm_select_new_session_4ch", shm_new, "memory_select_new_session_4ch", mem_new,
                NULL);
    sticky_shm_close(shm2);
    sticky_ctx_free(nctx);
    sticky_store_free(nmem);
    sticky_ctx_free(nmctx);
    unlink(path2);

    /* 2 processes vs 1 on one segment: select hits, medians of REPS
     * interleaved runs. */
    double one[REPS], two[REPS];
    for (int r = 0; r < REPS; r++) {
        one[r] = procs_throughput(shm, 1);
        two[r] = procs_throughput(shm, 2);
    }
    double one_ops = median(one, REPS), two_ops = median(two, REPS);
    bench_print("shm_select_hit_1_process", 1e9 / one_ops, NULL, 0, NULL);
    snprintf(extra, sizeof(extra), "\"ops_per_s_1\": %.0f, \"ops_per_s_2\": %.0f", one_ops,
             two_ops);
    bench_print("shm_select_hit_2_processes", 1e9 / two_ops,
                "shm_select_hit_1_process_throughput", 1e9 / one_ops, extra);

    /* Recovery after a SIGKILLed lock holder, vs a plain get. */
    double rec[7];
    for (int r = 0; r < 7; r++)
        rec[r] = recovery_ns(shm, shm_st, present[(uint64_t)r * 977]);
    double rec_ns = median(rec, 7);
    snprintf(extra, sizeof(extra), "\"slots_per_shard\": %u, \"max_ns\": %.0f",
             shm->hdr->slots_per_shard, rec[6]);
    bench_print("shm_recovery_after_killed_holder", rec_ns, "shm_store_get_hit_1m", shm_get,
                extra);
    sticky_shm_get_stats(shm, &ss);
    if (ss.repairs < 7)
        die("recovery: shards not repaired", STICKY_ECORRUPT);

    sticky_ctx_free(sctx);
    sticky_store_free(shm_st);
    sticky_shm_close(shm);
    sticky_store_free(mem_st);
    sticky_ctx_free(mctx);
    sticky_ctx_free(ctx);
    free(present);
    unlink(path);
    return 0;
}
