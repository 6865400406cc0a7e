/*
 * tests/redis/test_redis_shared.c - gateway nodes sharing one Redis: two
 * contexts in one process, and two processes (fork), route the same
 * conversation to the same channel through sticky_select(); concurrent
 * first requests of the same conversations from two contexts / two
 * processes bind one channel each. The nodes list the channels in
 * opposite orders, so without the shared store their least-recently-used
 * placement would disagree on every first request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis_test_util.h"

struct test_redis g_redis;

static const char *const fwd[] = {"chan-a", "chan-b", "chan-c"};
static const char *const rev[] = {"chan-c", "chan-b", "chan-a"};
#define N_CH 3
#define N_CONV 200

/* A gateway node: its own context and its own Redis store. */
struct node {
    sticky_ctx *ctx;
    sticky_store *st;
};

static void node_open(struct node *n, const char *prefix)
{
    assert_int_equal(sticky_ctx_new(NULL, &n->ctx), STICKY_OK);
    sticky_redis_store_options o;
    sticky_redis_store_options_init(&o);
    o.command_timeout_ms = 2000; /* no spurious degradation on a busy CI box */
    assert_int_equal(make_redis_store(n->ctx, prefix, &o, &n->st), STICKY_OK);
    assert_int_equal(sticky_ctx_set_store(n->ctx, n->st), STICKY_OK);
}

static void node_close(struct node *n)
{
    /* The store handle uses the context's allocator: free it first (no
     * selection runs any more), then the context. */
    sticky_store_free(n->st);
    sticky_ctx_free(n->ctx);
}

/* Without a shared store the two orders pick different first channels. */
static void orders_disagree_without_store(void **state)
{
    (void)state;
    sticky_ctx *a, *b;
    assert_int_equal(sticky_ctx_new(NULL, &a), STICKY_OK);
    assert_int_equal(sticky_ctx_new(NULL, &b), STICKY_OK);
    sticky_decision da, db;
    assert_int_equal(select_conversation(a, 1, fwd, N_CH, &da), STICKY_OK);
    assert_int_equal(select_conversation(b, 1, rev, N_CH, &db), STICKY_OK);
    assert_string_not_equal(da.channel_id, db.channel_id);
    sticky_ctx_free(a);
    sticky_ctx_free(b);
}

/* Node A binds, node B (another context) hits the same channel. */
static void two_contexts_same_channel(void **state)
{
    (void)state;
    struct node a, b;
    node_open(&a, "shared1:");
    node_open(&b, "shared1:");
    for (unsigned c = 0; c < 20; c++) {
        sticky_decision da, db;
        assert_int_equal(select_conversation(a.ctx, c, fwd, N_CH, &da), STICKY_OK);
        assert_int_equal(da.reason, STICKY_REASON_NEW);
        assert_int_equal(da.store_degraded, 0);
        assert_int_equal(select_conversation(b.ctx, c, rev, N_CH, &db), STICKY_OK);
        assert_int_equal(db.reason, STICKY_REASON_HIT);
        assert_int_equal(db.store_degraded, 0);
        assert_string_equal(da.channel_id, db.channel_id);
    }
    node_close(&a);
    node_close(&b);
}

