/*
 * tests/threads/test_store_threads.c - the `threads` suite for storage
 * (run under ThreadSanitizer in CI): several threads doing mixed operations
 * on overlapping keys against the memory store and against a backend the
 * core must serialise; checks that the size never exceeds the cap, that a
 * found record is always consistent, that counters add up, that a clock
 * jumping across the packable window (and to the ends of int64) while
 * threads work keeps all of that, and that concurrent put-if-absent calls
 * agree on one channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "test_helpers.h"

#include "store/memory_store.h"
#ifdef HAVE_ARRAY_STORE
#include "array_store.h"
#endif

#define N_THREADS 4
#define N_KEYS 200
#define CAP 64
#define OPS 20000

/* A clock threads can read while thread 0 moves it forward. */
static int64_t atomic_clock_read(void *user)
{
    return atomic_load((_Atomic int64_t *)user);
}

struct shared {
    sticky_store *st;
    _Atomic int64_t now;
    uint32_t cap;
    atomic_int failures; /* invariant violations seen by workers */
};

struct tally {
    uint64_t put_ok, absent_ok, absent_exist, hits, misses, deletes, touches;
};

struct worker {
    struct shared *sh;
    int id;
    struct tally t;
};

static void violation(struct shared *sh, const char *what, uint64_t key)
{
    fprintf(stderr, "invariant violated: %s (key %llu)\n", what,
            (unsigned long long)key);
    atomic_fetch_add(&sh->failures, 1);
}

/* A record found for @key must be one some thread wrote for that key. */
static void check_record(struct shared *sh, uint64_t key, const sticky_mapping *m,
                         int64_t before)
{
    char tenant[32], prefix[32];
    snprintf(tenant, sizeof(tenant), "t%llu", (unsigned long long)key);
    snprintf(prefix, sizeof(prefix), "c%u-", (unsigned)(key % 7));
    if (m->key != key)
        violation(sh, "key", key);
    if (strcmp(m->tenant_id, tenant) != 0)
        violation(sh, "tenant", key);
    if (strncmp(m->channel_id, prefix, strlen(prefix)) != 0 ||
        m->channel_id[strlen(prefix)] < '0' ||
        m->channel_id[strlen(prefix)] >= '0' + N_THREADS ||
        m->channel_id[strlen(prefix) + 1] != '\0')
        violation(sh, "channel", key);
    if (m->request_count < 1 || m->created_ms > m->last_access_ms ||
        m->expires_ms <= before || m->last_access_ms > atomic_load(&sh->now))
        violation(sh, "times/count", key);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->id + 1);
    sticky_mapping m, out;
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t key = x % N_KEYS;
        if (w->id == 0)
            atomic_fetch_add(&sh->now, (int64_t)(x >> 50) % 200);
        int64_t before = atomic_load(&sh->now);
        sticky_mapping_init(&m);
        sticky_mapping_init(&out);
        m.key = key;
        snprintf(m.channel_id, sizeof(m.channel_id), "c%u-%d", (unsigned)(key % 7), w->id);
        snprintf(m.tenant_id, sizeof(m.tenant_id), "t%llu", (unsigned long long)key);
        int rc;
        switch ((x >> 24) % 8) {
        case 0:
            rc = sticky_store_put(sh->st, &m, 0, NULL);
            if (rc == STICKY_OK)
                w->t.put_ok++;
            else
                violation(sh, "put", key);
            break;
        case 1:
            rc = sticky_store_put(sh->st, &m, STICKY_STORE_IF_ABSENT, &out);
            if (rc == STICKY_OK) {
                w->t.absent_ok++;
            } else if (rc == STICKY_EEXIST) {
                w->t.absent_exist++;
                check_record(sh, key, &out, before);
            } else {
                violation(sh, "put-if-absent", key);
            }
            break;
        case 2:
        case 3:
            rc = sticky_store_get(sh->st, key, 0, &out);
            if (rc == STICKY_OK) {
                w->t.hits++;
                check_record(sh, key, &out, before);
            } else if (rc == STICKY_ENOTFOUND) {
                w->t.misses++;
            } else {
                violation(sh, "get", key);
            }
            break;
        case 4:
            rc = sticky_store_get(sh->st, key, STICKY_STORE_PEEK, &out);
            if (rc == STICKY_OK)
                check_record(sh, key, &out, before);
            break;
        case 5:
            rc = sticky_store_touch(sh->st, key, &out);
            if (rc == STICKY_OK) {
                w->t.touches++;
                check_record(sh, key, &out, before);
            }
            break;
        case 6:
            if (sticky_store_delete(sh->st, key) == STICKY_OK)
                w->t.deletes++;
            break;
        default: {
            sticky_store_stats s;
            sticky_store_stats_init(&s);
            sticky_store_sweep(sh->st, 4, NULL);
            if (sticky_store_get_stats(sh->st, &s) != STICKY_OK || s.entries > sh->cap)
                violation(sh, "size above the cap", s.entries);
            break;
        }
        }
    }
    return NULL;
}

