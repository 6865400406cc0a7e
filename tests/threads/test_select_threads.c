/*
 * tests/threads/test_select_threads.c - the selector under concurrency (run
 * under ThreadSanitizer in CI): many threads routing overlapping sessions
 * over shared channels while others report failures. Invariants: two
 * concurrent first requests of a session end on one channel; every hit of a
 * session goes to the channel the store binds it to at that moment; the
 * counters add up; in-flight counts return to zero; max_inflight holds
 * (never more attempts in flight on a channel than its cap, counted by
 * the test itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "test_helpers.h"

#include "select/select_internal.h"

#define N_THREADS 4
#define N_SESSIONS 64
#define ROUNDS 3000

static int64_t atomic_clock_read(void *user)
{
    return atomic_load((_Atomic int64_t *)user);
}

struct shared {
    sticky_ctx *ctx;
    sticky_channel ch[4];
    _Atomic int64_t now;
    pthread_barrier_t start;
    atomic_int failures;
    _Atomic uint64_t ok, no_channel;
};

struct worker {
    struct shared *sh;
    int id;
};

static void route(struct shared *sh, uint64_t key, int fail_status, int worker)
{
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    chain.source = STICKY_KEY_SOURCE_EXPLICIT;
    chain.n_keys = 1;
    chain.keys[0] = key;
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    r.model = "claude-sonnet-4-5";
    r.model_len = strlen(r.model);
    sticky_decision d;
    sticky_decision_init(&d);
    int rc = sticky_select(sh->ctx, &r, sh->ch, 4, &d);
    if (rc == STICKY_ENOCHANNEL) {
        atomic_fetch_add(&sh->no_channel, 1);
        return;
    }
    if (rc != STICKY_OK || d.channel_index < 0 || d.channel_index > 3 ||
        strcmp(d.channel_id, sh->ch[d.channel_index].id) != 0) {
        fprintf(stderr, "worker %d: bad decision rc=%d idx=%d\n", worker, rc, d.channel_index);
        atomic_fetch_add(&sh->failures, 1);
        return;
    }
    atomic_fetch_add(&sh->ok, 1);
    sticky_outcome o;
    sticky_outcome_init(&o);
    o.status = fail_status ? fail_status : 200;
    o.retry_after_seconds = 1;
    sticky_report(sh->ctx, &d, &o);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    pthread_barrier_wait(&sh->start);
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
    for (int i = 0; i < ROUNDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t key = 1 + x % N_SESSIONS;
        int fail = (x >> 20) % 50 == 0 ? 429 : 0;
        route(sh, key, fail, w->id);
        if (w->id == 0 && i % 100 == 0)
            atomic_fetch_add(&sh->now, 500); /* time moves; cooldowns end */
    }
    return NULL;
}

static void setup(struct shared *sh, int policy)
{
    memset(sh, 0, sizeof(*sh));
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.select_policy = policy;
    cfg.clock_fn = atomic_clock_read;
    cfg.clock_user = &sh->now;
    atomic_store(&sh->now, 1750000000000LL);
    assert_int_equal(sticky_ctx_new(&cfg, &sh->ctx), STICKY_OK);
    static const char *ids[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        sticky_channel_init(&sh->ch[i]);
        sh->ch[i].id = ids[i];
    }
    pthread_barrier_init(&sh->start, NULL, N_THREADS);
}

static void teardown(struct shared *sh)
{
    pthread_barrier_destroy(&sh->start);
    sticky_ctx_free(sh->ctx);
}

struct first {
    struct shared *sh;
    uint64_t key;
    char chosen[STICKY_ID_SIZE];
};

static void *first_request(void *arg)
{
    struct first *f = arg;
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    chain.source = STICKY_KEY_SOURCE_CONTENT;
    chain.n_keys = 1;
    chain.keys[0] = f->key;
    sticky_request r;
    sticky_request_init(&r);
    r.chain = &chain;
    sticky_decision d;
    sticky_decision_init(&d);
    pthread_barrier_wait(&f->sh->start);
    if (sticky_select(f->sh->ctx, &r, f->sh->ch, 4, &d) == STICKY_OK)
        strcpy(f->chosen, d.channel_id);
    sticky_release(f->sh->ctx, &d);
    return NULL;
}

