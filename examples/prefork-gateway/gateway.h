/*
 * examples/prefork-gateway/gateway.h - what the parent and the workers of
 * the prefork gateway example share: the channel list, the line protocol
 * on the socketpair between them, and the worker's entry point.
 *
 * Protocol (one line each way per request, tab-separated):
 *   parent -> worker: ID  SESSION  TURN  ACTION
 *     ACTION "ok"      the upstream answers 200
 *            "429"     the upstream answers 429, Retry-After: 60
 *            "hold"    select, keep the attempt open (a streaming
 *                      response still running); no report yet
 *            "release" report 200 for every attempt this worker holds
 *   worker -> parent: ID  WORKER  CHANNEL|-  REASON  STATUS
 */
#ifndef PREFORK_GATEWAY_H
#define PREFORK_GATEWAY_H

#include <sticky/sticky.h>

#define GW_CHANNELS 3
#define GW_MAX_INFLIGHT 2 /* per channel, across all workers */
#define GW_MODEL "claude-sonnet-4-5"
#define GW_RETRY_AFTER_S 60
#define GW_LINE 256

/* The upstream accounts every worker may route to (A, B, C). */
void gw_channels(sticky_channel ch[GW_CHANNELS]);

/*
 * A worker: makes its own context; with @shm (inherited from the parent
 * across fork()) keeps sessions, health and in-flight counts in the
 * segment (sticky_ctx_use_shm), else in this process only (the control
 * the test shows failing). Serves requests from @fd until EOF. Returns
 * the process exit code.
 */
int gw_worker(int id, int fd, sticky_shm *shm);

#endif