static void run_mixed(sticky_store *st, struct shared *sh)
{
    struct worker w[N_THREADS];
    pthread_t th[N_THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < N_THREADS; i++) {
        w[i].sh = sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    struct tally sum = {0};
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        sum.put_ok += w[i].t.put_ok;
        sum.absent_ok += w[i].t.absent_ok;
        sum.absent_exist += w[i].t.absent_exist;
        sum.hits += w[i].t.hits;
        sum.misses += w[i].t.misses;
        sum.deletes += w[i].t.deletes;
        sum.touches += w[i].t.touches;
    }
    assert_int_equal(atomic_load(&sh->failures), 0);
    sticky_store_stats s;
    sticky_store_stats_init(&s);
    assert_int_equal(sticky_store_get_stats(st, &s), STICKY_OK);
    assert_true(s.entries <= sh->cap);
    assert_int_equal(s.inserts + s.updates, sum.put_ok + sum.absent_ok);
    assert_int_equal(s.hits, sum.hits);
    assert_int_equal(s.misses, sum.misses);
    assert_int_equal(s.deletes, sum.deletes);
    assert_true(s.renewals >= sum.touches);
    assert_int_equal(s.entries, s.inserts - s.expirations - s.evictions - s.deletes);
    assert_true(s.evictions > 0);   /* the cap was exercised */
    assert_true(s.expirations > 0); /* so was expiry */
    assert_true(sum.absent_exist > 0);
}

static sticky_ctx *make_ctx(struct shared *sh)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.clock_fn = atomic_clock_read;
    cfg.clock_user = &sh->now;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(&cfg, &ctx), STICKY_OK);
    return ctx;
}

static void test_memory_store_mixed(void **state)
{
    (void)state;
    static const struct {
        uint32_t shards;
        int mode;
    } variants[] = {
        {1, STICKY_RENEW_THRESHOLD},
        {16, STICKY_RENEW_THRESHOLD},
        {16, STICKY_RENEW_SLIDING},
    };
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        struct shared sh;
        memset(&sh, 0, sizeof(sh));
        atomic_init(&sh.now, 1767225600000LL);
        sh.cap = CAP;
        sticky_ctx *ctx = make_ctx(&sh);
        sticky_memory_store_options o;
        sticky_memory_store_options_init(&o);
        o.shard_count = variants[v].shards;
        o.renew_mode = variants[v].mode;
        o.max_sessions = CAP;
        o.ttl_seconds = 5;
        o.renew_threshold_seconds = 2;
        assert_int_equal(sticky_memory_store_new(ctx, &o, &sh.st), STICKY_OK);
        run_mixed(sh.st, &sh);
        assert_int_equal(memory_store_check(sh.st, NULL), STICKY_OK);
        sticky_store_free(sh.st);
        sticky_ctx_free(ctx);
    }
}

