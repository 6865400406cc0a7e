/*
 * tests/bench/bench_select.c - sticky_select() benchmarks (JSON lines):
 *  - the sticky-hit path with a precomputed key (also with a tenant, whose
 *    digest is checked), from structured messages and from a raw 50 KB
 *    Claude-Code-shaped body, each against the store lookup alone (or key
 *    derivation) measured in the same process;
 *  - new sessions with 4 and 32 channels, against a store put;
 *  - the hit path on 1 and 2 threads (ratio = 2-thread / 1-thread throughput).
 * Each select is followed by sticky_release(), as a gateway would.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sticky/sticky.h>

#include "bench_util.h"
#include "synth_body.h"

#define N_SESSIONS 10000

struct sel_case {
    sticky_ctx *ctx;
    sticky_channel *ch;
    size_t n_ch;
    sticky_request req;
    sticky_key_chain chain;
    uint64_t next_key; /* for new sessions */
    int fresh_keys;
};

static void run_select(void *arg)
{
    struct sel_case *c = arg;
    if (c->fresh_keys)
        c->chain.keys[0] = ++c->next_key;
    sticky_decision d;
    sticky_decision_init(&d);
    if (sticky_select(c->ctx, &c->req, c->ch, c->n_ch, &d) != STICKY_OK)
        abort();
    sticky_release(c->ctx, &d);
}

struct get_case {
    sticky_store *st;
    uint64_t key;
};

static void run_get(void *arg)
{
    struct get_case *g = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    if (sticky_store_get(g->st, g->key, 0, &m) != STICKY_OK)
        abort();
}

struct put_case {
    sticky_store *st;
    uint64_t key;
};

static void run_put(void *arg)
{
    struct put_case *p = arg;
    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = ++p->key;
    strcpy(m.channel_id, "channel-07");
    if (sticky_store_put(p->st, &m, STICKY_STORE_IF_ABSENT, NULL) != STICKY_OK)
        abort();
}

struct derive_case {
    sticky_ctx *ctx;
    sticky_request req;
};

static void run_derive(void *arg)
{
    struct derive_case *c = arg;
    sticky_key_chain ch;
    sticky_key_chain_init(&ch);
    if (sticky_key_derive(c->ctx, &c->req, &ch) != STICKY_OK)
        abort();
}

static sticky_channel *make_channels(size_t n, char names[][16])
{
    sticky_channel *ch = calloc(n, sizeof(*ch));
    for (size_t i = 0; i < n; i++) {
        sticky_channel_init(&ch[i]);
        snprintf(names[i], 16, "channel-%02zu", i);
        ch[i].id = names[i];
    }
    return ch;
}

static sticky_ctx *make_ctx(sticky_store **store)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.max_sessions = 2000000;
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(&cfg, &ctx) != STICKY_OK ||
        sticky_memory_store_new(ctx, NULL, store) != STICKY_OK ||
        sticky_ctx_set_store(ctx, *store) != STICKY_OK)
        abort();
    return ctx;
}

struct thread_arg {
    struct sel_case c;
    long iters;
    pthread_barrier_t *bar;
    double ns;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    pthread_barrier_wait(a->bar);
    double t0 = bench_now_ns();
    for (long i = 0; i < a->iters; i++)
        run_select(&a->c);
    a->ns = bench_now_ns() - t0;
    return NULL;
}

/* Throughput (ops/s) of @n threads on the hit path, each on its own keys. */
static double hit_throughput(sticky_ctx *ctx, sticky_channel *ch, size_t n_ch, int n)
{
    struct thread_arg a[2];
    pthread_t t[2];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)n);
    long iters = 2000000;
    for (int i = 0; i < n; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].c.ctx = ctx;
        a[i].c.ch = ch;
        a[i].c.n_ch = n_ch;
        sticky_request_init(&a[i].c.req);
        sticky_key_chain_init(&a[i].c.chain);
        a[i].c.chain.source = STICKY_KEY_SOURCE_EXPLICIT;
        a[i].c.chain.n_keys = 1;
        a[i].c.chain.keys[0] = 1 + (uint64_t)i * 7;
        a[i].c.req.chain = &a[i].c.chain;
        run_select(&a[i].c); /* bind it */
        a[i].iters = iters;
        a[i].bar = &bar;
        pthread_create(&t[i], NULL, thread_main, &a[i]);
    }
    double ops = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ops += (double)iters / (a[i].ns / 1e9);
    }
    pthread_barrier_destroy(&bar);
    return ops;
}

