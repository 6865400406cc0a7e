/*
 * lib/select/attempt.c - the ledger of open attempts (see attempt.h): slots
 * claimed and freed with compare-and-swap, pages added under a mutex.
 */
#include "select/attempt.h"

#include <string.h>

#include "sticky/error.h"

#define SLOT_FILLING 1u          /* claimed, token not yet published */
#define SEQ_MASK ((UINT64_C(1) << (64 - ATTEMPT_INDEX_BITS)) - 1)
#define SCAN_BEFORE_GROW 64      /* busy slots in a row before a new page */

int attempt_init(struct attempt_ledger *l, const sticky_ctx *ctx, uint64_t salt)
{
    l->ctx = ctx;
    for (int i = 0; i < ATTEMPT_MAX_PAGES; i++)
        atomic_init(&l->pages[i], NULL);
    atomic_init(&l->n_pages, 0);
    l->salt = salt & SEQ_MASK;
    atomic_init(&l->untracked, 0);
    atomic_init(&l->full_logged, 0);
    return pthread_mutex_init(&l->grow_lock, NULL) == 0 ? STICKY_OK : STICKY_ENOMEM;
}

void attempt_destroy(struct attempt_ledger *l)
{
    for (int i = 0; i < ATTEMPT_MAX_PAGES; i++)
        mem_free(l->ctx, atomic_load(&l->pages[i]));
    pthread_mutex_destroy(&l->grow_lock);
}

static struct attempt_slot *slot_at(struct attempt_ledger *l, uint32_t i)
{
    struct attempt_slot *page = atomic_load_explicit(&l->pages[i / ATTEMPT_PAGE_SLOTS],
                                                     memory_order_acquire);
    return page != NULL ? &page[i % ATTEMPT_PAGE_SLOTS] : NULL;
}

/* Add a page unless another thread did since @seen pages; returns the
 * page count now (unchanged when the ledger is at its bound or no memory). */
static uint32_t grow(struct attempt_ledger *l, uint32_t seen)
{
    pthread_mutex_lock(&l->grow_lock);
    uint32_t n = atomic_load_explicit(&l->n_pages, memory_order_relaxed);
    if (n == seen && n < ATTEMPT_MAX_PAGES) {
        struct attempt_slot *page = mem_calloc(l->ctx, ATTEMPT_PAGE_SLOTS, sizeof(*page));
        if (page != NULL) {
            for (int i = 0; i < ATTEMPT_PAGE_SLOTS; i++) {
                atomic_init(&page[i].token, 0);
                atomic_init(&page[i].health, NULL);
                atomic_init(&page[i].uses, 0);
            }
            atomic_store_explicit(&l->pages[n], page, memory_order_release);
            atomic_store_explicit(&l->n_pages, ++n, memory_order_release);
        }
    }
    pthread_mutex_unlock(&l->grow_lock);
    return n;
}

/* Claim a free slot among the first @n_slots, scanning at most @limit
 * from @start. Returns its index or UINT32_MAX. */
static uint32_t claim(struct attempt_ledger *l, uint32_t n_slots, uint32_t start,
                      uint32_t limit)
{
    for (uint32_t k = 0; k < limit && k < n_slots; k++) {
        uint32_t i = (start + k) % n_slots;
        struct attempt_slot *s = slot_at(l, i);
        uint64_t free_token = 0;
        if (s != NULL &&
            atomic_load_explicit(&s->token, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&s->token, &free_token, SLOT_FILLING,
                                                    memory_order_acquire,
                                                    memory_order_relaxed))
            return i;
    }
    return UINT32_MAX;
}

/* The next generation after use count *@n: (uses ^ salt), skipping the
 * one that is 0 (a token is never 0 nor FILLING). */
static uint64_t next_generation(const struct attempt_ledger *l, uint64_t *n)
{
    uint64_t g;
    do
        g = (++*n ^ l->salt) & SEQ_MASK;
    while (g == 0);
    return g;
}

/* Where this thread's next scan starts, plus 1 (0: not yet set). Each
 * thread walks the slots as a ring from just after its last claim, so with
 * many attempts open a claim finds a free slot in O(1) (the slots behind the
 * cursor are the oldest, the first to be freed) instead of rescanning every
 * busy slot from a fixed place. Only a hint: any value is correct. */
