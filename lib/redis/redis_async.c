/*
 * lib/redis/redis_async.c - the Redis store on a host's event loop
 * (sticky_redis_store_new_loop): the version-3 vtable (its synchronous
 * methods are the pooled ones of redis_store.c), the operation records and
 * their single completion point, deadlines kept by one loop timer, cancel,
 * and destroy. Every operation is one EVALSHA pipelined on the store's
 * connection (redis_async_conn.c): lookup walks the whole key chain in the
 * server (RS_LOOKUP), put and health_publish run the pooled path's
 * scripts. Fail-open as the pooled path: the shared backoff gate, a timeout
 * or a lost connection complete every pending operation with STICKY_ESTORE.
 *
 * Completions: a reply (or a failure) puts its operation on the ready
 * list; done callbacks - and the selections they continue, which may
 * start further operations - run from a 0 ms loop timer for at most
 * RASYNC_TURN_BUDGET_NS per loop turn, so a burst of replies never holds
 * the host's loop for long (sticky_store_free runs the rest at once).
 *
 * Deadlines: operations get the same timeout and are appended in send
 * order, so the FIFO head has the earliest deadline; the timer is armed at
 * it (and at the connect deadline while connecting). When it passes, the
 * connection is dropped: a reply stuck at the head holds every later one.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sticky/error.h"
#include "redis_async_internal.h"

#define KEY_BUF (STICKY_REDIS_STORE_MAX_PREFIX + 17)

/* --- lifetime ------------------------------------------------------------ */

void rasync_unref(struct rasync *as)
{
    if (--as->refs > 0)
        return;
    struct rstore *rs = as->rs;
    sticky_ctx *ctx = rs->ctx;
    sticky_ctx_mem_free(ctx, as->timer);
    sticky_ctx_mem_free(ctx, as->defer);
    sticky_ctx_mem_free(ctx, as);
    rstore_free(rs);
}

static void timer_closed(void *arg)
{
    rasync_unref(arg);
}

/* The first async call binds the store to its thread (the loop's: the
 * store may be created elsewhere); later calls from another are refused. */
static int on_loop_thread(struct rasync *as, const char *what)
{
    if (!as->thread_bound) {
        as->thread = pthread_self();
        as->thread_bound = 1;
        return 1;
    }
    if (pthread_equal(pthread_self(), as->thread))
        return 1;
    rlog(as->rs, STICKY_LOG_ERROR, "%s called off the loop's thread: refused", what);
    return 0;
}

/* --- the FIFO and the timer ------------------------------------------------ */

static void fifo_push(struct rasync *as, struct aop *a)
{
    a->next = NULL;
    a->prev = as->tail;
    if (as->tail)
        as->tail->next = a;
    else
        as->head = a;
    as->tail = a;
}

static struct aop *next_unsent_after(struct aop *a)
{
    for (a = a->next; a != NULL && !a->unsent; a = a->next)
        ;
    return a;
}

static void fifo_unlink(struct rasync *as, struct aop *a)
{
    if (a == as->next_unsent)
        as->next_unsent = next_unsent_after(a);
    if (a->prev)
        a->prev->next = a->next;
    else
        as->head = a->next;
    if (a->next)
        a->next->prev = a->prev;
    else
        as->tail = a->prev;
    a->prev = a->next = NULL;
    if (as->head == NULL)
        as->resent_deadline_ns = 0;
}

static int64_t next_deadline(const struct rasync *as)
{
    int64_t t = INT64_MAX;
    if (as->head != NULL)
        t = as->head->deadline_ns;
    if (as->resent_deadline_ns != 0 && as->resent_deadline_ns < t)
        t = as->resent_deadline_ns;
    if (as->conn != NULL && !as->conn->up && as->conn_deadline_ns < t)
        t = as->conn_deadline_ns;
    return t;
}

