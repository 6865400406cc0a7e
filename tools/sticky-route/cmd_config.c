/*
 * examples/sticky-route/cmd_config.c - `sticky-route config`: builds a
 * context from defaults + the SESSION_* / STICKY_SESSION_* environment and
 * prints the effective settings as one JSON object.
 */
#include <stdio.h>

#include <sticky/sticky.h>

#include "cli_util.h"
#include "commands.h"

int cmd_config(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: sticky-route config\n");
        return EXIT_USAGE;
    }
    sticky_config cfg;
    sticky_config_init(&cfg);
    cfg.log_fn = log_to_stderr;
    cfg.log_level = STICKY_LOG_WARN;

    const char *bad = NULL;
    int rc = sticky_config_from_env(&cfg, &bad);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: %s: %s\n", bad ? bad : "config",
                sticky_strerror(rc));
        return EXIT_CONFIG;
    }
    sticky_ctx *ctx = NULL;
    rc = sticky_ctx_new(&cfg, &ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky-route: %s\n", sticky_strerror(rc));
        return EXIT_CONFIG;
    }
    sticky_config eff;
    sticky_config_init(&eff);
    sticky_ctx_config(ctx, &eff);
    printf("{\"version\":\"%s\",\"ttl_seconds\":%u,"
           "\"renew_threshold_seconds\":%u,\"max_sessions\":%u,"
           "\"message_count\":%u,\"include_system_prompt\":%s}\n",
           sticky_version_string(), (unsigned)eff.ttl_seconds,
           (unsigned)eff.renew_threshold_seconds, (unsigned)eff.max_sessions,
           (unsigned)eff.message_count,
           eff.include_system_prompt ? "true" : "false");
    sticky_ctx_free(ctx);
    return 0;
}
