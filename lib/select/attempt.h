/*
 * lib/select/attempt.h - the ledger of open attempts. Every decision that
 * names a channel opens an attempt (sticky_select) and the attempt ends
 * once (sticky_report / sticky_release). The ledger makes "once" hold for
 * copies of a decision too: an attempt is a slot holding a token, the token
 * is what sticky_decision.attempt carries, and ending it is one
 * compare-and-swap of the slot from that token to empty, which succeeds for
 * exactly one caller. The slot also records the channel's health entry, so
 * ending an attempt never looks a channel up by the id the caller hands
 * back (a forged id finds nothing and creates nothing).
 *
 * Token: (generation << ATTEMPT_INDEX_BITS) | slot index. Each slot counts
 * its own generations (no counter shared between threads), XORed with a
 * per-context salt; a slot's generation repeats only after 2^47 uses of
 * that slot, so a stale copy never matches a later attempt in the slot, and
 * a decision handed to another context does not match its attempts.
 * Slots come in pages allocated
 * on demand, up to ATTEMPT_MAX_SLOTS; when every slot is taken (a host that
 * never ends its attempts), further attempts are untracked: still routed,
 * their end found by channel id without the copy check (logged once).
 */
#ifndef STICKY_ATTEMPT_H
#define STICKY_ATTEMPT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "select/health.h"

#define ATTEMPT_PAGE_SLOTS 256
#define ATTEMPT_MAX_PAGES 256
#define ATTEMPT_MAX_SLOTS (ATTEMPT_PAGE_SLOTS * ATTEMPT_MAX_PAGES) /* 65,536 */
#define ATTEMPT_INDEX_BITS 17
#define ATTEMPT_UNTRACKED ATTEMPT_MAX_SLOTS /* the index of an untracked token */

struct attempt_slot {
    _Atomic uint64_t token;                   /* 0 free, 1 being filled */
    _Atomic(struct channel_health *) health;  /* NULL: untracked channel */
    _Atomic uint64_t uses;                    /* the slot's generations */
};

struct attempt_ledger {
    const sticky_ctx *ctx;
    _Atomic(struct attempt_slot *) pages[ATTEMPT_MAX_PAGES];
    _Atomic uint32_t n_pages;
    uint64_t salt;               /* per context, fixed */
    _Atomic uint64_t untracked;  /* generations of untracked tokens */
    _Atomic int full_logged;
    pthread_mutex_t grow_lock;
};

int attempt_init(struct attempt_ledger *l, const sticky_ctx *ctx, uint64_t salt);
void attempt_destroy(struct attempt_ledger *l);

/* Open an attempt on @h (NULL for a channel without a health entry);
 * returns its token, never 0. */
uint64_t attempt_open(struct attempt_ledger *l, struct channel_health *h);

enum attempt_end_result {
    ATTEMPT_ENDED = 0,      /* ended now; *h = the channel's health (or NULL) */
    ATTEMPT_NOT_OPEN = 1,   /* not an open attempt: ended before, or forged */
    ATTEMPT_WRONG_ID = 2,   /* open, but on a channel other than @id: not ended */
    ATTEMPT_UNCHECKED = 3   /* an untracked token: the caller ends it by id */
};

/* End the attempt @token if it is open and on the channel @id. */
enum attempt_end_result attempt_end(struct attempt_ledger *l, uint64_t token, const char *id,
                                    struct channel_health **h);

#endif /* STICKY_ATTEMPT_H */
