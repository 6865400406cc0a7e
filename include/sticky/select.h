/*
 * sticky/select.h - the per-request routing calls: sticky_select() picks a
 * channel for a request from the host's channel list, keeping each
 * conversation on one channel while that channel is usable; sticky_report()
 * feeds the upstream's answer back into channel health; sticky_release()
 * ends an attempt that has no outcome. docs/selection.md describes the
 * algorithm, every option and the cooldown table.
 *
 * Per request:
 *     sticky_decision d;
 *     sticky_decision_init(&d);
 *     if (sticky_select(ctx, &req, channels, n, &d) == STICKY_OK) {
 *         status = forward(channels[d.channel_index]);
 *         sticky_outcome o;
 *         sticky_outcome_init(&o);
 *         o.status = status;
 *         o.headers = resp_headers;            // the library reads the
 *         o.n_headers = n_resp_headers;        // rate-limit ones
 *         sticky_report(ctx, &d, &o);          // ends the attempt
 *     }
 */
#ifndef STICKY_SELECT_H
#define STICKY_SELECT_H

#include "common.h"
#include "context.h"
#include "key.h"
#include "request.h"
#include "store.h"

STICKY_BEGIN_DECLS

/* What the host says about a channel. */
enum sticky_channel_state {
    STICKY_CHANNEL_ACTIVE = 0,   /* usable */
    STICKY_CHANNEL_DISABLED = 1, /* not usable; its sessions move (permanent) */
    STICKY_CHANNEL_DRAINING = 2  /* keeps its sessions, takes no new ones */
};

/*
 * The most distinct channel ids a context keeps health for (cooldowns,
 * in-flight counts, last use). A further new id is routed untracked: only
 * when no tracked channel is usable, never with an in-flight cap, and its
 * outcomes cool nothing (docs/selection.md, "Channel ids"). Since: 0.2.0
 */
#define STICKY_MAX_CHANNEL_IDS 4096

/*
 * One upstream channel in the host's list. Size-prefixed; arrays are read
 * with the stride channels[0].size, so every element must be initialised
 * with sticky_channel_init(). The library keeps no pointer to it.
 */
typedef struct sticky_channel {
    size_t size;
    const char *id;            /* stable id, NUL-terminated, 1..127 bytes;
                                * unique within one list */
    const char *const *models; /* served models: exact names or prefixes
                                * ending in '*' ("claude-*"); NULL = all */
    size_t n_models;
    int priority;              /* lower number wins; default 0 */
    uint32_t weight;           /* rendezvous / random weight; 0 = 1 */
    int state;                 /* enum sticky_channel_state */
    uint32_t max_inflight;     /* in-flight cap, held under any number of
                                * threads; 0 = unlimited */
} sticky_channel;



/* Model families: the request's model name decides it (a name containing
 * "opus", "sonnet" or "haiku"; any other name is OTHER). Rate limits and
 * overload are per family, so cooldowns from 429 / 529 are scoped to it. */
enum sticky_model_family {
    STICKY_MODEL_FAMILY_ALL = 0,    /* no model given: subject to every
                                     * family's cooldowns; as a cooldown
                                     * scope, one that covers all families */
    STICKY_MODEL_FAMILY_OPUS = 1,
    STICKY_MODEL_FAMILY_SONNET = 2,
    STICKY_MODEL_FAMILY_HAIKU = 3,
    STICKY_MODEL_FAMILY_OTHER = 4
};

/* Why a channel was chosen. */
enum sticky_reason {
    STICKY_REASON_NONE = 0,
    STICKY_REASON_HIT = 1,          /* the deepest key's binding */
    STICKY_REASON_PROMOTED_HIT = 2, /* a shallower key's binding, now also
                                     * written to the deepest key */
    STICKY_REASON_NEW = 3,          /* no binding: placed by policy */
    STICKY_REASON_FAILOVER = 4,     /* bound channel unusable: moved once */
    STICKY_REASON_SPILL = 5,        /* bound channel saturated: this request
                                     * only goes elsewhere */
    STICKY_REASON_EXPLICIT_HIT = 6, /* binding of an explicit session id */
    STICKY_REASON_NO_CHANNEL = 7,   /* nothing usable (STICKY_ENOCHANNEL) */
    STICKY_REASON_MIGRATED = 8,     /* moved to a better priority tier
                                     * (opt-in, sticky_config) */
    STICKY_REASON_SIDE = 9          /* a side request: the bound channel does
                                     * not serve this model, or this model's
                                     * family is cooling there; this request
                                     * only goes elsewhere, the binding stays
                                     * (since 0.2.0) */
};

