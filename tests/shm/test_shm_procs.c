/*
 * tests/shm/test_shm_procs.c - the multi-process suite: real forked
 * processes on one segment file.
 *   - four workers hammer shared sessions on channels with max_inflight 1:
 *     every session stays bound to one channel, the cap holds across
 *     processes (checked with the test's own shared counters), and the
 *     counters add up (one insert per session, one request per select);
 *   - a worker SIGKILLed while holding a shard lock in the middle of a
 *     write: the next locker repairs the shard in bounded time, the half
 *     written mapping is dropped, the rest is intact;
 *   - a worker SIGKILLed while holding in-flight units: they are reclaimed
 *     when the cap is next reached;
 *   - a worker SIGKILLed while holding a channel's health lock: reports
 *     from others still complete; holding every lock of the signature
 *     memory: it is repaired and moved_from still works;
 *   - a live holder that never lets go: the next locker gives up after a
 *     bounded wait (STICKY_ESTORE), and recovers once the holder is killed;
 *   - no room for the file: the open fails cleanly (space reserved up front);
 *   - a restart: every process gone (the last one killed inside a lock),
 *     the next opener recovers the file; sessions and a revoked key survive.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "shm_test_util.h"
#include "shm/shm_internal.h"

static char path[256];

static int setup(void **state)
{
    (void)state;
    shm_temp_path(path, sizeof(path));
    alarm(120); /* a wedged lock must fail the test, not hang it */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    unlink(path);
    return 0;
}

static void *shared_page(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0, n);
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fork @fn(@arg) as a child that ends with _exit(its return value). */
static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A child's context on the segment at `path` (its own handle). Channels
 * A..(n), each with @cap. Returns 0 or exits. */
static void child_node(struct node *n, size_t channels, uint32_t cap)
{
    node_start(n, path, channels);
    for (size_t i = 0; i < channels; i++)
        n->h.ch[i].max_inflight = cap;
}

/* ---- hammer ---------------------------------------------------------------- */

#define WORKERS 4
#define SESSIONS 128
#define TURNS 8

struct board {
    _Atomic int in_flight[3];       /* the test's own count per channel */
    _Atomic int cap_violations;
    _Atomic int split;              /* a hit on a channel other than the binding */
    _Atomic long selects;           /* successful selects */
    _Atomic long calls;             /* select calls, refusals included */
    _Atomic long requests;          /* sum of the children's ctx requests */
    char bound[SESSIONS][8];        /* first channel each session got */
    _Atomic int bound_set[SESSIONS];
};

static struct board *board;

static int hammer(void *arg)
{
    int me = (int)(intptr_t)arg;
    struct node n;
    child_node(&n, 3, 1);
    char body[8192];
    for (int turn = 1; turn <= TURNS; turn++) {
        for (int k = 0; k < SESSIONS; k++) {
            int s = (k * 7 + me * 13) % SESSIONS; /* each worker its own order */
            sticky_decision d;
            int rc;
            while ((rc = h_select(&n.h, NULL, conv_body(s, turn, body, sizeof(body)), NULL, 0,
                                  &d)) == STICKY_ENOCHANNEL) {
                atomic_fetch_add(&board->calls, 1);
                usleep(50); /* every channel at its cap: wait for a release */
            }
            atomic_fetch_add(&board->calls, 1);
            if (rc != STICKY_OK)
                return 10;
            atomic_fetch_add(&board->selects, 1);
            int c = d.channel_id[0] - 'A';
            if (atomic_fetch_add(&board->in_flight[c], 1) + 1 > 1)
                atomic_fetch_add(&board->cap_violations, 1);
            if (d.reason != STICKY_REASON_SPILL) {
                int expect = 0;
                if (atomic_compare_exchange_strong(&board->bound_set[s], &expect, 1)) {
                    strcpy(board->bound[s], d.channel_id);
                    atomic_store(&board->bound_set[s], 2);
                }
                while (atomic_load(&board->bound_set[s]) != 2)
                    ;
                if (strcmp(board->bound[s], d.channel_id) != 0)
                    atomic_fetch_add(&board->split, 1);
            }
            usleep(20);
            atomic_fetch_sub(&board->in_flight[c], 1);
            sticky_outcome o;
            sticky_outcome_init(&o);
            o.status = 200;
            if (sticky_report(n.h.ctx, &d, &o) != STICKY_OK)
                return 11;
        }
    }
    sticky_ctx_stats cs;
    sticky_ctx_stats_init(&cs);
    sticky_ctx_get_stats(n.h.ctx, &cs);
    atomic_fetch_add(&board->requests, (long)cs.requests);
    node_stop(&n);
    return 0;
}

