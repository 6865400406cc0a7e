/*
 * tests/bench/bench_key.c - session-key benchmarks (DESIGN.md section 6),
 * each compared with a baseline measured in the same process:
 *  - structured messages vs raw SHA-256 of the very same canonical bytes
 *    (short 3 x 40 chars, long 3 x 4 KB); the bench checks the bytes match;
 *  - a 50 KB Claude-Code-shaped raw body vs a full cJSON parse of it, and
 *    vs the physical limit (one memchr pass + SHA-256 of the hashed bytes);
 *  - the same body carrying an explicit session id;
 *  - a ~33 MB body whose tool_use input is 58 nested objects around one
 *    big string, members unsorted ({"b":{...},"a":1}) vs sorted: the
 *    ratio stays near 1 when canonicalisation is linear (it was ~9x, and
 *    grows with depth, when every level re-sorted the bytes beneath it).
 */
/* The fastest raw SHA-256 OpenSSL offers is its low-level one-shot; use it
 * as the baseline (EVP_Digest is reported too). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <sticky/sticky.h>

#include "bench_util.h"
#include "synth_body.h"

#ifdef HAVE_CJSON
#include <cjson/cJSON.h>
#endif

struct ctx_case {
    sticky_ctx *ctx;
    sticky_request req;
    sticky_key_chain chain;
};

static void run_derive(void *arg)
{
    struct ctx_case *c = arg;
    if (sticky_key_derive(c->ctx, &c->req, &c->chain) != STICKY_OK)
        abort();
}

struct sha_case {
    const unsigned char *data;
    size_t len;
    unsigned char out[32];
};

static void run_sha(void *arg)
{
    struct sha_case *c = arg;
    SHA256(c->data, c->len, c->out);
}

static void run_sha_evp(void *arg)
{
    struct sha_case *c = arg;
    unsigned int n;
    EVP_Digest(c->data, c->len, c->out, &n, EVP_sha256(), NULL);
}

struct limit_case {
    const char *body;
    size_t len;
    struct sha_case sha;
    const void *hit;
};

static void run_limit(void *arg)
{
    struct limit_case *c = arg;
    c->hit = memchr(c->body, 0x01, c->len); /* one pass, never found */
    run_sha(&c->sha);
}

#ifdef HAVE_CJSON
struct cjson_case {
    const char *body;
    size_t len;
};

static void run_cjson(void *arg)
{
    struct cjson_case *c = arg;
    cJSON *j = cJSON_ParseWithLength(c->body, c->len);
    if (j == NULL)
        abort();
    cJSON_Delete(j);
}
#endif

static size_t put_str(unsigned char *o, const char *s, size_t n)
{
    o[0] = (unsigned char)(n >> 24);
    o[1] = (unsigned char)(n >> 16);
    o[2] = (unsigned char)(n >> 8);
    o[3] = (unsigned char)n;
    memcpy(o + 4, s, n);
    return 4 + n;
}

/* Structured 3-message conversation vs SHA-256 of its canonical bytes. */
static void bench_structured(sticky_ctx *ctx, const char *name, size_t text_len)
{
    char *texts[3];
    sticky_part parts[3];
    sticky_message msgs[3];
    static const char *roles[3] = {"user", "assistant", "user"};
    for (int i = 0; i < 3; i++) {
        texts[i] = malloc(text_len);
        for (size_t j = 0; j < text_len; j++)
            texts[i][j] = (char)('a' + (j * 7 + (size_t)i) % 26);
        memset(&parts[i], 0, sizeof(parts[i]));
        parts[i].type = STICKY_PART_TEXT;
        parts[i].text = texts[i];
        parts[i].text_len = text_len;
        msgs[i].role = roles[i];
        msgs[i].role_len = strlen(roles[i]);
        msgs[i].parts = &parts[i];
        msgs[i].n_parts = 1;
    }
    struct ctx_case c = {.ctx = ctx};
    sticky_request_init(&c.req);
    c.req.tenant = "tenant-1";
    c.req.tenant_len = 8;
    c.req.messages = msgs;
    c.req.n_messages = 3;
    sticky_key_chain_init(&c.chain);

    /* The canonical bytes, written out per docs/session-key.md. */
    unsigned char *canon = malloc(64 + 3 * (text_len + 32));
    size_t n = 0;
    memcpy(canon, "sticky-key/1", 13); /* with the NUL */
    n = 13;
    canon[n++] = 'K';
    n += put_str(canon + n, "tenant-1", 8);
    for (int i = 0; i < 3; i++) {
        canon[n++] = 'M';
        n += put_str(canon + n, roles[i], strlen(roles[i]));
        canon[n++] = 'T';
        n += put_str(canon + n, texts[i], text_len);
        canon[n++] = '.';
    }
    struct sha_case sc = {canon, n, {0}};
    run_derive(&c);
    run_sha(&sc);
    uint64_t k3 = 0;
    for (int i = 0; i < 8; i++)
        k3 = (k3 << 8) | sc.out[i];
    if (c.chain.n_keys != 3 || c.chain.keys[2] != k3) {
        fprintf(stderr, "bench_key: canonical bytes do not match K3\n");
        exit(1);
    }
    double base = bench_run(run_sha, &sc, 40);
    double evp = bench_run(run_sha_evp, &sc, 40);
    double ours = bench_run(run_derive, &c, 40);
    char extra[96];
    snprintf(extra, sizeof(extra), "\"canonical_bytes\": %zu, \"budget_ns\": %.1f", n, base * 1.15 + 100);
    char bname[64];
    snprintf(bname, sizeof(bname), "sha256_raw_%s", name);
    bench_print(bname, base, NULL, 0, NULL);
    snprintf(bname, sizeof(bname), "sha256_evp_%s", name);
    bench_print(bname, evp, "sha256_raw", base, NULL);
    snprintf(bname, sizeof(bname), "key_structured_%s", name);
    bench_print(bname, ours, "sha256_raw_same_bytes", base, extra);
    free(canon);
    for (int i = 0; i < 3; i++)
        free(texts[i]);
}

