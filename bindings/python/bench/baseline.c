/*
 * bindings/python/bench/baseline.c - the C side of the Python binding's
 * benchmark: the same select + report the binding makes, called from C in
 * a loop, so bench_select.py measures the binding's added cost against a
 * baseline in the same process on the same request. Not installed.
 */
#include <stdint.h>
#include <time.h>

#include <sticky/sticky.h>

__attribute__((visibility("default"))) int64_t bench_c_select_report(
    sticky_ctx *ctx, const sticky_request *req, const sticky_channel *channels, size_t n,
    int64_t iterations);

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Run @iterations select + report(200) on @req; total ns, or -1 on an error. */
int64_t bench_c_select_report(sticky_ctx *ctx, const sticky_request *req,
                              const sticky_channel *channels, size_t n, int64_t iterations)
{
    int64_t start = now_ns();
    for (int64_t i = 0; i < iterations; i++) {
        sticky_decision d;
        sticky_outcome o;
        sticky_decision_init(&d);
        if (sticky_select(ctx, req, channels, n, &d) != STICKY_OK)
            return -1;
        sticky_outcome_init(&o);
        o.status = 200;
        if (sticky_report(ctx, &d, &o) != STICKY_OK)
            return -1;
    }
    return now_ns() - start;
}
