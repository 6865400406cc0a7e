/*
 * lib/select/policy.c - new-session placement policies: least recently used,
 * weighted rendezvous hashing and weighted random (docs/selection.md), and
 * the bounded-load filter.
 */
#include <math.h>

#include "select/select_internal.h"

uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint32_t weight_of(const struct cand *c)
{
    return c->ch->weight ? c->ch->weight : 1;
}

static uint64_t cand_use_order(const struct cand *c)
{
    return c->h != NULL ? atomic_load_explicit(&c->h->last_use_order, memory_order_relaxed) : 0;
}

/* Never used first, then the oldest use; among uses in the same clock tick
 * (a burst: many decisions per millisecond) the earlier use, so a burst
 * goes round the channels instead of piling onto one; then list order. */
static size_t pick_lru(const struct cand *cands, size_t n)
{
    size_t best = 0;
    int64_t best_t = cand_last_used(&cands[0]);
    uint64_t best_seq = cand_use_order(&cands[0]);
    for (size_t i = 1; i < n; i++) {
        int64_t t = cand_last_used(&cands[i]);
        uint64_t seq = cand_use_order(&cands[i]);
        if (t < best_t || (t == best_t && seq < best_seq)) {
            best = i;
            best_t = t;
            best_seq = seq;
        }
    }
    return best;
}

/*
 * Weighted rendezvous (highest random weight): each channel scores
 * -weight / ln(u), u in (0, 1) from mix64(key ^ fnv1a64(id)); the highest
 * wins. Stable: a key's order over channels depends only on the ids and
 * weights, so it survives a store wipe, and removing a channel moves only
 * the sessions that were on it.
 */
static size_t pick_rendezvous(const struct cand *cands, size_t n, uint64_t key)
{
    size_t best = 0;
    double best_s = -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = mix64(key ^ cands[i].hash);
        double u = ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double s = -(double)weight_of(&cands[i]) / log(u);
        if (s > best_s) {
            best_s = s;
            best = i;
        }
    }
    return best;
}

static size_t pick_random(sticky_ctx *ctx, const struct cand *cands, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += weight_of(&cands[i]);
    uint64_t r = mix64(atomic_fetch_add_explicit(&ctx->sel->rng, 0x9e3779b97f4a7c15ULL,
                                                 memory_order_relaxed)) % total;
    for (size_t i = 0; i < n; i++) {
        uint32_t w = weight_of(&cands[i]);
        if (r < w)
            return i;
        r -= w;
    }
    return n - 1;
}

size_t policy_pick(sticky_ctx *ctx, const struct cand *cands, size_t n,
                   uint64_t key, int keyed, int force_rendezvous)
{
    if (n == 1)
        return 0;
    int policy = ctx->cfg.select_policy;
    if (force_rendezvous)
        policy = keyed ? STICKY_POLICY_RENDEZVOUS : STICKY_POLICY_RANDOM;
    switch (policy) {
    case STICKY_POLICY_RENDEZVOUS:
        return keyed ? pick_rendezvous(cands, n, key) : pick_random(ctx, cands, n);
    case STICKY_POLICY_RANDOM:
        return pick_random(ctx, cands, n);
    default:
        return pick_lru(cands, n);
    }
}

size_t policy_bounded_load(const sticky_ctx *ctx, struct cand *cands, size_t n)
{
    uint32_t factor = ctx->cfg.bounded_load_permille;
    if (factor == 0 || n < 2)
        return n;
    uint64_t total = 1; /* the request being placed */
    for (size_t i = 0; i < n; i++)
        total += cand_in_flight(&ctx->sel->health, &cands[i]);
    /* HAProxy's hash-balance-factor: a channel may take the request if its
     * load after it stays within ceil(average * factor). */
    uint64_t cap = (total * factor + (uint64_t)n * 1000 - 1) / ((uint64_t)n * 1000);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t load = cand_in_flight(&ctx->sel->health, &cands[i]);
        if ((uint64_t)load + 1 <= cap)
            cands[kept++] = cands[i];
    }
    return kept ? kept : n;
}
