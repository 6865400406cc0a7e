/*
 * examples/prefork-gateway/worker.c - one worker process of the prefork
 * gateway: its own sticky_ctx on the segment the parent opened, a loop
 * that reads requests from the parent, routes them (sticky_select), plays
 * the upstream's answer and reports it (sticky_report), and writes the
 * decision back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

#define MAX_HELD 64

void gw_channels(sticky_channel ch[GW_CHANNELS])
{
    static const char *const ids[GW_CHANNELS] = {"A", "B", "C"};
    for (int i = 0; i < GW_CHANNELS; i++) {
        sticky_channel_init(&ch[i]);
        ch[i].id = ids[i];
        ch[i].max_inflight = GW_MAX_INFLIGHT;
    }
}

/* The body a client sends for turn @turn of conversation @session: every
 * earlier message again, as chat clients do (so turn 2 hits turn 1's key). */
static void make_body(const char *session, int turn, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "{\"model\":\"%s\",\"messages\":[", GW_MODEL);
    for (int k = 1; k <= turn && n < cap; k++) {
        n += (size_t)snprintf(buf + n, cap - n,
                              "%s{\"role\":\"user\",\"content\":\"%s: question %d\"}", k > 1 ? "," : "",
                              session, k);
        if (k < turn && n < cap)
            n += (size_t)snprintf(buf + n, cap - n,
                                  ",{\"role\":\"assistant\",\"content\":\"answer %d\"}", k);
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]}");
}

static void report(sticky_ctx *ctx, sticky_decision *d, int status)
{
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = status;
    if (status == 429)
        o.retry_after_seconds = GW_RETRY_AFTER_S;
    if (sticky_report(ctx, d, &o) != STICKY_OK)
        sticky_release(ctx, d);
}

static sticky_ctx *make_ctx(sticky_shm *shm)
{
    sticky_ctx *ctx = NULL;
    int rc = sticky_ctx_new(NULL, &ctx);
    if (rc == STICKY_OK)
        rc = shm != NULL ? sticky_ctx_use_shm(ctx, shm) : STICKY_OK;
    if (rc != STICKY_OK) {
        fprintf(stderr, "worker: context: %s\n", sticky_strerror(rc));
        sticky_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

int gw_worker(int id, int fd, sticky_shm *shm)
{
    sticky_ctx *ctx = make_ctx(shm);
    FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
    if (ctx == NULL || in == NULL || out == NULL)
        return 1;
    sticky_channel ch[GW_CHANNELS];
    gw_channels(ch);
    static sticky_decision held[MAX_HELD];
    int n_held = 0;
    char line[GW_LINE], session[64], action[16], body[4096];
    long req_id;
    int turn;
    while (fgets(line, sizeof(line), in) != NULL) {
        if (sscanf(line, "%ld\t%63s\t%d\t%15s", &req_id, session, &turn, action) != 4) {
            fprintf(stderr, "worker %d: bad request line\n", id);
            break;
        }
        if (strcmp(action, "release") == 0) {
            for (int i = 0; i < n_held; i++)
                report(ctx, &held[i], 200);
            fprintf(out, "%ld\t%d\t-\treleased\t%d\n", req_id, id, n_held);
            n_held = 0;
            fflush(out);
            continue;
        }
        make_body(session, turn, body, sizeof(body));
        sticky_request req;
        sticky_request_init(&req);
        req.body = body;
        req.body_len = strlen(body);
        req.model = GW_MODEL;
        req.model_len = strlen(GW_MODEL);
        sticky_decision d;
        sticky_decision_init(&d);
        int rc = sticky_select(ctx, &req, ch, GW_CHANNELS, &d);
        int status = 0;
        if (rc == STICKY_OK) {
            if (strcmp(action, "hold") == 0 && n_held < MAX_HELD) {
                held[n_held++] = d; /* reported on "release" */
                status = 102;
            } else {
                status = strcmp(action, "429") == 0 ? 429 : 200; /* the upstream */
                report(ctx, &d, status);
            }
        }
        fprintf(out, "%ld\t%d\t%s\t%s\t%d\n", req_id, id, rc == STICKY_OK ? d.channel_id : "-",
                sticky_reason_name(d.reason), status);
        fflush(out);
    }
    for (int i = 0; i < n_held; i++)
        sticky_release(ctx, &held[i]);
    fclose(in);
    fclose(out);
    sticky_ctx_free(ctx);
    return 0;
}
