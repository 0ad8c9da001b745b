/*
 * Command-line options with environment fallbacks, from one table that also
 * prints --help. Precedence: flag, then environment variable, then default.
 *
 * Flags are `--name value` or `--name=value`; sizes take an optional k/m/g
 * suffix (powers of 1024), durations an optional ms/s/m/h/d suffix (plain
 * numbers are milliseconds). Arguments that are not flags are positional.
 */
#ifndef TLY_CLI_OPTIONS_H
#define TLY_CLI_OPTIONS_H

#include "core/err.h"

#include <stdint.h>
#include <stdio.h>

enum tly_opt_type { TLY_OPT_STRING, TLY_OPT_SIZE, TLY_OPT_MS, TLY_OPT_INT, TLY_OPT_FLAG };

struct tly_option {
    const char *name; /* without the leading "--" */
    const char *env;  /* NULL for none */
    enum tly_opt_type type;
    const char *def; /* default as text; NULL for none */
    const char *help;
    void *dst; /* const char **, uint64_t *, or int * by type */
};

#define TLY_MAX_POSITIONAL 4

struct tly_args {
    const char *positional[TLY_MAX_POSITIONAL];
    int npositional;
    int help;
};

/* Parses argv[0..argc) (the subcommand's arguments). */
int tly_options_parse(const struct tly_option *opts, int n, int argc, char **argv,
                      struct tly_args *args, struct tly_error *err);

void tly_options_help(FILE *out, const char *usage, const struct tly_option *opts, int n);

int tly_parse_size(const char *s, uint64_t *out);
int tly_parse_ms(const char *s, uint64_t *out);

#endif