void rasync_timer_update(struct rasync *as)
{
    if (as->destroying)
        return;
    int64_t t = next_deadline(as);
    if (t == INT64_MAX) {
        if (as->timer_armed) {
            as->lv->timer_stop(as->timer);
            as->timer_armed = 0;
        }
        return;
    }
    /* An earlier firing re-checks and re-arms; only move it earlier. */
    if (as->timer_armed && as->timer_at_ns <= t)
        return;
    int64_t left = t - rmono_ns();
    uint64_t ms = left <= 0 ? 0 : (uint64_t)((left + 999999) / 1000000);
    as->lv->timer_start(as->timer, ms);
    as->timer_armed = 1;
    as->timer_at_ns = t;
}

/* The earliest deadline of the resent operations still waiting (0: none).
 * resent_deadline_ns is only a lower bound (it is not raised when the
 * earliest of them completes), so it is recomputed before it is acted on:
 * a walk of the FIFO, on this rare path only (after a NOSCRIPT). */
static int64_t resent_deadline(const struct rasync *as)
{
    int64_t t = 0;
    for (const struct aop *a = as->head; a != NULL; a = a->next)
        if (a->resent && (t == 0 || a->deadline_ns < t))
            t = a->deadline_ns;
    return t;
}

static void timer_fire(void *arg)
{
    struct rasync *as = arg;
    struct rstore *rs = as->rs;
    as->timer_armed = 0;
    if (as->destroying)
        return;
    as->refs++;
    int64_t now = rmono_ns();
    if (as->resent_deadline_ns != 0 && now >= as->resent_deadline_ns)
        as->resent_deadline_ns = resent_deadline(as);
    if (as->conn != NULL && !as->conn->up && now >= as->conn_deadline_ns) {
        RCOUNT(rs, connect_failures);
        rasync_teardown(as, "async connect timed out");
    } else if ((as->head != NULL && now >= as->head->deadline_ns) ||
               (as->resent_deadline_ns != 0 && now >= as->resent_deadline_ns)) {
        RCOUNT(rs, timeouts);
        rasync_teardown(as, "async command timed out");
    }
    rasync_timer_update(as);
    rasync_unref(as);
}

/* --- operations ---------------------------------------------------------- */

/* A record for @c: argv = EVALSHA <sha> <numkeys> then c's strings, all in
 * one allocation. */
static struct aop *aop_new(struct rasync *as, const struct rcmd *c, enum aop_kind kind)
{
    int argc = 3 + c->n;
    size_t bytes = sizeof(struct aop) + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + 16 +
                   c->used;
    struct aop *a = sticky_ctx_mem_calloc(as->rs->ctx, 1, bytes);
    if (a == NULL)
        return NULL;
    a->as = as;
    a->kind = kind;
    a->script = c->id;
    a->argc = argc;
    a->argv = (const char **)(a + 1);
    a->argl = (size_t *)(a->argv + argc);
    char *nk = (char *)(a->argl + argc);
    char *p = nk + 16;
    a->argl[2] = (size_t)snprintf(nk, 16, "%d", c->nkeys);
    a->argv[2] = nk;
    for (int i = 0; i < c->n; i++) {
        memcpy(p, c->v[i], c->l[i]);
        a->argv[3 + i] = p;
        a->argl[3 + i] = c->l[i];
        p += c->l[i];
    }
    return a;
}

static int aop_send(struct rasync *as, struct aop *a);
static void aop_free(struct rasync *as, struct aop *a);
void rasync_flush_unsent(struct rasync *as);

/* Run @a's done (once, if still wanted) and free the record. */
static void run_done(struct rasync *as, struct aop *a, int rc)
{
    as->pending--;
    if (a->state == AOP_PENDING) {
        a->state = AOP_DONE;
        a->done(a->arg, rc);
    }
    aop_free(as, a);
    rasync_unref(as);
}

/* The single completion point: @a has its result. Its done runs from the
 * ready list on a later loop turn (defer_fire), within the turn budget;
 * during destroy, at once. */
static void complete(struct rasync *as, struct aop *a, int rc)
{
    if (as->destroying) {
        run_done(as, a, rc);
        return;
    }
    a->ready_rc = rc;
    a->ready_next = NULL;
    if (as->ready_tail)
        as->ready_tail->ready_next = a;
    else
        as->ready_head = a;
    as->ready_tail = a;
    if (!as->defer_armed) {
        as->lv->timer_start(as->defer, 0);
        as->defer_armed = 1;
    }
}

