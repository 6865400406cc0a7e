/*
 * lib/select/select_op.c - the driver of a selection's store phases
 * (select_op.h): LOOKUP (the chain walk), CLAIM (a new session's
 * put-if-absent, the one write the decision waits for) and WRITES (what
 * the decision queued and does not wait for), run in order through the
 * synchronous store methods for sticky_select().
 */
#include <string.h>

#include "select/select_op.h"

int op_run(struct select_op *op)
{
    struct select_state *st = &op->st;
    int rc;
    if (op->phase == OP_LOOKUP) {
        if (st->store != NULL && st->chain->n_keys > 0) {
            rc = sel_lookup_sync(st, &op->level, &op->found);
            rc = sel_after_lookup(st, op->v, op->scratch, rc, op->level, &op->found);
        } else {
            rc = sel_new(st, op->v, op->scratch);
        }
        op->rc = rc;
        op->phase = rc == SEL_CLAIM ? OP_CLAIM : OP_WRITES;
    }
    while (op->phase == OP_CLAIM) {
        sel_claim_mapping(st, op->v, &op->claim);
        sticky_mapping_init(&op->existing);
        rc = sticky_store_put(st->store, &op->claim, STICKY_STORE_IF_ABSENT, &op->existing);
        rc = sel_new_claimed(st, op->v, op->scratch, rc, &op->existing);
        op->rc = rc;
        op->phase = rc == SEL_CLAIM ? OP_CLAIM : OP_WRITES;
    }
    if (op->phase == OP_WRITES) {
        sel_write_exec_sync(st, op->v);
        op->phase = OP_DONE;
    }
    return op->rc;
}
