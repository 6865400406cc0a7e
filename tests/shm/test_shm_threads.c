/*
 * tests/shm/test_shm_threads.c - threads on a segment (run under
 * ThreadSanitizer in CI): two contexts, each with its own handle on one
 * file, four threads each, route shared conversations over channels with
 * max_inflight 2 while a ninth thread sweeps, reads stats and inspects.
 * Checked afterwards: every conversation bound to one channel, nothing
 * left in flight, the cap never exceeded (the test's own counters).
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "shm_test_util.h"

#define THREADS_PER_NODE 4
#define CONVS 48
#define TURNS 40

static struct node nodes[2];
static _Atomic int in_flight[3], violations, failures;
static _Atomic int stop_reader;

struct worker {
    int node, id;
};

static void *route(void *arg)
{
    struct worker *w = arg;
    struct node *n = &nodes[w->node];
    char body[8192];
    for (int turn = 1; turn <= TURNS; turn++) {
        for (int k = 0; k < CONVS; k++) {
            int c = (k + w->id * 5) % CONVS;
            sticky_decision d;
            int rc;
            while ((rc = h_select(&n->h, NULL, conv_body(c, turn, body, sizeof(body)), NULL, 0,
                                  &d)) == STICKY_ENOCHANNEL)
                sched_yield();
            if (rc != STICKY_OK) {
                atomic_fetch_add(&failures, 1);
                continue;
            }
            int ch = d.channel_id[0] - 'A';
            if (atomic_fetch_add(&in_flight[ch], 1) + 1 > 2)
                atomic_fetch_add(&violations, 1);
            atomic_fetch_sub(&in_flight[ch], 1);
            sticky_outcome o;
            sticky_outcome_init(&o);
            o.status = 200;
            if (sticky_report(n->h.ctx, &d, &o) != STICKY_OK)
                atomic_fetch_add(&failures, 1);
        }
    }
    return NULL;
}

static int count_session(const sticky_mapping *m, void *arg)
{
    (void)m;
    ++*(int *)arg;
    return 0;
}

static void *inspect(void *arg)
{
    (void)arg;
    sticky_store *st;
    if (sticky_shm_store_new(nodes[1].shm, &st) != STICKY_OK) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    while (!atomic_load(&stop_reader)) {
        size_t r = 0;
        sticky_store_sweep(st, 64, &r);
        sticky_shm_stats ss;
        sticky_shm_stats_init(&ss);
        sticky_shm_get_stats(nodes[0].shm, &ss);
        int n = 0;
        sticky_shm_each_session(nodes[0].shm, T0, count_session, &n);
        sched_yield();
    }
    sticky_store_free(st);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char path[256];
    shm_temp_path(path, sizeof(path));
    for (int i = 0; i < 2; i++) {
        node_start_ex(&nodes[i], path, 3, 1);
        for (int c = 0; c < 3; c++)
            nodes[i].h.ch[c].max_inflight = 2;
    }
    pthread_t t[2 * THREADS_PER_NODE], r;
    struct worker w[2 * THREADS_PER_NODE];
    assert_int_equal(pthread_create(&r, NULL, inspect, NULL), 0);
    for (int i = 0; i < 2 * THREADS_PER_NODE; i++) {
        w[i].node = i % 2;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, route, &w[i]), 0);
    }
    for (int i = 0; i < 2 * THREADS_PER_NODE; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop_reader, 1);
    pthread_join(r, NULL);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&violations), 0);

    /* One channel per conversation: the last turn's binding from either node. */
    char body[8192];
    for (int c = 0; c < CONVS; c++) {
        sticky_decision a, b;
        assert_int_equal(h_select(&nodes[0].h, NULL, conv_body(c, TURNS, body, sizeof(body)),
                                  NULL, 0, &a), STICKY_OK);
        assert_int_equal(h_select(&nodes[1].h, NULL, conv_body(c, TURNS, body, sizeof(body)),
                                  NULL, 0, &b), STICKY_OK);
        if (a.reason != STICKY_REASON_SPILL && b.reason != STICKY_REASON_SPILL)
            assert_string_equal(a.channel_id, b.channel_id);
        sticky_release(nodes[0].h.ctx, &a);
        sticky_release(nodes[1].h.ctx, &b);
    }
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    for (int c = 0; c < 3; c++) {
        char id[2] = {(char)('A' + c), 0};
        assert_int_equal(sticky_ctx_get_channel_health(nodes[0].h.ctx, id, &hh), STICKY_OK);
        assert_int_equal(hh.in_flight, 0);
    }
    for (int i = 0; i < 2; i++)
        node_stop(&nodes[i]);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
