/*
 * examples/sticky-route/cmd_hash.c - `sticky-route hash [FILE|-]`: derive
 * the session key chain of one request body and print it as JSON:
 * {"source":"content"|"explicit"|"none","keys":[...],"key":"<deepest>"}.
 * Exit 0 on success, 2 on a usage error, 3 on a body it cannot read or
 * that is larger than the library's limit (STICKY_MAX_BODY_BYTES; reading
 * stops there, so /dev/zero fails at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

#include "cli_util.h"
#include "commands.h"
#include "key_options.h"

static void usage(void)
{
    fprintf(stderr, "usage: sticky-route hash [options] [FILE|-]\n" KEY_OPTIONS_HELP);
}

static const char *source_name(int source)
{
    return source == STICKY_KEY_SOURCE_CONTENT    ? "content"
           : source == STICKY_KEY_SOURCE_EXPLICIT ? "explicit"
                                                  : "none";
}

int cmd_hash(int argc, char **argv)
{
    struct key_options o;
    memset(&o, 0, sizeof(o));
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int r = key_options_parse(&o, argc, argv, &i);
        if (r < 0) {
            key_options_free(&o);
            usage();
            return EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if ((argv[i][0] == '-' && argv[i][1] != '\0') || path != NULL) {
            fprintf(stderr, "sticky-route: hash: unexpected argument '%s'\n", argv[i]);
            key_options_free(&o);
            usage();
            return EXIT_USAGE;
        }
        path = argv[i];
    }
    char *body = NULL;
    size_t len = 0;
    if (read_file(path ? path : "-", STICKY_MAX_BODY_BYTES, &body, &len) != 0) {
        key_options_free(&o);
        return EXIT_BODY;
    }
    sticky_ctx *ctx = NULL;
    if (key_options_context(&o, &ctx) != 0) {
        free(body);
        key_options_free(&o);
        return EXIT_USAGE;
    }
    sticky_request req;
    key_options_request(&o, body, len, &req);
    sticky_key_chain chain;
    sticky_key_chain_init(&chain);
    int rc = sticky_key_derive(ctx, &req, &chain);
    int exit_code = 0;
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: hash: %s: %s\n", path ? path : "stdin",
                sticky_strerror(rc));
        exit_code = rc == STICKY_EINVAL ? EXIT_USAGE : EXIT_BODY;
    } else {
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
    }
    sticky_ctx_free(ctx);
    free(body);
    key_options_free(&o);
    return exit_code;
}
