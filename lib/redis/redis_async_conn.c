/*
 * lib/redis/redis_async_conn.c - the loop store's connection: the host name
 * resolved once at creation (getaddrinfo blocks, the loop must not), a
 * non-blocking hiredis connect attached to the host's loop through
 * sticky_redis_loop.attach, the adapter's hooks wrapped so the engine knows
 * when hiredis has let go of the connection, the pipelined handshake (AUTH,
 * SELECT, CLIENT SETNAME, SCRIPT LOAD of every script; the operations
 * follow in the same write once the script hashes are known, the first
 * connection's wait for them), and the three ways a connection ends: connect
 * failure, loss under load, teardown by the engine (timeout, READONLY,
 * handshake error, destroy).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sticky/error.h"
#include "redis_async_internal.h"

int rasync_resolve(struct rasync *as)
{
    struct rstore *rs = as->rs;
    if (rs->o.unix_path != NULL)
        return STICKY_OK;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(rs->o.host, NULL, &hints, &res);
    if (e != 0 || res == NULL) {
        rlog(rs, STICKY_LOG_ERROR, "host %s does not resolve (%s)", rs->o.host,
             e != 0 ? gai_strerror(e) : "no address");
        return STICKY_ECONFIG;
    }
    const void *a = res->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    const char *ok = inet_ntop(res->ai_family, a, as->addr, sizeof(as->addr));
    freeaddrinfo(res);
    if (ok == NULL) {
        rlog(rs, STICKY_LOG_ERROR, "host %s: no usable address", rs->o.host);
        return STICKY_ECONFIG;
    }
    return STICKY_OK;
}

/* --- the adapter's hooks, wrapped ----------------------------------------- */

static void w_add_read(void *p)
{
    struct aconn *c = p;
    if (c->add_read)
        c->add_read(c->ev_data);
}
static void w_del_read(void *p)
{
    struct aconn *c = p;
    if (c->del_read)
        c->del_read(c->ev_data);
}
static void w_add_write(void *p)
{
    struct aconn *c = p;
    if (c->add_write)
        c->add_write(c->ev_data);
}
static void w_del_write(void *p)
{
    struct aconn *c = p;
    if (c->del_write)
        c->del_write(c->ev_data);
}

static void conn_release(struct aconn *c)
{
    struct rasync *as = c->as;
    if (c->connected)
        atomic_fetch_sub(&as->rs->connections_open, 1);
    sticky_ctx_mem_free(as->rs->ctx, c);
    rasync_unref(as);
}

/* hiredis frees the context: every callback has run. onDisconnect still
 * follows when it had connected (then it releases the record). */
