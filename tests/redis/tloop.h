/*
 * tests/redis/tloop.h - the loop a test of the async Redis store runs on,
 * one interface with three implementations linked one per executable:
 * tloop_manual.c (the poll() loop of manual_loop.c), tloop_uv.c (libuv
 * through libsticky-redis-uv's glue), tloop_event.c (libevent). So one
 * engine test runs on each.
 */
#ifndef STICKY_TEST_TLOOP_H
#define STICKY_TEST_TLOOP_H

#include <stdint.h>

#include <sticky/redis_store.h>

struct tloop;

/* "manual", "libuv" or "libevent". */
extern const char tloop_name[];

struct tloop *tloop_new(void);
/* One turn of the loop, waiting at most @max_wait_ms for something. */
void tloop_run_once(struct tloop *l, int max_wait_ms);
/* The loop store on @l (the constructor of that loop). */
int tloop_store_new(struct tloop *l, sticky_ctx *ctx, const sticky_redis_store_options *o,
                    sticky_store **out);
/* Longest single dispatch seen, ns (0 where the loop does not say). */
int64_t tloop_max_dispatch_ns(const struct tloop *l);
/* Frees the loop; returns how many handles were still registered (a leak
 * of the store when not 0). */
int tloop_free(struct tloop *l);

#endif /* STICKY_TEST_TLOOP_H */
