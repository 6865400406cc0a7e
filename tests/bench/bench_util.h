/*
 * tests/bench/bench_util.h - timing helpers shared by the benchmarks: run a
 * case for a fixed time in several rounds, take the median ns per op, and
 * print one JSON object per line:
 * {"bench": "...", "ns_per_op": ..., "ratio_vs": "...", "ratio": ...}
 */
#ifndef STICKY_BENCH_UTIL_H
#define STICKY_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*bench_fn)(void *arg);

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over 7 rounds of ~@round_ms each; returns ns per call of @fn. */
static inline double bench_run(bench_fn fn, void *arg, double round_ms)
{
    long iters = 1;
    for (;;) { /* calibrate */
        double t0 = bench_now_ns();
        for (long i = 0; i < iters; i++)
            fn(arg);
        double dt = bench_now_ns() - t0;
        if (dt > round_ms * 1e6 / 4)
            break;
        iters *= 2;
    }
    iters *= 4;
    double r[7];
    for (int k = 0; k < 7; k++) {
        double t0 = bench_now_ns();
        for (long i = 0; i < iters; i++)
            fn(arg);
        r[k] = (bench_now_ns() - t0) / (double)iters;
    }
    qsort(r, 7, sizeof(r[0]), bench_cmp_double);
    return r[3];
}

static inline void bench_print(const char *name, double ns, const char *vs, double vs_ns,
                               const char *extra_json)
{
    printf("{\"bench\": \"%s\", \"ns_per_op\": %.1f, \"ratio_vs\": \"%s\", \"ratio\": %.3f%s%s}\n",
           name, ns, vs ? vs : "", vs_ns > 0 ? ns / vs_ns : 0.0,
           extra_json ? ", " : "", extra_json ? extra_json : "");
    fflush(stdout);
}

#endif
