/*
 * lib/select/select.c - sticky_select(): the per-request routing decision. Walks
 * the key chain deepest first; a binding whose channel is usable for this
 * request is a hit (promoted to the deepest key when found on a shallower
 * one); otherwise places the session by policy with put-if-absent. Moves a
 * session once when its channel is unusable: permanent trouble (gone from
 * the list, disabled, model not served) deletes the old binding, transient
 * trouble (cooldown) rewrites it, saturation serves one request elsewhere.
 * An in-flight slot is reserved with compare-and-swap before a channel is
 * committed to, so max_inflight holds under any number of threads; a
 * binding of another tenant is never used nor written (a tenant miss).
 * The algorithm is described in docs/selection.md.
 */
#include <stdio.h>
#include <string.h>

#include "select/health_sync.h"
#include "select/select_internal.h"
#include "select/select_op.h"
#include "select/tenant.h"
#include "shm/shm_internal.h"
#include "key/key.h"
#include "util/struct_log.h"
#include "sticky/error.h"
#include "sticky/memory_store.h"

#define MAX_CHANNELS 1024
#define LOCAL_CHANNELS 32

/* Why a channel cannot take this request. */
enum usability {
    USABLE = 0,
    UNUSABLE_ABSENT,    /* permanent: not in this request's list */
    UNUSABLE_DISABLED,  /* permanent */
    UNUSABLE_MODEL,     /* permanent: does not serve the model */
    UNUSABLE_COOLING,   /* transient */
    UNUSABLE_SATURATED, /* transient, this request only */
    UNUSABLE_UNTRACKED  /* no health entry (registry full) and a cap that
                         * therefore cannot be counted */
};

static const char *usability_name(enum usability u)
{
    switch (u) {
    case UNUSABLE_ABSENT: return "channel not offered";
    case UNUSABLE_DISABLED: return "channel disabled";
    case UNUSABLE_MODEL: return "model not served";
    case UNUSABLE_COOLING: return "cooling down";
    case UNUSABLE_SATURATED: return "in-flight cap reached";
    case UNUSABLE_UNTRACKED: return "in-flight cap on an untracked channel";
    default: return "usable";
    }
}

/* ---- init functions ---------------------------------------------------- */

STICKY_API int sticky_channel_init_sized(sticky_channel *c, size_t size)
{
    return struct_init(c, size, CHANNEL_MIN_SIZE);
}

STICKY_API int sticky_ctx_stats_init_sized(sticky_ctx_stats *s, size_t size)
{
    return struct_init(s, size, CTX_STATS_MIN_SIZE);
}

STICKY_API int sticky_decision_init_sized(sticky_decision *d, size_t size)
{
    static const sticky_decision defaults = {.size = sizeof(sticky_decision),
                                             .channel_index = -1};
    return struct_init_defaults(d, size, DECISION_MIN_SIZE, &defaults, sizeof(defaults));
}

STICKY_API int sticky_outcome_init_sized(sticky_outcome *o, size_t size)
{
    static const sticky_outcome defaults = {.size = sizeof(sticky_outcome),
                                            .retry_after_seconds = STICKY_ABSENT,
                                            .reset_epoch_seconds = STICKY_ABSENT};
    return struct_init_defaults(o, size, OUTCOME_MIN_SIZE, &defaults, sizeof(defaults));
}

STICKY_API const char *sticky_reason_name(int reason)
{
    switch (reason) {
    case STICKY_REASON_HIT: return "hit";
    case STICKY_REASON_PROMOTED_HIT: return "promoted_hit";
    case STICKY_REASON_NEW: return "new";
    case STICKY_REASON_FAILOVER: return "failover";
    case STICKY_REASON_SPILL: return "spill";
    case STICKY_REASON_EXPLICIT_HIT: return "explicit_hit";
    case STICKY_REASON_NO_CHANNEL: return "no_channel";
    case STICKY_REASON_MIGRATED: return "migrated";
    case STICKY_REASON_SIDE: return "side";
    default: return "none";
    }
}

/* ---- selector lifetime --------------------------------------------------- */

int selector_create(sticky_ctx *ctx)
{
    struct sticky_selector *s = mem_calloc(ctx, 1, sizeof(*s));
    if (s == NULL)
        return STICKY_ENOMEM;
    uint64_t seed = (uint64_t)sticky_ctx_now_ms(ctx) ^ (uint64_t)(uintptr_t)s;
    if (health_init(&s->health, ctx, 0) != STICKY_OK) {
        mem_free(ctx, s);
        return STICKY_ENOMEM;
    }
    if (attempt_init(&s->attempts, ctx, mix64(seed)) != STICKY_OK) {
        health_destroy(&s->health);
        mem_free(ctx, s);
        return STICKY_ENOMEM;
    }
    if (moves_init(&s->moves, ctx) != STICKY_OK) {
        attempt_destroy(&s->attempts);
        health_destroy(&s->health);
        mem_free(ctx, s);
        return STICKY_ENOMEM;
    }
    if (pthread_mutex_init(&s->store_lock, NULL) != 0) {
        moves_destroy(&s->moves);
        attempt_destroy(&s->attempts);
        health_destroy(&s->health);
        mem_free(ctx, s);
        return STICKY_ENOMEM;
    }
    atomic_init(&s->rng, seed);
    ctx->sel = s;
    return STICKY_OK;
}

void selector_destroy(sticky_ctx *ctx)
{
    struct sticky_selector *s = ctx->sel;
    if (s == NULL)
        return;
    select_async_cancel_all(ctx);
    health_sync_cancel_all(ctx);
    select_async_free_spare(ctx);
    sticky_store_free(atomic_load(&s->owned_store));
    attempt_destroy(&s->attempts);
    moves_destroy(&s->moves);
    struct sticky_shm *shm = s->health.shm;
    health_destroy(&s->health);
    if (shm != NULL)
        shm_unref(shm);
    pthread_mutex_destroy(&s->store_lock);
    mem_free(ctx, s);
    ctx->sel = NULL;
}