static void w_cleanup(void *p)
{
    struct aconn *c = p;
    if (c->cleanup)
        c->cleanup(c->ev_data);
    c->add_read = c->del_read = c->add_write = c->del_write = c->cleanup = NULL;
    if (!(c->ac->c.flags & REDIS_CONNECTED))
        conn_release(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct aconn *c = ac->data;
    struct rasync *as = c->as;
    if (as->conn == c) {
        /* Closed while idle (nothing pending: no reply callback saw it). */
        as->conn = NULL;
        c->failed = 1;
        rasync_fail_unsent(as);
        if (status != REDIS_OK) {
            RCOUNT(as->rs, io_errors);
            rlog(as->rs, STICKY_LOG_INFO, "async connection closed (%s)",
                 ac->errstr ? ac->errstr : "closed");
        }
    }
    conn_release(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct aconn *c = ac->data;
    struct rasync *as = c->as;
    if (status == REDIS_OK) {
        c->connected = 1;
        atomic_fetch_add(&as->rs->connections_open, 1);
        return;
    }
    if (as->conn != c)
        return;
    as->conn = NULL;
    c->failed = 1;
    RCOUNT(as->rs, connect_failures);
    char why[200];
    snprintf(why, sizeof(why), "connect to %s failed (%s)",
             as->rs->o.unix_path ? as->rs->o.unix_path : as->addr,
             ac->errstr ? ac->errstr : "error");
    rgate_failure(as->rs, why);
    rasync_fail_unsent(as);
}

void rasync_conn_lost(struct rasync *as, struct aconn *c)
{
    if (as->conn != c)
        return;
    as->conn = NULL;
    c->failed = 1;
    RCOUNT(as->rs, io_errors);
    char why[200];
    snprintf(why, sizeof(why), "async connection lost (%s)",
             c->ac->errstr && c->ac->errstr[0] ? c->ac->errstr : "closed");
    rgate_failure(as->rs, why);
    rasync_fail_unsent(as);
}

void rasync_teardown(struct rasync *as, const char *why)
{
    struct aconn *c = as->conn;
    if (c == NULL)
        return;
    as->conn = NULL;
    c->failed = 1;
    if (why != NULL)
        rgate_failure(as->rs, why);
    redisAsyncFree(c->ac); /* deferred by hiredis inside its callbacks */
    rasync_fail_unsent(as);
}

/* --- the handshake ------------------------------------------------------- */

/* privdata: 0 for AUTH / SELECT / CLIENT SETNAME, 1 + script id for a
 * SCRIPT LOAD. */
static void hs_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct aconn *c = ac->data;
    struct rasync *as = c->as;
    struct rstore *rs = as->rs;
    redisReply *reply = r;
    if (reply == NULL) {
        rasync_conn_lost(as, c);
        return;
    }
    if (c->failed)
        return;
    int script = (int)(uintptr_t)privdata - 1;
    const char *err = NULL;
    if (reply->type == REDIS_REPLY_ERROR)
        err = reply->str;
    else if (script >= 0 && (reply->type != REDIS_REPLY_STRING || reply->len != 40))
        err = "unexpected SCRIPT LOAD reply";
    if (err != NULL) {
        RCOUNT(rs, connect_failures);
        char why[200];
        snprintf(why, sizeof(why), "async handshake failed (%s)", err);
        rasync_teardown(as, why);
        return;
    }
    if (script >= 0)
        memcpy(as->sha[script], reply->str, 41);
    if (--c->hs_left > 0)
        return;
    RCOUNT(rs, round_trips);
    c->up = 1;
    as->sha_known = 1;
    RCOUNT(rs, connects);
    if (as->ever_connected) {
        RCOUNT(rs, reconnects);
        rlog(rs, STICKY_LOG_INFO, "async connection: reconnected");
    }
    as->ever_connected = 1;
    rgate_success(rs);
    rasync_flush_unsent(as);
}

static int handshake(struct rasync *as, struct aconn *c)
{
    const struct ropts *o = &as->rs->o;
    redisAsyncContext *ac = c->ac;
    int bad = 0;
    if (o->password != NULL) {
        if (o->username != NULL)
            bad |= redisAsyncCommand(ac, hs_reply, NULL, "AUTH %s %s", o->username, o->password);
        else
            bad |= redisAsyncCommand(ac, hs_reply, NULL, "AUTH %s", o->password);
        c->hs_left++;
    }
    if (o->db != 0) {
        bad |= redisAsyncCommand(ac, hs_reply, NULL, "SELECT %d", o->db);
        c->hs_left++;
    }
    if (o->client_name[0] != '\0') {
        bad |= redisAsyncCommand(ac, hs_reply, NULL, "CLIENT SETNAME %s", o->client_name);
        c->hs_left++;
    }
    for (int i = 0; i < RS_COUNT; i++) {
        bad |= redisAsyncCommand(ac, hs_reply, (void *)(uintptr_t)(i + 1), "SCRIPT LOAD %s",
                                 rscript_body((enum rscript)i));
        c->hs_left++;
    }
    return bad == REDIS_OK ? 0 : -1;
}

int rasync_connect(struct rasync *as, int64_t now)
{
    struct rstore *rs = as->rs;
    const struct ropts *o = &rs->o;
    const char *where = o->unix_path ? o->unix_path : as->addr;
    redisAsyncContext *ac = o->unix_path ? redisAsyncConnectUnix(o->unix_path)
                                         : redisAsyncConnect(as->addr, o->port);
    struct aconn *c = NULL;
    const char *fail = NULL;
    if (ac == NULL || ac->err)
        fail = ac != NULL && ac->errstr ? ac->errstr : "out of memory";
    else if ((c = sticky_ctx_mem_calloc(rs->ctx, 1, sizeof(*c))) == NULL)
        fail = "out of memory";
    if (fail == NULL) {
        c->as = as;
        c->ac = ac;
        ac->data = c;
        if (as->lv->attach(as->loop, ac) != 0)
            fail = "the loop refused the connection";
    }
    if (fail != NULL) {
        char why[200];
        snprintf(why, sizeof(why), "connect to %s failed (%s)", where, fail);
        RCOUNT(rs, connect_failures);
        if (ac != NULL)
            redisAsyncFree(ac); /* no hooks yet: nothing calls back */
        sticky_ctx_mem_free(rs->ctx, c);
        rgate_failure(rs, why);
        return -1;
    }
    c->ev_data = ac->ev.data;
    c->add_read = ac->ev.addRead;
    c->del_read = ac->ev.delRead;
    c->add_write = ac->ev.addWrite;
    c->del_write = ac->ev.delWrite;
    c->cleanup = ac->ev.cleanup;
    ac->ev.data = c;
    ac->ev.addRead = w_add_read;
    ac->ev.delRead = w_del_read;
    ac->ev.addWrite = w_add_write;
    ac->ev.delWrite = w_del_write;
    ac->ev.cleanup = w_cleanup;
    as->refs++;
    as->conn = c;
    as->conn_deadline_ns = now + o->connect_timeout_ns + o->command_timeout_ns;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (o->unix_path == NULL && o->tcp_keepalive)
        redisEnableKeepAlive(&ac->c);
    if (handshake(as, c) != 0) {
        RCOUNT(rs, connect_failures);
        rasync_teardown(as, "async handshake could not be queued (out of memory)");
        return -1;
    }
    return 0;
}
