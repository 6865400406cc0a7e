/*
 * tests/vectors/key_driver.c - the session-key test driver: derives the key
 * chain of one request body with the public API (linked to libsticky.so
 * only, no CLI code) and prints it as the JSON the spec checks read:
 *   {"source":"content"|"explicit"|"none","keys":[...],"key":"<deepest>"|null}
 *
 * usage: key_driver [--tenant T] [--messages N] [--include-system]
 *                   [--secret-file F] [--header 'Name: value']...
 *                   [--session-id ID] [--format F] [FILE|-]
 * The body is read from FILE or stdin. The configuration is the library's
 * defaults plus these options (the environment is not read). Exit 0 on
 * success, 1 when sticky_key_derive() fails (the error on stderr), 2 on a
 * usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

#define MAX_HEADERS 32

static int read_all(const char *path, char **data, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "key_driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (buf == NULL || err) {
        free(buf);
        fprintf(stderr, "key_driver: %s: read failed\n", path);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int parse_format(const char *v, int *format)
{
    static const struct {
        const char *name;
        int format;
    } formats[] = {
        {"auto", STICKY_FORMAT_AUTO},
        {"anthropic", STICKY_FORMAT_ANTHROPIC},
        {"openai-chat", STICKY_FORMAT_OPENAI_CHAT},
        {"openai-responses", STICKY_FORMAT_OPENAI_RESPONSES},
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(v, formats[i].name) == 0) {
            *format = formats[i].format;
            return 0;
        }
    }
    return -1;
}

static const char *source_name(int source)
{
    return source == STICKY_KEY_SOURCE_CONTENT    ? "content"
           : source == STICKY_KEY_SOURCE_EXPLICIT ? "explicit"
                                                  : "none";
}

static int usage(const char *why)
{
    fprintf(stderr, "key_driver: %s\n", why);
    return 2;
}

/* What the options ask for. */
struct options {
    sticky_config cfg;
    const char *tenant;
    const char *session_id;
    const char *path;
    int format;
    sticky_header headers[MAX_HEADERS];
    size_t n_headers;
};

/* Parses argv into @o (secret read into *secret). Returns 0 or exit status 2. */
static int parse_args(int argc, char **argv, struct options *o, char **secret,
                      size_t *secret_len)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--include-system") == 0) {
            o->cfg.include_system_prompt = 1;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            o->path = a;
            continue;
        }
        if (i + 1 >= argc)
            return usage("an option lacks its value");
        const char *v = argv[++i];
        if (strcmp(a, "--tenant") == 0) {
            o->tenant = v;
        } else if (strcmp(a, "--messages") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1 || n > STICKY_MAX_MESSAGE_COUNT)
                return usage("--messages: out of range");
            o->cfg.message_count = (unsigned)n;
        } else if (strcmp(a, "--secret-file") == 0) {
            free(*secret);
            *secret = NULL;
            if (read_all(v, secret, secret_len) != 0)
                return 2;
            /* As for docs/session-key.md's vectors: a trailing newline is
             * not part of the secret. */
            while (*secret_len && ((*secret)[*secret_len - 1] == '\n' ||
                                   (*secret)[*secret_len - 1] == '\r'))
                (*secret_len)--;
        } else if (strcmp(a, "--header") == 0) {
            const char *colon = strchr(v, ':');
            if (colon == NULL || colon == v || o->n_headers == MAX_HEADERS)
                return usage("--header: expected 'Name: value'");
            const char *val = colon + 1;
            while (*val == ' ')
                val++;
            sticky_header *h = &o->headers[o->n_headers++];
            h->name = v;
            h->name_len = (size_t)(colon - v);
            h->value = val;
            h->value_len = strlen(val);
        } else if (strcmp(a, "--session-id") == 0) {
            o->session_id = v;
        } else if (strcmp(a, "--format") == 0) {
            if (parse_format(v, &o->format) != 0)
                return usage("--format: auto|anthropic|openai-chat|openai-responses");
        } else {
            fprintf(stderr, "key_driver: unknown option %s\n", a);
            return 2;
        }
    }
    return 0;
}

/* Derives the chain of @body and prints it. Returns the exit status. */
static int derive_and_print(const struct options *o, const char *body, size_t body_len)
{
    sticky_ctx *ctx = NULL;
    int rc = sticky_ctx_new(&o->cfg, &ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "key_driver: sticky_ctx_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    sticky_request req;
    sticky_request_init(&req);
    req.tenant = o->tenant;
    req.tenant_len = strlen(o->tenant);
    req.body = body;
    req.body_len = body_len;
    req.format = o->format;
    req.headers = o->headers;
    req.n_headers = o->n_headers;
    if (o->session_id != NULL) {
        req.session_id = o->session_id;
        req.session_id_len = strlen(o->session_id);
    }
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    rc = sticky_key_derive(ctx, &req, &chain);
    sticky_ctx_free(ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "key_driver: sticky_key_derive: %s\n", sticky_strerror(rc));
        return 1;
    }
    char hex[STICKY_KEY_HEX_SIZE];
    printf("{\"source\":\"%s\",\"keys\":[", source_name(chain.source));
    for (uint32_t i = 0; i < chain.n_keys; i++) {
        sticky_key_to_hex(chain.keys[i], hex);
        printf("%s\"%s\"", i ? "," : "", hex);
    }
    if (chain.n_keys) {
        sticky_key_to_hex(chain.keys[chain.n_keys - 1], hex);
        printf("],\"key\":\"%s\"}\n", hex);
    } else {
        printf("],\"key\":null}\n");
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof(o));
    sticky_config_init(&o.cfg);
    o.tenant = "";
    o.path = "-";
    o.format = STICKY_FORMAT_AUTO;
    char *secret = NULL, *body = NULL;
    size_t secret_len = 0, body_len = 0;

    int status = parse_args(argc, argv, &o, &secret, &secret_len);
    if (status == 0 && read_all(o.path, &body, &body_len) != 0)
        status = 2;
    if (status == 0) {
        o.cfg.key_secret = secret;
        o.cfg.key_secret_len = secret_len;
        status = derive_and_print(&o, body, body_len);
    }
    free(body);
    free(secret);
    return status;
}