static _Thread_local uint32_t scan_cursor;

uint64_t attempt_open(struct attempt_ledger *l, struct channel_health *h)
{
    /* Threads start at different places (first from their stack address,
     * as the counter shards do), so they rarely contend for a slot. */
    uint32_t start;
    if (scan_cursor != 0) {
        start = scan_cursor - 1;
    } else {
        int probe;
        uintptr_t a = (uintptr_t)&probe >> 12;
        start = (uint32_t)(a ^ (a >> 9)) * 2654435761u;
    }
    uint32_t n = atomic_load_explicit(&l->n_pages, memory_order_acquire);
    uint32_t idx = UINT32_MAX;
    for (;;) {
        uint32_t n_slots = n * ATTEMPT_PAGE_SLOTS;
        if (n_slots != 0)
            idx = claim(l, n_slots, start % n_slots, SCAN_BEFORE_GROW);
        if (idx != UINT32_MAX)
            break;
        uint32_t grown = grow(l, n);
        if (grown == n) {
            /* At the bound (or out of memory): look at every slot once. */
            n_slots = n * ATTEMPT_PAGE_SLOTS;
            if (n_slots != 0)
                idx = claim(l, n_slots, start % n_slots, n_slots);
            break;
        }
        start = n * ATTEMPT_PAGE_SLOTS; /* the new page first */
        n = grown;
    }
    if (idx == UINT32_MAX) {
        if (!atomic_exchange_explicit(&l->full_logged, 1, memory_order_relaxed))
            ctx_log(l->ctx, STICKY_LOG_WARN,
                    "%d attempts open at once (are decisions reported or released?): "
                    "further attempts are not checked for double reports",
                    ATTEMPT_MAX_SLOTS);
        uint64_t uses = atomic_fetch_add_explicit(&l->untracked, 1, memory_order_relaxed);
        return (next_generation(l, &uses) << ATTEMPT_INDEX_BITS) | ATTEMPT_UNTRACKED;
    }
    scan_cursor = idx + 2; /* next: the slot after this one */
    /* The slot is ours (FILLING) until the token is published. */
    struct attempt_slot *s = slot_at(l, idx);
    uint64_t uses = atomic_load_explicit(&s->uses, memory_order_relaxed);
    uint64_t token = (next_generation(l, &uses) << ATTEMPT_INDEX_BITS) | idx;
    atomic_store_explicit(&s->uses, uses, memory_order_relaxed);
    atomic_store_explicit(&s->health, h, memory_order_relaxed);
    atomic_store_explicit(&s->token, token, memory_order_release);
    return token;
}

enum attempt_end_result attempt_end(struct attempt_ledger *l, uint64_t token, const char *id,
                                    struct channel_health **h)
{
    *h = NULL;
    uint32_t idx = (uint32_t)(token & ((UINT64_C(1) << ATTEMPT_INDEX_BITS) - 1));
    if (idx == ATTEMPT_UNTRACKED)
        return ATTEMPT_UNCHECKED;
    uint32_t n = atomic_load_explicit(&l->n_pages, memory_order_acquire);
    if (token >> ATTEMPT_INDEX_BITS == 0 || idx >= n * ATTEMPT_PAGE_SLOTS)
        return ATTEMPT_NOT_OPEN;
    struct attempt_slot *s = slot_at(l, idx);
    if (atomic_load_explicit(&s->token, memory_order_acquire) != token)
        return ATTEMPT_NOT_OPEN;
    /* Read while the slot held the token; if it changes before the CAS
     * below, the CAS fails and what was read is not used. */
    struct channel_health *e = atomic_load_explicit(&s->health, memory_order_relaxed);
    if (e != NULL && strcmp(e->id, id) != 0)
        return ATTEMPT_WRONG_ID;
    uint64_t expect = token;
    if (!atomic_compare_exchange_strong_explicit(&s->token, &expect, 0, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return ATTEMPT_NOT_OPEN;
    *h = e;
    return ATTEMPT_ENDED;
}
