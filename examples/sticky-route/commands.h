/* examples/sticky-route/commands.h - the subcommands of sticky-route. */
#ifndef STICKY_ROUTE_COMMANDS_H
#define STICKY_ROUTE_COMMANDS_H

/* Exit codes shared by all subcommands. */
#define EXIT_USAGE 2
#define EXIT_CONFIG 1

/* `sticky-route config`: print the effective config from the environment. */
int cmd_config(int argc, char **argv);

#endif
