/*
 * tools/sticky-route/cmd_inspect.c - `sticky-route inspect PATH [--json]
 * [--limit N] [--now MS]`: for operators, prints what a shared-memory
 * segment (sticky/shm.h) holds: its sizes and occupancy, every channel's
 * health and the live sessions. Human-readable by default; with --json one
 * JSON object per line ("type": "segment", "channel", "session", then
 * "end"). It never creates a file (the segment is opened without
 * STICKY_SHM_CREATE) and never renews or counts a session (the library's
 * iterators only peek). Exit codes: 0; 2 usage; 4 the file is missing,
 * empty, not a segment, damaged or cannot be attached (the reason on
 * stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sticky/sticky.h>

#include "cli_util.h"
#include "commands.h"

#define INSPECT_DEFAULT_LIMIT 100u

struct inspect {
    int json;
    unsigned long long limit; /* sessions printed; 0 = all */
    unsigned long long listed, live;
    int64_t now_ms;
};

static void usage(void)
{
    fprintf(stderr, "usage: sticky-route inspect PATH [--json] [--limit N] [--now MS]\n"
                    "  --json      one JSON object per line instead of tables\n"
                    "  --limit N   sessions printed (default %u; 0 = all)\n"
                    "  --now MS    the time (ms since the epoch) that decides which sessions\n"
                    "              are live and which cooldowns are in force (default: now)\n",
            INSPECT_DEFAULT_LIMIT);
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An id for a table: printable ASCII as is, any other byte as \xNN, so a
 * hostile id cannot move the terminal's cursor. */
static void print_id(FILE *out, const char *s, int width)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            n += fprintf(out, "%c", *p);
        else
            n += fprintf(out, "\\x%02x", *p);
    }
    if (n == 0)
        n += fprintf(out, "-");
    for (; n < width; n++)
        fputc(' ', out);
    fputc(' ', out);
}

/* UTC time of @ms as 2025-06-15T14:40:00.000Z (or the number when it has
 * no calendar date). */
static void print_time(FILE *out, int64_t ms)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        fprintf(out, "%-24" PRId64 " ", ms);
        return;
    }
    fprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)sec * 1000));
}

static const char *state_name(int s)
{
    switch (s) {
    case STICKY_HEALTH_OK: return "ok";
    case STICKY_HEALTH_COOLING: return "cooling";
    case STICKY_HEALTH_RATE_LIMITED: return "rate_limited";
    case STICKY_HEALTH_AUTH: return "auth";
    default: return "unknown";
    }
}

static const char *cause_name(int c)
{
    static const char *names[] = {"none",   "rate_limit", "rate_limit_guess", "overloaded",
                                  "server", "timeout",    "auth",             "breaker"};
    return c >= 0 && c < (int)(sizeof(names) / sizeof(names[0])) ? names[c] : "unknown";
}

static void print_stats(const char *path, const sticky_shm_stats *st, int json)
{
    if (json) {
        fputs("{\"type\":\"segment\",\"path\":", stdout);
        json_print_string(stdout, path);
        printf(",\"file_bytes\":%" PRIu64 ",\"max_sessions\":%" PRIu64 ",\"sessions\":%" PRIu64
               ",\"shard_count\":%u,\"max_channels\":%u,\"channels\":%u,\"max_tenants\":%u"
               ",\"tenants\":%u,\"max_processes\":%u,\"processes\":%u,\"repairs\":%" PRIu64
               ",\"reclaimed_processes\":%" PRIu64 "}\n",
               st->file_bytes, st->max_sessions, st->sessions, st->shard_count,
               st->max_channels, st->channels, st->max_tenants, st->tenants, st->max_processes,
               st->processes, st->repairs, st->reclaimed_processes);
        return;
    }
    printf("segment       ");
    print_id(stdout, path, 0);
    printf("\nfile          %" PRIu64 " bytes (%.1f bytes per mapping)\n", st->file_bytes,
           st->max_sessions ? (double)st->file_bytes / (double)st->max_sessions : 0.0);
    printf("sessions      %" PRIu64 " of %" PRIu64 " (in %u shards; expired-but-unswept "
           "included)\n",
           st->sessions, st->max_sessions, st->shard_count);
    printf("channels      %u of %u\n", st->channels, st->max_channels);
    printf("tenants       %u of %u (interned long ids)\n", st->tenants, st->max_tenants);
    printf("processes     %u of %u attached\n", st->processes, st->max_processes);
    printf("repairs       %" PRIu64 " shards, %" PRIu64 " dead processes reclaimed\n",
           st->repairs, st->reclaimed_processes);
}

