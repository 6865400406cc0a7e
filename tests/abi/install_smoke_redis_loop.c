/* tests/abi/install_smoke_redis_loop.c - a tiny program built against an
 * installed libsticky-redis-uv (-DSMOKE_UV) or libsticky-redis-event
 * (-DSMOKE_EVENT) via `pkg-config sticky-redis-uv` / `sticky-redis-event`
 * plus the loop library's own pkg-config: creates the async Redis store on
 * a loop (no I/O happens at creation), checks it has the non-blocking
 * methods, frees it and lets the loop close its handles. */
#include <stdio.h>

#include <sticky/sticky.h>
#ifdef SMOKE_UV
#include <uv.h>
#include <sticky/redis_uv.h>
#else
#include <event2/event.h>
#include <sticky/redis_event.h>
#endif

int main(void)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;
    sticky_store *st = NULL;
#ifdef SMOKE_UV
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return 1;
    int rc = sticky_redis_store_new_uv(ctx, NULL, &loop, &st);
#else
    struct event_base *base = event_base_new();
    if (base == NULL)
        return 1;
    int rc = sticky_redis_store_new_libevent(ctx, NULL, base, &st);
#endif
    if (rc != STICKY_OK) {
        fprintf(stderr, "store on a loop: %s\n", sticky_strerror(rc));
        return 1;
    }
    int nonblocking = sticky_store_nonblocking(st);
    sticky_store_free(st);
#ifdef SMOKE_UV
    uv_run(&loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "handles left on the loop after sticky_store_free\n");
        return 1;
    }
#else
    event_base_free(base);
#endif
    sticky_ctx_free(ctx);
    if (nonblocking != 1) {
        fprintf(stderr, "sticky_store_nonblocking: %d\n", nonblocking);
        return 1;
    }
    printf("installed libsticky-redis loop glue works (async store, no I/O yet)\n");
    return 0;
}
