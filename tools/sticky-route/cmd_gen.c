/*
 * tools/sticky-route/cmd_gen.c - `sticky-route gen`: writes a synthetic
 * JSON-lines trace shaped like Claude Code traffic (docs/replay.md):
 * interleaved conversations whose bodies carry a large shared system prompt
 * and tool definitions, grow by two messages per turn, move cache_control to
 * the newest message and change older messages between a string and a list
 * of parts as real clients do; a share of conversations carries a Claude
 * Code session id in metadata.user_id; optional injected 429 / 529 failures
 * and channel outages. Deterministic for a seed.
 *
 * Incidents (issue 12): 529 noise on a random channel (--529-rate), a
 * channel answering 401 from some time on (--revoke), haiku side requests
 * sharing the session id of their conversation (--side-requests), a move
 * whose first attempt fails once (--failed-moves: a "fail_on_move" entry
 * that replay applies to the first attempt of a line that moves its
 * session), and 429s carrying rate-limit headers (--ratelimit-headers).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"

#define T0_MS 1750000000000LL
#define MAX_OUTAGES 16
#define MAX_REVOKES 16
#define SIDE_MODEL "claude-haiku-4-5"

/* How a 429 says when it ends: "reset" only (the trace's numbers), numbers
 * and response headers, or headers only. */
enum rl_headers { RL_NONE, RL_BOTH, RL_ONLY };

struct gen_opts {
    unsigned conversations, turns, tenants, channels;
    uint64_t seed;
    double fail_rate, session_id_share, rate_529, side_share, failed_moves;
    int rl_headers; /* enum rl_headers */
    struct {
        char channel[8];
        long from_s, to_s;
    } outage[MAX_OUTAGES];
    int n_outages;
    struct {
        char channel[8];
        long from_s;
    } revoke[MAX_REVOKES];
    int n_revokes;
};