/* Read exactly @n bytes. */
static int read_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* A child process binds; the parent (another process) hits. */
static void two_processes_same_channel(void **state)
{
    (void)state;
    int to_parent[2];
    assert_int_equal(pipe(to_parent), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct node c;
        node_open(&c, "shared2:");
        char ids[20][STICKY_ID_SIZE];
        for (unsigned i = 0; i < 20; i++) {
            sticky_decision d;
            if (select_conversation(c.ctx, i, fwd, N_CH, &d) != STICKY_OK ||
                d.reason != STICKY_REASON_NEW || d.store_degraded)
                _exit(2);
            memcpy(ids[i], d.channel_id, STICKY_ID_SIZE);
        }
        node_close(&c);
        _exit(write(to_parent[1], ids, sizeof(ids)) == (ssize_t)sizeof(ids) ? 0 : 3);
    }
    close(to_parent[1]);
    char ids[20][STICKY_ID_SIZE];
    assert_int_equal(read_all(to_parent[0], ids, sizeof(ids)), 0);
    close(to_parent[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct node p;
    node_open(&p, "shared2:");
    for (unsigned i = 0; i < 20; i++) {
        sticky_decision d;
        assert_int_equal(select_conversation(p.ctx, i, rev, N_CH, &d), STICKY_OK);
        assert_int_equal(d.reason, STICKY_REASON_HIT);
        assert_string_equal(d.channel_id, ids[i]);
    }
    node_close(&p);
}

/* --- concurrent first requests ------------------------------------------- */

struct racer {
    struct node *n;
    const char *const *order;
    pthread_barrier_t *go;
    char ids[N_CONV][STICKY_ID_SIZE];
    int new_count, degraded;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    for (unsigned i = 0; i < N_CONV; i++) {
        sticky_decision d;
        if (select_conversation(r->n->ctx, 1000 + i, r->order, N_CH, &d) != STICKY_OK) {
            r->ids[i][0] = '\0';
            continue;
        }
        r->new_count += d.reason == STICKY_REASON_NEW;
        r->degraded += d.store_degraded;
        memcpy(r->ids[i], d.channel_id, STICKY_ID_SIZE);
    }
    return NULL;
}

/* Two contexts race on the first request of the same 200 conversations. */
static void concurrent_first_requests_threads(void **state)
{
    (void)state;
    struct node a, b;
    node_open(&a, "race1:");
    node_open(&b, "race1:");
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    static struct racer ra, rb;
    memset(&ra, 0, sizeof(ra));
    memset(&rb, 0, sizeof(rb));
    ra = (struct racer){.n = &a, .order = fwd, .go = &go};
    rb = (struct racer){.n = &b, .order = rev, .go = &go};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &ra);
    pthread_create(&tb, NULL, race, &rb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
    assert_int_equal(ra.degraded + rb.degraded, 0);
    printf("threads: node A created %d sessions, node B %d\n", ra.new_count, rb.new_count);
    for (unsigned i = 0; i < N_CONV; i++) {
        assert_true(ra.ids[i][0] != '\0');
        assert_string_equal(ra.ids[i], rb.ids[i]);
    }
    /* Each conversation was created exactly once (the loser got EEXIST and
     * took the winner's channel, or found the binding and hit). */
    assert_int_equal(ra.new_count + rb.new_count, N_CONV);
    node_close(&a);
    node_close(&b);
}

/* The same race between two processes. */
static void concurrent_first_requests_processes(void **state)
{
    (void)state;
    int to_parent[2], go[2];
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        struct node c;
        node_open(&c, "race2:");
        static struct racer r;
        pthread_barrier_t one;
        pthread_barrier_init(&one, NULL, 1);
        r = (struct racer){.n = &c, .order = rev, .go = &one};
        char byte;
        if (read(go[0], &byte, 1) != 1)
            _exit(2);
        race(&r);
        node_close(&c);
        int ok = write(to_parent[1], &r.new_count, sizeof(int)) == sizeof(int) &&
                 write(to_parent[1], &r.degraded, sizeof(int)) == sizeof(int) &&
                 write(to_parent[1], r.ids, sizeof(r.ids)) == (ssize_t)sizeof(r.ids);
        _exit(ok ? 0 : 3);
    }
    close(go[0]);
    close(to_parent[1]);
    struct node p;
    node_open(&p, "race2:");
    sticky_decision warm;
    select_conversation(p.ctx, 999999, fwd, N_CH, &warm); /* connect first */
    static struct racer r;
    pthread_barrier_t one;
    pthread_barrier_init(&one, NULL, 1);
    r = (struct racer){.n = &p, .order = fwd, .go = &one};
    sleep_ms(100); /* the child connects too */
    assert_int_equal(write(go[1], "x", 1), 1);
    race(&r);
    static char child_ids[N_CONV][STICKY_ID_SIZE];
    int child_new, child_degraded;
    assert_int_equal(read_all(to_parent[0], &child_new, sizeof(int)), 0);
    assert_int_equal(read_all(to_parent[0], &child_degraded, sizeof(int)), 0);
    assert_int_equal(read_all(to_parent[0], child_ids, sizeof(child_ids)), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r.degraded + child_degraded, 0);
    printf("processes: parent created %d sessions, child %d\n", r.new_count, child_new);
    for (unsigned i = 0; i < N_CONV; i++)
        assert_string_equal(r.ids[i], child_ids[i]);
    assert_int_equal(r.new_count + child_new, N_CONV);
    node_close(&p);
    close(go[1]);
    close(to_parent[0]);
}

int main(void)
{
    if (test_redis_start(&g_redis) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orders_disagree_without_store),
        cmocka_unit_test(two_contexts_same_channel),
        cmocka_unit_test(two_processes_same_channel),
        cmocka_unit_test(concurrent_first_requests_threads),
        cmocka_unit_test(concurrent_first_requests_processes),
    };
    int failed = cmocka_run_group_tests_name("redis shared", tests, NULL, NULL);
    test_redis_stop(&g_redis);
    return failed != 0;
}
