/*
 * examples/prefork-gateway/main.c - a prefork gateway skeleton: the parent
 * opens one shared-memory segment, forks N workers that inherit it (each
 * makes its own context on it, worker.c), hands them requests over a
 * socketpair each, and reaps them. The parent plays the clients: it sends
 * each conversation's turns to different workers, holds streams open to
 * fill the in-flight caps, and lets one worker see a 429. With --check it
 * verifies what sharing the segment guarantees and exits 1 if not:
 *   1. every turn of a conversation lands on one channel, whichever worker
 *      serves it;
 *   2. max_inflight (GW_MAX_INFLIGHT per channel) holds across workers;
 *   3. a 429 one worker saw keeps every worker off that channel.
 *
 * usage: prefork_gateway [--workers N] [--no-shm] [--check] [SEGMENT_PATH]
 * (--no-shm: each worker keeps its own state, as without the segment; the
 * test suite runs it to show that --check then fails.)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway.h"

#define MAX_WORKERS 16
#define SESSIONS 12
#define TURNS 3

struct worker {
    pid_t pid;
    FILE *in, *out; /* the parent's end: responses in, requests out */
};

struct reply {
    int worker;
    char channel[STICKY_ID_SIZE];
    char reason[32];
    int status;
};

static struct worker workers[MAX_WORKERS];
static int n_workers = 4;
static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

/* Send one request to worker @w and wait for its reply. */
static int ask(int w, const char *session, int turn, const char *action, struct reply *r)
{
    static long next_id = 1;
    long id = next_id++, got_id;
    char line[GW_LINE];
    fprintf(workers[w].out, "%ld\t%s\t%d\t%s\n", id, session, turn, action);
    fflush(workers[w].out);
    if (fgets(line, sizeof(line), workers[w].in) == NULL ||
        sscanf(line, "%ld\t%d\t%127s\t%31s\t%d", &got_id, &r->worker, r->channel, r->reason,
               &r->status) != 5 ||
        got_id != id) {
        fprintf(stderr, "prefork_gateway: worker %d: no or bad reply\n", w);
        return -1;
    }
    return 0;
}

static int spawn(sticky_shm *shm, int use_shm)
{
    for (int w = 0; w < n_workers; w++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return -1;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) { /* the worker: drop the parent's ends, serve, leave */
            for (int k = 0; k < w; k++)
                fclose(workers[k].in), fclose(workers[k].out);
            close(sv[0]);
            int code = gw_worker(w, sv[1], use_shm ? shm : NULL);
            sticky_shm_close(shm); /* the reference inherited from the parent */
            _exit(code);
        }
        close(sv[1]);
        workers[w].pid = pid;
        workers[w].in = fdopen(sv[0], "r");
        workers[w].out = fdopen(dup(sv[0]), "w");
        if (workers[w].in == NULL || workers[w].out == NULL)
            return -1;
    }
    return 0;
}

/* Close every worker's socket (EOF: it exits) and reap it. */
static int reap(void)
{
    int bad = 0;
    for (int w = 0; w < n_workers; w++)
        fclose(workers[w].out), fclose(workers[w].in);
    for (int w = 0; w < n_workers; w++) {
        int st;
        if (waitpid(workers[w].pid, &st, 0) != workers[w].pid || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0) {
            fprintf(stderr, "prefork_gateway: worker %d did not exit cleanly\n", w);
            bad = 1;
        }
    }
    return bad;
}

/* 1. Turn k of conversation s goes to worker (s + k) % N. */
static int scenario_sticky(void)
{
    char bound[SESSIONS][STICKY_ID_SIZE];
    int same = 1;
    for (int turn = 1; turn <= TURNS; turn++) {
        for (int s = 0; s < SESSIONS; s++) {
            char session[32];
            snprintf(session, sizeof(session), "conv-%d", s);
            struct reply r;
            if (ask((s + turn) % n_workers, session, turn, "ok", &r) != 0)
                return -1;
            if (turn == 1)
                snprintf(bound[s], sizeof(bound[s]), "%s", r.channel);
            else if (strcmp(bound[s], r.channel) != 0 ||
                     (strcmp(r.reason, "hit") != 0 && strcmp(r.reason, "promoted_hit") != 0))
                same = 0; /* moved, or placed again instead of found */
        }
    }
    printf("%d conversations x %d turns, each turn on another worker\n", SESSIONS, TURNS);
    check(same, "every turn of a conversation found on its first turn's channel");
    return 0;
}