struct event {
    int64_t t;
    unsigned conv, turn; /* turn 0 = a channel event */
    int outage, up;
    int side; /* a haiku side request after turn @turn */
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A deterministic number in [0, n) for (seed, a, b, c). */
static uint64_t pick(const struct gen_opts *o, uint64_t a, uint64_t b, uint64_t c, uint64_t n)
{
    return mix(o->seed ^ mix(a ^ mix(b ^ mix(c)))) % (n ? n : 1);
}

static double unit(const struct gen_opts *o, uint64_t a, uint64_t b, uint64_t c)
{
    return (double)pick(o, a, b, c, 1000000) / 1000000.0;
}

static const char *const words[] = {
    "refactor", "the", "parser", "so", "it", "handles", "empty", "input", "and", "add",
    "tests", "for", "edge", "cases", "in", "src/json.c", "without", "copying", "buffers",
    "please", "check", "why", "build", "fails", "on", "CI", "with", "-Werror",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static void text(FILE *out, const struct gen_opts *o, uint64_t a, uint64_t b, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? " " : "", words[pick(o, a, b, (uint64_t)i, N_WORDS)]);
}

static void system_prompt(FILE *out)
{
    fprintf(out, "\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code, Anthropic's "
                 "official CLI for Claude.\"},{\"type\":\"text\",\"text\":\"");
    for (int i = 0; i < 120; i++)
        fprintf(out, "Rule %d: keep answers short, run the tests before claiming success, never "
                     "commit secrets. ", i);
    fprintf(out, "\",\"cache_control\":{\"type\":\"ephemeral\"}}]");
}

static void tools(FILE *out)
{
    fprintf(out, "\"tools\":[");
    for (int t = 0; t < 12; t++) {
        fprintf(out, "%s{\"name\":\"Tool%d\",\"description\":\"", t ? "," : "", t);
        for (int i = 0; i < 12; i++)
            fprintf(out, "Use this tool to do task %d carefully. ", i);
        fprintf(out, "\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":"
                     "\"string\"},\"limit\":{\"type\":\"integer\"}},\"required\":[\"path\"]}}");
    }
    fprintf(out, "]");
}

/* Message m (0-based) of conversation c, as seen at turn @turn. */
static void message(FILE *out, const struct gen_opts *o, unsigned c, int m, unsigned turn,
                    int newest)
{
    int user = m % 2 == 0;
    /* Older messages flip between a string and a list of parts per turn. */
    int as_parts = newest || pick(o, c, (uint64_t)m, 100 + turn, 2);
    fprintf(out, "{\"role\":\"%s\",\"content\":", user ? "user" : "assistant");
    if (!as_parts) {
        fprintf(out, "\"");
        text(out, o, c, (uint64_t)m, 12 + (int)pick(o, c, (uint64_t)m, 7, 30));
        fprintf(out, "\"}");
        return;
    }
    fprintf(out, "[");
    if (!user && pick(o, c, (uint64_t)m, 200 + turn, 2)) /* thinking kept or dropped */
        fprintf(out, "{\"type\":\"thinking\",\"thinking\":\"let me look\",\"signature\":\"EqQB%u\"},", c);
    fprintf(out, "{\"type\":\"text\",\"text\":\"");
    text(out, o, c, (uint64_t)m, 12 + (int)pick(o, c, (uint64_t)m, 7, 30));
    fprintf(out, "\"%s}]}", newest ? ",\"cache_control\":{\"type\":\"ephemeral\"}" : "");
}

/* Does conversation @c carry a Claude Code session id? */
static int has_session_id(const struct gen_opts *o, unsigned c)
{
    return unit(o, c, 3, 3) < o->session_id_share;
}

static void session_id(FILE *out, const struct gen_opts *o, unsigned c)
{
    fprintf(out, ",\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"d%u\\\",\\\"account_uuid"
                 "\\\":\\\"\\\",\\\"session_id\\\":\\\"%08x-0000-4000-8000-%012llx\\\"}\"}",
            c, c, (unsigned long long)pick(o, c, 4, 4, 1ULL << 40));
}

/* One injected failure of a line: which channel, how it answers. */
struct failure {
    char channel[8];
    int status;
    int64_t reset; /* 429: epoch seconds */
};

static void add_failure(struct failure *f, int *n, const char *channel, int status, int64_t reset)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp(f[i].channel, channel) == 0)
            return; /* the first entry for a channel wins */
    }
    snprintf(f[*n].channel, sizeof(f[*n].channel), "%s", channel);
    f[*n].status = status;
    f[*n].reset = reset;
    (*n)++;
}

/* The "fail" object of a request (none when nothing fails). Revocations
 * come first (a revoked key answers 401 whatever else happens), then
 * --fail-rate's 429 / 529, then --529-rate's noise. Side requests draw
 * their own numbers (salt). */
static void failures(FILE *out, const struct gen_opts *o, const struct event *e)
{
    struct failure f[MAX_REVOKES + 2];
    int n = 0;
    unsigned c = e->conv;
    uint64_t salt = e->side ? 1000 : 0;
    for (int i = 0; i < o->n_revokes; i++) {
        if (e->t >= T0_MS + o->revoke[i].from_s * 1000)
            add_failure(f, &n, o->revoke[i].channel, 401, 0);
    }
    if (o->fail_rate > 0 && unit(o, c, e->turn, 5 + salt) < o->fail_rate) {
        char ch[2] = {(char)('A' + pick(o, c, e->turn, 6 + salt, o->channels)), 0};
        if (pick(o, c, e->turn, 8 + salt, 10) == 0)
            add_failure(f, &n, ch, 529, 0);
        else
            add_failure(f, &n, ch, 429,
                        e->t / 1000 + 10 + (int64_t)pick(o, c, e->turn, 9 + salt, 110));
    }
    if (o->rate_529 > 0 && unit(o, c, e->turn, 30 + salt) < o->rate_529) {
        char ch[2] = {(char)('A' + pick(o, c, e->turn, 31 + salt, o->channels)), 0};
        add_failure(f, &n, ch, 529, 0);
    }
    if (n == 0)
        return;
    fprintf(out, ",\"fail\":{");
    for (int i = 0; i < n; i++) {
        fputs(i ? "," : "", out);
        json_print_string(out, f[i].channel);
        fprintf(out, ":{\"status\":%d", f[i].status);
        if (f[i].status == 429 && o->rl_headers != RL_ONLY)
            fprintf(out, ",\"reset\":%lld", (long long)f[i].reset);
        if (f[i].status == 429 && o->rl_headers != RL_NONE)
            fprintf(out, ",\"headers\":{\"anthropic-ratelimit-unified-status\":\"rejected\","
                         "\"anthropic-ratelimit-unified-reset\":\"%lld\",\"retry-after\":\"%lld\"}",
                    (long long)f[i].reset, (long long)(f[i].reset - e->t / 1000));
        fputc('}', out);
    }
    fputc('}', out);
}

