/*
 * tests/unit/fake_async_store.h - a version-3 test backend with no I/O:
 * a memory store behind async methods that only queue. The test decides
 * when each operation completes (fake_async_pump), and can make it fail
 * or lose a put-if-absent race. Every operation's completions are
 * counted: a second completion, a completion after cancel, or a cancel of
 * an operation that is not pending fails the test at once.
 */
#ifndef STICKY_FAKE_ASYNC_STORE_H
#define STICKY_FAKE_ASYNC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sticky/sticky.h>

struct fake_async_store;

/* fake_async_pump()'s inject_rc that is not an error: before the oldest
 * operation runs, another node wins the race: a plain put of its key to
 * the racer's channel (fake_async_set_racer()). Only for puts. */
#define FAKE_ASYNC_RACE 1

struct fake_async_options {
    int share_health;     /* health_publish / health_poll / health_publish_async */
    int complete_inline;  /* async methods complete at once (no EINPROGRESS) */
    int inline_lookups;   /* lookups complete at once, puts and publishes queue */
};

/* Create the backend and its store handle on @ctx (the handle owns it:
 * sticky_store_free(*@out) destroys both). @opts may be NULL (no health,
 * queued). */
int fake_async_store_new(sticky_ctx *ctx, const struct fake_async_options *opts,
                         struct fake_async_store **fs, sticky_store **out);

/* Operations queued and neither completed nor cancelled. */
size_t fake_async_pending(const struct fake_async_store *fs);

/* Complete the oldest @n pending operations (fewer if fewer wait), in
 * order, each with the result of running it on the memory store now
 * (@inject_rc 0), with @inject_rc without running it (an error code such
 * as STICKY_ESTORE), or after a lost race (FAKE_ASYNC_RACE). Operations
 * queued by the done callbacks are not completed by this call. Returns how
 * many were completed. */
size_t fake_async_pump(struct fake_async_store *fs, size_t n, int inject_rc);

/* Complete everything, including what completions queue, until nothing
 * waits (at most @max_rounds rounds). Returns how many were completed. */
size_t fake_async_drain(struct fake_async_store *fs, int max_rounds);

/* The channel and tenant of the racer of FAKE_ASYNC_RACE. */
void fake_async_set_racer(struct fake_async_store *fs, const char *channel_id,
                          const char *tenant_id);

/* Kind of the oldest pending operation, or -1 when none waits. */
enum fake_async_kind { FAKE_OP_LOOKUP, FAKE_OP_PUT, FAKE_OP_PUBLISH };
int fake_async_head_kind(const struct fake_async_store *fs);

/* Counters since creation. */
struct fake_async_counts {
    size_t started[3];   /* per enum fake_async_kind, queued or inline */
    size_t completed[3]; /* done called */
    size_t cancelled;
    size_t sync_calls;   /* get/put/touch/del made through the sync methods */
    size_t published;    /* health events published (sync or async) */
    int64_t last_now_ms; /* @now_ms of the latest async call */
};
void fake_async_counts(const struct fake_async_store *fs, struct fake_async_counts *out);

/* The memory store holding the mappings (peek at it in tests). */
sticky_store *fake_async_inner(struct fake_async_store *fs);

/* Queue a health event that health_poll will hand out (share_health). */
void fake_async_inbox(struct fake_async_store *fs, const sticky_health_event *ev);

/* Make the synchronous get and put return @rc (0: work again), to
 * compare sticky_select() on a failing store with injected errors. */
void fake_async_fail_sync(struct fake_async_store *fs, int rc);
/* The same for the synchronous put only. */
void fake_async_fail_sync_put(struct fake_async_store *fs, int rc);

#endif /* STICKY_FAKE_ASYNC_STORE_H */