/* Take the next answered operation off the ready list, or NULL. */
static struct aop *ready_pop(struct rasync *as)
{
    struct aop *a = as->ready_head;
    if (a != NULL) {
        as->ready_head = a->ready_next;
        if (as->ready_head == NULL)
            as->ready_tail = NULL;
    }
    return a;
}

/* The loop's turn for completions: run done callbacks until the list is
 * empty or the turn budget is spent (then again on the next turn). A done
 * may start operations (appended), cancel others (skipped here) or destroy
 * the store (the rest run inside the destroy). */
static void defer_fire(void *arg)
{
    struct rasync *as = arg;
    as->defer_armed = 0;
    if (as->destroying)
        return;
    as->refs++;
    int64_t end = rmono_ns() + RASYNC_TURN_BUDGET_NS;
    struct aop *a;
    while (!as->destroying && (a = ready_pop(as)) != NULL) {
        run_done(as, a, a->ready_rc);
        if (as->ready_head != NULL && rmono_ns() >= end) {
            as->budget_yields++;
            break;
        }
    }
    if (!as->destroying && as->ready_head != NULL && !as->defer_armed) {
        as->lv->timer_start(as->defer, 0);
        as->defer_armed = 1;
    }
    rasync_unref(as);
}

static void finish(struct rasync *as, struct aop *a, int rc)
{
    fifo_unlink(as, a);
    complete(as, a, rc);
}

/* The first handshake returned the script hashes: send what waited, as
 * far as the window allows. */
void rasync_flush_unsent(struct rasync *as)
{
    struct aop *a = as->head;
    while (a != NULL && !a->unsent)
        a = a->next;
    as->next_unsent = a;
    rasync_send_queued(as);
}

void rasync_send_queued(struct rasync *as)
{
    while (!as->destroying && as->sha_known && as->conn != NULL && as->sent < RASYNC_WINDOW &&
           as->next_unsent != NULL) {
        struct aop *a = as->next_unsent;
        as->next_unsent = next_unsent_after(a);
        a->unsent = 0;
        if (a->state != AOP_PENDING || aop_send(as, a) != 0)
            finish(as, a, STICKY_ESTORE); /* cancelled before it was sent: never is */
    }
}

/* The connection that would have sent them is gone: the ops that waited
 * for it complete with STICKY_ESTORE. Taken out of the FIFO first, so that
 * ops started from their done callbacks are not touched. */
void rasync_fail_unsent(struct rasync *as)
{
    struct aop *list = NULL, **tail = &list;
    for (struct aop *a = as->head; a != NULL;) {
        struct aop *next = a->next;
        if (a->unsent) {
            fifo_unlink(as, a);
            *tail = a;
            tail = &a->next;
        }
        a = next;
    }
    while (list != NULL) {
        struct aop *a = list;
        list = a->next;
        a->next = NULL;
        complete(as, a, STICKY_ESTORE);
    }
}

static void copy_mapping(sticky_mapping *dst, const sticky_mapping *src)
{
    dst->key = src->key;
    memcpy(dst->channel_id, src->channel_id, sizeof(dst->channel_id));
    memcpy(dst->tenant_id, src->tenant_id, sizeof(dst->tenant_id));
    dst->request_count = src->request_count;
    dst->created_ms = src->created_ms;
    dst->last_access_ms = src->last_access_ms;
    dst->expires_ms = src->expires_ms;
}

static int lookup_result(struct rstore *rs, struct aop *a, const redisReply *r)
{
    sticky_mapping tmp;
    memset(&tmp, 0, sizeof(tmp));
    long long st = 0;
    int rc = rreply_record(rs, r, &st, 1, &tmp, a->keys[0]);
    if (rc != STICKY_OK)
        return rc;
    if (st == 0) {
        atomic_fetch_add_explicit(&rs->misses, a->n_keys, memory_order_relaxed);
        return STICKY_ENOTFOUND;
    }
    long long code = st & 15, level = st >> 4;
    if ((code != 1 && code != 2) || level >= (long long)a->n_keys) {
        RCOUNT(rs, protocol_errors);
        return STICKY_ESTORE;
    }
    /* The gets the selector's loop would have made: misses above, a hit. */
    atomic_fetch_add_explicit(&rs->misses, a->n_keys - 1 - (uint64_t)level,
                              memory_order_relaxed);
    RCOUNT(rs, hits);
    if (code == 2)
        RCOUNT(rs, renewals);
    tmp.key = a->keys[level];
    if (a->state == AOP_PENDING) {
        *a->level = (uint32_t)level;
        copy_mapping(a->out, &tmp);
    }
    return STICKY_OK;
}