/* A short haiku request of conversation @c after turn @e->turn, with the
 * conversation's session id (Claude Code's topic / quota side requests). */
static void side_request(FILE *out, const struct gen_opts *o, const struct event *e)
{
    unsigned c = e->conv;
    fprintf(out, "{\"t\":%lld,\"tenant\":\"k%u\",\"model\":\"" SIDE_MODEL "\",\"body\":{",
            (long long)e->t, (unsigned)pick(o, c, 1, 1, o->tenants) + 1);
    fprintf(out, "\"model\":\"" SIDE_MODEL "\",\"max_tokens\":512,\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"Is this a new topic? ");
    text(out, o, c, 40 + e->turn, 6);
    fprintf(out, "\"}]");
    session_id(out, o, c);
    fprintf(out, ",\"stream\":false}");
    failures(out, o, e);
    fprintf(out, "}\n");
}

static void request(FILE *out, const struct gen_opts *o, const struct event *e)
{
    unsigned c = e->conv;
    if (e->side) {
        side_request(out, o, e);
        return;
    }
    fprintf(out, "{\"t\":%lld,\"tenant\":\"k%u\",\"model\":\"claude-sonnet-4-5\",\"body\":{",
            (long long)e->t, (unsigned)pick(o, c, 1, 1, o->tenants) + 1);
    fprintf(out, "\"model\":\"claude-sonnet-4-5\",\"max_tokens\":32000,\"messages\":[");
    int n = 2 * (int)e->turn - 1;
    for (int m = 0; m < n; m++) {
        if (m)
            fputc(',', out);
        message(out, o, c, m, e->turn, m == n - 1);
    }
    fprintf(out, "],");
    system_prompt(out);
    fputc(',', out);
    tools(out);
    if (has_session_id(o, c))
        session_id(out, o, c);
    fprintf(out, ",\"stream\":true}");
    failures(out, o, e);
    if (o->failed_moves > 0 && unit(o, c, e->turn, 50) < o->failed_moves)
        fprintf(out, ",\"fail_on_move\":{\"status\":529}");
    fprintf(out, "}\n");
}

static int cmp_event(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->conv != y->conv)
        return x->conv < y->conv ? -1 : 1;
    if (x->turn != y->turn)
        return x->turn < y->turn ? -1 : 1;
    return x->side - y->side;
}

/* Outage and revocation times are seconds into the trace: at most ten years. */
#define MAX_OUTAGE_S (10L * 365 * 86400)

/* A decimal unsigned number in 0..@max (no sign, no wrap-around). */
static int parse_unsigned(const char *v, unsigned long max, unsigned *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || n > max || *end != '\0')
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* A fraction in 0..1 ("0.005", "1", "5e-3"); no NaN, no trailing bytes. */
static int parse_fraction(const char *v, double *out)
{
    char *end;
    if ((*v < '0' || *v > '9') && *v != '.')
        return -1;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !(d >= 0 && d <= 1))
        return -1;
    *out = d;
    return 0;
}

