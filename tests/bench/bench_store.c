/*
 * tests/bench/bench_store.c - memory store benchmarks (`meson test -C build
 * --benchmark`): get hit, get miss and put (replacing a mapping) in ns per
 * operation at 10k and 1M mappings, on 1 and 2 threads, and RSS bytes per
 * mapping at 1M. One JSON object per line; the 2-thread lines carry
 * ratio = 2-thread throughput / 1-thread throughput. Each figure is the
 * median of REPS runs with the 1- and 2-thread runs interleaved, so
 * background load on a shared machine hits both alike. Not a test:
 * nothing here passes or fails on timing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sticky/sticky.h>

#define OPS_PER_THREAD 300000u
#define REPS 5 /* each figure is the median of REPS runs, 1t and 2t interleaved */
#define N_CHANNELS 32

struct bench {
    sticky_store *st;
    const uint64_t *keys; /* present keys */
    size_t n;
    int op;               /* 0 get hit, 1 get miss, 2 put */
    unsigned seed;
};

static const char *op_names[] = {"get_hit", "get_miss", "put"};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void set_channel(sticky_mapping *m, uint64_t key)
{
    snprintf(m->channel_id, sizeof(m->channel_id), "channel-%02u",
             (unsigned)(key % N_CHANNELS));
    snprintf(m->tenant_id, sizeof(m->tenant_id), "tenant-%u", (unsigned)(key % 4));
}

static void *run(void *arg)
{
    struct bench *b = arg;
    uint64_t s = b->seed;
    sticky_mapping m;
    sticky_mapping_init(&m);
    volatile int sink = 0;
    for (unsigned i = 0; i < OPS_PER_THREAD; i++) {
        uint64_t r = splitmix(&s);
        uint64_t key = b->keys[r % b->n];
        switch (b->op) {
        case 0:
            sink += sticky_store_get(b->st, key, 0, &m);
            break;
        case 1:
            sink += sticky_store_get(b->st, key ^ 0x5555555555555555ULL, 0, &m);
            break;
        default:
            m.key = key;
            set_channel(&m, key + i);
            sink += sticky_store_put(b->st, &m, 0, NULL);
            break;
        }
    }
    (void)sink;
    return NULL;
}

/* Wall-clock ns per operation with @threads threads; thread i uses st[i]
 * (the same store twice for the shared case). */
static double measure_on(sticky_store *const *st, const uint64_t *keys, size_t n,
                         int op, int threads)
{
    struct bench b[2];
    pthread_t th[2];
    double t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        b[i] = (struct bench){st[i], keys, n, op, 1234u + (unsigned)i};
        pthread_create(&th[i], NULL, run, &b[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    return (now_ns() - t0) / ((double)OPS_PER_THREAD * threads);
}


static sticky_store *fill(sticky_ctx *ctx, size_t n, uint64_t **keys_out)
{
    sticky_memory_store_options o;
    sticky_memory_store_options_init(&o);
    o.max_sessions = (uint32_t)n;
    sticky_store *st;
    if (sticky_memory_store_new(ctx, &o, &st) != STICKY_OK)
        return NULL;
    uint64_t *keys = malloc(n * sizeof(*keys));
    uint64_t s = 42;
    sticky_mapping m;
    sticky_mapping_init(&m);
    for (size_t i = 0; i < n; i++) {
        keys[i] = splitmix(&s);
        m.key = keys[i];
        set_channel(&m, keys[i]);
        if (sticky_store_put(st, &m, 0, NULL) != STICKY_OK) {
            fprintf(stderr, "fill failed at %zu\n", i);
            exit(1);
        }
    }
    *keys_out = keys;
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns/op over REPS interleaved runs on 1 and on 2 threads. */
static void measure_pair(sticky_store *const *st1, sticky_store *const *st2,
                         const uint64_t *keys, size_t n, int op, double *ns1,
                         double *ns2)
{
    double a[REPS], b[REPS];
    for (int r = 0; r < REPS; r++) {
        a[r] = measure_on(st1, keys, n, op, 1);
        b[r] = measure_on(st2, keys, n, op, 2);
    }
    qsort(a, REPS, sizeof(double), cmp_double);
    qsort(b, REPS, sizeof(double), cmp_double);
    *ns1 = a[REPS / 2];
    *ns2 = b[REPS / 2];
}

static void bench_size(sticky_store *st, const uint64_t *keys, size_t n,
                       const char *label)
{
    sticky_store *both[2] = {st, st};
    for (int op = 0; op < 3; op++) {
        char one[64], two[64];
        snprintf(one, sizeof(one), "%s_%s_1t", op_names[op], label);
        snprintf(two, sizeof(two), "%s_%s_2t", op_names[op], label);
        double ns1, ns2;
        measure_pair(both, both, keys, n, op, &ns1, &ns2);
        printf("{\"bench\": \"%s\", \"ns_per_op\": %.1f, \"ratio_vs\": null, "
               "\"ratio\": null}\n", one, ns1);
        printf("{\"bench\": \"%s\", \"ns_per_op\": %.1f, \"ratio_vs\": \"%s\", "
               "\"ratio\": %.2f}\n", two, ns2, one, ns1 / ns2);
        fflush(stdout);
    }
}

int main(void)
{
    sticky_ctx *ctx;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;

    /* RSS first, while the heap is fresh. */
    const size_t big = 1000000;
    long before = rss_bytes();
    uint64_t *keys;
    long keys_bytes = (long)(big * sizeof(uint64_t)); /* the bench's own array */
    sticky_store *st = fill(ctx, big, &keys);
    if (st == NULL)
        return 1;
    long after = rss_bytes();
    double per = (double)(after - before - keys_bytes) / (double)big;
    printf("{\"bench\": \"rss_bytes_per_mapping_1m\", \"ns_per_op\": null, "
           "\"bytes_per_mapping\": %.1f, \"ratio_vs\": \"target_100_bytes\", "
           "\"ratio\": %.3f}\n", per, per / 100.0);
    fflush(stdout);
    bench_size(st, keys, big, "1m");
    sticky_store_free(st);
    free(keys);

    st = fill(ctx, 10000, &keys);
    if (st == NULL)
        return 1;
    bench_size(st, keys, 10000, "10k");

    /* Control: each thread on a store of its own (nothing shared), to show
     * how far this machine lets two threads scale at all. */
    uint64_t *keys2;
    sticky_store *st2 = fill(ctx, 10000, &keys2);
    if (st2 == NULL)
        return 1;
    free(keys2); /* same seed: same keys as `keys` */
    sticky_store *own[2] = {st, st2};
    double ns1, ns2;
    measure_pair(own, own, keys, 10000, 0, &ns1, &ns2);
    printf("{\"bench\": \"get_hit_10k_private_store_per_thread_2t\", "
           "\"ns_per_op\": %.1f, \"ratio_vs\": \"get_hit_10k_private_1t\", "
           "\"ratio\": %.2f}\n", ns2, ns1 / ns2);
    sticky_store_free(st2);
    sticky_store_free(st);
    free(keys);
    sticky_ctx_free(ctx);
    return 0;
}