int main(void)
{
    char names[32][16];
    sticky_channel *ch32 = make_channels(32, names);
    sticky_store *store;
    sticky_ctx *ctx = make_ctx(&store);
    char extra[128];

    /* Hit path, precomputed key, vs the store lookup alone. */
    struct sel_case hit = {.ctx = ctx, .ch = ch32, .n_ch = 4};
    sticky_request_init(&hit.req);
    sticky_key_chain_init(&hit.chain);
    hit.chain.source = STICKY_KEY_SOURCE_EXPLICIT;
    hit.chain.n_keys = 1;
    hit.chain.keys[0] = 42;
    hit.req.chain = &hit.chain;
    run_select(&hit);
    struct get_case g = {store, 42};
    double get_ns = bench_run(run_get, &g, 100);
    double hit_ns = bench_run(run_select, &hit, 100);
    bench_print("store_get_hit", get_ns, NULL, 0, NULL);
    bench_print("select_hit_precomputed_key_4ch", hit_ns, "store_get_hit", get_ns,
                "\"target_ns\": 300");

    /* The same with a tenant (an API-key-sized one): the tenant's digest
     * is computed and compared with the binding's (docs/selection.md,
     * "Tenants"). */
    struct sel_case ten = hit;
    ten.chain.keys[0] = 43;
    ten.req.chain = &ten.chain;
    ten.req.tenant = "sk-ant-api03-0123456789abcdefghijklmnopqrstuvwxyz";
    ten.req.tenant_len = strlen(ten.req.tenant);
    run_select(&ten);
    double ten_ns = bench_run(run_select, &ten, 100);
    bench_print("select_hit_precomputed_key_tenant_4ch", ten_ns, "select_hit_precomputed_key_4ch",
                hit_ns, NULL);

    /* Hit path from structured messages (3 x 40 chars). */
    static const char *texts[3] = {"Refactor the parser to avoid the copy...",
                                   "Sure, here is a version without a copy.",
                                   "Now add a test for the empty input case."};
    static const char *roles[3] = {"user", "assistant", "user"};
    sticky_part parts[3];
    sticky_message msgs[3];
    for (int i = 0; i < 3; i++) {
        memset(&parts[i], 0, sizeof(parts[i]));
        parts[i].type = STICKY_PART_TEXT;
        parts[i].text = texts[i];
        parts[i].text_len = strlen(texts[i]);
        msgs[i].role = roles[i];
        msgs[i].role_len = strlen(roles[i]);
        msgs[i].parts = &parts[i];
        msgs[i].n_parts = 1;
    }
    struct sel_case st = {.ctx = ctx, .ch = ch32, .n_ch = 4};
    sticky_request_init(&st.req);
    st.req.tenant = "tenant-1";
    st.req.tenant_len = 8;
    st.req.messages = msgs;
    st.req.n_messages = 3;
    run_select(&st);
    struct derive_case dc = {ctx, {0}};
    sticky_request_init(&dc.req);
    dc.req.tenant = "tenant-1";
    dc.req.tenant_len = 8;
    dc.req.messages = msgs;
    dc.req.n_messages = 3;
    double derive_ns = bench_run(run_derive, &dc, 100);
    double st_ns = bench_run(run_select, &st, 100);
    bench_print("key_derive_structured_3x40", derive_ns, NULL, 0, NULL);
    bench_print("select_hit_structured_3x40_4ch", st_ns, "key_derive_structured_3x40", derive_ns, NULL);

    /* Hit path from a raw 50 KB body. */
    size_t len = 0;
    char *body = synth_claude_code_body(50 * 1024, 12, NULL, &len, NULL);
    struct sel_case raw = {.ctx = ctx, .ch = ch32, .n_ch = 4};
    sticky_request_init(&raw.req);
    raw.req.tenant = "tenant-1";
    raw.req.tenant_len = 8;
    raw.req.body = body;
    raw.req.body_len = len;
    run_select(&raw);
    struct derive_case drc = {ctx, {0}};
    sticky_request_init(&drc.req);
    drc.req.tenant = "tenant-1";
    drc.req.tenant_len = 8;
    drc.req.body = body;
    drc.req.body_len = len;
    double dr_ns = bench_run(run_derive, &drc, 100);
    double raw_ns = bench_run(run_select, &raw, 100);
    snprintf(extra, sizeof(extra), "\"bytes\": %zu", len);
    bench_print("key_derive_raw_50k", dr_ns, NULL, 0, extra);
    bench_print("select_hit_raw_50k_4ch", raw_ns, "key_derive_raw_50k", dr_ns, extra);

    /* New sessions: 4 and 32 channels (LRU scans every channel). */
    struct put_case pc = {store, 1000000000ULL};
    double put_ns = bench_run(run_put, &pc, 100);
    bench_print("store_put_new", put_ns, NULL, 0, NULL);
    for (size_t n = 4; n <= 32; n *= 8) {
        struct sel_case nw = {.ctx = ctx, .ch = ch32, .n_ch = n, .fresh_keys = 1,
                              .next_key = 2000000000ULL * n};
        sticky_request_init(&nw.req);
        sticky_key_chain_init(&nw.chain);
        nw.chain.source = STICKY_KEY_SOURCE_CONTENT;
        nw.chain.n_keys = 1;
        nw.req.chain = &nw.chain;
        double ns = bench_run(run_select, &nw, 100);
        char name[64];
        snprintf(name, sizeof(name), "select_new_session_%zuch", n);
        bench_print(name, ns, "store_put_new", put_ns, NULL);
    }
    sticky_store_free(store);
    sticky_ctx_free(ctx);

    /* 1 vs 2 threads on the hit path (fresh context). */
    ctx = make_ctx(&store);
    double one = hit_throughput(ctx, ch32, 4, 1);
    double two = hit_throughput(ctx, ch32, 4, 2);
    bench_print("select_hit_1_thread", 1e9 / one, NULL, 0, NULL);
    snprintf(extra, sizeof(extra), "\"ops_per_s\": %.0f, \"target_ratio\": 1.8", two);
    bench_print("select_hit_2_threads", 1e9 / two, "select_hit_1_thread_throughput", 1e9 / one,
                extra);
    printf("{\"bench\": \"select_hit_2_threads_scaling\", \"ns_per_op\": %.1f, \"ratio_vs\": "
           "\"1_thread_throughput\", \"ratio\": %.3f}\n", 1e9 / two, two / one);
    sticky_store_free(store);
    sticky_ctx_free(ctx);
    free(body);
    free(ch32);
    return 0;
}