/* Concurrent first requests of one new session agree on one channel, even
 * with the random policy (put-if-absent decides). */
static void test_first_requests_agree(void **state)
{
    (void)state;
    for (int round = 0; round < 50; round++) {
        struct shared sh;
        setup(&sh, STICKY_POLICY_RANDOM);
        struct first f[N_THREADS];
        pthread_t t[N_THREADS];
        for (int i = 0; i < N_THREADS; i++) {
            f[i].sh = &sh;
            f[i].key = 0xabc000 + (uint64_t)round;
            f[i].chosen[0] = '\0';
            assert_int_equal(pthread_create(&t[i], NULL, first_request, &f[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < N_THREADS; i++) {
            assert_true(f[i].chosen[0] != '\0');
            assert_string_equal(f[i].chosen, f[0].chosen);
        }
        teardown(&sh);
    }
}

/* Mixed traffic: selections, failures, time moving. Counters add up and
 * in-flight counts return to zero. */
static void test_mixed_traffic(void **state)
{
    (void)state;
    struct shared sh;
    setup(&sh, STICKY_POLICY_LRU);
    struct worker w[N_THREADS];
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&sh.failures), 0);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(sh.ctx, &s), STICKY_OK);
    assert_int_equal(s.requests, (uint64_t)N_THREADS * ROUNDS);
    assert_int_equal(s.requests, atomic_load(&sh.ok) + atomic_load(&sh.no_channel));
    assert_int_equal(s.hits + s.promoted_hits + s.new_sessions + s.failovers + s.spills +
                         s.migrations + s.no_channel,
                     s.requests);
    assert_int_equal(s.reports, atomic_load(&sh.ok));
    for (int i = 0; i < 4; i++) {
        struct channel_health *h = health_get(&sh.ctx->sel->health, sh.ch[i].id, fnv1a64(sh.ch[i].id));
        assert_int_equal(atomic_load(&h->in_flight), 0);
    }
    /* Every session is bound to one channel at the end. */
    sticky_store *st = atomic_load(&sh.ctx->sel->owned_store);
    assert_non_null(st);
    for (uint64_t k = 1; k <= N_SESSIONS; k++) {
        sticky_mapping m;
        sticky_mapping_init(&m);
        int rc = sticky_store_get(st, k, STICKY_STORE_PEEK, &m);
        assert_true(rc == STICKY_OK || rc == STICKY_ENOTFOUND);
    }
    teardown(&sh);
}

/* ---- max_inflight under threads (issue 11, item 3) ---------------------- */

#define CAP_THREADS 16
#define CAP_SERVED 60        /* attempts each thread gets served */
#define CAP_MAX_TRIES 400000 /* selects each thread may make */

struct cap_shared {
    sticky_ctx *ctx;
    sticky_channel ch[2];
    pthread_barrier_t start;
    _Atomic int concurrent[2];  /* attempts the test sees in flight */
    _Atomic int max_seen[2];
    _Atomic uint64_t served[2], refused, bad;
};

static void *cap_worker(void *arg)
{
    struct cap_shared *sh = ((void **)arg)[0];
    int id = *(int *)((void **)arg)[1];
    pthread_barrier_wait(&sh->start);
    /* Refused selects retry at once: whenever a slot frees, many threads
     * race for it, which is when a two-step check-then-increment fails. */
    int served = 0;
    for (int i = 0; i < CAP_MAX_TRIES && served < CAP_SERVED; i++) {
        /* Half keyed (a few sessions: hits, spills), half unkeyed. */
        sticky_key_chain chain;
        sticky_key_chain_init(&chain);
        chain.source = STICKY_KEY_SOURCE_CONTENT;
        chain.n_keys = (i + id) % 2;
        chain.keys[0] = 1 + (uint64_t)((i * 7 + id) % 5);
        sticky_request r;
        sticky_request_init(&r);
        r.chain = &chain;
        sticky_decision d;
        sticky_decision_init(&d);
        int rc = sticky_select(sh->ctx, &r, sh->ch, 2, &d);
        if (rc == STICKY_ENOCHANNEL) {
            atomic_fetch_add(&sh->refused, 1);
            continue;
        }
        if (rc != STICKY_OK || d.channel_index < 0 || d.channel_index > 1) {
            atomic_fetch_add(&sh->bad, 1);
            continue;
        }
        int c = d.channel_index;
        int now = atomic_fetch_add(&sh->concurrent[c], 1) + 1;
        int seen = atomic_load(&sh->max_seen[c]);
        while (now > seen && !atomic_compare_exchange_weak(&sh->max_seen[c], &seen, now))
            ;
        struct timespec hold = {0, 50 * 1000}; /* ~50 us upstream */
        nanosleep(&hold, NULL);
        atomic_fetch_sub(&sh->concurrent[c], 1); /* before the slot is freed */
        atomic_fetch_add(&sh->served[c], 1);
        served++;
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = 200;
        if (sticky_report(sh->ctx, &d, &o) != STICKY_OK)
            atomic_fetch_add(&sh->bad, 1);
    }
    return NULL;
}