/* The answer. Caller-provided, size-prefixed (sticky_decision_init()). */
typedef struct sticky_decision {
    size_t size;
    int reason;                       /* enum sticky_reason */
    int channel_index;                /* into the host's list; -1 if none */
    char channel_id[STICKY_ID_SIZE];   /* "" if none */
    uint64_t key;                     /* deepest session key; 0 if unkeyed */
    char key_hex[STICKY_KEY_HEX_SIZE];
    int key_source;                   /* enum sticky_key_source */
    char moved_from[STICKY_ID_SIZE];   /* the channel whose thinking signatures
                                       * this request may carry, or "": set on
                                       * a move and on every later decision
                                       * until a success on the new channel
                                       * is reported; on SPILL / SIDE the
                                       * bound channel (docs/selection.md,
                                       * "Thinking signatures") */
    int store_degraded;               /* the store failed; decided without it */
    int model_family;                 /* enum sticky_model_family of the
                                       * request's model */
    int64_t retry_at_ms;              /* NO_CHANNEL / strict: earliest time a
                                       * channel is usable again; 0 unknown */
    uint64_t attempt;                 /* opaque token of the attempt; non-zero
                                       * until this struct ends it */
    char model[STICKY_MODEL_SIZE];    /* the request's model: request.model,
                                       * else the body's top-level "model";
                                       * NUL-terminated; "" if none, or if
                                       * it is longer than STICKY_MODEL_SIZE
                                       * - 1 bytes or holds a NUL (the body's
                                       * model is then not used). Since 0.2.0 */
} sticky_decision;

/* How an attempt ended. Size-prefixed: start with sticky_outcome_init(). */
enum sticky_outcome_kind {
    STICKY_OUTCOME_HTTP = 0,      /* status is the upstream's HTTP status */
    STICKY_OUTCOME_TIMEOUT = 1,   /* no answer in time */
    STICKY_OUTCOME_TRANSPORT = 2  /* connection failed / reset */
};

/* The value of an optional sticky_outcome field the upstream did not send. */
#define STICKY_ABSENT (-1)

typedef struct sticky_outcome {
    size_t size;
    int kind;               /* enum sticky_outcome_kind */
    int status;             /* HTTP status for STICKY_OUTCOME_HTTP */
    int64_t retry_after_seconds;  /* Retry-After in seconds (>= 0);
                             * STICKY_ABSENT when not sent */
    int64_t reset_epoch_seconds;  /* anthropic-ratelimit-unified-reset, Unix
                             * seconds (>= 0); STICKY_ABSENT when not sent */
    /* The upstream's response headers (Since 0.2.0), or NULL with
     * n_headers 0. sticky_report() reads the rate-limit ones (names in
     * any case): retry-after (delta seconds or HTTP-date),
     * anthropic-ratelimit-unified-reset (Unix seconds) and -unified-status
     * ("rejected": the cooldown covers every model family),
     * anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset
     * (RFC 3339), x-ratelimit-reset-requests / -tokens (durations such
     * as "6m0s", "1.5s", "20ms"). retry_after_seconds and
     * reset_epoch_seconds the host sets win over them; a value that does
     * not parse is ignored. docs/selection.md, "Rate-limit headers". */
    const sticky_header *headers;
    size_t n_headers;
} sticky_outcome;

/**
 * sticky_channel_init_sized - zero a channel and set its size (priority 0, weight 0 = 1, active, all models, no in-flight cap).
 *
 * Prefer the wrapper without _sized, which passes the caller's sizeof.
 *
 * @c: the struct. @size: the caller's sizeof.
 * Returns: 0; STICKY_EINVAL if the pointer is NULL; STICKY_EABI if @size is
 *          outside the accepted sizes (below the first-release size or
 *          above STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only the struct.
 * Since: 0.1.0
 */
STICKY_API int sticky_channel_init_sized(sticky_channel *c, size_t size);
static inline int sticky_channel_init(sticky_channel *c)
{
    return sticky_channel_init_sized(c, sizeof(*c));
}
/**
 * sticky_decision_init_sized - zero a decision, set its size and channel_index -1.
 *
 * Prefer the wrapper without _sized, which passes the caller's sizeof.
 *
 * @d: the struct. @size: the caller's sizeof.
 * Returns: 0; STICKY_EINVAL if the pointer is NULL; STICKY_EABI if @size is
 *          outside the accepted sizes (below the first-release size or
 *          above STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only the struct.
 * Since: 0.1.0
 */
STICKY_API int sticky_decision_init_sized(sticky_decision *d, size_t size);
static inline int sticky_decision_init(sticky_decision *d)
{
    return sticky_decision_init_sized(d, sizeof(*d));
}
/**
 * sticky_outcome_init_sized - zero an outcome (HTTP, status 0), set its size, retry_after_seconds and reset_epoch_seconds STICKY_ABSENT.
 *
 * Prefer the wrapper without _sized, which passes the caller's sizeof.
 *
 * @o: the struct. @size: the caller's sizeof.
 * Returns: 0; STICKY_EINVAL if the pointer is NULL; STICKY_EABI if @size is
 *          outside the accepted sizes (below the first-release size or
 *          above STICKY_MAX_STRUCT_SIZE; docs/ABI.md).
 * Thread-safety: touches only the struct.
 * Since: 0.1.0
 */