STICKY_API int sticky_ctx_set_store(sticky_ctx *ctx, sticky_store *store)
{
    if (ctx == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    if (atomic_load(&ctx->sel->started))
        return STICKY_EBUSY;
    ctx->sel->store = store;
    return STICKY_OK;
}

/* The store to use; the default memory store is created on first use. */
static sticky_store *store_of(sticky_ctx *ctx)
{
    struct sticky_selector *s = ctx->sel;
    sticky_store *st = s->store;
    if (st != NULL)
        return st;
    st = atomic_load_explicit(&s->owned_store, memory_order_acquire);
    if (st != NULL)
        return st; /* the common case: no lock */
    pthread_mutex_lock(&s->store_lock);
    st = atomic_load_explicit(&s->owned_store, memory_order_acquire);
    if (st == NULL && sticky_memory_store_new(ctx, NULL, &st) == STICKY_OK)
        atomic_store_explicit(&s->owned_store, st, memory_order_release);
    pthread_mutex_unlock(&s->store_lock);
    return st;
}

/* ---- the request's channels ---------------------------------------------- */

static int served(const sticky_channel *ch, const char *model, size_t len)
{
    if (ch->models == NULL || ch->n_models == 0 || model == NULL || len == 0)
        return 1;
    for (size_t i = 0; i < ch->n_models; i++) {
        const char *p = ch->models[i];
        if (p == NULL)
            continue;
        size_t n = strlen(p);
        if (n > 0 && p[n - 1] == '*') {
            if (len >= n - 1 && memcmp(model, p, n - 1) == 0)
                return 1;
        } else if (n == len && memcmp(model, p, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* struct request_view: select_op.h */

/* The channel's health entry, looked up only when the decision needs it:
 * a sticky hit looks at its own channel, not at every channel offered.
 * NULL for an untracked channel (the registry is full). */
static struct channel_health *health_of(const struct request_view *v, struct cand *c)
{
    if (!c->looked_up) {
        if (!c->hashed) {
            c->hash = fnv1a64(c->ch->id);
            c->hashed = 1;
        }
        c->h = health_get(v->health, c->ch->id, c->hash);
        c->looked_up = 1;
    }
    return c->h;
}

/* How a cooling channel is cooling (filled by usability()). */
struct cooling_info {
    int account_wide; /* an all-models cooldown is in force */
    int rank;         /* enum cool_rank */
};

static enum usability usability_ex(const struct request_view *v, struct cand *c,
                                   int64_t *cool_end, struct cooling_info *ci)
{
    *cool_end = 0;
    ci->account_wide = 0;
    ci->rank = COOL_NOISE;
    if (c->ch->state == STICKY_CHANNEL_DISABLED)
        return UNUSABLE_DISABLED;
    if (!served(c->ch, v->req.model, v->req.model_len))
        return UNUSABLE_MODEL;
    struct channel_health *h = health_of(v, c);
    if (h == NULL) /* untracked: no cooldown known, no count to cap */
        return c->ch->max_inflight != 0 ? UNUSABLE_UNTRACKED : USABLE;
    if (c->full) /* lost a reservation in this request */
        return UNUSABLE_SATURATED;
    if (health_cooling_ex(h, v->family, v->now, cool_end, &ci->account_wide, &ci->rank))
        return UNUSABLE_COOLING;
    uint32_t cap = c->ch->max_inflight;
    if (cap != 0 && health_full(v->health, h, cap))
        return UNUSABLE_SATURATED;
    return USABLE;
}

static enum usability usability(const struct request_view *v, struct cand *c,
                                int64_t *cool_end)
{
    struct cooling_info ci;
    return usability_ex(v, c, cool_end, &ci);
}

/* Usable, active (not draining) channels of the best priority tier among
 * them, other than @exclude (an index into v->all, or SIZE_MAX). Untracked
 * channels (no health entry) are a last resort: only when no tracked
 * channel is usable. */
static size_t placement_candidates(const struct request_view *v, size_t exclude,
                                   struct cand *out)
{
    size_t n = 0;
    int best = 0, best_tracked = 0;
    for (size_t i = 0; i < v->n; i++) {
        struct cand *c = &v->all[i];
        int64_t end;
        if (i == exclude || c->ch->state != STICKY_CHANNEL_ACTIVE ||
            usability(v, c, &end) != USABLE)
            continue;
        int tracked = c->h != NULL;
        if (n == 0 || tracked > best_tracked ||
            (tracked == best_tracked && c->ch->priority < best)) {
            best = c->ch->priority;
            best_tracked = tracked;
            n = 0;
        }
        if (tracked == best_tracked && c->ch->priority == best)
            out[n++] = *c;
    }
    return n;
}

/* The least bad channel: active, serving the model, cooling down. Ordered
 * by how it cools, then by when it recovers: one cooling from noise (5xx,
 * 529, timeouts, breaker, a 429 without a time) before one inside a
 * rate-limit window the upstream announced (sending there only earns more
 * 429s); never one whose credentials were refused (auth), never a
 * saturated one (an in-flight cap is a hard limit). */
static size_t least_bad_channel(const struct request_view *v)
{
    size_t best = SIZE_MAX;
    int64_t best_end = 0;
    int best_rank = 0;
    for (size_t i = 0; i < v->n; i++) {
        struct cand *c = &v->all[i];
        int64_t end;
        struct cooling_info ci;
        enum usability u = usability_ex(v, c, &end, &ci);
        if (c->ch->state != STICKY_CHANNEL_ACTIVE || u != UNUSABLE_COOLING ||
            ci.rank == COOL_AUTH)
            continue;
        if (best == SIZE_MAX || ci.rank < best_rank ||
            (ci.rank == best_rank && end < best_end)) {
            best = i;
            best_end = end;
            best_rank = ci.rank;
        }
    }
    return best;
}

/* Earliest time a cooling, otherwise usable channel recovers (now for a
 * saturated one: as soon as an attempt ends); 0 if none will by itself. */
static int64_t earliest_retry(const struct request_view *v)
{
    int64_t t = 0;
    int have = 0;
    for (size_t i = 0; i < v->n; i++) {
        struct cand *c = &v->all[i];
        int64_t end;
        struct cooling_info ci;
        enum usability u = usability_ex(v, c, &end, &ci);
        if (c->ch->state != STICKY_CHANNEL_ACTIVE)
            continue;
        if (u == UNUSABLE_SATURATED)
            end = v->now;
        else if (u != UNUSABLE_COOLING || (ci.rank == COOL_AUTH && end == INT64_MAX))
            continue; /* an auth state ends only when the host clears it */
        if (!have || end < t)
            t = end;
        have = 1;
    }
    return t;
}

/* Take an in-flight slot on v->all[@idx] under its cap, atomically: the
 * count is compared with the cap and incremented in one compare-and-swap,
 * so no number of threads can push it past the cap. 0 when the channel
 * filled up since it was judged usable; it is then saturated for the rest
 * of this request. */
static int reserve(const struct request_view *v, size_t idx)
{
    struct cand *c = &v->all[idx];
    struct channel_health *h = health_of(v, c);
    uint32_t cap = c->ch->max_inflight;
    if (h == NULL) { /* untracked: only an uncapped one is ever used */
        c->full = cap != 0;
        return cap == 0;
    }
    if (!health_reserve(v->health, h, cap)) {
        c->full = 1;
        return 0;
    }
    return 1;
}

/* Give back a slot taken by reserve() (the request went elsewhere). */
static void unreserve(const struct request_view *v, size_t idx)
{
    struct channel_health *h = v->all[idx].h;
    if (h != NULL)
        health_release(v->health, h);
}

static size_t find_channel(const struct request_view *v, const char *id)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->all[i].ch->id, id) == 0)
            return i;
    }
    return SIZE_MAX;
}

/* ---- store helpers ---------------------------------------------------------- */

/* struct select_state: select_op.h */

static void store_failed(struct select_state *st, const char *op, int rc)
{
    st->d->store_degraded = 1;
    STAT_INC(st->ctx, store_errors);
    ctx_log(st->ctx, STICKY_LOG_WARN, "session store %s failed (%s): deciding without it",
               op, sticky_strerror(rc));
    st->store = NULL;
}

/* The mapping written for this request: the tenant is stored as its
 * digest (tenant.h), never as the string the host passed. */
static void fill_mapping(sticky_mapping *m, uint64_t key, const char *channel,
                         const struct request_view *v)
{
    sticky_mapping_init(m);
    m->key = key;
    size_t n = strlen(channel);
    memcpy(m->channel_id, channel, n + 1);
    memcpy(m->tenant_id, v->tenant_id, sizeof(v->tenant_id));
}

/* Is @m this request's tenant's binding? */
static int own_binding(const struct request_view *v, const sticky_mapping *m)
{
    return strcmp(m->tenant_id, v->tenant_id) == 0;
}

/* The chain led to another tenant's binding: a miss for this tenant,
 * counted, and nothing of the chain is written for this request. */
static void tenant_miss(struct select_state *st, const sticky_mapping *m)
{
    st->foreign = 1;
    STAT_INC(st->ctx, tenant_mismatches);
    ctx_log(st->ctx, STICKY_LOG_INFO,
            "session key %016llx is bound for another tenant: placed without a binding",
            (unsigned long long)m->key);
}

/* Queue a write of @channel at @key (the decision does not wait for it);
 * nothing when the store is gone or the chain is another tenant's. */
static void queue_write(struct select_state *st, const char *channel, uint64_t key, int kind)
{
    if (st->store == NULL || st->foreign || st->n_writes >= STICKY_MAX_MESSAGE_COUNT)
        return;
    if (st->n_writes == 0)
        strcpy(st->write_channel, channel);
    st->writes[st->n_writes].key = key;
    st->writes[st->n_writes].kind = kind;
    st->n_writes++;
}

/* A promoted hit: @channel written at the deepest key if absent. */
static void promote(struct select_state *st, const char *channel)
{
    queue_write(st, channel, st->deepest, W_PROMOTE);
}

/* After a move, every key of the chain points to the new channel, so a
 * later shallower hit (a forked or edited turn) cannot silently lead back
 * to the old one. The binding was found at chain level @level: it and the
 * deeper keys (looked up, absent) are overwritten; a shallower key was not
 * looked at, so it is written only if absent or this tenant's (never
 * another tenant's binding). Moves are rare; the extra writes are cheap. */
static void rebind_chain(struct select_state *st, const char *channel, uint32_t level)
{
    for (uint32_t i = 0; i < st->chain->n_keys; i++)
        queue_write(st, channel, st->chain->keys[i], i >= level ? W_SET : W_SHALLOW);
}

unsigned sel_write_begin(const struct select_state *st, const struct request_view *v,
                         uint32_t i, int follow_up, sticky_mapping *m)
{
    fill_mapping(m, st->writes[i].key, st->write_channel, v);
    return st->writes[i].kind == W_SET || follow_up ? 0u : (unsigned)STICKY_STORE_IF_ABSENT;
}

int sel_write_end(struct select_state *st, const struct request_view *v, uint32_t i,
                  int follow_up, int rc, const sticky_mapping *existing)
{
    if (rc == STICKY_EEXIST && !follow_up) {
        if (st->writes[i].kind != W_SHALLOW)
            return 0; /* a promotion that found the binding: done */
        /* A shallower key with this tenant's binding to another channel
         * is rewritten; anything else stays. */
        if (own_binding(v, existing) && strcmp(existing->channel_id, st->write_channel) != 0)
            return 1;
        return 0;
    }
    if (rc != STICKY_OK)
        store_failed(st, "put", rc);
    return 0;
}

void sel_write_exec_sync(struct select_state *st, const struct request_view *v)
{
    for (uint32_t i = 0; i < st->n_writes && st->store != NULL; i++) {
        for (int follow = 0;; follow = 1) {
            sticky_mapping m, existing;
            sticky_mapping_init(&existing);
            unsigned flags = sel_write_begin(st, v, i, follow, &m);
            int rc = sticky_store_put(st->store, &m, flags, flags ? &existing : NULL);
            if (!sel_write_end(st, v, i, follow, rc, &existing))
                break;
        }
    }
    st->n_writes = 0;
}

/* ---- the decision -------------------------------------------------------------- */

/* A use of @c at @now, for the LRU policy: its time on the context clock,
 * and its order among the uses of the same millisecond (a monotonic
 * reading: comparable between the threads and the processes sharing the
 * record). A use at INT64_MIN is recorded 1 ms later: INT64_MIN means
 * never. */
static void mark_use(const struct cand *c, int64_t now)
{
    int64_t used = now == HEALTH_NEVER_USED ? now + 1 : now;
    atomic_store_explicit(&c->h->last_used_ms, used, memory_order_relaxed);
    atomic_store_explicit(&c->h->last_use_order, health_use_order(), memory_order_relaxed);
}

/* Commit to v->all[@idx] (its in-flight slot is already reserved): fill the
 * decision and open its attempt. */
static void commit(struct select_state *st, const struct request_view *v, size_t idx,
                   int reason)
{
    sticky_decision *d = st->d;
    const struct cand *c = &v->all[idx];
    d->reason = reason;
    d->channel_index = (int)c->index;
    strcpy(d->channel_id, c->ch->id);
    if (c->h != NULL) {
        if (st->placed_plus1 != idx + 1)
            mark_use(c, v->now);
        atomic_fetch_add_explicit(&c->h->selections, 1, memory_order_relaxed);
    }
    d->attempt = attempt_open(&st->ctx->sel->attempts, c->h);
    STAT_INC(st->ctx, by_reason[reason]);
}

/* Place by policy among @cands; returns the index into v->all (the same
 * as in the host's list) or SIZE_MAX. */
static size_t place(struct select_state *st, int64_t now, struct cand *cands, size_t n)
{
    if (n == 0)
        return SIZE_MAX;
    n = policy_bounded_load(st->ctx, cands, n);
    int keyed = st->chain->n_keys > 0;
    /* A side request is placed by rendezvous on the conversation's first
     * key, which every turn shares: while its channel cannot take this
     * family, each turn goes to the same fallback and keeps that
     * account's prompt cache (by policy, consecutive turns could land on
     * different channels). A degraded store: rendezvous on the deepest
     * key, as before. */
    uint64_t key = st->stable_place && keyed ? st->chain->keys[0] : st->deepest;
    size_t k = policy_pick(st->ctx, cands, n, key, keyed,
                           st->d->store_degraded || st->stable_place);
    /* A use for the LRU policy now, not at commit: a new session's
     * decision waits for its claim (an asynchronous store answers later),
     * and the placements made meanwhile must see this one, or a burst all
     * lands on one channel. (The selections counter counts commits only.) */
    if (cands[k].h != NULL) {
        mark_use(&cands[k], now);
        st->placed_plus1 = cands[k].index + 1;
    }
    return cands[k].index;
}

/*
 * A channel for this request other than v->all[@exclude] (SIZE_MAX: none
 * excluded), with its in-flight slot reserved: by policy among the usable
 * ones, else (with least_bad) the one that recovers first. A channel that
 * fills up between the choice and the reservation is saturated for this
 * request and the choice is made again (at most once per channel).
 * Returns its index, or SIZE_MAX after recording "no channel" in the
 * decision.
 */
static size_t take_channel(struct select_state *st, const struct request_view *v,
                           struct cand *scratch, size_t exclude)
{
    for (;;) {
        size_t idx = place(st, v->now, scratch, placement_candidates(v, exclude, scratch));
        if (idx == SIZE_MAX && st->ctx->cfg.least_bad)
            idx = least_bad_channel(v);
        if (idx == SIZE_MAX)
            break;
        if (reserve(v, idx))
            return idx;
    }
    st->d->reason = STICKY_REASON_NO_CHANNEL;
    st->d->retry_at_ms = earliest_retry(v);
    STAT_INC(st->ctx, by_reason[STICKY_REASON_NO_CHANNEL]);
    ctx_log(st->ctx, STICKY_LOG_WARN, "no usable channel for session %s (model %.*s)",
               st->d->key_hex, (int)(v->req.model ? v->req.model_len : 0),
               v->req.model ? v->req.model : "");
    return SIZE_MAX;
}

static int select_bound(struct select_state *st, const struct request_view *v,
                        struct cand *scratch, size_t bound, const char *bound_id,
                        uint32_t level);

/* The new session is placed on v->all[@idx] (reserved): commit. */
static int select_new_commit(struct select_state *st, const struct request_view *v,
                             size_t idx)
{
    commit(st, v, idx, STICKY_REASON_NEW);
    if (st->chain->n_keys > 0 && !st->foreign && st->store != NULL)
        ctx_log(st->ctx, STICKY_LOG_INFO, "created sticky session %s -> %s",
                   st->d->key_hex, st->d->channel_id);
    return STICKY_OK;
}

/* A new session (or an unkeyed request, a degraded store, a tenant miss):
 * a channel is taken, then (keyed, with a store) claimed with
 * put-if-absent at the deepest key: SEL_CLAIM, continued by
 * sel_new_claimed(). */
int sel_new(struct select_state *st, struct request_view *v, struct cand *scratch)
{
    size_t idx = take_channel(st, v, scratch, SIZE_MAX);
    if (idx == SIZE_MAX)
        return STICKY_ENOCHANNEL;
    if (st->chain->n_keys > 0 && st->store != NULL && !st->foreign) {
        st->claim_idx = idx;
        return SEL_CLAIM;
    }
    return select_new_commit(st, v, idx);
}

void sel_claim_mapping(const struct select_state *st, const struct request_view *v,
                       sticky_mapping *m)
{
    fill_mapping(m, st->deepest, v->all[st->claim_idx].ch->id, v);
}

void sel_claim_abandon(struct select_state *st, const struct request_view *v)
{
    unreserve(v, st->claim_idx);
}

int sel_new_claimed(struct select_state *st, struct request_view *v, struct cand *scratch,
                    int rc, const sticky_mapping *existing)
{
    size_t idx = st->claim_idx;
    if (rc == STICKY_EEXIST) {
        if (!own_binding(v, existing)) {
            tenant_miss(st, existing); /* keep the channel taken */
        } else {
            /* A concurrent first request bound the session: it is now
             * a bound session like any other (hit, spill, failover,
             * strict). */
            unreserve(v, idx);
            return select_bound(st, v, scratch, find_channel(v, existing->channel_id),
                                existing->channel_id, st->chain->n_keys - 1);
        }
    } else if (rc != STICKY_OK) {
        store_failed(st, "put", rc);
    }
    return select_new_commit(st, v, idx);
}

/* Remember that the session may carry @from's thinking signatures on
 * channel @to (moves.h); lives as long as a session. */
static void note_signatures(struct select_state *st, const struct request_view *v,
                            const char *from, const char *to, int family)
{
    if (st->chain->n_keys == 0 || st->foreign)
        return;
    moves_note(&st->ctx->sel->moves, st->chain->keys, st->chain->n_keys, from, to, family,
               v->now, (int64_t)st->ctx->cfg.ttl_seconds * 1000);
}

/* A decision on the session's channel: moved_from while a move (or a
 * request served elsewhere) has not been followed by a success there. */
static void pending_signatures(struct select_state *st, const struct request_view *v)
{
    if (st->chain->n_keys == 0 || st->foreign)
        return;
    moves_lookup(&st->ctx->sel->moves, st->chain->keys, st->chain->n_keys, st->deepest,
                 st->d->channel_id, v->family, v->now, st->d->moved_from);
}

/* Is the bound channel cooling for every model (an account-wide cooldown)? */
static int bound_cooling_account_wide(const struct request_view *v, size_t bound)
{
    int64_t end;
    struct cooling_info ci;
    return usability_ex(v, &v->all[bound], &end, &ci) == UNUSABLE_COOLING && ci.account_wide;
}

/* Optional move of a usable bound session to a strictly better tier
 * (migrate_better_tier); 1 when it moved. */
static int migrate(struct select_state *st, const struct request_view *v,
                   struct cand *scratch, size_t bound, const char *bound_id, uint32_t level)
{
    for (;;) {
        size_t n = placement_candidates(v, bound, scratch);
        if (n == 0 || scratch[0].ch->priority >= v->all[bound].ch->priority)
            return 0;
        size_t idx = place(st, v->now, scratch, n);
        if (!reserve(v, idx))
            continue; /* filled up meanwhile: choose again */
        rebind_chain(st, v->all[idx].ch->id, level);
        strcpy(st->d->moved_from, bound_id);
        commit(st, v, idx, STICKY_REASON_MIGRATED);
        note_signatures(st, v, bound_id, st->d->channel_id, STICKY_MODEL_FAMILY_ALL);
        ctx_log(st->ctx, STICKY_LOG_INFO,
                "sticky session %s migrated %s -> %s (better priority tier)",
                st->d->key_hex, bound_id, st->d->channel_id);
        return 1;
    }
}

/* The session is bound to v->all[bound] (or to an absent channel when
 * bound == SIZE_MAX) through chain key @level. */
static int select_bound(struct select_state *st, const struct request_view *v,
                        struct cand *scratch, size_t bound, const char *bound_id,
                        uint32_t level)
{
    int64_t cool_end = 0;
    enum usability u = bound == SIZE_MAX ? UNUSABLE_ABSENT
                                         : usability(v, &v->all[bound], &cool_end);
    sticky_decision *d = st->d;
    int explicit_key = st->chain->source == STICKY_KEY_SOURCE_EXPLICIT;

    int strict = (v->req.flags & STICKY_SELECT_STRICT) != 0;

    if (u == USABLE) {
        /* Optional move to a strictly better tier; never for strict requests. */
        if (st->ctx->cfg.migrate_better_tier && !strict &&
            migrate(st, v, scratch, bound, bound_id, level))
            return STICKY_OK;
        if (reserve(v, bound)) {
            int promoted = level + 1 < st->chain->n_keys;
            if (promoted)
                promote(st, bound_id);
            commit(st, v, bound, promoted       ? STICKY_REASON_PROMOTED_HIT
                                 : explicit_key ? STICKY_REASON_EXPLICIT_HIT
                                                : STICKY_REASON_HIT);
            pending_signatures(st, v);
            ctx_log(st->ctx, STICKY_LOG_DEBUG, "sticky session hit %s -> %s%s", d->key_hex,
                    d->channel_id, promoted ? " (promoted)" : "");
            return STICKY_OK;
        }
        u = UNUSABLE_SATURATED; /* another thread took its last slot */
    }

    if (strict) {
        d->reason = STICKY_REASON_NO_CHANNEL;
        d->retry_at_ms = u == UNUSABLE_COOLING ? cool_end : u == UNUSABLE_SATURATED ? v->now : 0;
        strcpy(d->moved_from, "");
        STAT_INC(st->ctx, strict_rejections);
        ctx_log(st->ctx, STICKY_LOG_INFO, "strict session %s: %s is unusable (%s)",
                   d->key_hex, bound_id, usability_name(u));
        return STICKY_ENOCHANNEL;
    }

    /* A side request: the bound channel does not serve this model, or only
     * this model's family is cooling there (nothing account-wide). The
     * session stays where it is; this request alone goes elsewhere. */
    int side = u == UNUSABLE_MODEL ||
               (u == UNUSABLE_COOLING && v->family != STICKY_MODEL_FAMILY_ALL &&
                !bound_cooling_account_wide(v, bound));
    st->stable_place = side;
    size_t idx = take_channel(st, v, scratch, bound);
    st->stable_place = 0;
    if (idx == SIZE_MAX)
        return STICKY_ENOCHANNEL;
    if (idx == bound) {
        /* least_bad: the session's own channel recovers first: stay. */
        commit(st, v, bound, explicit_key ? STICKY_REASON_EXPLICIT_HIT : STICKY_REASON_HIT);
        pending_signatures(st, v);
        return STICKY_OK;
    }
    if (u == UNUSABLE_SATURATED || side) {
        /* This request only: the binding stays. It carries the bound
         * channel's signatures (moved_from); its answer carries the other
         * channel's, so the session's next request of this family back on
         * its channel gets moved_from too, until a success there. */
        int reason = side ? STICKY_REASON_SIDE : STICKY_REASON_SPILL;
        strcpy(d->moved_from, bound_id);
        commit(st, v, idx, reason);
        /* A turn of the conversation answered elsewhere (cooling,
         * saturation) may come back in its history: every family. A model
         * the bound channel does not serve at all (a side request such as
         * a title) only for that family. */
        note_signatures(st, v, d->channel_id, bound_id,
                        u == UNUSABLE_MODEL ? v->family : STICKY_MODEL_FAMILY_ALL);
        ctx_log(st->ctx, STICKY_LOG_DEBUG, "sticky session %s %s %s -> %s (%s)",
                   d->key_hex, side ? "side request" : "spills", bound_id, d->channel_id,
                   usability_name(u));
        return STICKY_OK;
    }
    /* Permanent (gone, disabled) or account-wide transient (cooling)
     * trouble: move once. Every key of the chain is rewritten, which also
     * replaces the old binding wherever it was found. */
    rebind_chain(st, v->all[idx].ch->id, level);
    strcpy(d->moved_from, bound_id);
    commit(st, v, idx, STICKY_REASON_FAILOVER);
    note_signatures(st, v, bound_id, d->channel_id, STICKY_MODEL_FAMILY_ALL);
    ctx_log(st->ctx, STICKY_LOG_INFO, "sticky session %s failover %s -> %s (%s)",
               d->key_hex, bound_id, d->channel_id, usability_name(u));
    return STICKY_OK;
}

/* A channel the library cannot use as given: one debug line naming the field. */
static int bad_channel(const sticky_ctx *ctx, size_t i, const char *what)
{
    ctx_log(ctx, STICKY_LOG_DEBUG, "select: channels[%zu].%s", i, what);
    return STICKY_EINVAL;
}

static int check_channel(const sticky_ctx *ctx, size_t i, const sticky_channel *c)
{
    if (c->id == NULL)
        return bad_channel(ctx, i, "id: NULL");
    if (c->id[0] == '\0')
        return bad_channel(ctx, i, "id: empty");
    if (memchr(c->id, '\0', STICKY_ID_SIZE) == NULL)
        return bad_channel(ctx, i, "id: longer than 127 bytes");
    if (c->state < STICKY_CHANNEL_ACTIVE || c->state > STICKY_CHANNEL_DRAINING)
        return bad_channel(ctx, i, "state: not an enum sticky_channel_state");
    if (c->models == NULL && c->n_models != 0)
        return bad_channel(ctx, i, "models: NULL with n_models > 0");
    return STICKY_OK;
}

/* Two channels of one list with one id: rejected, naming both. */
static int duplicate_id(const sticky_ctx *ctx, const struct cand *all, size_t first,
                        size_t second)
{
    ctx_log(ctx, STICKY_LOG_DEBUG, "select: channels[%zu].id: \"%s\" duplicates channels[%zu].id",
            second, all[second].ch->id, first);
    return STICKY_EINVAL;
}

/* Every id of the list is different: pairwise for a short list (cheaper
 * than hashing every id; a sticky hit hashes only its own channel's), an
 * open-addressing set of positions over the ids' hashes for a long one. */
static int check_unique_ids(const sticky_ctx *ctx, struct cand *all, size_t n)
{
    if (n <= LOCAL_CHANNELS) {
        for (size_t j = 1; j < n; j++) {
            for (size_t i = 0; i < j; i++) {
                if (strcmp(all[i].ch->id, all[j].ch->id) == 0)
                    return duplicate_id(ctx, all, i, j);
            }
        }
        return STICKY_OK;
    }
    for (size_t j = 0; j < n; j++) {
        all[j].hash = fnv1a64(all[j].ch->id);
        all[j].hashed = 1;
    }
    size_t cap = 1;
    while (cap < 2 * n)
        cap *= 2;
    uint16_t *set = mem_malloc(ctx, cap * sizeof(*set));
    if (set == NULL)
        return STICKY_ENOMEM;
    memset(set, 0xff, cap * sizeof(*set)); /* 0xffff: empty (n <= 1024) */
    int rc = STICKY_OK;
    for (size_t j = 0; j < n && rc == STICKY_OK; j++) {
        size_t k = (size_t)all[j].hash & (cap - 1);
        for (; set[k] != 0xffff; k = (k + 1) & (cap - 1)) {
            size_t i = set[k];
            if (all[i].hash == all[j].hash && strcmp(all[i].ch->id, all[j].ch->id) == 0) {
                rc = duplicate_id(ctx, all, i, j);
                break;
            }
        }
        set[k] = (uint16_t)j;
    }
    mem_free(ctx, set);
    return rc;
}

/* Copy the host's channels in. The array's stride is channels[0].size,
 * checked against the struct's bounds before any other byte is read. */
static int read_channels(const sticky_ctx *ctx, const sticky_channel *channels, size_t n,
                         sticky_channel *copies, struct cand *all)
{
    size_t stride = struct_size_of(channels);
    int rc = struct_size_ok(ctx, "select", "channels[0]", stride, CHANNEL_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const sticky_channel *src =
            (const sticky_channel *)(const void *)((const char *)channels + i * stride);
        size_t size = struct_size_of(src);
        if (size != stride) {
            ctx_log(ctx, STICKY_LOG_DEBUG,
                    "select: channels[%zu].size %zu: differs from channels[0].size %zu "
                    "(the array's stride)", i, size, stride);
            return STICKY_EABI;
        }
        sticky_channel_init(&copies[i]);
        /* struct_copy_in() and not struct_in(): the element's name is
         * formatted only for the log line of a rejection, not per channel
         * of every request (it was a third of a sticky hit's time). */
        const char *why = NULL;
        rc = struct_copy_in(&copies[i], sizeof(copies[i]), src, CHANNEL_MIN_SIZE, &why);
        if (rc != STICKY_OK) {
            ctx_log(ctx, STICKY_LOG_DEBUG, "select: channels[%zu].size %zu: %s", i, size, why);
            return rc;
        }
        if ((rc = check_channel(ctx, i, &copies[i])) != STICKY_OK)
            return rc;
        all[i].ch = &copies[i];
        all[i].index = i;
        all[i].hashed = 0;
        all[i].h = NULL; /* resolved on first use */
        all[i].looked_up = 0;
        all[i].full = 0;
    }
    return check_unique_ids(ctx, all, n);
}

/* The request's key chain: the host's precomputed one, else derived.
 * @body_model receives the body's top-level "model" when req has no model
 * (from the key's own scan; a precomputed chain needs a scan of its own). */
static int derive_chain(const sticky_ctx *ctx, const sticky_request *req,
                        sticky_key_chain *chain, char *body_model)
{
    const int want_model = req->model_len == 0;
    body_model[0] = '\0';
    if (req->chain == NULL)
        return key_derive(ctx, req, chain, "select", want_model ? body_model : NULL);
    if (want_model)
        key_body_model(ctx, req->body, req->body_len, body_model);
    sticky_key_chain_init(chain);
    int rc = struct_in(ctx, "select", "request.chain", chain, sizeof(*chain), req->chain,
                       KEY_CHAIN_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (chain->n_keys > STICKY_MAX_MESSAGE_COUNT) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select: request.chain.n_keys: %u is over %d",
                (unsigned)chain->n_keys, STICKY_MAX_MESSAGE_COUNT);
        return STICKY_EINVAL;
    }
    return STICKY_OK;
}

