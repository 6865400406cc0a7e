/*
 * examples/sticky-route/main.c - entry point of the sticky-route CLI:
 * dispatches to a subcommand. Uses only the public libsticky API.
 */
#include <stdio.h>
#include <string.h>

#include <sticky/sticky.h>

#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sticky-route <command> [options]\n"
            "\n"
            "commands:\n"
            "  config      print the effective configuration (defaults + environment) as JSON\n"
            "  hash        print the session key chain of a request body (see hash --help)\n"
            "  bench-key   measure key derivation on captured bodies: bench-key FILE...\n"
            "  replay      replay a JSON-lines trace through a real context (docs/replay.md)\n"
            "  gen         write a synthetic Claude-Code-shaped trace (docs/replay.md)\n"
            "  inspect     print a shared-memory segment's stats, channel health and sessions:\n"
            "              inspect PATH [--json] [--limit N] [--now MS] (docs/replay.md)\n"
            "\n"
            "options:\n"
            "  --version   print the library and tool version\n"
            "  --help      print this help\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sticky-route (libsticky %s, header %s)\n",
               sticky_version_string(), STICKY_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "hash") == 0)
        return cmd_hash(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "bench-key") == 0)
        return cmd_bench_key(argc - 1, argv + 1);
    fprintf(stderr, "sticky-route: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