/* Cap 1 on two channels, 16 threads doing select -> hold 50 us -> report:
 * never two attempts at once on a channel. 0.2.0 checked the cap and
 * incremented the count in two steps: 2-3 at once were seen. */
static void test_inflight_cap_holds(void **state)
{
    (void)state;
    for (int least_bad = 0; least_bad <= 1; least_bad++) {
        struct cap_shared sh;
        memset(&sh, 0, sizeof(sh));
        sticky_config cfg;
        sticky_config_init(&cfg);
        cfg.least_bad = least_bad;
        cfg.log_level = STICKY_LOG_ERROR;
        assert_int_equal(sticky_ctx_new(&cfg, &sh.ctx), STICKY_OK);
        static const char *ids[] = {"A", "B"};
        for (int i = 0; i < 2; i++) {
            sticky_channel_init(&sh.ch[i]);
            sh.ch[i].id = ids[i];
            sh.ch[i].max_inflight = 1;
        }
        pthread_barrier_init(&sh.start, NULL, CAP_THREADS);
        pthread_t t[CAP_THREADS];
        int tid[CAP_THREADS];
        void *args[CAP_THREADS][2];
        for (int i = 0; i < CAP_THREADS; i++) {
            tid[i] = i;
            args[i][0] = &sh;
            args[i][1] = &tid[i];
            assert_int_equal(pthread_create(&t[i], NULL, cap_worker, args[i]), 0);
        }
        for (int i = 0; i < CAP_THREADS; i++)
            pthread_join(t[i], NULL);
        print_message("least_bad %d: served A %llu, B %llu, refused %llu; max in flight A %d, "
                      "B %d\n", least_bad, (unsigned long long)atomic_load(&sh.served[0]),
                      (unsigned long long)atomic_load(&sh.served[1]),
                      (unsigned long long)atomic_load(&sh.refused),
                      atomic_load(&sh.max_seen[0]), atomic_load(&sh.max_seen[1]));
        assert_int_equal(atomic_load(&sh.bad), 0);
        assert_true(atomic_load(&sh.max_seen[0]) <= 1);
        assert_true(atomic_load(&sh.max_seen[1]) <= 1);
        assert_true(atomic_load(&sh.served[0]) > 0 && atomic_load(&sh.served[1]) > 0);
        for (int i = 0; i < 2; i++) {
            struct channel_health *h =
                health_find(&sh.ctx->sel->health, ids[i], fnv1a64(ids[i]));
            assert_int_equal(atomic_load(&h->in_flight), 0);
        }
        pthread_barrier_destroy(&sh.start);
        sticky_ctx_free(sh.ctx);
    }
}

/* ---- the health registry growing under readers -------------------------- */

#define GROW_IDS 700
#define GROW_THREADS 4

struct grow_shared {
    sticky_ctx *ctx;
    char ids[GROW_IDS][16];
    pthread_barrier_t start;
    _Atomic uint64_t bad;
};

struct grow_worker {
    struct grow_shared *sh;
    int id;
};

