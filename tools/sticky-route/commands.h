/* examples/sticky-route/commands.h - the subcommands of sticky-route. */
#ifndef STICKY_ROUTE_COMMANDS_H
#define STICKY_ROUTE_COMMANDS_H

/* Exit codes shared by all subcommands. */
#define EXIT_USAGE 2
#define EXIT_CONFIG 1
#define EXIT_BODY 3
#define EXIT_SEGMENT 4 /* inspect: a segment that cannot be read */

/* `sticky-route config`: print the effective config from the environment. */
int cmd_config(int argc, char **argv);

/* `sticky-route hash`: print the session key chain of a request body. */
int cmd_hash(int argc, char **argv);

/* `sticky-route replay`: replay a JSON-lines trace, print a summary. */
int cmd_replay(int argc, char **argv);

/* `sticky-route gen`: write a synthetic Claude-Code-shaped trace. */
int cmd_gen(int argc, char **argv);

/* `sticky-route inspect PATH`: a shared-memory segment's stats, channel
 * health and sessions. */
int cmd_inspect(int argc, char **argv);

/* `sticky-route bench-key FILE...`: key derivation speed per body file. */
int cmd_bench_key(int argc, char **argv);

#endif