/* 2. Open streams on new conversations from every worker: at most
 * GW_MAX_INFLIGHT per channel in all, the rest get no channel. */
static int scenario_cap(void)
{
    int per_channel[256] = {0}, granted = 0, refused = 0;
    for (int i = 0; i < GW_CHANNELS * GW_MAX_INFLIGHT * 2; i++) {
        char session[32];
        snprintf(session, sizeof(session), "stream-%d", i);
        struct reply r;
        if (ask(i % n_workers, session, 1, "hold", &r) != 0)
            return -1;
        if (r.channel[0] == '-') {
            refused++;
        } else {
            granted++;
            per_channel[(unsigned char)r.channel[0]]++;
        }
    }
    int over = 0;
    for (int c = 0; c < 256; c++)
        over |= per_channel[c] > GW_MAX_INFLIGHT;
    printf("%d streams held open across %d workers: %d granted (A %d, B %d, C %d), %d refused\n",
           granted + refused, n_workers, granted, per_channel['A'], per_channel['B'],
           per_channel['C'], refused);
    check(!over && granted == GW_CHANNELS * GW_MAX_INFLIGHT,
          "max_inflight holds across workers (cap per channel, summed over workers)");
    for (int w = 0; w < n_workers; w++) {
        struct reply r;
        if (ask(w, "-", 0, "release", &r) != 0)
            return -1;
    }
    return 0;
}

/* 3. Worker 0 gets a 429 on a conversation's channel; then new
 * conversations on every other worker, and the conversation's next turn
 * on another worker, stay off that channel. */
static int scenario_429(void)
{
    struct reply r;
    if (ask(0, "limited", 1, "429", &r) != 0)
        return -1;
    char limited[STICKY_ID_SIZE];
    snprintf(limited, sizeof(limited), "%s", r.channel);
    int avoided = r.status == 429;
    for (int i = 0; i < 3 * n_workers; i++) {
        char session[32];
        snprintf(session, sizeof(session), "after-429-%d", i);
        if (ask(1 + i % (n_workers - 1), session, 1, "ok", &r) != 0)
            return -1;
        avoided &= strcmp(r.channel, limited) != 0;
    }
    if (ask(1, "limited", 2, "ok", &r) != 0)
        return -1;
    avoided &= strcmp(r.channel, limited) != 0;
    printf("worker 0 saw a 429 on %s; later requests on other workers went elsewhere "
           "(the conversation: %s, %s)\n", limited, r.channel, r.reason);
    check(avoided, "a 429 seen by one worker is respected by all");
    return 0;
}

int main(int argc, char **argv)
{
    int use_shm = 1, do_check = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            n_workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-shm") == 0)
            use_shm = 0;
        else if (strcmp(argv[i], "--check") == 0)
            do_check = 1;
        else
            path = argv[i];
    }
    if (n_workers < 2 || n_workers > MAX_WORKERS) {
        fprintf(stderr, "usage: prefork_gateway [--workers 2..%d] [--no-shm] [--check] [PATH]\n",
                MAX_WORKERS);
        return 2;
    }
    char tmp[256];
    if (path == NULL) { /* a fresh segment under /dev/shm, removed at the end */
        snprintf(tmp, sizeof(tmp), "%s/prefork-gateway-%d.sticky",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
        unlink(tmp);
        path = tmp;
    }
    /* The parent's context only backs the segment handle (its allocator
     * and log); it must outlive the handle in every process. */
    sticky_ctx *ctx;
    sticky_shm *shm;
    sticky_shm_options o;
    sticky_shm_options_init(&o);
    o.max_sessions = 100000;
    int rc = sticky_ctx_new(NULL, &ctx);
    if (rc == STICKY_OK)
        rc = sticky_shm_open(ctx, path, &o, &shm);
    if (rc != STICKY_OK) {
        fprintf(stderr, "prefork_gateway: segment %s: %s\n", path, sticky_strerror(rc));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a dead worker is an error reply, not our death */
    printf("segment %s, %d workers%s\n", path, n_workers, use_shm ? "" : " (--no-shm)");
    int bad = spawn(shm, use_shm) != 0;
    bad = bad || scenario_sticky() != 0 || scenario_cap() != 0 || scenario_429() != 0;
    bad |= reap();
    sticky_shm_close(shm);
    sticky_ctx_free(ctx);
    if (path == tmp)
        unlink(tmp);
    if (bad) {
        fprintf(stderr, "prefork_gateway: a worker failed\n");
        return 1;
    }
    return do_check && failures ? 1 : 0;
}
