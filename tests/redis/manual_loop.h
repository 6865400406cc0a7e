/*
 * tests/redis/manual_loop.h - a minimal event loop over poll() that
 * implements sticky_redis_loop, so the async Redis engine is tested with
 * neither libuv nor libevent: hiredis' read/write hooks become poll()
 * interest, timers are one-shot deadlines on CLOCK_MONOTONIC, and a closed
 * timer's memory is released on the next turn (as libuv does), which
 * exercises the engine's deferred free.
 */
#ifndef STICKY_TEST_MANUAL_LOOP_H
#define STICKY_TEST_MANUAL_LOOP_H

#include <stdint.h>

#include <sticky/redis_async.h>

struct mloop;

/* The vtable to pass to sticky_redis_store_new_loop() with an mloop. */
extern const sticky_redis_loop mloop_vt;

struct mloop *mloop_new(void);
/* One turn: wait up to @max_wait_ms (less when a timer is due) for I/O,
 * dispatch it, fire due timers, run deferred closes. Returns the number of
 * callbacks dispatched. */
int mloop_run_once(struct mloop *l, int max_wait_ms);
/* Connections and timers still registered (0: the loop is idle). */
int mloop_handles(const struct mloop *l);
/* Longest single dispatch (one hiredis read/write or timer), in ns. */
int64_t mloop_max_dispatch_ns(const struct mloop *l);
/* The same in CPU time of the loop's thread (time it was descheduled
 * by a busy machine left out). */
int64_t mloop_max_dispatch_cpu_ns(const struct mloop *l);
/* Forget the longest dispatch seen so far. */
void mloop_reset_max(struct mloop *l);
/* Frees the loop; returns the number of handles still registered
 * (a leak of the engine when not 0). */
int mloop_free(struct mloop *l);

#endif /* STICKY_TEST_MANUAL_LOOP_H */
