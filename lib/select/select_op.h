/*
 * lib/select/select_op.h - one selection as a sequence of store phases:
 * the state a decision carries between them (the request view, the
 * select state with its queued write intents) and the driver op_run()
 * that moves a selection through LOOKUP (the chain walk), CLAIM (the new
 * session's put-if-absent, the one write the decision depends on) and
 * WRITES (writes the decision does not depend on: promotion, rebinds).
 * The decision rules stay in select.c; select.c exposes them here as
 * steps (sel_*) that never call the store for what the driver owns.
 */
#ifndef STICKY_SELECT_OP_H
#define STICKY_SELECT_OP_H

#include "select/select_internal.h"
#include "select/tenant.h"
#include "sticky/key.h"
#include "sticky/request.h"
#include "sticky/store.h"

struct request_view {
    sticky_request req;
    int family;                /* enum sticky_model_family */
    int64_t now;
    struct cand *all; /* health entries resolved on first use */
    size_t n;
    struct health_registry *health;
    char tenant_id[TENANT_DIGEST_HEX + 1]; /* what mappings store (tenant.h) */
    char body_model[STICKY_MODEL_SIZE]; /* the body's "model" (req.model
                                         * points here when it was not given) */
};

/* A write the decision does not wait for (design: issue 14, §2.1). */
enum write_kind {
    W_PROMOTE, /* put IF_ABSENT at the key (a promoted hit) */
    W_SET,     /* plain put (a rebind at or below the level found) */
    W_SHALLOW  /* put IF_ABSENT; when it finds this tenant's binding to
                * another channel, a plain put follows */
};

struct write_intent {
    uint64_t key;
    int kind; /* enum write_kind */
};

struct select_state {
    sticky_ctx *ctx;
    sticky_store *store; /* NULL once degraded */
    sticky_decision *d;
    const sticky_key_chain *chain;
    uint64_t deepest;
    int foreign;         /* the chain reached another tenant's binding:
                          * nothing is written for this request */
    size_t claim_idx;    /* SEL_CLAIM: the channel reserved for the claim */
    size_t placed_plus1; /* the channel place() chose and counted as a
                          * use, + 1 (0: none); commit() counts it once */
    int stable_place;    /* place() picks by rendezvous on the
                          * conversation's first key (a side request:
                          * the same fallback every turn) */
    /* Writes queued by the decision, executed in order after it; all of
     * one decision target one channel. */
    struct write_intent writes[STICKY_MAX_MESSAGE_COUNT];
    uint32_t n_writes;
    char write_channel[STICKY_ID_SIZE];
};

/* A step's result besides 0 / STICKY_ENOCHANNEL: the decision waits for
 * the new session's put-if-absent at st->deepest for
 * v->all[st->claim_idx] (sel_claim_mapping(), then sel_new_claimed()). */
#define SEL_CLAIM 1

/* select.c: the decision's steps. */
/* The chain walk, synchronously: deepest key first, the first live
 * mapping (0 with *@level and @m), STICKY_ENOTFOUND, or the error that
 * ended it; other nodes' health news applied after each get. */
int sel_lookup_sync(struct select_state *st, uint32_t *level, sticky_mapping *m);
/* Decide from the lookup's result (store failure: degraded, decided as a
 * new session). 0 / STICKY_ENOCHANNEL / SEL_CLAIM. */
int sel_after_lookup(struct select_state *st, struct request_view *v, struct cand *scratch,
                     int rc, uint32_t level, const sticky_mapping *m);
/* Decide with no lookup (no key, no store). 0 / STICKY_ENOCHANNEL / SEL_CLAIM. */
int sel_new(struct select_state *st, struct request_view *v, struct cand *scratch);
/* The mapping the claim writes. */
void sel_claim_mapping(const struct select_state *st, const struct request_view *v,
                       sticky_mapping *m);
/* Continue after the claim's put returned @rc (@existing with EEXIST).
 * 0 / STICKY_ENOCHANNEL. */
int sel_new_claimed(struct select_state *st, struct request_view *v, struct cand *scratch,
                    int rc, const sticky_mapping *existing);
/* Give back the slot reserved for a claim that will not be continued
 * (the selection was cancelled in phase CLAIM). */
void sel_claim_abandon(struct select_state *st, const struct request_view *v);
/* Queued write @i (@follow_up: the plain put after a W_SHALLOW that found
 * this tenant's binding to another channel): its mapping into @m; returns
 * the put's flags. */
unsigned sel_write_begin(const struct select_state *st, const struct request_view *v,
                         uint32_t i, int follow_up, sticky_mapping *m);
/* The put of write @i returned @rc (@existing with EEXIST): 1 when the
 * follow-up put is needed; a failure degrades the decision (st->store
 * becomes NULL, which ends the writes). */
int sel_write_end(struct select_state *st, const struct request_view *v, uint32_t i,
                  int follow_up, int rc, const sticky_mapping *existing);
/* Execute the queued writes in order through the synchronous store
 * methods; the first failure degrades the decision and ends them. */
void sel_write_exec_sync(struct select_state *st, const struct request_view *v);

/* The driver's phases. */
enum op_phase { OP_LOOKUP, OP_CLAIM, OP_WRITES, OP_DONE };

struct select_op {
    int phase;                 /* enum op_phase */
    int rc;                    /* the decision's result once decided */
    struct request_view *v;
    struct cand *scratch;
    struct select_state st;
    uint32_t level;            /* LOOKUP's result */
    sticky_mapping found;
    sticky_mapping claim;      /* CLAIM's record and its result */
    sticky_mapping existing;
};

/* Run @op's remaining phases synchronously (sticky_select()). Returns the
 * decision's result: 0 or STICKY_ENOCHANNEL. */
int op_run(struct select_op *op);

/* Where one selection lives: on sticky_select()'s stack, or inside an
 * asynchronous selection (select_async.c). @copies, @all and @scratch
 * have one element per channel, set by the owner. */
struct select_frame {
    struct request_view v;
    sticky_key_chain chain;
    sticky_decision d;         /* full size; copied out at the end */
    struct select_op op;
    sticky_channel *copies;
    struct cand *all, *scratch;
};

/* sticky_select()'s argument checks (nothing written). */
int sel_check_args(sticky_ctx *ctx, const sticky_request *req,
                   const sticky_channel *channels, size_t n_channels, sticky_decision *out);
/* Everything before the first store call into @f: the request and channel
 * copies, the view, the key chain, the counted request, f->op ready in
 * phase OP_LOOKUP. Not 0: an argument or key error (f->d is to be reset). */
int sel_frame_start(sticky_ctx *ctx, const sticky_request *req, const sticky_channel *channels,
                    size_t n_channels, struct select_frame *f);
/* The store the host set (sticky_ctx_set_store()), NULL for the default
 * memory store. */
sticky_store *sel_store_configured(const sticky_ctx *ctx);

#endif /* STICKY_SELECT_OP_H */
