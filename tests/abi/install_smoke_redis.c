/* tests/abi/install_smoke_redis.c - a tiny program built against an
 * installed libsticky-redis via `pkg-config sticky-redis`: creates a
 * Redis store (no I/O happens at creation) and reads its counters. */
#include <stdio.h>

#include <sticky/redis_store.h>
#include <sticky/sticky.h>

int main(void)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    sticky_store *st = NULL;
    int rc = sticky_redis_store_new(ctx, &o, &st);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky_redis_store_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    sticky_redis_store_stats s;
    sticky_redis_store_stats_init(&s);
    rc = sticky_redis_store_get_stats(st, &s);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    if (rc != STICKY_OK || s.round_trips != 0)
        return 1;
    printf("installed libsticky-redis works (store \"redis\", no I/O yet)\n");
    return 0;
}