static void aop_reply_body(redisAsyncContext *ac, void *r, void *privdata);

/* hiredis' callback for every sent op, exactly once (a reply, or NULL when
 * the connection is gone): the window gets its room back. */
static void aop_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct aop *a = privdata;
    struct rasync *as = a->as;
    as->sent--;
    as->refs++;
    aop_reply_body(ac, r, privdata);
    rasync_send_queued(as);
    rasync_unref(as);
}

static void aop_reply_body(redisAsyncContext *ac, void *r, void *privdata)
{
    struct aop *a = privdata;
    struct rasync *as = a->as;
    struct rstore *rs = as->rs;
    struct aconn *c = ac->data;
    redisReply *reply = r;
    if (reply == NULL) {
        rasync_conn_lost(as, c); /* no-op unless it broke under us */
        finish(as, a, STICKY_ESTORE);
        return;
    }
    RCOUNT(rs, round_trips);
    if (a->state != AOP_PENDING) {
        finish(as, a, STICKY_ESTORE); /* cancelled or completed by destroy */
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        if (strncmp(reply->str, "NOSCRIPT", 8) == 0 && !a->resent && as->conn == c) {
            /* The server lost its script cache: the body, same deadline. */
            RCOUNT(rs, noscript_reloads);
            fifo_unlink(as, a);
            a->resent = 1;
            if (aop_send(as, a) == 0) {
                fifo_push(as, a);
                if (as->resent_deadline_ns == 0 || a->deadline_ns < as->resent_deadline_ns)
                    as->resent_deadline_ns = a->deadline_ns;
                rasync_timer_update(as);
                return;
            }
            fifo_push(as, a); /* finish() unlinks it */
        }
        RCOUNT(rs, server_errors);
        rlog(rs, STICKY_LOG_WARN, "server error: %s", reply->str);
        if (strncmp(reply->str, "READONLY", 8) == 0 && as->conn == c)
            rasync_teardown(as, NULL); /* reconnect: a name may point elsewhere now */
        finish(as, a, STICKY_ESTORE);
        return;
    }
    rgate_success(rs);
    int rc;
    switch (a->kind) {
    case AOP_LOOKUP:
        rc = lookup_result(rs, a, reply);
        break;
    case AOP_PUT: {
        sticky_mapping tmp;
        memset(&tmp, 0, sizeof(tmp));
        rc = rput_result(rs, reply, a->keys[0], &tmp);
        if (rc == STICKY_EEXIST && a->out != NULL)
            copy_mapping(a->out, &tmp);
        break;
    }
    default:
        rc = rhealth_result(rs, reply);
        break;
    }
    finish(as, a, rc);
}

/* @a's command in RESP: EVALSHA with the script's hash, or EVAL with its
 * body once resent after a NOSCRIPT. 0 or -1 (no memory). */
static int aop_format(struct rasync *as, struct aop *a)
{
    if (a->cmd != NULL && a->cmd_resent == a->resent)
        return 0;
    redisFreeCommand(a->cmd);
    a->cmd = NULL;
    int sha = !a->resent;
    a->argv[0] = sha ? "EVALSHA" : "EVAL";
    a->argv[1] = sha ? as->sha[a->script] : rscript_body(a->script);
    a->argl[0] = strlen(a->argv[0]);
    a->argl[1] = strlen(a->argv[1]);
    a->cmd_len = redisFormatCommandArgv(&a->cmd, a->argc, a->argv, a->argl);
    if (a->cmd_len < 0) {
        a->cmd = NULL;
        return -1;
    }
    a->cmd_resent = a->resent;
    return 0;
}

