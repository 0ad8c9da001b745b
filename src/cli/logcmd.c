/*
 * `tallyd log dump` and `tallyd log verify`: the operator's view of exactly
 * what was accepted, read straight from the segment files (the daemon may
 * be running; a record still being written at the end is not shown).
 */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/buf.h"
#include "core/timeparse.h"
#include "core/utf8.h"
#include "log/reader.h"
#include "log/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] = "tallyd log dump [--data DIR] [--from OFFSET] [--limit N]\n"
                            "       tallyd log verify [--data DIR]";

/* One JSON line per record. The body is shown as a JSON string holding
 * exactly the bytes received, or as body_base64 when they are not UTF-8. */
static int print_record(struct tly_buf *b, uint64_t off, const struct tly_record *r)
{
    char ts[25], rid[33];
    tly_time_format(r->received_at, ts);
    tly_request_id_hex(r->request_id, rid);
    tly_buf_reset(b);
    int rc =
        tly_buf_printf(b,
                       "{\"offset\":%" PRIu64 ",\"tenant\":%u,\"source\":\"%s\",\"kind\":\"%s\","
                       "\"received_at\":\"%s\",\"request_id\":\"%s\"",
                       off, r->tenant, tly_source_name(r->source), tly_kind_name(r->kind), ts, rid);
    if (r->meta_len > 0 && tly_utf8_valid(r->meta, r->meta_len)) {
        rc |= tly_buf_puts(b, ",\"meta\":");
        rc |= tly_buf_json_str(b, r->meta, r->meta_len);
    }
    if (tly_utf8_valid(r->body, r->body_len)) {
        rc |= tly_buf_puts(b, ",\"body\":");
        rc |= tly_buf_json_str(b, r->body, r->body_len);
    } else {
        rc |= tly_buf_puts(b, ",\"body_base64\":\"");
        rc |= tly_buf_base64(b, r->body, r->body_len);
        rc |= tly_buf_puts(b, "\"");
    }
    rc |= tly_buf_puts(b, "}\n");
    if (rc == 0)
        fwrite(b->data, 1, b->len, stdout);
    return rc;
}

static int first_segment(const char *dir, uint64_t *base, uint64_t *end, size_t *count)
{
    uint64_t *bases;
    size_t n;
    if (tly_log_list_segments(dir, &bases, &n) != 0)
        return -1;
    if (n == 0) {
        free(bases);
        return -1;
    }
    *base = bases[0];
    char path[4096];
    tly_log_segment_path(dir, bases[n - 1], path, sizeof path);
    struct stat st;
    *end = stat(path, &st) == 0 ? bases[n - 1] + (uint64_t)st.st_size : bases[n - 1];
    *count = n;
    free(bases);
    return 0;
}

static int dump(const char *dir, uint64_t from, int from_set, uint64_t limit)
{
    uint64_t base, end;
    size_t nseg;
    if (first_segment(dir, &base, &end, &nseg) != 0) {
        fprintf(stderr, "tallyd log dump: no event log in %s\n", dir);
        return 1;
    }
    /* Read from the start of the segment that holds `from`, so that an
     * offset inside a record is told apart from the end of the log. */
    uint64_t start = base;
    uint64_t *bases;
    size_t nb;
    if (from_set && tly_log_list_segments(dir, &bases, &nb) == 0) {
        for (size_t i = 0; i < nb && bases[i] <= from; i++)
            start = bases[i];
        free(bases);
    }
    struct tly_log_reader *r;
    int rc = tly_log_reader_open(&r, dir, start);
    if (rc != 0 || (from_set && (from < base || from > end))) {
        if (rc == 0)
            tly_log_reader_close(r);
        fprintf(stderr, "tallyd log dump: offset %" PRIu64 " is not in the log\n", from);
        return 1;
    }
    struct tly_buf b;
    tly_buf_init(&b, 0);
    struct tly_record rec;
    uint64_t off, n = 0;
    int status = 0;
    while ((limit == 0 || n < limit) && (rc = tly_log_reader_next(r, &rec, &off)) == 1) {
        if (from_set && off < from)
            continue;
        if (from_set && off > from && n == 0) {
            fprintf(stderr,
                    "tallyd log dump: offset %" PRIu64 " is not a record boundary (the next "
                    "record starts at %" PRIu64 ")\n",
                    from, off);
            status = 1;
            break;
        }
        if (print_record(&b, off, &rec) != 0)
            break;
        n++;
    }
    if (rc == 0 && from_set && n == 0 && status == 0 && tly_log_reader_position(r) != from) {
        fprintf(stderr, "tallyd log dump: offset %" PRIu64 " is not a record boundary\n", from);
        status = 1;
    }
    if (rc < 0) {
        fprintf(stderr, "tallyd log dump: unreadable record at offset %" PRIu64 ": %s%s\n",
                tly_log_reader_position(r), tly_strerror(rc),
                from_set ? " (is --from a record boundary?)" : "");
        status = 1;
    }
    tly_buf_free(&b);
    tly_log_reader_close(r);
    return status;
}

