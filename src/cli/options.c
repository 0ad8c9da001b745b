/*
 * Option table parsing and help (see options.h).
 */
#include "cli/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_scaled(const char *s, uint64_t *out, const char *const *suffix,
                        const uint64_t *scale, int nsuffix)
{
    if (s == NULL || *s < '0' || *s > '9')
        return TLY_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return TLY_EINVAL;
    uint64_t mul = 1;
    if (*end != '\0') {
        int found = 0;
        for (int i = 0; i < nsuffix; i++) {
            if (strcmp(end, suffix[i]) == 0) {
                mul = scale[i];
                found = 1;
            }
        }
        if (!found)
            return TLY_EINVAL;
    }
    if (mul != 0 && v > UINT64_MAX / mul)
        return TLY_EINVAL;
    *out = (uint64_t)v * mul;
    return 0;
}

int tly_parse_size(const char *s, uint64_t *out)
{
    static const char *const suf[] = {"k", "K", "m", "M", "g", "G"};
    static const uint64_t sc[] = {1024, 1024, 1 << 20, 1 << 20, 1 << 30, 1 << 30};
    return parse_scaled(s, out, suf, sc, 6);
}

int tly_parse_ms(const char *s, uint64_t *out)
{
    static const char *const suf[] = {"ms", "s", "m", "h", "d"};
    static const uint64_t sc[] = {1, 1000, 60000, 3600000, 86400000};
    return parse_scaled(s, out, suf, sc, 5);
}

static int assign(const struct tly_option *o, const char *v, const char *from,
                  struct tly_error *err)
{
    uint64_t u;
    switch (o->type) {
    case TLY_OPT_STRING:
        *(const char **)o->dst = v;
        return 0;
    case TLY_OPT_FLAG:
        *(int *)o->dst = v == NULL || strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
        return 0;
    case TLY_OPT_SIZE:
        if (tly_parse_size(v, &u) != 0)
            return tly_error_set(err, TLY_EINVAL, o->name,
                                 "%s: '%s' is not a size (e.g. 1048576, 512k, 1m)", from, v);
        *(uint64_t *)o->dst = u;
        return 0;
    case TLY_OPT_MS:
        if (tly_parse_ms(v, &u) != 0)
            return tly_error_set(err, TLY_EINVAL, o->name,
                                 "%s: '%s' is not a duration (e.g. 500, 500ms, 10s, 7d)", from, v);
        *(uint64_t *)o->dst = u;
        return 0;
    case TLY_OPT_INT:
        if (tly_parse_size(v, &u) != 0 || u > 0x7fffffff)
            return tly_error_set(err, TLY_EINVAL, o->name, "%s: '%s' is not a count", from, v);
        *(int *)o->dst = (int)u;
        return 0;
    }
    return TLY_EINVAL;
}

int tly_options_parse(const struct tly_option *opts, int n, int argc, char **argv,
                      struct tly_args *args, struct tly_error *err)
{
    memset(args, 0, sizeof *args);
    for (int i = 0; i < n; i++) {
        const struct tly_option *o = &opts[i];
        const char *env = o->env ? getenv(o->env) : NULL;
        int rc = 0;
        if (env != NULL && env[0] != '\0')
            rc = assign(o, env, o->env, err);
        else if (o->def != NULL)
            rc = assign(o, o->def, "default", err);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            args->help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (args->npositional == TLY_MAX_POSITIONAL)
                return tly_error_set(err, TLY_EINVAL, "", "too many arguments at '%s'", a);
            args->positional[args->npositional++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct tly_option *o = NULL;
        for (int k = 0; k < n; k++)
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0)
                o = &opts[k];
        if (o == NULL)
            return tly_error_set(err, TLY_EINVAL, "", "unknown option '%s' (see --help)", a);
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL && o->type != TLY_OPT_FLAG) {
            if (i + 1 >= argc)
                return tly_error_set(err, TLY_EINVAL, o->name, "option --%s needs a value",
                                     o->name);
            v = argv[++i];
        }
        int rc = assign(o, v, a, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void tly_options_help(FILE *out, const char *usage, const struct tly_option *opts, int n)
{
    fprintf(out, "usage: %s\n\noptions (flag, environment variable, default):\n", usage);
    for (int i = 0; i < n; i++) {
        const struct tly_option *o = &opts[i];
        const char *arg = o->type == TLY_OPT_FLAG   ? ""
                          : o->type == TLY_OPT_SIZE ? " BYTES"
                          : o->type == TLY_OPT_MS   ? " DURATION"
                          : o->type == TLY_OPT_INT  ? " N"
                                                    : " VALUE";
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", o->name, arg);
        fprintf(out, "  %-28s %s\n", flag, o->help);
        fprintf(out, "  %-28s env %s, default %s\n", "", o->env ? o->env : "-",
                o->def ? o->def : "-");
    }
}
