/*
 * `tallyd pipeline run --data DIR`: processes everything in the event log
 * that the state store has not seen yet, on this thread, then prints what
 * it did and how fast. For catching up without serving. It holds the data
 * directory's lock, so it does not run beside a daemon on the same
 * directory (two writers would move one consumer position).
 */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/fsutil.h"
#include "core/logger.h"
#include "log/reader.h"
#include "pipeline/pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const char usage[] = "tallyd pipeline run [--data DIR] [--batch N] [--batch-time T]";

/* Catches the state up with the log; the data directory is locked. */
static int run_pipeline(const char *data, int batch, uint64_t batch_ms)
{
    struct tly_error err;
    char log_dir[4096], db_path[4096];
    snprintf(log_dir, sizeof log_dir, "%s/log", data);
    snprintf(db_path, sizeof db_path, "%s/state.db", data);
    struct tly_logger lg;
    tly_logger_init(&lg, stderr, TLY_LOG_WARN);
    uint64_t end;
    if (tly_log_end(log_dir, &end) != 0) {
        fprintf(stderr, "tallyd pipeline: cannot read the event log in %s\n", log_dir);
        return 1;
    }
    struct tly_pipeline_config pc = {
        .log_dir = log_dir,
        .db_path = db_path,
        .log_end = end,
        .log_retention_ms = 0,
        .retention_every_ms = UINT64_MAX / 2000000, /* never, in one catch-up */
        .batch_events = batch > 0 ? batch : 1,
        .batch_ms = batch_ms > 0 ? batch_ms : 1,
    };
    struct tly_pipeline *p;
    if (tly_pipeline_open(&p, &pc, &lg, &err) != 0) {
        fprintf(stderr, "tallyd pipeline: %s\n", err.msg);
        return 1;
    }
    uint64_t from = tly_pipeline_position(p);
    uint64_t t0 = uv_hrtime();
    int rc = tly_pipeline_catch_up(p, end);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    struct tly_pipeline_stats st;
    tly_pipeline_stats(p, &st);
    uint64_t items = st.processed + st.duplicates + st.failed;
    printf("{\"ok\":%s,\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"records\":%" PRIu64
           ",\"processed\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"failed\":%" PRIu64
           ",\"seconds\":%.3f,\"events_per_second\":%.0f}\n",
           rc == 0 ? "true" : "false", from, tly_pipeline_position(p), st.records, st.processed,
           st.duplicates, st.failed, secs, secs > 0 ? (double)items / secs : 0.0);
    tly_pipeline_close(p);
    return rc == 0 ? 0 : 1;
}

int tly_cmd_pipeline(int argc, char **argv)
{
    const char *data = NULL;
    int batch = 0;
    uint64_t batch_ms = 0;
    struct tly_option opts[] = {
        {"data", "TALLY_DATA", TLY_OPT_STRING, "./data", "data directory", &data},
        {"batch", "TALLY_PIPELINE_BATCH", TLY_OPT_INT, "100000", "events per transaction", &batch},
        {"batch-time", "TALLY_PIPELINE_BATCH_TIME", TLY_OPT_MS, "2s",
         "and at most this long per transaction", &batch_ms},
    };
    struct tly_args args;
    struct tly_error err;
    if (tly_options_parse(opts, 3, argc, argv, &args, &err) != 0) {
        fprintf(stderr, "tallyd pipeline: %s\n", err.msg);
        return 2;
    }
    if (args.help || args.npositional != 1 || strcmp(args.positional[0], "run") != 0) {
        tly_options_help(args.help ? stdout : stderr, usage, opts, 3);
        return args.help ? 0 : 2;
    }
    int lock_fd;
    if (tly_lock_data_dir(data, &lock_fd, &err) != 0) {
        fprintf(stderr, "tallyd pipeline: %s\n", err.msg);
        return 1;
    }
    int rc = run_pipeline(data, batch, batch_ms);
    close(lock_fd);
    return rc;
}
