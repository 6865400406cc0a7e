/* tests/abi/install_smoke_redis.c - a tiny program built against an
 * installed libsticky-redis via `pkg-config sticky-redis`: creates a
 * Redis store (no I/O happens at creation) and reads its counters. */
#include <stdio.h>

#include <sticky/redis.h>
#include <sticky/sticky.h>

int main(void)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;
    sticky_redis_options o;
    sticky_redis_options_init(&o);
    sticky_store *st = NULL;
    int rc = sticky_store_redis_new(ctx, &o, &st);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky_store_redis_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    sticky_redis_stats s;
    sticky_redis_stats_init(&s);
    rc = sticky_store_redis_stats(st, &s);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    if (rc != STICKY_OK || s.round_trips != 0)
        return 1;
    printf("installed libsticky-redis works (store \"redis\", no I/O yet)\n");
    return 0;
}