/* Everything of a selection before its first store call: the key chain,
 * the model, the request counted, the select state in @f->op. */
static int select_begin(sticky_ctx *ctx, struct select_frame *f)
{
    struct request_view *v = &f->v;
    sticky_decision *d = &f->d;
    sticky_key_chain *chain = &f->chain;
    int rc = derive_chain(ctx, &v->req, chain, v->body_model);
    if (rc != STICKY_OK)
        return rc; /* not counted: a request is counted once it has a key */
    if (v->req.model_len == 0 && v->body_model[0] != '\0') {
        /* No model given: the body's decides the family and what is served. */
        v->req.model = v->body_model;
        v->req.model_len = strlen(v->body_model);
        v->family = model_family_of(v->req.model, v->req.model_len);
        d->model_family = v->family;
    }
    if (v->req.model_len < sizeof(d->model) &&
        (v->req.model_len == 0 || memchr(v->req.model, '\0', v->req.model_len) == NULL)) {
        if (v->req.model_len > 0)
            memcpy(d->model, v->req.model, v->req.model_len);
        d->model[v->req.model_len] = '\0';
    }
    STAT_INC(ctx, requests);
    struct select_op *op = &f->op;
    op->phase = OP_LOOKUP;
    op->rc = STICKY_OK;
    op->v = v;
    op->scratch = f->scratch;
    struct select_state *stp = &op->st;
    memset(stp, 0, offsetof(struct select_state, writes));
    stp->n_writes = 0;
    stp->ctx = ctx;
    stp->store = store_of(ctx);
    stp->d = d;
    stp->chain = chain;
    if (stp->store == NULL) {
        d->store_degraded = 1; /* the default store could not be created */
        STAT_INC(ctx, store_errors);
    }
    d->key_source = chain->source;
    if (chain->n_keys > 0) {
        stp->deepest = chain->keys[chain->n_keys - 1];
        d->key = stp->deepest;
        sticky_key_to_hex(stp->deepest, d->key_hex);
        tenant_digest(ctx, v->req.tenant, v->req.tenant_len, v->tenant_id);
    }
    return STICKY_OK;
}

