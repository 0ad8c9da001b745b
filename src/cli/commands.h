/*
 * The tallyd subcommands. Each takes the arguments after its name and
 * returns the process exit code.
 */
#ifndef TLY_CLI_COMMANDS_H
#define TLY_CLI_COMMANDS_H

int tly_cmd_serve(int argc, char **argv);
int tly_cmd_tenant(int argc, char **argv);
int tly_cmd_log(int argc, char **argv);
int tly_cmd_pipeline(int argc, char **argv);

#endif