static void test_hammer(void **state)
{
    (void)state;
    board = shared_page(sizeof(*board));
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = spawn(hammer, (void *)(intptr_t)i);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(wait_exit(pids[i]), 0);
    print_message("hammer: %ld selects by %d processes, %d cap violations, %d splits\n",
                  atomic_load(&board->selects), WORKERS, atomic_load(&board->cap_violations),
                  atomic_load(&board->split));
    assert_int_equal(atomic_load(&board->cap_violations), 0);
    assert_int_equal(atomic_load(&board->split), 0);
    assert_int_equal(atomic_load(&board->selects), WORKERS * SESSIONS * TURNS);
    assert_int_equal(atomic_load(&board->requests), atomic_load(&board->calls));

    /* The segment: one mapping per session, inserted once, bound to the
     * channel every worker saw; nothing left in flight. */
    struct node n;
    node_start(&n, path, 3);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(n.shm, &st), STICKY_OK);
    sticky_store_stats ss;
    sticky_store_stats_init(&ss);
    assert_int_equal(sticky_store_get_stats(st, &ss), STICKY_OK);
    assert_true(ss.inserts >= SESSIONS); /* turn 1's key, and deeper keys of later turns */
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    for (int c = 0; c < 3; c++) {
        char id[2] = {(char)('A' + c), 0};
        if (sticky_ctx_get_channel_health(n.h.ctx, id, &hh) == STICKY_OK)
            assert_int_equal(hh.in_flight, 0);
    }
    sticky_shm_stats sh;
    sticky_shm_stats_init(&sh);
    assert_int_equal(sticky_shm_get_stats(n.shm, &sh), STICKY_OK);
    assert_int_equal(sh.processes, 0); /* every worker detached */
    sticky_store_free(st);
    node_stop(&n);
    munmap(board, sizeof(*board));
}

/* ---- SIGKILL inside a shard lock ------------------------------------------- */

struct pipe_arg {
    int fd[2];
    int scribble;
};

static int hold_shard_and_wait(void *arg)
{
    struct pipe_arg *p = arg;
    struct node n;
    node_start(&n, path, 2);
    if (shm_test_hold_shard(n.shm, 7, p->scribble) != STICKY_OK)
        return 1;
    (void)!write(p->fd[1], "x", 1);
    pause(); /* killed here, lock held */
    return 2;
}

static void wait_for_child(struct pipe_arg *p)
{
    char c;
    assert_int_equal(read(p->fd[0], &c, 1), 1);
}