int sel_lookup_sync(struct select_state *st, uint32_t *level, sticky_mapping *m)
{
    /* Deepest key first: the first binding found is the session's. */
    for (uint32_t i = st->chain->n_keys; i-- > 0;) {
        sticky_mapping_init(m);
        int rc = sticky_store_get(st->store, st->chain->keys[i], 0, m);
        health_sync_pull(st->ctx, st->store); /* other nodes' health news (health_sync.h) */
        if (rc == STICKY_ENOTFOUND)
            continue;
        if (rc == STICKY_OK)
            *level = i;
        return rc;
    }
    return STICKY_ENOTFOUND;
}

int sel_after_lookup(struct select_state *st, struct request_view *v, struct cand *scratch,
                     int rc, uint32_t level, const sticky_mapping *m)
{
    if (rc == STICKY_OK) {
        if (!own_binding(v, m)) {
            /* Another tenant's binding (a chain passed in for the wrong
             * tenant): never followed, never overwritten. */
            tenant_miss(st, m);
            return sel_new(st, v, scratch);
        }
        size_t bound = find_channel(v, m->channel_id);
        return select_bound(st, v, scratch, bound, m->channel_id, level);
    }
    if (rc != STICKY_ENOTFOUND)
        store_failed(st, "get", rc);
    return sel_new(st, v, scratch);
}