/* A clock that jumps (to 0, 30 years on and back, the ends of int64)
 * while threads work: shards re-base under their own locks; records stay
 * consistent, the cap holds, the structures check out afterwards. */
static const int64_t jump_to[] = {
    1767225600000LL,
    0,
    1767225600000LL + 30LL * 365 * 24 * 3600 * 1000,
    1767225600000LL - 30LL * 365 * 24 * 3600 * 1000,
    INT64_MAX - 3000,
    INT64_MIN + 1,
    INT64_MAX,
    1767225600000LL - 24LL * 3600 * 1000,
};

static void *work_jumping(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->id + 1);
    sticky_mapping m, out;
    for (int i = 0; i < OPS / 2; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t key = x % N_KEYS;
        if (w->id == 0) {
            if (i % 700 == 0) {
                atomic_store(&sh->now, jump_to[(i / 700) % (sizeof(jump_to) /
                                                             sizeof(jump_to[0]))]);
            } else {
                int64_t now = atomic_load(&sh->now), step = (int64_t)(x >> 50) % 200;
                atomic_store(&sh->now, now > INT64_MAX - step ? INT64_MAX : now + step);
            }
        }
        sticky_mapping_init(&m);
        sticky_mapping_init(&out);
        m.key = key;
        snprintf(m.channel_id, sizeof(m.channel_id), "c%u-%d", (unsigned)(key % 7), w->id);
        snprintf(m.tenant_id, sizeof(m.tenant_id), "t%llu", (unsigned long long)key);
        int rc, filled = 0; /* out holds a record */
        switch ((x >> 24) % 6) {
        case 0:
            if (sticky_store_put(sh->st, &m, 0, NULL) != STICKY_OK)
                violation(sh, "put", key);
            break;
        case 1:
            rc = sticky_store_put(sh->st, &m, STICKY_STORE_IF_ABSENT, &out);
            if (rc != STICKY_OK && rc != STICKY_EEXIST)
                violation(sh, "put-if-absent", key);
            filled = rc == STICKY_EEXIST;
            break;
        case 2:
            rc = sticky_store_get(sh->st, key, (x >> 40) & 1 ? STICKY_STORE_PEEK : 0, &out);
            filled = rc == STICKY_OK;
            break;
        case 3:
            rc = sticky_store_touch(sh->st, key, &out);
            filled = rc == STICKY_OK;
            break;
        case 4:
            sticky_store_delete(sh->st, key);
            break;
        default: {
            sticky_store_stats s;
            sticky_store_stats_init(&s);
            sticky_store_sweep(sh->st, 4, NULL);
            if (sticky_store_get_stats(sh->st, &s) != STICKY_OK || s.entries > sh->cap)
                violation(sh, "size above the cap", s.entries);
            break;
        }
        }
        if (filled) {
            char tenant[32];
            snprintf(tenant, sizeof(tenant), "t%llu", (unsigned long long)key);
            if (out.key != key || strcmp(out.tenant_id, tenant) != 0 ||
                out.request_count < 1 || out.created_ms > out.last_access_ms)
                violation(sh, "record", key);
        }
    }
    return NULL;
}

