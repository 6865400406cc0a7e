/*
 * lib/redis/redis_conn.c - the connection pool and every byte of I/O of
 * the Redis store. A call takes a free pooled connection (or waits for one
 * until its deadline), connects it if needed (connect, then one pipelined
 * handshake: AUTH, SELECT, CLIENT SETNAME, SCRIPT LOAD x6), sends EVALSHA
 * (EVAL after NOSCRIPT) and reads the reply with poll() against a
 * CLOCK_MONOTONIC deadline, so no call waits longer than
 * command_timeout_ms (connect_timeout_ms + command_timeout_ms when it
 * connects). A connection that timed out or broke is closed, never reused
 * with half a reply in its buffer.
 *
 * The backoff gate: a failed connect or a timeout closes the gate for
 * backoff_ms (doubling from backoff_min_ms to backoff_max_ms); while closed
 * every call fails at once without I/O. When the delay has passed, exactly
 * one call goes through as a probe; its success opens the gate and resets
 * the delay, its failure closes it again for twice as long.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sticky/error.h"
#include "redis_internal.h"

enum { IO_OK = 0, IO_TIMEOUT, IO_BROKEN };

int rpool_init(struct rstore *rs)
{
    rs->pool = sticky_ctx_mem_calloc(rs->ctx, rs->o.pool_size, sizeof(*rs->pool));
    if (rs->pool == NULL)
        return STICKY_ENOMEM;
    for (uint32_t i = 0; i < rs->o.pool_size; i++) {
        if (pthread_mutex_init(&rs->pool[i].lock, NULL) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&rs->pool[i].lock);
            sticky_ctx_mem_free(rs->ctx, rs->pool);
            rs->pool = NULL;
            return STICKY_ENOMEM;
        }
    }
    return STICKY_OK;
}

static void drop(struct rstore *rs, struct rslot *s)
{
    if (s->c == NULL)
        return;
    redisFree(s->c);
    s->c = NULL;
    atomic_fetch_sub(&rs->connections_open, 1);
}

void rpool_free(struct rstore *rs)
{
    if (rs->pool == NULL)
        return;
    for (uint32_t i = 0; i < rs->o.pool_size; i++) {
        drop(rs, &rs->pool[i]);
        pthread_mutex_destroy(&rs->pool[i].lock);
    }
    sticky_ctx_mem_free(rs->ctx, rs->pool);
    rs->pool = NULL;
}

/* --- the backoff gate ---------------------------------------------------- */

/* 0: go ahead; -1: refused (gate closed or another call is probing). */
int rgate_enter(struct rstore *rs, int64_t now)
{
    int64_t until = atomic_load(&rs->down_until_ns);
    if (until == 0)
        return 0;
    if (now < until)
        return -1;
    /* The delay has passed: one caller re-arms the gate and probes. */
    int64_t rearm = now + (int64_t)atomic_load(&rs->backoff_ms) * 1000000;
    return atomic_compare_exchange_strong(&rs->down_until_ns, &until, rearm) ? 0 : -1;
}

void rgate_success(struct rstore *rs)
{
    if (atomic_load_explicit(&rs->down_until_ns, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&rs->gate_lock);
    if (atomic_load(&rs->down_until_ns) != 0) {
        atomic_store(&rs->backoff_ms, 0);
        atomic_store(&rs->down_until_ns, 0);
        rlog(rs, STICKY_LOG_INFO, "server reachable again");
    }
    pthread_mutex_unlock(&rs->gate_lock);
}

void rgate_failure(struct rstore *rs, const char *why)
{
    pthread_mutex_lock(&rs->gate_lock);
    uint32_t b = atomic_load(&rs->backoff_ms);
    b = b == 0 ? rs->o.backoff_min_ms
               : (b > rs->o.backoff_max_ms / 2 ? rs->o.backoff_max_ms : b * 2);
    atomic_store(&rs->backoff_ms, b);
    atomic_store(&rs->down_until_ns, rmono_ns() + (int64_t)b * 1000000);
    pthread_mutex_unlock(&rs->gate_lock);
    rlog(rs, STICKY_LOG_WARN, "%s; calls fail fast for %u ms", why, b);
}

/* --- deadline-bounded I/O ----------------------------------------------- */

static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - rmono_ns();
        if (left <= 0)
            return IO_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (r > 0)
            return IO_OK; /* readable, writable, or an error read() reports */
        if (r < 0 && errno != EINTR)
            return IO_BROKEN;
    }
}