int sel_check_args(sticky_ctx *ctx, const sticky_request *req,
                   const sticky_channel *channels, size_t n_channels, sticky_decision *out)
{
    if (ctx == NULL || ctx->sel == NULL)
        return STICKY_EINVAL;
    if (req == NULL || channels == NULL || out == NULL) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select: %s: NULL",
                req == NULL ? "request" : channels == NULL ? "channels" : "decision");
        return STICKY_EINVAL;
    }
    int rc = struct_size_ok(ctx, "select", "decision", struct_size_of(out), DECISION_MIN_SIZE);
    if (rc != STICKY_OK)
        return rc;
    if (n_channels == 0 || n_channels > MAX_CHANNELS) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select: n_channels: %zu is not in 1..%d", n_channels,
                MAX_CHANNELS);
        return STICKY_EINVAL;
    }
    return STICKY_OK;
}

int sel_frame_start(sticky_ctx *ctx, const sticky_request *req, const sticky_channel *channels,
                    size_t n_channels, struct select_frame *f)
{
    sticky_decision *d = &f->d;
    struct request_view *v = &f->v;
    sticky_decision_init(d);
    sticky_request_init(&v->req);
    int rc = struct_in(ctx, "select", "request", &v->req, sizeof(v->req), req, REQUEST_MIN_SIZE);
    if (rc == STICKY_OK && v->req.model == NULL && v->req.model_len != 0) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select: request.model: NULL with model_len %zu",
                v->req.model_len);
        rc = STICKY_EINVAL;
    }
    if (rc == STICKY_OK && v->req.tenant == NULL && v->req.tenant_len != 0) {
        ctx_log(ctx, STICKY_LOG_DEBUG, "select: request.tenant: NULL with tenant_len %zu",
                v->req.tenant_len);
        rc = STICKY_EINVAL;
    }
    if (rc != STICKY_OK)
        return rc;
    rc = read_channels(ctx, channels, n_channels, f->copies, f->all);
    if (rc != STICKY_OK)
        return rc;

    atomic_store_explicit(&ctx->sel->started, 1, memory_order_relaxed);
    v->family = model_family_of(v->req.model, v->req.model_len);
    v->now = sticky_ctx_now_ms(ctx);
    v->all = f->all;
    v->n = n_channels;
    v->health = &ctx->sel->health;
    v->tenant_id[0] = '\0';
    d->model_family = v->family;
    return select_begin(ctx, f);
}