static void test_memory_store_jumping_clock(void **state)
{
    (void)state;
    for (uint32_t shards = 1; shards <= 16; shards *= 16) {
        struct shared sh;
        memset(&sh, 0, sizeof(sh));
        atomic_init(&sh.now, 1767225600000LL);
        sh.cap = CAP;
        sticky_ctx *ctx = make_ctx(&sh);
        sticky_memory_store_options o;
        sticky_memory_store_options_init(&o);
        o.shard_count = shards;
        o.max_sessions = CAP;
        o.ttl_seconds = 5;
        o.renew_threshold_seconds = 2;
        assert_int_equal(sticky_memory_store_new(ctx, &o, &sh.st), STICKY_OK);
        struct worker w[N_THREADS];
        pthread_t th[N_THREADS];
        memset(w, 0, sizeof(w));
        for (int i = 0; i < N_THREADS; i++) {
            w[i].sh = &sh;
            w[i].id = i;
            assert_int_equal(pthread_create(&th[i], NULL, work_jumping, &w[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&sh.failures), 0);
        sticky_store_stats s;
        sticky_store_stats_init(&s);
        assert_int_equal(sticky_store_get_stats(sh.st, &s), STICKY_OK);
        assert_true(s.entries <= CAP);
        assert_int_equal(s.entries, s.inserts - s.expirations - s.evictions - s.deletes);
        assert_true(s.expirations > 0);
        assert_int_equal(memory_store_check(sh.st, NULL), STICKY_OK);
        sticky_store_free(sh.st);
        sticky_ctx_free(ctx);
    }
}

#ifdef HAVE_ARRAY_STORE
/* A backend without the thread-safe flag: the core serialises it (TSan
 * would report the array's unsynchronised slots otherwise). */
static void test_serialised_backend_mixed(void **state)
{
    (void)state;
    struct shared sh;
    memset(&sh, 0, sizeof(sh));
    atomic_init(&sh.now, 1767225600000LL);
    sh.cap = CAP;
    sticky_ctx *ctx = make_ctx(&sh);
    struct array_store_config cfg = {CAP, 5, 2, STICKY_RENEW_THRESHOLD};
    assert_int_equal(array_store_new(ctx, &cfg, &sh.st), STICKY_OK);
    run_mixed(sh.st, &sh);
    sticky_store_free(sh.st);
    sticky_ctx_free(ctx);
}
#endif

/* Concurrent first requests of one session agree on one channel. */
struct race {
    sticky_store *st;
    pthread_barrier_t *barrier;
    int id;
    uint64_t key;
    int rc;
    char channel[STICKY_ID_SIZE];
};

static void *race_put(void *arg)
{
    struct race *r = arg;
    sticky_mapping m, existing;
    sticky_mapping_init(&m);
    sticky_mapping_init(&existing);
    m.key = r->key;
    snprintf(m.channel_id, sizeof(m.channel_id), "chan-%d", r->id);
    pthread_barrier_wait(r->barrier);
    r->rc = sticky_store_put(r->st, &m, STICKY_STORE_IF_ABSENT, &existing);
    strcpy(r->channel, r->rc == STICKY_OK ? m.channel_id : existing.channel_id);
    return NULL;
}

static void test_put_if_absent_agrees(void **state)
{
    (void)state;
    sticky_ctx *ctx;
    assert_int_equal(sticky_ctx_new(NULL, &ctx), STICKY_OK);
    sticky_store *st;
    assert_int_equal(sticky_memory_store_new(ctx, NULL, &st), STICKY_OK);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, N_THREADS);
    for (uint64_t key = 1; key <= 200; key++) {
        struct race r[N_THREADS];
        pthread_t th[N_THREADS];
        for (int i = 0; i < N_THREADS; i++) {
            r[i] = (struct race){st, &barrier, i, key, 0, {0}};
            assert_int_equal(pthread_create(&th[i], NULL, race_put, &r[i]), 0);
        }
        int winners = 0;
        for (int i = 0; i < N_THREADS; i++) {
            pthread_join(th[i], NULL);
            winners += r[i].rc == STICKY_OK;
            if (r[i].rc != STICKY_OK)
                assert_int_equal(r[i].rc, STICKY_EEXIST);
            assert_string_equal(r[i].channel, r[0].channel);
        }
        assert_int_equal(winners, 1);
    }
    pthread_barrier_destroy(&barrier);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_store_mixed),
        cmocka_unit_test(test_memory_store_jumping_clock),
#ifdef HAVE_ARRAY_STORE
        cmocka_unit_test(test_serialised_backend_mixed),
#endif
        cmocka_unit_test(test_put_if_absent_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
