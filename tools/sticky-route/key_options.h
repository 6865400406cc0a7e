/* examples/sticky-route/key_options.h - the options that shape session keys,
 * shared by `hash` and `bench-key`: tenant, message count, system prompt,
 * secret, headers, host session id, body format. */
#ifndef STICKY_ROUTE_KEY_OPTIONS_H
#define STICKY_ROUTE_KEY_OPTIONS_H

#include <sticky/sticky.h>

#define KEY_OPTIONS_MAX_HEADERS 32

struct key_options {
    const char *tenant;
    unsigned messages; /* 0 = config default */
    int include_system;
    char *secret;
    size_t secret_len;
    sticky_header headers[KEY_OPTIONS_MAX_HEADERS];
    size_t n_headers;
    const char *session_id;
    int format;
};

/* Try to consume option argv[*i] (and its value). Returns 1 if consumed,
 * 0 if not a key option, -1 on a usage error (message printed). */
int key_options_parse(struct key_options *o, int argc, char **argv, int *i);

/* Build a context from defaults + environment + options. Returns 0 or -1. */
int key_options_context(const struct key_options *o, sticky_ctx **ctx);

/* Fill a key request for @body with the options' tenant, headers, id. */
void key_options_request(const struct key_options *o, const char *body,
                         size_t len, sticky_request *req);

void key_options_free(struct key_options *o);

#define KEY_OPTIONS_HELP                                                       \
    "  --tenant T            tenant (API key / group id) the key is scoped to\n" \
    "  --messages N          leading messages hashed (default: config, 3)\n"   \
    "  --include-system      hash the system prompt too\n"                      \
    "  --secret-file F       deployment secret: keys become HMAC-SHA256\n"      \
    "  --header 'Name: v'    a request header (repeatable)\n"                   \
    "  --session-id ID       host-given session id\n"                           \
    "  --format F            anthropic|openai-chat|openai-responses|auto\n"

#endif