static int verify(const char *dir)
{
    uint64_t base, end;
    size_t nseg;
    if (first_segment(dir, &base, &end, &nseg) != 0) {
        printf("{\"ok\":false,\"error\":\"no event log in this directory\"}\n");
        return 1;
    }
    struct tly_log_reader *r;
    if (tly_log_reader_open(&r, dir, base) != 0) {
        printf("{\"ok\":false,\"error\":\"cannot open the first segment\"}\n");
        return 1;
    }
    struct tly_record rec;
    uint64_t off, records = 0;
    int rc;
    while ((rc = tly_log_reader_next(r, &rec, &off)) == 1)
        records++;
    uint64_t pos = tly_log_reader_position(r);
    tly_log_reader_close(r);
    if (rc < 0 || pos != end) {
        printf("{\"ok\":false,\"segments\":%zu,\"records\":%" PRIu64 ",\"offset\":%" PRIu64
               ",\"error\":\"%s\"}\n",
               nseg, records, pos,
               rc < 0 ? "checksum or framing error"
                      : "bytes at the end do not form a whole record (or a segment is missing)");
        return 1;
    }
    printf("{\"ok\":true,\"segments\":%zu,\"records\":%" PRIu64 ",\"first_offset\":%" PRIu64
           ",\"end_offset\":%" PRIu64 "}\n",
           nseg, records, base, end);
    return 0;
}

int tly_cmd_log(int argc, char **argv)
{
    const char *data = NULL, *from = NULL;
    uint64_t limit = 0;
    struct tly_option opts[] = {
        {"data", "TALLY_DATA", TLY_OPT_STRING, "./data", "data directory", &data},
        {"from", NULL, TLY_OPT_STRING, NULL, "dump: start at this record offset", &from},
        {"limit", NULL, TLY_OPT_SIZE, "0", "dump: at most N records (0 = all)", &limit},
    };
    struct tly_args args;
    struct tly_error err;
    if (tly_options_parse(opts, 3, argc, argv, &args, &err) != 0) {
        fprintf(stderr, "tallyd log: %s\n", err.msg);
        return 2;
    }
    if (args.help || args.npositional != 1) {
        tly_options_help(args.help ? stdout : stderr, usage, opts, 3);
        return args.help ? 0 : 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/log", data);
    if (strcmp(args.positional[0], "dump") == 0) {
        uint64_t off = 0;
        if (from != NULL && tly_parse_size(from, &off) != 0) {
            fprintf(stderr, "tallyd log dump: --from must be a byte offset\n");
            return 2;
        }
        return dump(dir, off, from != NULL, limit);
    }
    if (strcmp(args.positional[0], "verify") == 0)
        return verify(dir);
    fprintf(stderr, "tallyd log: unknown command '%s'\nusage: %s\n", args.positional[0], usage);
    return 2;
}
