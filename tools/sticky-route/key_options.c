/* examples/sticky-route/key_options.c - parsing the key-shaping options and
 * turning them into a context and a key request. */
#include "key_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

static int need_value(int argc, char **argv, int i)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "sticky-route: %s needs a value\n", argv[i]);
        return -1;
    }
    return 0;
}

int key_options_parse(struct key_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--include-system") == 0) {
        o->include_system = 1;
        return 1;
    }
    int takes = strcmp(a, "--tenant") == 0 || strcmp(a, "--messages") == 0 ||
                strcmp(a, "--secret-file") == 0 || strcmp(a, "--header") == 0 ||
                strcmp(a, "--session-id") == 0 || strcmp(a, "--format") == 0;
    if (!takes)
        return 0;
    if (need_value(argc, argv, *i) != 0)
        return -1;
    const char *v = argv[++*i];
    if (strcmp(a, "--tenant") == 0) {
        o->tenant = v;
    } else if (strcmp(a, "--messages") == 0) {
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (*v == '\0' || *end != '\0' || n < 1 || n > STICKY_MAX_MESSAGE_COUNT) {
            fprintf(stderr, "sticky-route: --messages: expected 1..%u\n",
                    STICKY_MAX_MESSAGE_COUNT);
            return -1;
        }
        o->messages = (unsigned)n;
    } else if (strcmp(a, "--secret-file") == 0) {
        free(o->secret);
        o->secret = NULL;
        /* The longest secret plus a line ending. */
        int r = read_file(v, STICKY_MAX_KEY_SECRET_BYTES + 2, &o->secret, &o->secret_len);
        if (r != 0) {
            if (r == -2)
                fprintf(stderr, "sticky-route: --secret-file: secret must be 1..%u bytes\n",
                        STICKY_MAX_KEY_SECRET_BYTES);
            return -1;
        }
        /* A trailing newline from `echo secret > file` is not part of it. */
        while (o->secret_len && (o->secret[o->secret_len - 1] == '\n' ||
                                 o->secret[o->secret_len - 1] == '\r'))
            o->secret_len--;
        if (o->secret_len == 0 || o->secret_len > STICKY_MAX_KEY_SECRET_BYTES) {
            fprintf(stderr, "sticky-route: --secret-file: secret must be 1..%u bytes\n",
                    STICKY_MAX_KEY_SECRET_BYTES);
            return -1;
        }
    } else if (strcmp(a, "--header") == 0) {
        const char *colon = strchr(v, ':');
        if (colon == NULL || colon == v || o->n_headers == KEY_OPTIONS_MAX_HEADERS) {
            fprintf(stderr, "sticky-route: --header: expected 'Name: value'\n");
            return -1;
        }
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
    } else {
        if (strcmp(v, "auto") == 0)
            o->format = STICKY_FORMAT_AUTO;
        else if (strcmp(v, "anthropic") == 0)
            o->format = STICKY_FORMAT_ANTHROPIC;
        else if (strcmp(v, "openai-chat") == 0)
            o->format = STICKY_FORMAT_OPENAI_CHAT;
        else if (strcmp(v, "openai-responses") == 0)
            o->format = STICKY_FORMAT_OPENAI_RESPONSES;
        else {
            fprintf(stderr, "sticky-route: --format: anthropic|openai-chat|openai-responses|auto\n");
            return -1;
        }
    }
    return 1;
}

int key_options_context(const struct key_options *o, sticky_ctx **ctx)
{
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_to_stderr;
    cfg.log_level = STICKY_LOG_WARN;
    const char *bad = NULL;
    int rc = sticky_config_from_env(&cfg, &bad);
    if (rc == STICKY_OK) {
        if (o->messages)
            cfg.message_count = o->messages;
        if (o->include_system)
            cfg.include_system_prompt = 1;
        cfg.key_secret = o->secret;
        cfg.key_secret_len = o->secret_len;
        rc = sticky_ctx_new(&cfg, ctx);
    }
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: %s\n", sticky_strerror(rc));
        return -1;
    }
    return 0;
}

void key_options_request(const struct key_options *o, const char *body,
                         size_t len, sticky_request *req)
{
    sticky_request_init(req);
    req->tenant = o->tenant ? o->tenant : "";
    req->tenant_len = strlen(req->tenant);
    req->body = body;
    req->body_len = len;
    req->format = o->format;
    req->headers = o->headers;
    req->n_headers = o->n_headers;
    if (o->session_id) {
        req->session_id = o->session_id;
        req->session_id_len = strlen(o->session_id);
    }
}

void key_options_free(struct key_options *o)
{
    free(o->secret);
    o->secret = NULL;
}
