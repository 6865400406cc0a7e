/*
 * tests/unit/test_select_incident.c - the incident timeline of issue 12, on
 * the DEFAULT settings and a fake clock: 4 channels (accounts) A-D, 70
 * Claude-Code-shaped sessions (explicit session ids), every turn a main
 * request (sonnet) and a side request (haiku) with the same session id.
 * C does not serve haiku. Upstream noise: 529 on 0.5% of requests (seeded).
 * B is inside a sonnet rate-limit window (429 with a reset time) from 60 s
 * to 120 s. A's key is revoked at 90 s (401 from then on). The first
 * request of every session on the channel it moved to fails (529).
 *
 * Asserted on every decision:
 *   - no request gets "no channel" (D is healthy throughout);
 *   - a session's binding changes at most once per incident (the
 *     revocation) and never back to a channel it left;
 *   - a main request on a channel other than the one that signed the
 *     session's thinking blocks (its last successful main turn) carries
 *     moved_from (side requests carry no thinking of the conversation);
 *   - side requests never change a binding (only trouble of the whole
 *     account moves a session, whichever request meets it first).
 * On 0.2 defaults (529 cooled 600 s, 401 30 min, moved_from on the moving
 * request only, side requests moving sessions) it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "select_test_util.h"

#define N_CH 4
#define N_SESS 70
#define STEPS 240           /* one step = 1 s */
#define SONNET "claude-sonnet-4-5"
#define HAIKU "claude-haiku-4-5"
#define WINDOW_FROM 60
#define WINDOW_TO 120
#define REVOKE_AT 90

struct sess {
    char id[32];
    char bound[STICKY_ID_SIZE];   /* the test's idea of the binding */
    char left[8];                 /* channels the session's binding left */
    char signer[STICKY_ID_SIZE];  /* channel of the last successful main turn */
    int moves;
    int turn;
    int fail_next_on_new;         /* the first request after a move fails */
};

static uint64_t rng = 0x1234abcd5678ef01ULL;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static const char *const models_c[] = {"claude-sonnet-*", "claude-opus-*"};

/* The upstream: what channel @c answers to @model at second @t. */
static int upstream(int c, const char *model, int t, int64_t *reset)
{
    *reset = STICKY_ABSENT;
    if (c == 0 && t >= REVOKE_AT)
        return 401;
    if (c == 1 && t >= WINDOW_FROM && t < WINDOW_TO && strcmp(model, SONNET) == 0) {
        *reset = T0 / 1000 + WINDOW_TO;
        return 429;
    }
    return rnd() < 0.005 ? 529 : 200;
}

static void binding_of(struct harness *h, const sticky_decision *d, char *out)
{
    sticky_mapping m;
    sticky_mapping_init(&m);
    if (sticky_store_get(h->store, d->key, STICKY_STORE_PEEK, &m) == STICKY_OK)
        strcpy(out, m.channel_id);
    else
        out[0] = '\0';
}