/*
 * One redisBufferWrite() that cannot kill the host with SIGPIPE: hiredis
 * writes with write(), which raises SIGPIPE on a connection the server
 * reset. SIGPIPE is blocked in this thread for the call; one it raised
 * (and that was not pending before) is consumed, so the host's disposition
 * never matters. The caller just sees a broken connection.
 */
static int write_nosigpipe(redisContext *c, int *done)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    int rc = redisBufferWrite(c, done);
    int saved = errno;
    if (rc != REDIS_OK && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return rc;
}

/* Send what is buffered in @c, then read @n replies into @out. */
static int exchange(struct rstore *rs, redisContext *c, int n, redisReply **out,
                    int64_t deadline)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    RCOUNT(rs, round_trips);
    int done = 0;
    while (!done) {
        int w = wait_fd(c->fd, POLLOUT, deadline);
        if (w != IO_OK)
            return w;
        if (write_nosigpipe(c, &done) != REDIS_OK)
            return IO_BROKEN;
    }
    for (int i = 0; i < n; i++) {
        for (;;) {
            void *r = NULL;
            if (redisGetReplyFromReader(c, &r) != REDIS_OK)
                return IO_BROKEN;
            if (r != NULL) {
                out[i] = r;
                break;
            }
            int w = wait_fd(c->fd, POLLIN, deadline);
            if (w != IO_OK)
                return w;
            if (redisBufferRead(c) != REDIS_OK)
                return IO_BROKEN;
        }
    }
    return IO_OK;
}

static void free_replies(redisReply **r, int n)
{
    for (int i = 0; i < n; i++)
        if (r[i] != NULL)
            freeReplyObject(r[i]);
}

/* Count and log an I/O failure on @s and close it. */
static void io_failed(struct rstore *rs, struct rslot *s, int how, const char *what)
{
    if (how == IO_TIMEOUT) {
        RCOUNT(rs, timeouts);
        drop(rs, s);
        rgate_failure(rs, what);
    } else {
        RCOUNT(rs, io_errors);
        rlog(rs, STICKY_LOG_WARN, "%s: connection lost (%s)", what,
             s->c != NULL && s->c->errstr[0] ? s->c->errstr : "closed");
        drop(rs, s);
    }
}

/* --- connecting ---------------------------------------------------------- */

static struct timeval tv_of(int64_t ns)
{
    if (ns < 1000)
        ns = 1000;
    struct timeval tv = {.tv_sec = ns / 1000000000, .tv_usec = (ns % 1000000000) / 1000};
    return tv;
}

/* Connect @s and run the handshake; 0 or -1 (counted, logged, gate closed). */
static int connect_slot(struct rstore *rs, struct rslot *s, int64_t deadline)
{
    const struct ropts *o = &rs->o;
    int64_t left = deadline - rmono_ns();
    struct timeval ctv = tv_of(left < o->connect_timeout_ns ? left : o->connect_timeout_ns);
    redisContext *c = o->unix_path != NULL
                          ? redisConnectUnixWithTimeout(o->unix_path, ctv)
                          : redisConnectWithTimeout(o->host, o->port, ctv);
    if (c == NULL || c->err) {
        RCOUNT(rs, connect_failures);
        char why[160];
        snprintf(why, sizeof(why), "connect to %s failed (%s)",
                 o->unix_path ? o->unix_path : o->host,
                 c != NULL ? c->errstr : "out of memory");
        if (c != NULL)
            redisFree(c);
        rgate_failure(rs, why);
        return -1;
    }
    redisSetTimeout(c, tv_of(o->command_timeout_ns)); /* a backstop to poll() */
    if (o->unix_path == NULL && o->tcp_keepalive)
        redisEnableKeepAlive(c);
    s->c = c;
    atomic_fetch_add(&rs->connections_open, 1);

    /* One pipelined round trip for the whole handshake. */
    int n = 0, append_failed = 0;
    char dbbuf[16];
    if (o->password != NULL) {
        if (o->username != NULL)
            append_failed |= redisAppendCommand(c, "AUTH %s %s", o->username, o->password);
        else
            append_failed |= redisAppendCommand(c, "AUTH %s", o->password);
        n++;
    }
    if (o->db != 0) {
        snprintf(dbbuf, sizeof(dbbuf), "%d", o->db);
        append_failed |= redisAppendCommand(c, "SELECT %s", dbbuf);
        n++;
    }
    if (o->client_name[0] != '\0') {
        append_failed |= redisAppendCommand(c, "CLIENT SETNAME %s", o->client_name);
        n++;
    }
    int first_script = n;
    for (int i = 0; i < RS_COUNT; i++, n++)
        append_failed |= redisAppendCommand(c, "SCRIPT LOAD %s", rscript_body((enum rscript)i));
    redisReply *r[3 + RS_COUNT];
    int64_t hs_deadline = rmono_ns() + o->command_timeout_ns;
    int io = IO_BROKEN;
    for (int i = 0; i < n; i++)
        r[i] = NULL;
    if (append_failed == REDIS_OK) /* REDIS_ERR (-1) from any append: out of memory */
        io = exchange(rs, c, n, r, hs_deadline < deadline ? hs_deadline : deadline);
    const char *err = NULL;
    if (io == IO_OK) {
        for (int i = 0; i < n && err == NULL; i++) {
            if (r[i]->type == REDIS_REPLY_ERROR)
                err = r[i]->str;
            else if (i >= first_script &&
                     (r[i]->type != REDIS_REPLY_STRING || r[i]->len != 40))
                err = "unexpected SCRIPT LOAD reply";
            else if (i >= first_script)
                memcpy(s->sha[i - first_script], r[i]->str, 41);
        }
    }
    if (io != IO_OK || err != NULL) {
        RCOUNT(rs, connect_failures);
        char why[200];
        snprintf(why, sizeof(why), "handshake failed (%s)",
                 io == IO_TIMEOUT ? "timeout" : io != IO_OK ? "connection lost" : err);
        free_replies(r, n);
        drop(rs, s);
        rgate_failure(rs, why);
        return -1;
    }
    free_replies(r, n);
    RCOUNT(rs, connects);
    if (s->ever_connected) {
        RCOUNT(rs, reconnects);
        rlog(rs, STICKY_LOG_INFO, "reconnected");
    }
    s->ever_connected = 1;
    return 0;
}

