/*
 * main.c - the async gateway example's process: options, the libuv loop,
 * the context and its store (the async Redis store on the same loop with
 * --redis, else the default memory store), the listener, signals, the
 * /stats text, and the shutdown order (connections closed, store freed,
 * loop run once more for the handle closes, context freed).
 *
 *   async_gateway --upstream ID=127.0.0.1:PORT [--upstream ...]
 *                 [--port P] [--redis 127.0.0.1:PORT] [--redis-prefix P]
 *                 [--redis-timeout-ms MS] [--tenant T] [--requests N]
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/redis_uv.h>

#include "gateway.h"

static struct gw g_gw;

static void on_log(int level, const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "libsticky[%d]: %s\n", level, message);
}

static void begin_shutdown(struct gw *gw)
{
    if (gw->shutting_down)
        return;
    gw->shutting_down = 1;
    uv_close((uv_handle_t *)&gw->listener, NULL);
    uv_close((uv_handle_t *)&gw->sigterm, NULL);
    uv_close((uv_handle_t *)&gw->sigint, NULL);
    while (gw->conns != NULL)
        conn_abort(gw->conns); /* unlinks it */
    /* The Redis store's handles keep the loop alive: stop it; main() frees
     * the store outside any callback and runs the loop once more. */
    uv_stop(gw->loop);
}

void gw_request_finished(struct gw *gw)
{
    if (gw->max_requests != 0 && gw->n.answered + gw->n.cancelled_selects +
                                         gw->n.released_inflight >= gw->max_requests)
        begin_shutdown(gw);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    begin_shutdown(s->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct gw *gw = server->data;
    if (status == 0 && !gw->shutting_down)
        conn_accept(gw);
}

static int format_counters(const struct gw *gw, char *buf, size_t cap)
{
    const struct gw_counters *n = &gw->n;
    return snprintf(buf, cap,
                    "gateway_requests %" PRIu64 "\ngateway_answered %" PRIu64
                    "\ngateway_retries %" PRIu64 "\ngateway_select_pending %" PRIu64
                    "\ngateway_cancelled_selects %" PRIu64 "\ngateway_released_inflight %" PRIu64
                    "\ngateway_reports %" PRIu64 "\ngateway_report_errors %" PRIu64
                    "\ngateway_no_channel %" PRIu64 "\n",
                    n->requests, n->answered, n->retries, n->select_pending,
                    n->cancelled_selects, n->released_inflight, n->reports, n->report_errors,
                    n->no_channel);
}

char *gw_stats_text(struct gw *gw, size_t *len)
{
    char head[1024];
    int h = format_counters(gw, head, sizeof(head));
    size_t need = 0;
    if (h < 0 || (size_t)h >= sizeof(head))
        return NULL;
    sticky_ctx_format_prometheus(gw->ctx, NULL, 0, &need);
    char *buf = malloc((size_t)h + need + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, head, (size_t)h);
    if (sticky_ctx_format_prometheus(gw->ctx, buf + h, need + 1, &need) != STICKY_OK) {
        free(buf);
        return NULL;
    }
    *len = (size_t)h + need;
    return buf;
}

static int parse_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= cap)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int add_upstream(struct gw *gw, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char host[64];
    int port;
    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= STICKY_ID_SIZE ||
        gw->n_up == GW_MAX_UPSTREAMS || parse_hostport(eq + 1, host, sizeof(host), &port) != 0)
        return -1;
    struct upstream_addr *a = &gw->up[gw->n_up];
    memcpy(a->id, arg, (size_t)(eq - arg));
    a->id[eq - arg] = '\0';
    if (uv_ip4_addr(host, port, &a->addr) != 0)
        return -1;
    sticky_channel_init(&gw->channels[gw->n_up]);
    gw->channels[gw->n_up].id = a->id;
    gw->n_up++;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: async_gateway --upstream ID=127.0.0.1:PORT [--upstream ...]\n"
                    "         [--port P] [--redis HOST:PORT] [--redis-prefix P]\n"
                    "         [--redis-timeout-ms MS] [--tenant T] [--requests N]\n");
}

int main(int argc, char **argv)
{
    struct gw *gw = &g_gw;
    int port = 0;
    const char *redis = NULL, *prefix = "sticky-gw:";
    unsigned long redis_timeout = 500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--upstream") == 0) {
            if (add_upstream(gw, v) != 0) {
                fprintf(stderr, "bad --upstream %s\n", v);
                return 2;
            }
        } else if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--redis") == 0) {
            redis = v;
        } else if (strcmp(a, "--redis-prefix") == 0) {
            prefix = v;
        } else if (strcmp(a, "--redis-timeout-ms") == 0) {
            redis_timeout = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--tenant") == 0) {
            gw->tenant = v;
        } else if (strcmp(a, "--requests") == 0) {
            gw->max_requests = strtoull(v, NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (gw->n_up == 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* hiredis and the sockets write() */

    uv_loop_t loop;
    uv_loop_init(&loop);
    gw->loop = &loop;
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = on_log;
    cfg.log_level = STICKY_LOG_WARN;
    int rc = sticky_ctx_new(&cfg, &gw->ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky_ctx_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    if (redis != NULL) {
        char host[64];
        int rport;
        if (parse_hostport(redis, host, sizeof(host), &rport) != 0) {
            fprintf(stderr, "bad --redis %s\n", redis);
            return 2;
        }
        sticky_redis_store_options o;
        sticky_redis_store_options_init(&o);
        o.host = host;
        o.port = rport;
        o.key_prefix = prefix;
        o.command_timeout_ms = (uint32_t)redis_timeout;
        rc = sticky_redis_store_new_uv(gw->ctx, &o, &loop, &gw->store);
        if (rc == STICKY_OK)
            rc = sticky_ctx_set_store(gw->ctx, gw->store);
        if (rc != STICKY_OK) {
            fprintf(stderr, "redis store: %s\n", sticky_strerror(rc));
            sticky_store_free(gw->store);
            sticky_ctx_free(gw->ctx);
            return 1;
        }
    }

    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(&loop, &gw->listener);
    gw->listener.data = gw;
    rc = uv_tcp_bind(&gw->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&gw->listener, 128, on_connection);
    if (rc != 0) {
        fprintf(stderr, "listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        return 1;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    uv_tcp_getsockname(&gw->listener, (struct sockaddr *)&bound, &blen);
    printf("listening 127.0.0.1:%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);

    uv_signal_init(&loop, &gw->sigterm);
    uv_signal_init(&loop, &gw->sigint);
    gw->sigterm.data = gw->sigint.data = gw;
    uv_signal_start(&gw->sigterm, on_signal, SIGTERM);
    uv_signal_start(&gw->sigint, on_signal, SIGINT);

    uv_run(&loop, UV_RUN_DEFAULT);

    /* Every connection is closed (its selection cancelled or its attempt
     * released); free the store before the context, outside any callback,
     * then let the loop run the handle closes. */
    begin_shutdown(gw);
    sticky_store_free(gw->store);
    gw->store = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&loop);

    char counters[1024];
    format_counters(gw, counters, sizeof(counters));
    fputs(counters, stderr);
    sticky_ctx_free(gw->ctx);
    if (closed != 0) {
        fprintf(stderr, "uv_loop_close: %s (a handle was left open)\n", uv_strerror(closed));
        return 1;
    }
    return 0;
}