static int request(struct harness *h, struct sess *s, const char *model, int t, long *no_channel)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s turn %d\"}]}",
             model, s->id, s->turn);
    sticky_request r;
    sticky_request_init(&r);
    r.tenant = "relay";
    r.tenant_len = 5;
    r.model = model;
    r.model_len = strlen(model);
    r.session_id = s->id;
    r.session_id_len = strlen(s->id);
    r.body = body;
    r.body_len = strlen(body);
    sticky_decision d;
    sticky_decision_init(&d);
    int rc = sticky_select(h->ctx, &r, h->ch, h->n, &d);
    if (rc == STICKY_ENOCHANNEL) {
        (*no_channel)++;
        fail_msg("t=%ds %s %s: no channel while D is healthy", t, s->id, model);
    }
    assert_int_equal(rc, STICKY_OK);
    int side = strcmp(model, HAIKU) == 0;
    if (getenv("INCIDENT_TRACE"))
        print_message("t=%d %s %s -> %s %s from=%s\n", t, s->id, model, d.channel_id,
                      sticky_reason_name(d.reason), d.moved_from);
    char before[STICKY_ID_SIZE];
    strcpy(before, s->bound);
    char after[STICKY_ID_SIZE];
    binding_of(h, &d, after);

    /* Signatures: a main request (it carries the conversation's thinking
     * blocks; a side request does not) on another channel than the signer
     * names one. */
    if (!side && s->signer[0] != '\0' && strcmp(d.channel_id, s->signer) != 0 &&
        d.moved_from[0] == '\0')
        fail_msg("t=%ds %s %s on %s (%s) carries %s's signatures without moved_from", t,
                 s->id, model, d.channel_id, sticky_reason_name(d.reason), s->signer);

    if (before[0] == '\0') {
        strcpy(s->bound, after);
    } else if (strcmp(after, before) != 0) {
        if (side) {
            /* Only trouble of the whole account (here: the revoked key)
             * moves a session, whatever request finds it first. */
            sticky_channel_health hh;
            sticky_channel_health_init(&hh);
            assert_int_equal(sticky_ctx_get_channel_health(h->ctx, before, &hh), STICKY_OK);
            if (hh.state == STICKY_HEALTH_OK || hh.family != STICKY_MODEL_FAMILY_ALL)
                fail_msg("t=%ds %s: side request moved the binding %s -> %s", t, s->id,
                         before, after);
        }
        if (strchr(s->left, after[0]) != NULL)
            fail_msg("t=%ds %s: moved back to %s", t, s->id, after);
        s->moves++;
        if (s->moves > 1)
            fail_msg("t=%ds %s: moved twice (%s -> %s)", t, s->id, before, after);
        size_t n = strlen(s->left);
        s->left[n] = before[0];
        s->left[n + 1] = '\0';
        strcpy(s->bound, after);
        s->fail_next_on_new = 1;
    }

    int64_t reset;
    int status = upstream(d.channel_id[0] - 'A', model, t, &reset);
    if (!side && s->fail_next_on_new && strcmp(d.channel_id, s->bound) == 0 && status == 200) {
        status = 529; /* the move's first request fails */
        s->fail_next_on_new = 0;
    }
    h_report(h, &d, status, STICKY_ABSENT, reset);
    if (status == 200 && !side)
        strcpy(s->signer, d.channel_id);
    return status;
}

static void test_incident_timeline(void **state)
{
    (void)state;
    struct harness h;
    h_config(&h);
    h.cfg.log_level = STICKY_LOG_WARN;
    h_start(&h, N_CH);
    h.ch[2].models = models_c;
    h.ch[2].n_models = 2;
    static struct sess s[N_SESS];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < N_SESS; i++)
        snprintf(s[i].id, sizeof(s[i].id), "sess-%02d", i);
    long no_channel = 0, served = 0, failed = 0, sides = 0;
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N_SESS; i++) {
            if ((t + i) % 7 != 0) /* a turn every 7 s per session */
                continue;
            h.clk.now_ms = T0 + (int64_t)t * 1000 + i * 10; /* requests apart */
            s[i].turn++;
            int st = request(&h, &s[i], SONNET, t, &no_channel);
            st == 200 ? served++ : failed++;
            request(&h, &s[i], HAIKU, t, &no_channel);
            sides++;
        }
    }
    int moved = 0;
    for (int i = 0; i < N_SESS; i++) {
        moved += s[i].moves;
        if (getenv("INCIDENT_DEBUG"))
            print_message("%s bound %s left %s signer %s\n", s[i].id, s[i].bound, s[i].left,
                          s[i].signer);
    }
    /* The revoked account's sessions moved; nobody else had to. */
    assert_true(moved > 0);
    for (int i = 0; i < N_SESS; i++)
        assert_string_not_equal(s[i].bound, "A");
    assert_int_equal(no_channel, 0);
    sticky_channel_health hh;
    sticky_channel_health_init(&hh);
    assert_int_equal(sticky_ctx_get_channel_health(h.ctx, "A", &hh), STICKY_OK);
    assert_int_equal(hh.state, STICKY_HEALTH_AUTH);
    print_message("incident: %ld main turns served, %ld failed, %ld side requests, %d moves\n",
                  served, failed, sides, moved);
    h_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incident_timeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