STICKY_API int sticky_outcome_init_sized(sticky_outcome *o, size_t size);
static inline int sticky_outcome_init(sticky_outcome *o)
{
    return sticky_outcome_init_sized(o, sizeof(*o));
}

/**
 * sticky_select - choose a channel for @req among @channels.
 *
 * @ctx: the context. @req: the request. @channels: the host's channels for
 * this request (stride channels[0].size). @n_channels: how many (1..1024).
 * @out: receives the decision (only out->size bytes written).
 * Returns: 0 with a channel chosen (an attempt is open until
 *          sticky_report() or sticky_release()); STICKY_ENOCHANNEL when
 *          nothing is usable (out->reason NO_CHANNEL, out->retry_at_ms set
 *          when a channel recovers at a known time) or, with
 *          STICKY_SELECT_STRICT, when the bound channel is unusable;
 *          STICKY_EINVAL / STICKY_EABI on bad arguments (among them two
 *          channels with one id); key errors (STICKY_EPARSE, STICKY_ELIMIT)
 *          for a malformed body; STICKY_ENOMEM. A failing store never fails
 *          the call: the decision is made without it, flagged
 *          store_degraded. A binding of another tenant (a precomputed
 *          chain passed for the wrong tenant) is never used nor rewritten:
 *          the request is placed without a binding, reason NEW, counted in
 *          sticky_ctx_stats.tenant_mismatches.
 * Thread-safety: safe from any number of threads on one context.
 * Since: 0.1.0
 */
STICKY_API int sticky_select(sticky_ctx *ctx, const sticky_request *req,
                             const sticky_channel *channels, size_t n_channels,
                             sticky_decision *out);

/**
 * sticky_report - tell the library how an attempt ended, and end it.
 *
 * Updates the chosen channel's health (cooldowns per docs/selection.md)
 * and releases its in-flight slot. An attempt ends exactly once: the
 * library keeps every open attempt, so a second report of it - the same
 * struct again, a copy of it, or after sticky_release() - is refused with
 * STICKY_ENOTFOUND and changes nothing (no second outcome, no second
 * release of the slot). With a store that shares channel health (vtable
 * version 2, e.g. Redis; docs/storage.md), a 429 with a reset time or a
 * 401 / 403 is also published to the other nodes: one store round trip
 * (bounded by the store's timeout; a failure is logged, the local health
 * is already updated). Other outcomes do no I/O. (Since 0.3.0.)
 *
 * @ctx: the context. @d: the decision from sticky_select() on this
 * context (its attempt field is cleared). @o: the outcome.
 * Returns: 0; STICKY_ENOTFOUND if @d is not an open attempt (already
 *          ended, through this struct or a copy; or not from this
 *          context); STICKY_EINVAL on NULL, a decision without a channel
 *          (e.g. a NO_CHANNEL one), a channel_id other than the attempt's,
 *          or a bad outcome; STICKY_EABI on bad sizes.
 * Thread-safety: safe from any thread (one thread per decision).
 * Since: 0.1.0
 */
STICKY_API int sticky_report(sticky_ctx *ctx, sticky_decision *d,
                             const sticky_outcome *o);

/**
 * sticky_release - end an attempt without an outcome (e.g. the client
 * went away).
 *
 * Idempotent, so a host can call it on every path after a select: on a
 * decision without a channel, or one whose attempt already ended (reported
 * or released, through this struct or a copy), it returns 0 and changes
 * nothing; an attempt's in-flight slot is released once whatever is
 * called on its copies.
 *
 * @ctx: the context. @d: the decision (its attempt field is cleared).
 * Returns: 0; STICKY_EINVAL on NULL or a channel_id other than the open
 *          attempt's; STICKY_EABI on bad sizes.
 * Thread-safety: as sticky_report().
 * Since: 0.1.0
 */
STICKY_API int sticky_release(sticky_ctx *ctx, sticky_decision *d);

/**
 * sticky_reason_name - text for an enum sticky_reason value.
 *
 * @reason: the value.
 * Returns: a static string ("hit", "promoted_hit", "new", "failover",
 *          "spill", "explicit_hit", "no_channel", "migrated", "side"; "none" for
 *          anything else); never NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.1.0
 */
STICKY_API const char *sticky_reason_name(int reason);

/**
 * sticky_model_family_name - text for an enum sticky_model_family value.
 *
 * @family: the value (e.g. sticky_decision.model_family).
 * Returns: a static string ("all", "opus", "sonnet", "haiku", "other";
 *          "unknown" for anything else); never NULL.
 * Thread-safety: safe from any thread.
 * Since: 0.2.0
 */
STICKY_API const char *sticky_model_family_name(int family);

STICKY_END_DECLS

#endif /* STICKY_SELECT_H */