/* --- taking a pooled connection ------------------------------------------ */

static struct rslot *acquire(struct rstore *rs, int64_t deadline)
{
    uint32_t n = rs->o.pool_size;
    uint32_t start = atomic_fetch_add_explicit(&rs->next_slot, 1, memory_order_relaxed) % n;
    for (uint32_t i = 0; i < n; i++) {
        struct rslot *s = &rs->pool[(start + i) % n];
        if (pthread_mutex_trylock(&s->lock) == 0)
            return s;
    }
    RCOUNT(rs, pool_waits);
    int64_t left = deadline - rmono_ns();
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    if (left > 0) {
        abs.tv_sec += left / 1000000000;
        abs.tv_nsec += left % 1000000000;
        if (abs.tv_nsec >= 1000000000) {
            abs.tv_sec++;
            abs.tv_nsec -= 1000000000;
        }
    }
    struct rslot *s = &rs->pool[start];
    if (pthread_mutex_timedlock(&s->lock, &abs) == 0)
        return s;
    RCOUNT(rs, pool_timeouts);
    return NULL;
}

/* --- running a script ---------------------------------------------------- */

#define MAX_ARGS 8
#define MAX_KEYS 2

static int run(struct rstore *rs, struct rslot *s, int use_sha, enum rscript id,
               int nkeys, const char *const *keys, const size_t *key_lens, int nargs,
               const char **args, const size_t *lens, int64_t deadline, redisReply **reply)
{
    const char *argv[3 + MAX_KEYS + MAX_ARGS];
    size_t argl[3 + MAX_KEYS + MAX_ARGS];
    argv[0] = use_sha ? "EVALSHA" : "EVAL";
    argv[1] = use_sha ? s->sha[id] : rscript_body(id);
    argv[2] = nkeys == 2 ? "2" : "1";
    argl[0] = strlen(argv[0]);
    argl[1] = strlen(argv[1]);
    argl[2] = 1;
    int argc = 3;
    for (int i = 0; i < nkeys; i++, argc++) {
        argv[argc] = keys[i];
        argl[argc] = key_lens[i];
    }
    for (int i = 0; i < nargs; i++, argc++) {
        argv[argc] = args[i];
        argl[argc] = lens[i];
    }
    if (redisAppendCommandArgv(s->c, argc, argv, argl) != REDIS_OK) {
        io_failed(rs, s, IO_BROKEN, "send");
        return -1;
    }
    int io = exchange(rs, s->c, 1, reply, deadline);
    if (io != IO_OK) {
        free_replies(reply, 1);
        io_failed(rs, s, io, io == IO_TIMEOUT ? "command timed out" : "command");
        return -1;
    }
    return 0;
}

