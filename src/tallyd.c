/*
 * tallyd: the tally daemon and its operator commands.
 *
 *   tallyd serve   run the daemon (HTTP ingest, event log, operations)
 *   tallyd tenant  create and list tenants and their keys
 *   tallyd log     dump and verify the event log
 *   tallyd pipeline run   catch the state store up with the log, offline
 */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

#ifndef TALLY_VERSION
#define TALLY_VERSION "dev"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "tallyd %s — self-hosted event pipeline and activity-campaign engine\n\n"
            "usage: tallyd serve  [options]          run the daemon (see serve --help)\n"
            "       tallyd tenant create NAME | list  manage tenants and keys\n"
            "       tallyd log dump | verify           inspect the event log\n"
            "       tallyd pipeline run                process the log without serving\n"
            "       tallyd version\n",
            TALLY_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return tly_cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "tenant") == 0)
        return tly_cmd_tenant(argc - 2, argv + 2);
    if (strcmp(cmd, "log") == 0)
        return tly_cmd_log(argc - 2, argv + 2);
    if (strcmp(cmd, "pipeline") == 0)
        return tly_cmd_pipeline(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tallyd %s\n", TALLY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tallyd: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