/* A time in seconds, 0..MAX_OUTAGE_S, from @v up to *@end. */
static int parse_seconds(const char *v, long *out, char **end)
{
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    *out = strtol(v, end, 10);
    return errno == 0 && *out <= MAX_OUTAGE_S ? 0 : -1;
}

/* "A@..." -> the channel name A (1..7 bytes); returns what follows '@'. */
static const char *parse_channel(const char *v, char ch[8])
{
    const char *at = strchr(v, '@');
    if (at == NULL || at == v || at - v > 7)
        return NULL;
    memcpy(ch, v, (size_t)(at - v));
    ch[at - v] = '\0';
    return at + 1;
}

/* "A@FROM-TO" with 0 <= FROM < TO <= MAX_OUTAGE_S. */
static int parse_outage(const char *v, char ch[8], long *from, long *to)
{
    char *end;
    const char *t = parse_channel(v, ch);
    if (t == NULL || parse_seconds(t, from, &end) != 0 || *end != '-')
        return -1;
    if (parse_seconds(end + 1, to, &end) != 0 || *end != '\0')
        return -1;
    return *to > *from ? 0 : -1;
}

/* "C@FROM" with 0 <= FROM <= MAX_OUTAGE_S. */
static int parse_revoke(const char *v, char ch[8], long *from)
{
    char *end;
    const char *t = parse_channel(v, ch);
    if (t == NULL || parse_seconds(t, from, &end) != 0 || *end != '\0')
        return -1;
    return 0;
}

static int bad_value(const char *opt, const char *v, const char *want)
{
    fprintf(stderr, "sticky-route: gen: bad value for %s: '%s' (expected %s)\n", opt, v, want);
    return -1;
}