static void bench_body(sticky_ctx *ctx, const char *name, const char *session_id)
{
    size_t len = 0, first3 = 0;
    char *body = synth_claude_code_body(50 * 1024, 12, session_id, &len, &first3);
    struct ctx_case c = {.ctx = ctx};
    sticky_request_init(&c.req);
    c.req.tenant = "tenant-1";
    c.req.tenant_len = 8;
    c.req.body = body;
    c.req.body_len = len;
    sticky_key_chain_init(&c.chain);
    run_derive(&c);
    double ours = bench_run(run_derive, &c, 60);
    char extra[160];
    snprintf(extra, sizeof(extra), "\"bytes\": %zu, \"mb_per_s\": %.0f, \"source\": \"%s\"", len,
             (double)len / ours * 1e3,
             c.chain.source == STICKY_KEY_SOURCE_EXPLICIT ? "explicit" : "content");

    unsigned char *hashed = malloc(first3 + 1);
    memset(hashed, 'x', first3);
    struct limit_case lc = {body, len, {hashed, session_id ? 64 : first3, {0}}, NULL};
    double limit = bench_run(run_limit, &lc, 60);
    char bname[64];
    snprintf(bname, sizeof(bname), "physical_limit_%s", name);
    bench_print(bname, limit, NULL, 0, NULL);
#ifdef HAVE_CJSON
    struct cjson_case cj = {body, len};
    double cjson = bench_run(run_cjson, &cj, 60);
    snprintf(bname, sizeof(bname), "cjson_parse_%s", name);
    bench_print(bname, cjson, NULL, 0, NULL);
    snprintf(bname, sizeof(bname), "key_from_json_%s", name);
    bench_print(bname, ours, "cjson_parse", cjson, extra);
#endif
    snprintf(bname, sizeof(bname), "key_from_json_%s", name);
    bench_print(bname, ours, "physical_limit", limit, extra);
    free(hashed);
    free(body);
}

/* 58 nested objects around a string, in a tool_use input; @sorted puts
 * each object's members in key order already. */
static char *nested_body(int depth, size_t str_len, int sorted, size_t *len)
{
    static const char head[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                               "[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Edit\",\"input\":";
    static const char tail[] = "}]}]}";
    char *s = malloc(sizeof(head) + sizeof(tail) + str_len + 2 + (size_t)depth * 16);
    if (s == NULL)
        abort();
    char *p = s + sprintf(s, "%s", head);
    for (int i = 0; i < depth; i++)
        p += sprintf(p, sorted ? "{\"a\":1,\"b\":" : "{\"b\":");
    *p++ = '"';
    memset(p, 'x', str_len);
    p += str_len;
    *p++ = '"';
    for (int i = 0; i < depth; i++)
        p += sprintf(p, sorted ? "}" : ",\"a\":1}");
    p += sprintf(p, "%s", tail);
    *len = (size_t)(p - s);
    return s;
}

static void bench_nested(sticky_ctx *ctx)
{
    struct ctx_case c[2];
    char *bodies[2];
    double ns[2];
    size_t len = 0;
    for (int sorted = 1; sorted >= 0; sorted--) {
        struct ctx_case *cc = &c[sorted];
        bodies[sorted] = nested_body(58, 33u * 1000u * 1000u, sorted, &len);
        cc->ctx = ctx;
        sticky_request_init(&cc->req);
        cc->req.tenant = "tenant-1";
        cc->req.tenant_len = 8;
        cc->req.body = bodies[sorted];
        cc->req.body_len = len;
        sticky_key_chain_init(&cc->chain);
        run_derive(cc);
        ns[sorted] = bench_run(run_derive, cc, 100);
    }
    if (c[0].chain.keys[0] != c[1].chain.keys[0]) {
        fprintf(stderr, "bench_key: sorted and unsorted nested bodies differ\n");
        exit(1);
    }
    char extra[96];
    snprintf(extra, sizeof(extra), "\"bytes\": %zu, \"depth\": 58", len);
    bench_print("key_nested58_sorted_33mb", ns[1], NULL, 0, extra);
    bench_print("key_nested58_unsorted_33mb", ns[0], "key_nested58_sorted_33mb", ns[1], extra);
    free(bodies[0]);
    free(bodies[1]);
}

int main(void)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;
    bench_structured(ctx, "short_3x40", 40);
    bench_structured(ctx, "long_3x4k", 4096);
    bench_body(ctx, "50k_content", NULL);
    bench_body(ctx, "50k_explicit", "4f9c2b1e-8d3a-4e2b-9c1d-0a1b2c3d4e5f");
    bench_nested(ctx);
    sticky_ctx_free(ctx);
    return 0;
}
