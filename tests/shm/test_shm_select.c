/*
 * tests/shm/test_shm_select.c - routing through a shared segment from
 * several contexts ("workers": each has its own handle on the file, as a
 * forked or separately started worker would): a session placed by one is
 * a hit for the others, a 429 or a revocation reported to one applies to
 * all at once, an in-flight cap holds across them, and a scripted
 * incident timeline over many sessions served round-robin by three workers
 * (429 with a reset header, 529 noise, a revoked key, side requests on
 * another model, a failed move) loses no turn and never splits a session.
 * The multi-process suite (test_shm_procs.c) repeats the essentials with
 * real processes.
 */
#include "shm_test_util.h"

#define WORKERS 3

struct farm {
    char path[256];
    struct fake_clock clk; /* one clock for every worker */
    struct node w[WORKERS];
};

static int setup(void **state)
{
    struct farm *f = calloc(1, sizeof(*f));
    shm_temp_path(f->path, sizeof(f->path));
    f->clk.now_ms = T0;
    for (int i = 0; i < WORKERS; i++) {
        node_start(&f->w[i], f->path, 4);
        /* node_start made its own clock; all workers share one instead. */
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct farm *f = *state;
    for (int i = 0; i < WORKERS; i++)
        node_stop(&f->w[i]);
    unlink(f->path);
    free(f);
    return 0;
}

static void advance(struct farm *f, int64_t ms)
{
    for (int i = 0; i < WORKERS; i++)
        f->w[i].h.clk.now_ms += ms;
}

static sticky_decision turn_on(struct farm *f, int w, int conv, int turn, const char *model)
{
    char body[8192];
    sticky_decision d;
    int rc = h_select(&f->w[w].h, NULL, conv_body(conv, turn, body, sizeof(body)), model, 0, &d);
    if (rc != STICKY_OK)
        fail_msg("worker %d conv %d turn %d: %s", w, conv, turn, sticky_err_name(rc));
    return d;
}

static void ok(struct farm *f, int w, sticky_decision *d)
{
    h_report(&f->w[w].h, d, 200, STICKY_ABSENT, STICKY_ABSENT);
}

/* One worker places a session; the others hit it. */
static void test_session_shared(void **state)
{
    struct farm *f = *state;
    sticky_decision d = turn_on(f, 0, 1, 1, NULL);
    char placed[STICKY_ID_SIZE];
    strcpy(placed, d.channel_id);
    ok(f, 0, &d);
    for (int t = 2; t <= 6; t++) {
        d = turn_on(f, t % WORKERS, 1, t, NULL);
        assert_string_equal(d.channel_id, placed);
        assert_true(d.reason == STICKY_REASON_HIT || d.reason == STICKY_REASON_PROMOTED_HIT);
        ok(f, t % WORKERS, &d);
    }
}

/* A 429 with a reset time reported to worker 0 moves the session at
 * worker 1's next turn; a 401 reported to worker 1 keeps worker 2 off the
 * channel; the state reads the same from every worker. */
static void test_incidents_shared(void **state)
{
    struct farm *f = *state;
    sticky_decision d = turn_on(f, 0, 7, 1, NULL);
    char first[STICKY_ID_SIZE];
    strcpy(first, d.channel_id);
    int64_t reset = (f->w[0].h.clk.now_ms / 1000) + 300;
    h_report(&f->w[0].h, &d, 429, STICKY_ABSENT, reset);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    for (int w = 0; w < WORKERS; w++) {
        assert_int_equal(sticky_ctx_get_channel_health(f->w[w].h.ctx, first, &hh), STICKY_OK);
        assert_int_equal(hh.state, STICKY_HEALTH_RATE_LIMITED);
        assert_int_equal(hh.until_ms, reset * 1000);
    }
    d = turn_on(f, 1, 7, 2, NULL);
    assert_string_not_equal(d.channel_id, first);
    /* The 429 covers the body's model family: served elsewhere, per
     * request or by moving the session (docs/selection.md). */
    assert_true(d.reason == STICKY_REASON_FAILOVER || d.reason == STICKY_REASON_SIDE);
    char second[STICKY_ID_SIZE];
    strcpy(second, d.channel_id);
    h_report(&f->w[1].h, &d, 401, STICKY_ABSENT, STICKY_ABSENT);
    for (int c = 100; c < 140; c++) { /* new sessions avoid both */
        d = turn_on(f, 2, c, 1, NULL);
        assert_string_not_equal(d.channel_id, first);
        assert_string_not_equal(d.channel_id, second);
        ok(f, 2, &d);
    }
    assert_int_equal(sticky_ctx_clear_channel_health(f->w[2].h.ctx, second), STICKY_OK);
    assert_int_equal(sticky_ctx_get_channel_health(f->w[0].h.ctx, second, &hh), STICKY_OK);
    assert_int_equal(hh.state, STICKY_HEALTH_OK);
}

/* max_inflight 1 on every channel: what worker 0 holds open, workers 1
 * and 2 cannot take; released, it is free again for everyone. */
static void test_inflight_cap_shared(void **state)
{
    struct farm *f = *state;
    for (int w = 0; w < WORKERS; w++)
        for (size_t i = 0; i < 4; i++)
            f->w[w].h.ch[i].max_inflight = 1;
    sticky_decision held[4];
    for (int c = 0; c < 4; c++)
        held[c] = turn_on(f, c % 2, 200 + c, 1, NULL); /* one per channel */
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            assert_string_not_equal(held[a].channel_id, held[b].channel_id);
    sticky_decision d;
    char body[4096];
    assert_int_equal(h_select(&f->w[2].h, NULL, conv_body(300, 1, body, sizeof(body)), NULL, 0,
                              &d),
                     STICKY_ENOCHANNEL);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(sticky_ctx_get_channel_health(f->w[2].h.ctx, held[3].channel_id, &hh),
                     STICKY_OK);
    assert_int_equal(hh.in_flight, 1);
    ok(f, 1, &held[3]);
    d = turn_on(f, 2, 300, 1, NULL);
    assert_string_equal(d.channel_id, held[3].channel_id);
    ok(f, 2, &d);
    for (int c = 0; c < 3; c++)
        ok(f, c % 2, &held[c]);
}

/* Signature memory is shared: a session moved off a revoked channel by one
 * worker carries moved_from on every worker's decisions until a success
 * on its new channel, reported by any of them. */
static void test_moved_from_shared(void **state)
{
    struct farm *f = *state;
    sticky_decision d = turn_on(f, 0, 42, 1, NULL);
    char first[STICKY_ID_SIZE];
    strcpy(first, d.channel_id);
    ok(f, 0, &d);
    d = turn_on(f, 0, 42, 2, NULL);
    h_report(&f->w[0].h, &d, 401, STICKY_ABSENT, STICKY_ABSENT); /* key revoked */
    d = turn_on(f, 1, 42, 2, NULL);
    assert_int_equal(d.reason, STICKY_REASON_FAILOVER);
    assert_string_equal(d.moved_from, first);
    char second[STICKY_ID_SIZE];
    strcpy(second, d.channel_id);
    sticky_release(f->w[1].h.ctx, &d); /* no answer: no success yet */
    d = turn_on(f, 2, 42, 2, NULL);
    assert_string_equal(d.channel_id, second);
    assert_string_equal(d.moved_from, first); /* worker 2 knows of worker 1's move */
    ok(f, 2, &d);
    d = turn_on(f, 0, 42, 3, NULL);
    assert_string_equal(d.channel_id, second);
    assert_string_equal(d.moved_from, ""); /* the success is known to all */
    ok(f, 0, &d);
}

/* The timeline: 96 sessions x 9 turns, each turn served by the next
 * worker. Channel D never fails, so every turn must be served. A
 * session's binding changes only away from a channel with an incident. */
#define SESSIONS 96
#define TURNS 9
static void test_incident_timeline(void **state)
{
    struct farm *f = *state;
    char where[SESSIONS][STICKY_ID_SIZE];
    int moves[SESSIONS] = {0};
    int64_t a_until = INT64_MIN;
    int c_revoked = 0, failed_moves = 0, sides = 0;
    memset(where, 0, sizeof(where));
    for (int turn = 1; turn <= TURNS; turn++) {
        for (int s = 0; s < SESSIONS; s++) {
            int w = (s + turn) % WORKERS;
            sticky_decision d = turn_on(f, w, 1000 + s, turn, NULL);
            int64_t now = f->w[w].h.clk.now_ms;
            /* Never a channel every worker has been told is out. */
            if (now < a_until)
                assert_string_not_equal(d.channel_id, "A");
            if (c_revoked)
                assert_string_not_equal(d.channel_id, "C");
            if (d.reason == STICKY_REASON_SIDE) {
                /* Served elsewhere for this request; the binding stays. */
                if (where[s][0] != '\0' && strcmp(where[s], "A") != 0)
                    fail_msg("session %d: side decision off %s", s, where[s]);
            } else if (where[s][0] != '\0' && strcmp(where[s], d.channel_id) != 0) {
                /* Moved: only away from a channel that had an incident. */
                int left_a = strcmp(where[s], "A") == 0 && now < a_until;
                int left_c = strcmp(where[s], "C") == 0 && c_revoked;
                int left_failed = d.reason == STICKY_REASON_FAILOVER;
                if (!left_a && !left_c && !left_failed)
                    fail_msg("session %d split: %s -> %s (reason %s) without an incident", s,
                             where[s], d.channel_id, sticky_reason_name(d.reason));
                moves[s]++;
                strcpy(where[s], d.channel_id);
            } else {
                strcpy(where[s], d.channel_id);
            }

            if (turn == 2 && strcmp(d.channel_id, "A") == 0 && a_until == INT64_MIN) {
                /* 429 with the reset header, seen by this worker only. */
                char reset[32];
                int64_t r = now / 1000 + 600;
                snprintf(reset, sizeof(reset), "%lld", (long long)r);
                sticky_header hd = {"anthropic-ratelimit-unified-reset", 33, reset,
                                    strlen(reset)};
                sticky_outcome o;
                sticky_outcome_init(&o);
                o.status = 429;
                o.headers = &hd;
                o.n_headers = 1;
                assert_int_equal(sticky_report(f->w[w].h.ctx, &d, &o), STICKY_OK);
                a_until = r * 1000;
                continue;
            }
            if (turn == 3 && strcmp(d.channel_id, "B") == 0 && s % 5 == 0) {
                h_report(&f->w[w].h, &d, 529, STICKY_ABSENT, STICKY_ABSENT); /* noise */
                continue;
            }
            if (turn == 4 && strcmp(d.channel_id, "C") == 0 && !c_revoked) {
                h_report(&f->w[w].h, &d, 401, STICKY_ABSENT, STICKY_ABSENT);
                c_revoked = 1;
                continue;
            }
            if (turn >= 5 && (d.reason == STICKY_REASON_FAILOVER || d.reason == STICKY_REASON_SIDE) &&
                strcmp(d.channel_id, "B") == 0 && failed_moves < 1) {
                /* A failed move: the new channel (B) times out once; D
                 * stays healthy, so every turn must still be served. */
                sticky_outcome o;
                sticky_outcome_init(&o);
                o.kind = STICKY_OUTCOME_TIMEOUT;
                assert_int_equal(sticky_report(f->w[w].h.ctx, &d, &o), STICKY_OK);
                failed_moves++;
                continue;
            }
            ok(f, w, &d);
            if (turn % 3 == 0) { /* a side request on another model */
                sticky_decision sd = turn_on(f, (w + 1) % WORKERS, 1000 + s, turn, "claude-haiku-4-5");
                if (c_revoked)
                    assert_string_not_equal(sd.channel_id, "C");
                sides += sd.reason == STICKY_REASON_SIDE;
                ok(f, (w + 1) % WORKERS, &sd);
            }
        }
        advance(f, 10000);
    }
    for (int s = 0; s < SESSIONS; s++)
        assert_true(moves[s] <= 2);
    assert_true(a_until != INT64_MIN);
    assert_true(c_revoked);
    print_message("timeline: %d side decisions, %d failed moves\n", sides, failed_moves);
    /* The segment's store saw every session exactly once as an insert. */
    sticky_ctx_stats cs;
    sticky_ctx_stats_init(&cs);
    uint64_t requests = 0;
    for (int w = 0; w < WORKERS; w++) {
        assert_int_equal(sticky_ctx_get_stats(f->w[w].h.ctx, &cs), STICKY_OK);
        requests += cs.requests;
    }
    assert_true(requests >= SESSIONS * TURNS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_cap_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_from_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_timeline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