static void aop_free(struct rasync *as, struct aop *a)
{
    redisFreeCommand(a->cmd);
    sticky_ctx_mem_free(as->rs->ctx, a);
}

static int aop_send(struct rasync *as, struct aop *a)
{
    if (as->conn == NULL || aop_format(as, a) != 0)
        return -1;
    int rc = redisAsyncFormattedCommand(as->conn->ac, aop_reply, a, a->cmd, (size_t)a->cmd_len);
    redisFreeCommand(a->cmd); /* hiredis copied it; a resend formats again */
    a->cmd = NULL;
    if (rc != REDIS_OK)
        return -1;
    as->sent++;
    return 0;
}

/* Start @c: STICKY_EINPROGRESS with *@op set, or an immediate failure
 * (the gate is closed, too much in flight, no connection). @a_out
 * receives the record before it is sent, for the caller's fields. */
static int submit(struct rasync *as, const struct rcmd *c, enum aop_kind kind,
                  const uint64_t *keys, uint32_t n_keys, uint32_t *level,
                  sticky_mapping *out, sticky_store_done_fn done, void *arg, void **op)
{
    struct rstore *rs = as->rs;
    if (as->destroying)
        return STICKY_ESTORE;
    if (as->pending >= RASYNC_MAX_PENDING) {
        as->overflows++;
        RCOUNT(rs, fast_fails);
        return STICKY_ESTORE;
    }
    int64_t now = rmono_ns();
    if (rgate_enter(rs, now) != 0) {
        RCOUNT(rs, fast_fails);
        return STICKY_ESTORE;
    }
    if (as->conn == NULL && rasync_connect(as, now) != 0)
        return STICKY_ESTORE;
    struct aop *a = aop_new(as, c, kind);
    if (a == NULL)
        return STICKY_ENOMEM;
    a->done = done;
    a->arg = arg;
    a->level = level;
    a->out = out;
    a->n_keys = n_keys;
    if (n_keys > 0)
        memcpy(a->keys, keys, n_keys * sizeof(*keys));
    int64_t deadline = now + rs->o.command_timeout_ns;
    if (!as->conn->up && as->conn_deadline_ns > deadline)
        deadline = as->conn_deadline_ns; /* behind the handshake */
    if (as->tail != NULL && as->tail->deadline_ns > deadline)
        deadline = as->tail->deadline_ns; /* the FIFO stays in deadline order */
    a->deadline_ns = deadline;
    if (!as->sha_known || as->sent >= RASYNC_WINDOW || as->next_unsent != NULL) {
        /* Sent after the handshake (rasync_flush_unsent) or when the window
         * has room (rasync_send_queued), in FIFO order. */
        a->unsent = 1;
        if (as->sha_known && aop_format(as, a) != 0) {
            aop_free(as, a);
            return STICKY_ENOMEM;
        }
    } else if (aop_send(as, a) != 0) {
        aop_free(as, a);
        RCOUNT(rs, io_errors);
        return STICKY_ESTORE;
    }
    fifo_push(as, a);
    if (a->unsent && as->next_unsent == NULL)
        as->next_unsent = a;
    as->pending++;
    as->refs++;
    rasync_timer_update(as);
    *op = a;
    return STICKY_EINPROGRESS;
}

/* --- the version-3 methods ------------------------------------------------ */

static int r_lookup_async(void *self, const uint64_t *keys, uint32_t n_keys, int64_t now_ms,
                          unsigned flags, uint32_t *level, sticky_mapping *out,
                          sticky_store_done_fn done, void *arg, void **op)
{
    struct rstore *rs = self;
    struct rasync *as = rs->as;
    if (!on_loop_thread(as, "lookup_async") || flags != 0 ||
        n_keys > STICKY_MAX_MESSAGE_COUNT || (n_keys > 0 && keys == NULL))
        return STICKY_EINVAL;
    if (n_keys == 0)
        return STICKY_ENOTFOUND;
    struct rcmd c;
    char k[KEY_BUF], seen[24];
    rcmd_init(&c, RS_LOOKUP);
    c.nkeys = (int)n_keys + 1;
    for (uint32_t i = 0; i < n_keys; i++) {
        size_t kl = rkey_format(rs, keys[i], k, sizeof(k));
        rcmd_add(&c, k, kl);
    }
    size_t sl = rhealth_seen_arg(rs, seen, sizeof(seen));
    if (rcmd_add(&c, rs->health.key, rs->health.key_len) || rcmd_addf(&c, now_ms) ||
        rcmd_addf(&c, rs->o.ttl_ms) || rcmd_addf(&c, rs->o.threshold_ms) ||
        rcmd_add(&c, "0", 1) || rcmd_add(&c, seen, sl))
        return STICKY_ESTORE;
    return submit(as, &c, AOP_LOOKUP, keys, n_keys, level, out, done, arg, op);
}

