/*
 * examples/sticky-route/replay.h - the pieces of `sticky-route replay`:
 * the channel list from channels.json, per-session bookkeeping and the
 * summary (JSON or a human table).
 */
#ifndef STICKY_ROUTE_REPLAY_H
#define STICKY_ROUTE_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include <sticky/sticky.h>

#define REPLAY_MAX_CHANNELS 256

/* The host's channels, owned strings. */
struct replay_channels {
    sticky_channel ch[REPLAY_MAX_CHANNELS];
    char *ids[REPLAY_MAX_CHANNELS];
    char **models[REPLAY_MAX_CHANNELS];
    size_t n;
};

/* Load channels.json; on error print "channels.json: reason" and return -1. */
int replay_channels_load(const char *path, struct replay_channels *out);
void replay_channels_free(struct replay_channels *c);
/* Index of channel @id, or -1. */
int replay_channel_index(const struct replay_channels *c, const char *id);

/* Everything the summary reports. */
struct replay_stats {
    uint64_t requests, attempts, failed_requests, unkeyed, bad_lines, events;
    uint64_t sessions, followups, followups_same;
    /* Incidents (docs/replay.md, "Output"): moves of a session's main-model
     * requests (sessions moved once / more than once, moves back to a
     * channel the session used before); side requests (another model than
     * the session's first request) and those followed by a move of their
     * session; attempts answered 401 / 403; injected failed moves. */
    uint64_t moves, sessions_moved_once, sessions_moved_more, moves_back;
    uint64_t side_requests, side_requests_on_session_channel, side_requests_then_moved;
    uint64_t auth_failures, failed_moves;
    uint64_t reasons[16];
    uint64_t ch_requests[REPLAY_MAX_CHANNELS];
    uint64_t ch_sessions[REPLAY_MAX_CHANNELS];
    uint64_t *lat_ns;
    size_t n_lat, cap_lat;
    struct session *sessions_by_id; /* uthash */
};

void replay_stats_init(struct replay_stats *s);
void replay_stats_free(struct replay_stats *s);
void replay_stats_latency(struct replay_stats *s, uint64_t ns);
/* Before a request of session @sid on @model: returns 1 if it is a side
 * request (the session exists and its first request had another model),
 * else 0; *@last_main = the channel of the session's last successful
 * main-model request (-1 = none). */
int replay_stats_lookup(struct replay_stats *s, const char *sid, const char *model,
                        int *last_main);
/* A finished request of session @sid ("" = unkeyed) on @model that ended
 * on channel @channel (-1 = failed). */
void replay_stats_request(struct replay_stats *s, const char *sid, const char *model,
                          int channel);

/* Print the summary as one JSON object, or as a table with @human. */
void replay_stats_print(FILE *out, struct replay_stats *s, const struct replay_channels *c,
                        sticky_ctx *ctx, sticky_store *store, int human);

#endif