static int parse_opts(int argc, char **argv, struct gen_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->conversations = 100;
    o->turns = 5;
    o->tenants = 2;
    o->channels = 4;
    o->seed = 1;
    o->session_id_share = 0.3;
    /* Every option takes one value: step over both. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int known = 1;
        if (v == NULL) {
            fprintf(stderr, "sticky-route: gen: unknown or incomplete option '%s'\n", a);
            return -1;
        }
        if (strcmp(a, "--conversations") == 0) {
            if (parse_unsigned(v, 1000000, &o->conversations) != 0 || o->conversations < 1)
                return bad_value(a, v, "an integer in 1..1000000");
        } else if (strcmp(a, "--turns") == 0) {
            if (parse_unsigned(v, 100, &o->turns) != 0 || o->turns < 1)
                return bad_value(a, v, "an integer in 1..100");
        } else if (strcmp(a, "--tenants") == 0) {
            if (parse_unsigned(v, 1000000, &o->tenants) != 0 || o->tenants < 1)
                return bad_value(a, v, "an integer in 1..1000000");
        } else if (strcmp(a, "--channels") == 0) {
            if (parse_unsigned(v, 26, &o->channels) != 0 || o->channels < 1)
                return bad_value(a, v, "an integer in 1..26");
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (*v < '0' || *v > '9' || errno != 0 || *end != '\0')
                return bad_value(a, v, "an integer in 0..18446744073709551615");
        } else if (strcmp(a, "--fail-rate") == 0) {
            if (parse_fraction(v, &o->fail_rate) != 0)
                return bad_value(a, v, "a fraction in 0..1");
        } else if (strcmp(a, "--session-id-share") == 0) {
            if (parse_fraction(v, &o->session_id_share) != 0)
                return bad_value(a, v, "a fraction in 0..1");
        } else if (strcmp(a, "--529-rate") == 0) {
            if (parse_fraction(v, &o->rate_529) != 0)
                return bad_value(a, v, "a fraction in 0..1");
        } else if (strcmp(a, "--side-requests") == 0) {
            if (parse_fraction(v, &o->side_share) != 0)
                return bad_value(a, v, "a fraction in 0..1");
        } else if (strcmp(a, "--failed-moves") == 0) {
            if (parse_fraction(v, &o->failed_moves) != 0)
                return bad_value(a, v, "a fraction in 0..1");
        } else if (strcmp(a, "--ratelimit-headers") == 0) {
            o->rl_headers = strcmp(v, "none") == 0   ? RL_NONE
                            : strcmp(v, "both") == 0 ? RL_BOTH
                            : strcmp(v, "only") == 0 ? RL_ONLY
                                                     : -1;
            if (o->rl_headers < 0)
                return bad_value(a, v, "none, both or only");
        } else if (strcmp(a, "--outage") == 0) {
            if (o->n_outages == MAX_OUTAGES)
                return bad_value(a, v, "at most 16 outages");
            if (parse_outage(v, o->outage[o->n_outages].channel, &o->outage[o->n_outages].from_s,
                             &o->outage[o->n_outages].to_s) != 0)
                return bad_value(a, v, "CHANNEL@FROM-TO, seconds, FROM < TO <= 315360000");
            o->n_outages++;
        } else if (strcmp(a, "--revoke") == 0) {
            if (o->n_revokes == MAX_REVOKES)
                return bad_value(a, v, "at most 16 revocations");
            if (parse_revoke(v, o->revoke[o->n_revokes].channel,
                             &o->revoke[o->n_revokes].from_s) != 0)
                return bad_value(a, v, "CHANNEL@FROM, seconds, FROM <= 315360000");
            o->n_revokes++;
        } else {
            known = 0;
        }
        if (!known) {
            fprintf(stderr, "sticky-route: gen: unknown option '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    struct gen_opts o;
    if (parse_opts(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: sticky-route gen [--conversations N] [--turns M] [--tenants T]\n"
                        "         [--channels K] [--seed S] [--fail-rate F] [--session-id-share F]\n"
                        "         [--outage A@FROM_S-TO_S]... [--529-rate F] [--revoke C@FROM_S]...\n"
                        "         [--side-requests F] [--failed-moves F]\n"
                        "         [--ratelimit-headers none|both|only]\n");
        return EXIT_USAGE;
    }
    /* Conversations start over an hour; turns follow 20..140 s apart; a side
     * request follows its turn by 1..6 s. */
    size_t n = 2 * (size_t)o.conversations * o.turns + 2 * (size_t)o.n_outages;
    struct event *ev = calloc(n, sizeof(*ev));
    if (ev == NULL)
        return EXIT_CONFIG;
    size_t k = 0;
    for (unsigned c = 0; c < o.conversations; c++) {
        int64_t t = T0_MS + (int64_t)pick(&o, c, 0, 0, 3600000);
        int sides = o.side_share > 0 && has_session_id(&o, c);
        for (unsigned turn = 1; turn <= o.turns; turn++) {
            ev[k++] = (struct event){t, c, turn, 0, 0, 0};
            if (sides && unit(&o, c, turn, 21) < o.side_share)
                ev[k++] = (struct event){t + 1000 + (int64_t)pick(&o, c, turn, 22, 5000), c, turn,
                                         0, 0, 1};
            t += 20000 + (int64_t)pick(&o, c, turn, 2, 120000);
        }
    }
    for (int i = 0; i < o.n_outages; i++) {
        ev[k++] = (struct event){T0_MS + o.outage[i].from_s * 1000, 0, 0, i, 0, 0};
        ev[k++] = (struct event){T0_MS + o.outage[i].to_s * 1000, 0, 0, i, 1, 0};
    }
    qsort(ev, k, sizeof(*ev), cmp_event);
    for (size_t i = 0; i < k; i++) {
        if (ev[i].turn == 0) {
            printf("{\"t\":%lld,\"channel\":", (long long)ev[i].t);
            json_print_string(stdout, o.outage[ev[i].outage].channel);
            printf(",\"state\":\"%s\"}\n", ev[i].up ? "active" : "disabled");
        } else {
            request(stdout, &o, &ev[i]);
        }
    }
    free(ev);
    return fflush(stdout) == 0 ? 0 : EXIT_CONFIG;
}