static void test_kill_inside_shard_lock(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.log_level = STICKY_LOG_WARN;
    assert_int_equal(sticky_ctx_new(&h.cfg, &h.ctx), STICKY_OK);
    sticky_shm_options o = shm_small_options(256);
    o.shard_count = 1; /* every key in the held shard */
    sticky_shm *shm;
    assert_int_equal(sticky_shm_open(h.ctx, path, &o, &shm), STICKY_OK);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(shm, &st), STICKY_OK);
    for (uint64_t k = 1; k <= 50; k++) {
        sticky_mapping m;
        sticky_mapping_init(&m);
        m.key = k;
        strcpy(m.channel_id, k % 2 ? "A" : "B");
        assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    }
    struct pipe_arg p = {.scribble = 1};
    assert_int_equal(pipe(p.fd), 0);
    pid_t pid = spawn(hold_shard_and_wait, &p);
    wait_for_child(&p);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);

    double t0 = now_s();
    sticky_mapping m;
    sticky_mapping_init(&m);
    assert_int_equal(sticky_store_get(st, 8, 0, &m), STICKY_OK); /* repairs first */
    double took = now_s() - t0;
    print_message("lock recovered and shard repaired in %.1f us\n", took * 1e6);
    assert_true(took < 1.0);
    assert_string_equal(m.channel_id, "B");
    assert_int_equal(sticky_store_get(st, 7, 0, &m), STICKY_ENOTFOUND); /* half written */
    for (uint64_t k = 1; k <= 50; k++) {
        if (k == 7)
            continue;
        assert_int_equal(sticky_store_get(st, k, STICKY_STORE_PEEK, &m), STICKY_OK);
        assert_string_equal(m.channel_id, k % 2 ? "A" : "B");
    }
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(shm, &ss), STICKY_OK);
    assert_int_equal(ss.repairs, 1);
    assert_int_equal(ss.sessions, 49);
    assert_non_null(strstr(h.log.all, "died holding the shard lock"));
    close(p.fd[0]);
    close(p.fd[1]);
    sticky_store_free(st);
    sticky_shm_close(shm);
    sticky_ctx_free(h.ctx);
}

/* A live holder that does not let go (stopped): the next locker gives up
 * after a bounded wait with STICKY_ESTORE instead of hanging; once the
 * holder is killed, the shard is repaired and served again. */
static void test_stopped_lock_holder(void **state)
{
    (void)state;
    struct node n;
    node_start(&n, path, 2);
    sticky_store *st;
    assert_int_equal(sticky_shm_store_new(n.shm, &st), STICKY_OK);
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 8;
    strcpy(m.channel_id, "A");
    assert_int_equal(sticky_store_put(st, &m, 0, NULL), STICKY_OK);
    struct pipe_arg p = {.scribble = 0};
    assert_int_equal(pipe(p.fd), 0);
    pid_t pid = spawn(hold_shard_and_wait, &p); /* holds key 7's shard */
    wait_for_child(&p);
    uint64_t same = 7; /* a key in the held shard */
    double t0 = now_s();
    assert_int_equal(sticky_store_get(st, same, 0, &m), STICKY_ESTORE);
    double waited = now_s() - t0;
    print_message("gave up after %.2f s\n", waited);
    assert_true(waited >= 1.5 && waited < 10);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    assert_int_equal(sticky_store_get(st, same, 0, &m), STICKY_ENOTFOUND);
    close(p.fd[0]);
    close(p.fd[1]);
    sticky_store_free(st);
    node_stop(&n);
}

/* A filesystem without room for the segment: sticky_shm_open() fails with
 * STICKY_ESTORE (the space is reserved up front), never SIGBUS later. */
static int open_without_room(void *arg)
{
    (void)arg;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {1 << 20, 1 << 20}; /* files up to 1 MiB */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3;
    struct harness h;
    h_config(&h);
    if (sticky_ctx_new(&h.cfg, &h.ctx) != STICKY_OK)
        return 4;
    sticky_shm_options o = shm_small_options(100000); /* about 6 MiB */
    sticky_shm *shm = NULL;
    int rc = sticky_shm_open(h.ctx, path, &o, &shm);
    sticky_ctx_free(h.ctx);
    return rc == STICKY_ESTORE && shm == NULL ? 0 : 5;
}

static void test_no_room(void **state)
{
    (void)state;
    assert_int_equal(wait_exit(spawn(open_without_room, NULL)), 0);
}

/* ---- SIGKILL holding in-flight units ----------------------------------------- */

static int hold_inflight(void *arg)
{
    struct pipe_arg *p = arg;
    struct node n;
    child_node(&n, 1, 2);
    char body[1024];
    sticky_decision d1, d2;
    if (h_select(&n.h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d1) != STICKY_OK ||
        h_select(&n.h, NULL, conv_body(2, 1, body, sizeof(body)), NULL, 0, &d2) != STICKY_OK)
        return 1;
    (void)!write(p->fd[1], "x", 1);
    pause(); /* killed holding both units */
    return 2;
}