static int r_put_async(void *self, const sticky_mapping *m, int64_t now_ms, unsigned flags,
                       sticky_mapping *existing, sticky_store_done_fn done, void *arg,
                       void **op)
{
    struct rstore *rs = self;
    struct rasync *as = rs->as;
    if (!on_loop_thread(as, "put_async"))
        return STICKY_EINVAL;
    struct rcmd c;
    int rc = rput_cmd(rs, m, now_ms, flags, &c);
    if (rc != STICKY_OK)
        return rc;
    return submit(as, &c, AOP_PUT, &m->key, 1, NULL, existing, done, arg, op);
}

static int r_health_publish_async(void *self, const sticky_health_event *ev, int64_t now_ms,
                                  sticky_store_done_fn done, void *arg, void **op)
{
    struct rstore *rs = self;
    struct rasync *as = rs->as;
    if (!on_loop_thread(as, "health_publish_async"))
        return STICKY_EINVAL;
    struct rcmd c;
    int rc = rhealth_cmd(rs, ev, now_ms, &c);
    if (rc != STICKY_OK)
        return rc;
    return submit(as, &c, AOP_HEALTH, NULL, 0, NULL, NULL, done, arg, op);
}

/* Always honoured: the caller frees what done would have written into,
 * whatever thread it is on (a host that stopped its loop thread and frees
 * the context from another). Only a flag; off the loop thread it is logged,
 * and the loop must not be running then. */
static void r_cancel(void *self, void *op)
{
    struct rstore *rs = self;
    struct aop *a = op;
    if (a == NULL)
        return;
    if (rs->as->thread_bound && !pthread_equal(pthread_self(), rs->as->thread))
        rlog(rs, STICKY_LOG_WARN, "cancel called off the loop's thread (honoured: the loop "
                                  "must not be running)");
    if (a->state != AOP_PENDING)
        return;
    a->state = AOP_CANCELLED;
    a->out = NULL;
    a->level = NULL;
    rs->as->cancelled++;
}

/* sticky_store_free(): every pending operation completes (STICKY_ESTORE)
 * here; the memory goes when hiredis and the loop have let go of it. */
static void r_adestroy(void *self)
{
    struct rstore *rs = self;
    struct rasync *as = rs->as;
    as->destroying = 1;
    /* Answered first (in their order), with their own results. */
    struct aop *r;
    while ((r = ready_pop(as)) != NULL)
        run_done(as, r, r->ready_rc);
    for (struct aop *a = as->head; a != NULL; a = a->next) {
        if (a->state == AOP_PENDING) {
            a->state = AOP_DONE;
            a->done(a->arg, STICKY_ESTORE);
        }
    }
    rasync_teardown(as, NULL);
    if (as->timer_armed)
        as->lv->timer_stop(as->timer);
    as->timer_armed = 0;
    as->lv->timer_close(as->timer, timer_closed, as);
    if (as->defer_armed)
        as->lv->timer_stop(as->defer);
    as->defer_armed = 0;
    as->lv->timer_close(as->defer, timer_closed, as);
    rasync_unref(as); /* the owner's reference */
}

const sticky_store_vtable rasync_vtable = {
    .version = 3, /* the methods below; a number, not the header's macro */
    .flags = STICKY_STORE_CAP_THREAD_SAFE,
    .name = "redis",
    .get = rstore_get,
    .put = rstore_put,
    .touch = rstore_touch,
    .del = rstore_del,
    .sweep = rstore_sweep,
    .stats = rstore_stats,
    .destroy = r_adestroy,
    .health_publish = rhealth_publish,
    .health_poll = rhealth_poll,
    .lookup_async = r_lookup_async,
    .put_async = r_put_async,
    .health_publish_async = r_health_publish_async,
    .cancel = r_cancel,
};