static int on_channel(const char *id, const sticky_channel_health *h, void *arg)
{
    struct inspect *in = arg;
    if (in->json) {
        fputs("{\"type\":\"channel\",\"id\":", stdout);
        json_print_string(stdout, id);
        printf(",\"state\":\"%s\",\"cause\":\"%s\",\"family\":", state_name(h->state),
               cause_name(h->cause));
        json_print_string(stdout, sticky_model_family_name(h->family));
        /* INT64_MAX (until cleared) has no exact JSON number: null. */
        if (h->until_ms == INT64_MAX)
            fputs(",\"until_ms\":null", stdout);
        else
            printf(",\"until_ms\":%" PRId64, h->until_ms);
        printf(",\"in_flight\":%u,\"consecutive_failures\":%u,\"selections\":%" PRIu64
               ",\"failures\":%" PRIu64 "}\n",
               h->in_flight, h->consecutive_failures, h->selections, h->failures);
        return 0;
    }
    printf("  ");
    print_id(stdout, id, 20);
    printf("%-13s %-17s ", state_name(h->state), cause_name(h->cause));
    if (h->state == STICKY_HEALTH_OK)
        printf("%-24s ", "-");
    else if (h->until_ms == INT64_MAX)
        printf("%-24s ", "until cleared");
    else
        print_time(stdout, h->until_ms);
    printf("%9u %6u/%-8" PRIu64 " %" PRIu64 "\n", h->in_flight, h->consecutive_failures,
           h->failures, h->selections);
    return 0;
}

static int on_session(const sticky_mapping *m, void *arg)
{
    struct inspect *in = arg;
    in->live++;
    if (in->limit != 0 && in->listed >= in->limit)
        return 0; /* keep counting */
    in->listed++;
    char hex[STICKY_KEY_HEX_SIZE];
    sticky_key_to_hex(m->key, hex);
    if (in->json) {
        printf("{\"type\":\"session\",\"key\":\"%s\",\"channel\":", hex);
        json_print_string(stdout, m->channel_id);
        fputs(",\"tenant\":", stdout);
        json_print_string(stdout, m->tenant_id);
        printf(",\"request_count\":%" PRIu64 ",\"created_ms\":%" PRId64
               ",\"last_access_ms\":%" PRId64 ",\"expires_ms\":%" PRId64 "}\n",
               (uint64_t)m->request_count, m->created_ms, m->last_access_ms, m->expires_ms);
        return 0;
    }
    printf("  %s ", hex);
    print_id(stdout, m->channel_id, 12);
    print_id(stdout, m->tenant_id, 32);
    printf("%8" PRIu64 " ", (uint64_t)m->request_count);
    print_time(stdout, m->created_ms);
    print_time(stdout, m->last_access_ms);
    print_time(stdout, m->expires_ms);
    fputc('\n', stdout);
    return 0;
}

/* Open @path as an existing segment. 0, or EXIT_SEGMENT with the reason
 * printed. */