int rconn_eval(struct rstore *rs, enum rscript id, int nkeys, const char *const *keys,
               const size_t *key_lens, int nargs, const char **args,
               const size_t *arg_lens, redisReply **reply)
{
    *reply = NULL;
    if (nargs > MAX_ARGS || nkeys < 1 || nkeys > MAX_KEYS)
        return STICKY_ESTORE;
    int64_t start = rmono_ns();
    if (rgate_enter(rs, start) != 0) {
        RCOUNT(rs, fast_fails);
        return STICKY_ESTORE;
    }
    int64_t deadline = start + rs->o.command_timeout_ns;
    struct rslot *s = acquire(rs, deadline);
    if (s == NULL)
        return STICKY_ESTORE;
    if (s->c == NULL) {
        deadline = start + rs->o.connect_timeout_ns + rs->o.command_timeout_ns;
        if (connect_slot(rs, s, deadline) != 0) {
            pthread_mutex_unlock(&s->lock);
            return STICKY_ESTORE;
        }
    }
    redisReply *r = NULL;
    int rc = run(rs, s, 1, id, nkeys, keys, key_lens, nargs, args, arg_lens, deadline, &r);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* The server lost its script cache (SCRIPT FLUSH, failover to a
         * replica that never saw SCRIPT LOAD): send the body; EVAL caches
         * it again for the next EVALSHA. */
        freeReplyObject(r);
        RCOUNT(rs, noscript_reloads);
        rc = run(rs, s, 0, id, nkeys, keys, key_lens, nargs, args, arg_lens, deadline, &r);
    }
    if (rc == 0 && r->type == REDIS_REPLY_ERROR) {
        RCOUNT(rs, server_errors);
        rlog(rs, STICKY_LOG_WARN, "server error: %s", r->str);
        /* A replica after failover refuses writes: reconnect (a name may
         * now point at the new primary). */
        if (strncmp(r->str, "READONLY", 8) == 0)
            drop(rs, s);
        freeReplyObject(r);
        pthread_mutex_unlock(&s->lock);
        return STICKY_ESTORE;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc != 0)
        return STICKY_ESTORE;
    rgate_success(rs);
    *reply = r;
    return STICKY_OK;
}

/* Escape glob characters of the prefix for SCAN MATCH. */
static size_t glob_escape(const char *in, char *out)
{
    size_t n = 0;
    for (; *in; in++) {
        if (strchr("*?[]\\", *in) != NULL)
            out[n++] = '\\';
        out[n++] = *in;
    }
    out[n++] = '*';
    out[n] = '\0';
    return n;
}

int rconn_count_keys(struct rstore *rs, uint64_t *count)
{
    *count = 0;
    int64_t start = rmono_ns();
    if (rgate_enter(rs, start) != 0) {
        RCOUNT(rs, fast_fails);
        return STICKY_ESTORE;
    }
    struct rslot *s = acquire(rs, start + rs->o.command_timeout_ns);
    if (s == NULL)
        return STICKY_ESTORE;
    if (s->c == NULL &&
        connect_slot(rs, s, start + rs->o.connect_timeout_ns + rs->o.command_timeout_ns) != 0) {
        pthread_mutex_unlock(&s->lock);
        return STICKY_ESTORE;
    }
    char pattern[2 * STICKY_REDIS_STORE_MAX_PREFIX + 2];
    size_t plen = glob_escape(rs->o.prefix, pattern);
    char cursor[32] = "0";
    uint64_t total = 0;
    int rc = STICKY_OK;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        size_t argl[] = {4, strlen(cursor), 5, plen, 5, 4};
        redisReply *r = NULL;
        if (redisAppendCommandArgv(s->c, 6, argv, argl) != REDIS_OK) {
            io_failed(rs, s, IO_BROKEN, "send");
            rc = STICKY_ESTORE;
            break;
        }
        int io = exchange(rs, s->c, 1, &r, rmono_ns() + rs->o.command_timeout_ns);
        if (io != IO_OK) {
            free_replies(&r, 1);
            io_failed(rs, s, io, "SCAN");
            rc = STICKY_ESTORE;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r->type == REDIS_REPLY_ERROR)
                RCOUNT(rs, server_errors);
            else
                RCOUNT(rs, protocol_errors);
            freeReplyObject(r);
            rc = STICKY_ESTORE;
            break;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const redisReply *k = r->element[1]->element[i];
            /* Session keys only: <prefix><16 hex digits>, not <prefix>health. */
            if (k->type == REDIS_REPLY_STRING && k->len == rs->o.prefix_len + 16)
                total++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    pthread_mutex_unlock(&s->lock);
    if (rc == STICKY_OK) {
        rgate_success(rs);
        *count = total;
    }
    return rc;
}
