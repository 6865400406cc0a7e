/*
 * lib/redis/redis_async_internal.h - the loop engine's private state
 * (sticky_redis_store_new_loop): one hiredis asynchronous connection per
 * store driven by the host's loop, the FIFO of operations sent on it (send
 * order = reply order = deadline order), the one loop timer that enforces
 * every deadline, and the reference count that keeps the state alive while
 * hiredis or the loop may still call back into it.
 */
#ifndef STICKY_REDIS_ASYNC_INTERNAL_H
#define STICKY_REDIS_ASYNC_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>

#include <hiredis/async.h>

#include "sticky/redis_async.h"
#include "redis_internal.h"

/* Operations in flight per store at most; beyond, calls fail at once. */
#define RASYNC_MAX_PENDING 65536u
/* Commands on the wire per connection at most (the pipeline window); the
 * rest wait in the FIFO, unsent, and go as replies come back. It bounds
 * what one read of replies can complete at once (hiredis handles every
 * reply of a read in one go: 16 KB of short replies is thousands), and
 * costs little: 64 in flight already give most of the pipelining gain. */
#define RASYNC_WINDOW 256u
/* Completions (done callbacks, and the selections they continue) run from
 * the loop for at most this long per loop turn; the rest wait for the next
 * turn, so a burst of replies never holds the loop for long. */
#define RASYNC_TURN_BUDGET_NS 100000

enum aop_kind { AOP_LOOKUP, AOP_PUT, AOP_HEALTH };
/* PENDING until finish(); CANCELLED: done is never called. */
enum aop_state { AOP_PENDING, AOP_DONE, AOP_CANCELLED };

/* One operation: hiredis' privdata, freed only in its reply callback (which
 * hiredis runs exactly once, with a reply or with NULL). */
struct aop {
    struct aop *prev, *next;   /* the store's FIFO */
    struct rasync *as;
    enum aop_kind kind;
    enum aop_state state;
    enum rscript script;
    int resent;                /* sent again with EVAL after NOSCRIPT */
    int unsent;                /* not sent yet: waiting for the first
                                * handshake or for room in the window */
    int64_t deadline_ns;
    int ready_rc;              /* the result, while on the ready list */
    struct aop *ready_next;
    sticky_store_done_fn done;
    void *arg;
    uint32_t *level;           /* lookup */
    sticky_mapping *out;       /* lookup: the mapping; put: existing */
    uint32_t n_keys;
    uint64_t keys[STICKY_MAX_MESSAGE_COUNT]; /* lookup: the chain; put: [0] */
    char *cmd;                 /* the command in RESP, formatted when it is
                                * started (so that sending a queued one
                                * later is a copy); hiredis' allocator */
    int cmd_len;
    int cmd_resent;            /* cmd is the EVAL form */
    int argc;                  /* EVALSHA sha numkeys keys... args... */
    const char **argv;         /* into the same allocation */
    size_t *argl;
};

/* One hiredis connection. The loop adapter's hooks are wrapped so that the
 * engine learns when hiredis is done with it (cleanup). */
struct aconn {
    struct rasync *as;
    redisAsyncContext *ac;
    int connected;             /* onConnect(OK) seen: counted open */
    int up;                    /* handshake complete */
    int failed;                /* no longer the store's connection */
    int hs_left;               /* handshake replies outstanding */
    void *ev_data;
    void (*add_read)(void *), (*del_read)(void *), (*add_write)(void *),
        (*del_write)(void *), (*cleanup)(void *);
};

struct rasync {
    struct rstore *rs;
    const sticky_redis_loop *lv;
    void *loop;
    void *timer;
    int timer_armed;
    int64_t timer_at_ns;
    pthread_t thread;          /* the loop's: the first async caller's */
    int thread_bound;
    char addr[INET6_ADDRSTRLEN]; /* the host, resolved once */

    struct aconn *conn;        /* NULL: no connection */
    int64_t conn_deadline_ns;  /* connect + handshake done by then */
    int ever_connected;
    int sha_known;             /* before: ops wait unsent in the FIFO */
    char sha[RS_COUNT][41];

    struct aop *head, *tail;   /* started, reply not yet seen (send order) */
    struct aop *ready_head, *ready_tail; /* answered, done not yet run */
    struct aop *next_unsent;   /* the FIFO's first unsent op, or NULL */
    unsigned sent;             /* ops handed to hiredis, reply not yet seen */
    void *defer;               /* loop timer (0 ms) that runs the ready list */
    int defer_armed;
    uint64_t budget_yields;    /* turns that left completions for the next */
    size_t pending;            /* ops whose done has not run (in hiredis or ready) */
    int64_t resent_deadline_ns; /* earliest deadline of a resent op; 0: none */
    unsigned refs;             /* owner, both timers, each op, each connection */
    int destroying;
    uint64_t cancelled, overflows;
};

/* redis_async_conn.c */
/* Resolve the host once (creation); 0 or STICKY_ECONFIG. */
int rasync_resolve(struct rasync *as);
/* Connect and queue the handshake; 0, or -1 (counted, logged, gate closed). */
int rasync_connect(struct rasync *as, int64_t now);
/* Drop the store's connection: hiredis completes every op on it with NULL
 * (at once, or when the current reply callback returns). @why != NULL:
 * close the backoff gate with that reason. */
void rasync_teardown(struct rasync *as, const char *why);
/* The connection broke under pending work (NULL reply seen first). */
void rasync_conn_lost(struct rasync *as, struct aconn *c);

/* redis_async.c */
void rasync_unref(struct rasync *as);
/* Send the ops that waited for the script hashes / fail them (ESTORE). */
void rasync_flush_unsent(struct rasync *as);
/* Send queued ops while the window has room. */
void rasync_send_queued(struct rasync *as);
void rasync_fail_unsent(struct rasync *as);
void rasync_timer_update(struct rasync *as);

/* For tests: the loop store's state and vtable behind @store, or NULL. */
void *rasync_test_self(sticky_store *store, const sticky_store_vtable **vt);

#endif /* STICKY_REDIS_ASYNC_INTERNAL_H */