static void *grow_work(void *arg)
{
    struct grow_worker *w = arg;
    struct grow_shared *sh = w->sh;
    pthread_barrier_wait(&sh->start);
    uint64_t x = 0x2545f4914f6cdd1dULL * (uint64_t)(w->id + 1);
    for (int round = 0; round < 400; round++) {
        /* Eight ids: some known, some new (the table grows in place and
         * is copied while other threads look ids up). */
        sticky_channel ch[8];
        int picked[8];
        int n = 0;
        while (n < 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int k = (int)(x % (uint64_t)(round < 100 ? 100 + round * 6 : GROW_IDS));
            int dup = 0;
            for (int j = 0; j < n; j++)
                dup |= picked[j] == k;
            if (dup)
                continue;
            picked[n] = k;
            sticky_channel_init(&ch[n]);
            ch[n].id = sh->ids[k];
            ch[n].max_inflight = 2;
            n++;
        }
        sticky_key_chain chain;
        sticky_key_chain_init(&chain);
        chain.source = STICKY_KEY_SOURCE_CONTENT;
        chain.n_keys = 1;
        chain.keys[0] = x;
        sticky_request r;
        sticky_request_init(&r);
        r.chain = &chain;
        sticky_decision d;
        sticky_decision_init(&d);
        int rc = sticky_select(sh->ctx, &r, ch, 8, &d);
        if (rc != STICKY_OK) {
            atomic_fetch_add(&sh->bad, 1);
            continue;
        }
        sticky_outcome o;
        sticky_outcome_init(&o);
        o.status = (x >> 40) % 10 == 0 ? 500 : 200;
        if (sticky_report(sh->ctx, &d, &o) != STICKY_OK)
            atomic_fetch_add(&sh->bad, 1);
    }
    return NULL;
}

/* Threads route over lists drawn from 700 ids, most of them new at first:
 * inserts (in place and with table copies) race with lock-free lookups.
 * Every id ends with exactly one entry, found again afterwards. */
static void test_registry_growth(void **state)
{
    (void)state;
    struct grow_shared *sh = calloc(1, sizeof(*sh));
    assert_non_null(sh);
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.select_policy = STICKY_POLICY_RENDEZVOUS;
    cfg.log_level = STICKY_LOG_ERROR;
    assert_int_equal(sticky_ctx_new(&cfg, &sh->ctx), STICKY_OK);
    for (int i = 0; i < GROW_IDS; i++)
        snprintf(sh->ids[i], sizeof(sh->ids[i]), "acct-%d", i);
    pthread_barrier_init(&sh->start, NULL, GROW_THREADS);
    struct grow_worker w[GROW_THREADS];
    pthread_t t[GROW_THREADS];
    for (int i = 0; i < GROW_THREADS; i++) {
        w[i].sh = sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, grow_work, &w[i]), 0);
    }
    for (int i = 0; i < GROW_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&sh->bad), 0);
    struct health_registry *reg = &sh->ctx->sel->health;
    size_t found = 0;
    for (int i = 0; i < GROW_IDS; i++) {
        struct channel_health *h = health_find(reg, sh->ids[i], fnv1a64(sh->ids[i]));
        if (h == NULL)
            continue;
        found++;
        assert_string_equal(h->id, sh->ids[i]);
        assert_int_equal(atomic_load(&h->in_flight), 0);
        assert_ptr_equal(health_get(reg, sh->ids[i], fnv1a64(sh->ids[i])), h);
    }
    assert_int_equal(found, health_count(reg));
    assert_true(found > GROW_IDS / 2);
    pthread_barrier_destroy(&sh->start);
    sticky_ctx_free(sh->ctx);
    free(sh);
}

/* ---- issue 12: outcome classes, signature memory, health read/clear ---- */

struct inc_shared {
    sticky_ctx *ctx;
    sticky_channel ch[4];
    _Atomic int64_t now;
    pthread_barrier_t start;
    atomic_int stop;
    _Atomic uint64_t ok, no_channel, bad;
};

static const char *const inc_models_d[] = {"claude-sonnet-*"};