sticky_store *sel_store_configured(const sticky_ctx *ctx)
{
    return ctx->sel->store;
}

STICKY_API int sticky_select(sticky_ctx *ctx, const sticky_request *req,
                             const sticky_channel *channels, size_t n_channels,
                             sticky_decision *out)
{
    int rc = sel_check_args(ctx, req, channels, n_channels, out);
    if (rc != STICKY_OK)
        return rc;

    /* Small lists live on the stack; large ones on the context allocator. */
    struct select_frame f;
    sticky_channel local_copies[LOCAL_CHANNELS];
    struct cand local_all[LOCAL_CHANNELS], local_scratch[LOCAL_CHANNELS];
    f.copies = local_copies;
    f.all = local_all;
    f.scratch = local_scratch;
    if (n_channels > LOCAL_CHANNELS) {
        f.copies = mem_calloc(ctx, n_channels, sizeof(*f.copies));
        f.all = mem_calloc(ctx, n_channels, sizeof(*f.all));
        f.scratch = mem_calloc(ctx, n_channels, sizeof(*f.scratch));
        if (f.copies == NULL || f.all == NULL || f.scratch == NULL) {
            rc = STICKY_ENOMEM;
            sticky_decision_init(&f.d);
            goto out;
        }
    }
    rc = sel_frame_start(ctx, req, channels, n_channels, &f);
    if (rc == STICKY_OK)
        rc = op_run(&f.op);
    if (rc != STICKY_OK && f.d.reason != STICKY_REASON_NO_CHANNEL) {
        /* Argument / key errors: no partial decision. */
        sticky_decision_init(&f.d);
    }
out:
    if (f.copies != local_copies) {
        mem_free(ctx, f.copies);
        mem_free(ctx, f.all);
        mem_free(ctx, f.scratch);
    }
    struct_copy_out(out, out->size, &f.d, sizeof(f.d));
    return rc;
}