static int open_segment(sticky_ctx *ctx, const char *path, sticky_shm **shm)
{
    /* An empty file would be made into a fresh segment by the first
     * opener (that is how a creator's file starts): refuse it here, since
     * inspect must not create anything. */
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "sticky-route: inspect: %s: %s\n", path, strerror(errno));
        return EXIT_SEGMENT;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        fprintf(stderr, "sticky-route: inspect: %s: %s, not a segment\n", path,
                S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
        return EXIT_SEGMENT;
    }
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.flags = 0; /* no STICKY_SHM_CREATE, no reset */
    int rc = sticky_shm_open(ctx, path, &o, shm);
    if (rc != STICKY_OK) {
        const char *why = rc == STICKY_ENOTFOUND  ? "no such file"
                          : rc == STICKY_ECORRUPT ? "not a libsticky segment of this layout "
                                                    "version, or damaged"
                                                  : sticky_strerror(rc);
        fprintf(stderr, "sticky-route: inspect: %s: %s (%s)\n", path, why, sticky_err_name(rc));
        return EXIT_SEGMENT;
    }
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    struct inspect in = {0, INSPECT_DEFAULT_LIMIT, 0, 0, 0};
    const char *path = NULL;
    int now_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long long v;
        if (strcmp(a, "--json") == 0) {
            in.json = 1;
        } else if (strcmp(a, "--limit") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], UINT64_MAX, &v) == 0) {
            in.limit = v;
            i++;
        } else if (strcmp(a, "--now") == 0 && i + 1 < argc &&
                   parse_u64(argv[i + 1], (unsigned long long)INT64_MAX, &v) == 0) {
            in.now_ms = (int64_t)v;
            now_set = 1;
            i++;
        } else if (strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else if (a[0] != '-' && path == NULL) {
            path = a;
        } else {
            fprintf(stderr, "sticky-route: inspect: unknown option, bad value or extra "
                            "argument '%s'\n", a);
            usage();
            return EXIT_USAGE;
        }
    }
    if (path == NULL) {
        usage();
        return EXIT_USAGE;
    }
    if (!now_set)
        in.now_ms = wall_ms();

    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_to_stderr;
    cfg.log_level = STICKY_LOG_ERROR;
    sticky_ctx *ctx = NULL;
    int rc = sticky_ctx_new(&cfg, &ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: inspect: %s\n", sticky_strerror(rc));
        return EXIT_CONFIG;
    }
    sticky_shm *shm = NULL;
    int exit_code = open_segment(ctx, path, &shm);
    if (exit_code != 0) {
        sticky_ctx_free(ctx);
        return exit_code;
    }
    sticky_shm_stats st;
    sticky_shm_stats_init(&st);
    rc = sticky_shm_get_stats(shm, &st);
    if (rc == STICKY_OK) {
        print_stats(path, &st, in.json);
        if (!in.json)
            printf("\nchannels (%u)\n  %-20s %-13s %-17s %-24s %9s %15s %s\n", st.channels,
                   "ID", "STATE", "CAUSE", "UNTIL", "IN-FLIGHT", "FAIL(CONS/ALL)",
                   "SELECTIONS");
        rc = sticky_shm_each_channel(shm, in.now_ms, on_channel, &in);
    }
    if (rc == STICKY_OK) {
        if (!in.json)
            printf("\nsessions\n  %-16s %-12s %-32s %8s %-24s %-24s %s\n", "KEY", "CHANNEL",
                   "TENANT", "REQUESTS", "CREATED", "LAST ACCESS", "EXPIRES");
        rc = sticky_shm_each_session(shm, in.now_ms, on_session, &in);
    }
    if (rc == STICKY_OK) {
        if (in.json)
            printf("{\"type\":\"end\",\"now_ms\":%" PRId64 ",\"sessions_live\":%llu"
                   ",\"sessions_listed\":%llu}\n",
                   in.now_ms, in.live, in.listed);
        else
            printf("  (%llu of %llu live sessions listed%s)\n", in.listed, in.live,
                   in.listed < in.live ? "; --limit 0 lists all" : "");
    } else {
        fprintf(stderr, "sticky-route: inspect: %s: %s\n", path, sticky_strerror(rc));
        exit_code = EXIT_SEGMENT;
    }
    sticky_shm_close(shm);
    sticky_ctx_free(ctx);
    return exit_code;
}