static void test_kill_holding_inflight(void **state)
{
    (void)state;
    struct pipe_arg p = {0};
    assert_int_equal(pipe(p.fd), 0);
    struct node n;
    child_node(&n, 1, 2); /* creates the file first */
    pid_t pid = spawn(hold_inflight, &p);
    wait_for_child(&p);
    char body[1024];
    sticky_decision d;
    /* The cap holds across processes: the child has both units. */
    assert_int_equal(h_select(&n.h, NULL, conv_body(3, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_ENOCHANNEL);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    n.h.clk.now_ms += 2000; /* reclaiming is tried at most once a second */
    assert_int_equal(h_select(&n.h, NULL, conv_body(3, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    sticky_decision d2;
    assert_int_equal(h_select(&n.h, NULL, conv_body(4, 1, body, sizeof(body)), NULL, 0, &d2),
                     STICKY_OK);
    sticky_shm_stats ss;
    sticky_shm_stats_init(&ss);
    assert_int_equal(sticky_shm_get_stats(n.shm, &ss), STICKY_OK);
    assert_int_equal(ss.reclaimed_processes, 1);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(sticky_ctx_get_channel_health(n.h.ctx, "A", &hh), STICKY_OK);
    assert_int_equal(hh.in_flight, 2);
    sticky_release(n.h.ctx, &d);
    sticky_release(n.h.ctx, &d2);
    assert_int_equal(sticky_ctx_get_channel_health(n.h.ctx, "A", &hh), STICKY_OK);
    assert_int_equal(hh.in_flight, 0);
    close(p.fd[0]);
    close(p.fd[1]);
    node_stop(&n);
}

/* ---- SIGKILL holding a channel's health lock ----------------------------------- */

static int hold_health_lock(void *arg)
{
    struct pipe_arg *p = arg;
    struct node n;
    child_node(&n, 1, 0);
    uint32_t idx;
    struct channel_health *h = shm_channel_get(n.shm, "A", fnv1a64("A"), 1, &idx);
    if (h == NULL)
        return 1;
    health_lock(h);
    (void)!write(p->fd[1], "x", 1);
    pause();
    return 2;
}

static void test_kill_holding_health_lock(void **state)
{
    (void)state;
    struct pipe_arg p = {0};
    assert_int_equal(pipe(p.fd), 0);
    struct node n;
    child_node(&n, 2, 0);
    pid_t pid = spawn(hold_health_lock, &p);
    wait_for_child(&p);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    char body[1024];
    for (int c = 0;; c++) { /* a session on A, reported 429 */
        sticky_decision d;
        assert_true(c < 100);
        n.h.clk.now_ms += 1000;
        assert_int_equal(h_select(&n.h, NULL, conv_body(c, 1, body, sizeof(body)), NULL, 0, &d),
                         STICKY_OK);
        if (strcmp(d.channel_id, "A") == 0) {
            h_report(&n.h, &d, 429, 60, STICKY_ABSENT); /* takes the dead holder's lock */
            break;
        }
        sticky_release(n.h.ctx, &d);
    }
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(sticky_ctx_get_channel_health(n.h.ctx, "A", &hh), STICKY_OK);
    assert_int_equal(hh.state, STICKY_HEALTH_RATE_LIMITED);
    close(p.fd[0]);
    close(p.fd[1]);
    node_stop(&n);
}

/* ---- SIGKILL holding the signature memory's locks ------------------------------ */

static int hold_moves_locks(void *arg)
{
    struct pipe_arg *p = arg;
    struct node n;
    child_node(&n, 2, 0);
    for (uint32_t i = 0; i < SHM_MOVES_LOCKS; i++)
        if (shm_moves_lock(n.shm, i) != STICKY_OK)
            return 1;
    (void)!write(p->fd[1], "x", 1);
    pause();
    return 2;
}

static void test_kill_holding_moves_locks(void **state)
{
    (void)state;
    struct pipe_arg p = {0};
    assert_int_equal(pipe(p.fd), 0);
    struct node n;
    child_node(&n, 2, 0);
    n.h.cfg.log_level = STICKY_LOG_WARN;
    pid_t pid = spawn(hold_moves_locks, &p);
    wait_for_child(&p);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    char body[1024];
    sticky_decision d;
    assert_int_equal(h_select(&n.h, NULL, conv_body(1, 1, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    char first[STICKY_ID_SIZE];
    strcpy(first, d.channel_id);
    h_report(&n.h, &d, 401, STICKY_ABSENT, STICKY_ABSENT);
    assert_int_equal(h_select(&n.h, NULL, conv_body(1, 2, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    assert_string_equal(d.moved_from, first); /* the memory works after the repair */
    sticky_release(n.h.ctx, &d);
    assert_int_equal(h_select(&n.h, NULL, conv_body(1, 2, body, sizeof(body)), NULL, 0, &d),
                     STICKY_OK);
    assert_string_equal(d.moved_from, first);
    sticky_release(n.h.ctx, &d);
    close(p.fd[0]);
    close(p.fd[1]);
    node_stop(&n);
}

/* ---- restart ------------------------------------------------------------------ */

struct restart_board {
    char channel[20][8];
};
static struct restart_board *rb;

static int first_life(void *arg)
{
    (void)arg;
    struct node n;
    child_node(&n, 3, 0);
    char body[1024];
    for (int c = 0; c < 20; c++) {
        sticky_decision d;
        n.h.clk.now_ms += 1000; /* the LRU policy spreads sessions as time passes */
        if (h_select(&n.h, NULL, conv_body(c, 1, body, sizeof(body)), NULL, 0, &d) != STICKY_OK)
            return 1;
        strcpy(rb->channel[c], d.channel_id);
        h_report(&n.h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    }
    /* The key of channel C is revoked (seen on a new session placed on C). */
    for (int c = 100;; c++) {
        sticky_decision d;
        n.h.clk.now_ms += 1000;
        if (c > 200 ||
            h_select(&n.h, NULL, conv_body(c, 1, body, sizeof(body)), NULL, 0, &d) != STICKY_OK)
            return 2;
        if (strcmp(d.channel_id, "C") == 0) {
            h_report(&n.h, &d, 401, STICKY_ABSENT, STICKY_ABSENT);
            break;
        }
        h_report(&n.h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    }
    node_stop(&n);
    return 0;
}

static void test_restart(void **state)
{
    (void)state;
    rb = shared_page(sizeof(*rb));
    assert_int_equal(wait_exit(spawn(first_life, NULL)), 0);
    struct pipe_arg p = {.scribble = 0};
    assert_int_equal(pipe(p.fd), 0);
    pid_t pid = spawn(hold_shard_and_wait, &p); /* the last process dies in a lock */
    wait_for_child(&p);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);

    struct node n; /* a new process: alone with the file, recovers it */
    child_node(&n, 3, 0);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(sticky_ctx_get_channel_health(n.h.ctx, "C", &hh), STICKY_OK);
    assert_int_equal(hh.state, STICKY_HEALTH_AUTH);
    char body[1024];
    for (int c = 0; c < 20; c++) {
        sticky_decision d;
        assert_int_equal(h_select(&n.h, NULL, conv_body(c, 2, body, sizeof(body)), NULL, 0, &d),
                         STICKY_OK);
        if (strcmp(rb->channel[c], "C") == 0) {
            assert_string_not_equal(d.channel_id, "C"); /* revoked: moved */
        } else {
            assert_string_equal(d.channel_id, rb->channel[c]);
            assert_true(d.reason == STICKY_REASON_HIT || d.reason == STICKY_REASON_PROMOTED_HIT);
        }
        h_report(&n.h, &d, 200, STICKY_ABSENT, STICKY_ABSENT);
    }
    close(p.fd[0]);
    close(p.fd[1]);
    node_stop(&n);
    munmap(rb, sizeof(*rb));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hammer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_inside_shard_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_lock_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_holding_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_holding_health_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_holding_moves_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