static void *inc_worker(void *arg)
{
    struct inc_shared *sh = arg;
    static _Atomic int next_id;
    int id = atomic_fetch_add(&next_id, 1);
    pthread_barrier_wait(&sh->start);
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 7);
    for (int i = 0; i < ROUNDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sticky_key_chain chain;
        sticky_key_chain_init(&chain);
        chain.source = STICKY_KEY_SOURCE_EXPLICIT;
        chain.n_keys = 1;
        chain.keys[0] = 1 + x % N_SESSIONS;
        sticky_request r;
        sticky_request_init(&r);
        r.chain = &chain;
        r.model = (x >> 8) % 3 == 0 ? "claude-haiku-4-5" : "claude-sonnet-4-5";
        r.model_len = strlen(r.model);
        sticky_decision d;
        sticky_decision_init(&d);
        int rc = sticky_select(sh->ctx, &r, sh->ch, 4, &d);
        if (rc == STICKY_ENOCHANNEL) {
            atomic_fetch_add(&sh->no_channel, 1);
            continue;
        }
        if (rc != STICKY_OK) {
            atomic_fetch_add(&sh->bad, 1);
            continue;
        }
        atomic_fetch_add(&sh->ok, 1);
        static const int statuses[] = {200, 200, 200, 200, 200, 200, 529, 500, 429, 401};
        sticky_outcome o;
        sticky_outcome_init(&o);
        int k = (int)((x >> 16) % 10);
        o.status = statuses[k];
        if (o.status == 401 && (x >> 30) % 20 != 0)
            o.status = 200; /* revocations are rare */
        if (o.status == 429)
            o.reset_epoch_seconds = atomic_load(&sh->now) / 1000 + 2;
        if (sticky_report(sh->ctx, &d, &o) != STICKY_OK)
            atomic_fetch_add(&sh->bad, 1);
        if (id == 0 && i % 100 == 0)
            atomic_fetch_add(&sh->now, 500);
    }
    return NULL;
}

/* An admin thread reading and clearing health while traffic runs. */
static void *inc_admin(void *arg)
{
    struct inc_shared *sh = arg;
    pthread_barrier_wait(&sh->start);
    static const char *ids[] = {"A", "B", "C", "D"};
    for (int i = 0; !atomic_load(&sh->stop); i++) {
        sticky_channel_health h;
        sticky_channel_health_init(&h);
        int rc = sticky_ctx_get_channel_health(sh->ctx, ids[i % 4], &h);
        if (rc != STICKY_OK && rc != STICKY_ENOTFOUND)
            atomic_fetch_add(&sh->bad, 1);
        if (rc == STICKY_OK && h.state == STICKY_HEALTH_AUTH)
            sticky_ctx_clear_channel_health(sh->ctx, ids[i % 4]);
    }
    return NULL;
}

static void test_incident_traffic(void **state)
{
    (void)state;
    struct inc_shared sh;
    memset(&sh, 0, sizeof(sh));
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = atomic_clock_read;
    cfg.clock_user = &sh.now;
    atomic_store(&sh.now, 1750000000000LL);
    assert_int_equal(sticky_ctx_new(&cfg, &sh.ctx), STICKY_OK);
    static const char *ids[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        sticky_channel_init(&sh.ch[i]);
        sh.ch[i].id = ids[i];
        sh.ch[i].max_inflight = i == 2 ? 2 : 0; /* C spills */
    }
    sh.ch[3].models = inc_models_d; /* D: haiku requests are side requests */
    sh.ch[3].n_models = 1;
    pthread_barrier_init(&sh.start, NULL, N_THREADS + 1);
    pthread_t t[N_THREADS], admin;
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, inc_worker, &sh), 0);
    assert_int_equal(pthread_create(&admin, NULL, inc_admin, &sh), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&sh.stop, 1);
    pthread_join(admin, NULL);
    assert_int_equal(atomic_load(&sh.bad), 0);
    sticky_ctx_stats s;
    sticky_ctx_stats_init(&s);
    assert_int_equal(sticky_ctx_get_stats(sh.ctx, &s), STICKY_OK);
    assert_int_equal(s.requests, atomic_load(&sh.ok) + atomic_load(&sh.no_channel));
    assert_int_equal(s.hits + s.promoted_hits + s.new_sessions + s.failovers + s.spills +
                         s.migrations + s.no_channel,
                     s.requests);
    for (int i = 0; i < 4; i++) {
        sticky_channel_health h;
        sticky_channel_health_init(&h);
        assert_int_equal(sticky_ctx_get_channel_health(sh.ctx, ids[i], &h), STICKY_OK);
        assert_int_equal(h.in_flight, 0);
    }
    pthread_barrier_destroy(&sh.start);
    sticky_ctx_free(sh.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_requests_agree),
        cmocka_unit_test(test_mixed_traffic),
        cmocka_unit_test(test_inflight_cap_holds),
        cmocka_unit_test(test_registry_growth),
        cmocka_unit_test(test_incident_traffic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
