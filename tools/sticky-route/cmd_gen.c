/*
 * tools/sticky-route/cmd_gen.c - `sticky-route gen`: writes a synthetic
 * JSON-lines trace shaped like Claude Code traffic (docs/replay.md):
 * interleaved conversations whose bodies carry a large shared system prompt
 * and tool definitions, grow by two messages per turn, move cache_control to
 * the newest message and change older messages between a string and a list
 * of parts as real clients do; a share of conversations carries a Claude
 * Code session id in metadata.user_id; optional injected 429 / 529 failures
 * and channel outages. Deterministic for a seed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

#define T0_MS 1750000000000LL
#define MAX_OUTAGES 16

struct gen_opts {
    unsigned conversations, turns, tenants, channels;
    uint64_t seed;
    double fail_rate, session_id_share;
    struct {
        char channel[8];
        long from_s, to_s;
    } outage[MAX_OUTAGES];
    int n_outages;
};

struct event {
    int64_t t;
    unsigned conv, turn; /* turn 0 = a channel event */
    int outage, up;
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

static void request(FILE *out, const struct gen_opts *o, const struct event *e)
{
    unsigned c = e->conv;
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
    if (unit(o, c, 3, 3) < o->session_id_share)
        fprintf(out, ",\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"d%u\\\",\\\"account_uuid"
                     "\\\":\\\"\\\",\\\"session_id\\\":\\\"%08x-0000-4000-8000-%012llx\\\"}\"}",
                c, c, (unsigned long long)pick(o, c, 4, 4, 1ULL << 40));
    fprintf(out, ",\"stream\":true}");
    if (o->fail_rate > 0 && unit(o, c, e->turn, 5) < o->fail_rate) {
        char ch = (char)('A' + pick(o, c, e->turn, 6, o->channels));
        int is_529 = pick(o, c, e->turn, 8, 10) == 0;
        if (is_529)
            fprintf(out, ",\"fail\":{\"%c\":{\"status\":529}}", ch);
        else
            fprintf(out, ",\"fail\":{\"%c\":{\"status\":429,\"reset\":%lld}}", ch,
                    (long long)(e->t / 1000 + 10 + (int64_t)pick(o, c, e->turn, 9, 110)));
    }
    fprintf(out, "}\n");
}

static int cmp_event(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->conv != y->conv)
        return x->conv < y->conv ? -1 : 1;
    return x->turn < y->turn ? -1 : x->turn > y->turn;
}

/* Outage times are seconds into the trace: at most ten years. */
#define MAX_OUTAGE_S (10L * 365 * 86400)

/* A decimal unsigned number in 0..@max (no sign, no wrap-around). */
static int parse_unsigned(const char *v, unsigned long max, unsigned *out, char **end)
{
    *end = NULL;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    unsigned long n = strtoul(v, end, 10);
    if (errno != 0 || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* "A@FROM-TO" with 0 <= FROM < TO <= MAX_OUTAGE_S. */
static int parse_outage(const char *v, char ch[8], long *from, long *to)
{
    const char *at = strchr(v, '@');
    if (at == NULL || at == v || at - v > 7)
        return -1;
    memcpy(ch, v, (size_t)(at - v));
    ch[at - v] = '\0';
    char *end;
    errno = 0;
    *from = strtol(at + 1, &end, 10);
    if (end == at + 1 || *end != '-' || errno != 0)
        return -1;
    const char *t = end + 1;
    *to = strtol(t, &end, 10);
    if (end == t || *end != '\0' || errno != 0)
        return -1;
    return *from >= 0 && *to > *from && *to <= MAX_OUTAGE_S ? 0 : -1;
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
        char *end = NULL;
        int bad = 0;
        if (v == NULL)
            return -1;
        if (strcmp(a, "--conversations") == 0)
            bad = parse_unsigned(v, 1000000, &o->conversations, &end);
        else if (strcmp(a, "--turns") == 0)
            bad = parse_unsigned(v, 100, &o->turns, &end);
        else if (strcmp(a, "--tenants") == 0)
            bad = parse_unsigned(v, 1000000, &o->tenants, &end);
        else if (strcmp(a, "--channels") == 0)
            bad = parse_unsigned(v, 26, &o->channels, &end);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--fail-rate") == 0)
            o->fail_rate = strtod(v, &end);
        else if (strcmp(a, "--session-id-share") == 0)
            o->session_id_share = strtod(v, &end);
        else if (strcmp(a, "--outage") == 0 && o->n_outages < MAX_OUTAGES) {
            long from, to;
            char ch[8];
            if (parse_outage(v, ch, &from, &to) != 0)
                return -1;
            strcpy(o->outage[o->n_outages].channel, ch);
            o->outage[o->n_outages].from_s = from;
            o->outage[o->n_outages].to_s = to;
            o->n_outages++;
            end = (char *)v + strlen(v);
        } else
            return -1;
        if (bad || end == NULL || *end != '\0')
            return -1;
    }
    if (o->conversations < 1 || o->conversations > 1000000 || o->turns < 1 || o->turns > 100 ||
        o->tenants < 1 || o->channels < 1 || o->channels > 26 || o->fail_rate < 0 ||
        o->fail_rate > 1 || o->session_id_share < 0 || o->session_id_share > 1)
        return -1;
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    struct gen_opts o;
    if (parse_opts(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: sticky-route gen [--conversations N] [--turns M] [--tenants T]\n"
                        "         [--channels K] [--seed S] [--fail-rate F] [--session-id-share F]\n"
                        "         [--outage A@FROM_S-TO_S]...\n");
        return EXIT_USAGE;
    }
    /* Conversations start over an hour; turns follow 20..140 s apart. */
    size_t n = (size_t)o.conversations * o.turns + 2 * (size_t)o.n_outages;
    struct event *ev = calloc(n, sizeof(*ev));
    if (ev == NULL)
        return EXIT_CONFIG;
    size_t k = 0;
    for (unsigned c = 0; c < o.conversations; c++) {
        int64_t t = T0_MS + (int64_t)pick(&o, c, 0, 0, 3600000);
        for (unsigned turn = 1; turn <= o.turns; turn++) {
            ev[k++] = (struct event){t, c, turn, 0, 0};
            t += 20000 + (int64_t)pick(&o, c, turn, 2, 120000);
        }
    }
    for (int i = 0; i < o.n_outages; i++) {
        ev[k++] = (struct event){T0_MS + o.outage[i].from_s * 1000, 0, 0, i, 0};
        ev[k++] = (struct event){T0_MS + o.outage[i].to_s * 1000, 0, 0, i, 1};
    }
    qsort(ev, k, sizeof(*ev), cmp_event);
    for (size_t i = 0; i < k; i++) {
        if (ev[i].turn == 0)
            printf("{\"t\":%lld,\"channel\":\"%s\",\"state\":\"%s\"}\n", (long long)ev[i].t,
                   o.outage[ev[i].outage].channel, ev[i].up ? "active" : "disabled");
        else
            request(stdout, &o, &ev[i]);
    }
    free(ev);
    return fflush(stdout) == 0 ? 0 : EXIT_CONFIG;
}
