/*
 * `tallyd tenant create NAME` and `tallyd tenant list`, against the
 * state.db of a data directory. Works while the daemon runs: it notices the
 * change within a second and loads the new keys.
 */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/fsutil.h"
#include "core/buf.h"
#include "core/timeparse.h"
#include "store/tenants.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "tallyd tenant create NAME [--data DIR]\n"
                            "       tallyd tenant list [--data DIR]";

static int open_db(const char *data, struct tly_db **db)
{
    if (tly_mkdir_p(data) != 0) {
        fprintf(stderr, "tallyd tenant: cannot create data directory %s\n", data);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/state.db", data);
    struct tly_error err;
    if (tly_db_open(db, path, &err) != 0) {
        fprintf(stderr, "tallyd tenant: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int print_tenant(const struct tly_tenant *t, void *arg)
{
    (void)arg;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    char ts[25];
    tly_time_format(t->created_at, ts);
    tly_buf_printf(&b, "{\"id\":%u,\"tenant\":", t->id);
    tly_buf_json_str(&b, t->name, strlen(t->name));
    tly_buf_printf(&b, ",\"created_at\":\"%s\"}\n", ts);
    fwrite(b.data, 1, b.len, stdout);
    tly_buf_free(&b);
    return 0;
}

int tly_cmd_tenant(int argc, char **argv)
{
    const char *data = NULL;
    struct tly_option opts[] = {
        {"data", "TALLY_DATA", TLY_OPT_STRING, "./data", "data directory", &data},
    };
    struct tly_args args;
    struct tly_error err;
    if (tly_options_parse(opts, 1, argc, argv, &args, &err) != 0) {
        fprintf(stderr, "tallyd tenant: %s\n", err.msg);
        return 2;
    }
    if (args.help || args.npositional == 0) {
        tly_options_help(args.help ? stdout : stderr, usage, opts, 1);
        return args.help ? 0 : 2;
    }
    const char *verb = args.positional[0];
    struct tly_db *db;
    if (strcmp(verb, "create") == 0) {
        if (args.npositional != 2) {
            fprintf(stderr, "usage: %s\n", usage);
            return 2;
        }
        if (open_db(data, &db) != 0)
            return 1;
        struct tly_tenant t;
        char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
        int rc = tly_tenant_create(db, args.positional[1], &t, wk, ak, &err);
        tly_db_close(db);
        if (rc != 0) {
            fprintf(stderr, "tallyd tenant create: %s\n", err.msg);
            return rc == TLY_EEXIST ? 3 : 1;
        }
        printf("{\"tenant\":\"%s\",\"id\":%u,\"write_key\":\"%s\",\"admin_key\":\"%s\"}\n", t.name,
               t.id, wk, ak);
        return 0;
    }
    if (strcmp(verb, "list") == 0) {
        if (open_db(data, &db) != 0)
            return 1;
        int rc = tly_tenant_each(db, print_tenant, NULL);
        tly_db_close(db);
        return rc == 0 ? 0 : 1;
    }
    fprintf(stderr, "tallyd tenant: unknown command '%s'\nusage: %s\n", verb, usage);
    return 2;
}
