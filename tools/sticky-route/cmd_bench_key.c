/*
 * examples/sticky-route/cmd_bench_key.c - `sticky-route bench-key FILE...`:
 * derives the key of each raw body file repeatedly for about a second and
 * prints one JSON line per file:
 * {"bench":"key_from_json","file":...,"bytes":N,"source":...,"ns_per_op":X}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sticky/sticky.h>

#include "cli_util.h"
#include "commands.h"
#include "key_options.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_file(sticky_ctx *ctx, const struct key_options *o, const char *path)
{
    char *body = NULL;
    size_t len = 0;
    if (read_file(path, STICKY_MAX_BODY_BYTES, &body, &len) != 0)
        return EXIT_BODY;
    sticky_request req;
    key_options_request(o, body, len, &req);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    int rc = sticky_key_derive(ctx, &req, &chain);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: bench-key: %s: %s\n", path, sticky_strerror(rc));
        free(body);
        return EXIT_BODY;
    }
    /* Calibrate to about one second. */
    long iters = 1;
    double elapsed = 0;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++)
            sticky_key_derive(ctx, &req, &chain);
        elapsed = now_ns() - t0;
        if (elapsed > 1e9 || iters > (1L << 40))
            break;
        iters = elapsed < 1e6 ? iters * 10 : (long)((double)iters * 1.05e9 / elapsed) + 1;
    }
    printf("{\"bench\":\"key_from_json\",\"file\":");
    json_print_string(stdout, path);
    printf(",\"bytes\":%zu,\"source\":\"%s\",\"ns_per_op\":%.1f}\n", len,
           chain.source == STICKY_KEY_SOURCE_EXPLICIT  ? "explicit"
           : chain.source == STICKY_KEY_SOURCE_CONTENT ? "content"
                                                       : "none",
           elapsed / (double)iters);
    fflush(stdout);
    free(body);
    return 0;
}

int cmd_bench_key(int argc, char **argv)
{
    struct key_options o;
    memset(&o, 0, sizeof(o));
    int first_file = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        int r = key_options_parse(&o, argc, argv, &i);
        if (r < 0) {
            key_options_free(&o);
            return EXIT_USAGE;
        }
        if (r == 0) {
            first_file = i;
            break;
        }
    }
    if (first_file == 0) {
        fprintf(stderr, "usage: sticky-route bench-key [options] FILE...\n" KEY_OPTIONS_HELP);
        key_options_free(&o);
        return EXIT_USAGE;
    }
    sticky_ctx *ctx = NULL;
    if (key_options_context(&o, &ctx) != 0) {
        key_options_free(&o);
        return EXIT_USAGE;
    }
    for (int i = first_file; i < argc; i++) {
        int r = bench_file(ctx, &o, argv[i]);
        if (r != 0)
            rc = r;
    }
    sticky_ctx_free(ctx);
    key_options_free(&o);
    return rc;
}