void *rasync_test_self(sticky_store *store, const sticky_store_vtable **vt)
{
    *vt = &rasync_vtable;
    return sticky_store_self(store, &rasync_vtable);
}

static int loop_vt_ok(const sticky_redis_loop *lv)
{
    return lv->attach != NULL && lv->timer_size > 0 && lv->timer_init != NULL &&
           lv->timer_start != NULL && lv->timer_stop != NULL && lv->timer_close != NULL;
}

STICKY_API int sticky_redis_store_new_loop(sticky_ctx *ctx, const sticky_redis_store_options *opts,
                                           const sticky_redis_loop *loop_vt, void *loop,
                                           sticky_store **out)
{
    if (out == NULL)
        return STICKY_EINVAL;
    *out = NULL;
    if (ctx == NULL || loop_vt == NULL || loop == NULL)
        return STICKY_EINVAL;
    if (loop_vt->version < 1)
        return STICKY_EABI;
    if (!loop_vt_ok(loop_vt))
        return STICKY_EINVAL;
    struct rstore *rs = sticky_ctx_mem_calloc(ctx, 1, sizeof(*rs));
    if (rs == NULL)
        return STICKY_ENOMEM;
    rs->ctx = ctx;
    int rc = rstore_setup(rs, opts);
    struct rasync *as = NULL;
    if (rc == STICKY_OK) {
        as = sticky_ctx_mem_calloc(ctx, 1, sizeof(*as));
        if (as != NULL) {
            as->timer = sticky_ctx_mem_calloc(ctx, 1, loop_vt->timer_size);
            as->defer = sticky_ctx_mem_calloc(ctx, 1, loop_vt->timer_size);
        }
        if (as == NULL || as->timer == NULL || as->defer == NULL)
            rc = STICKY_ENOMEM;
    }
    if (rc == STICKY_OK) {
        as->rs = rs;
        as->lv = loop_vt;
        as->loop = loop;
        rc = rasync_resolve(as);
    }
    int timers = 0;
    if (rc == STICKY_OK && loop_vt->timer_init(loop, as->timer, timer_fire, as) == 0)
        timers++;
    if (timers == 1 && loop_vt->timer_init(loop, as->defer, defer_fire, as) == 0)
        timers++;
    if (rc == STICKY_OK && timers < 2) {
        /* An initialised timer is the loop's until closed: leak it rather
         * than free memory the loop still links (only on a loop failure). */
        if (timers == 1)
            as->timer = NULL;
        rc = STICKY_ENOMEM;
    }
    if (rc != STICKY_OK) {
        if (as != NULL) {
            sticky_ctx_mem_free(ctx, as->timer);
            sticky_ctx_mem_free(ctx, as->defer);
        }
        sticky_ctx_mem_free(ctx, as);
        rstore_free(rs);
        return rc;
    }
    rs->as = as;
    as->refs = 3; /* the owner and the two timers */
    if ((rc = sticky_store_new(ctx, &rasync_vtable, rs, out)) != STICKY_OK) {
        r_adestroy(rs);
        return rc;
    }
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        rlog(rs, STICKY_LOG_WARN, "SIGPIPE is not ignored: a reset connection kills the "
                                  "process (hiredis writes with write()); ignore it");
    if (rs->o.unix_path != NULL)
        rlog(rs, STICKY_LOG_INFO, "created on a %s loop: unix:%s db %d prefix \"%s\"",
             loop_vt->name ? loop_vt->name : "host", rs->o.unix_path, rs->o.db, rs->o.prefix);
    else
        rlog(rs, STICKY_LOG_INFO, "created on a %s loop: %s (%s):%d db %d prefix \"%s\"",
             loop_vt->name ? loop_vt->name : "host", rs->o.host, as->addr, rs->o.port, rs->o.db,
             rs->o.prefix);
    return STICKY_OK;
}
