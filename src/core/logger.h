/*
 * Structured log lines for operators.
 *
 * One line per notable event, in logfmt: `ts=… level=… msg="…" key=value …`.
 * Callers pass fields already formatted as `key=value` pairs; values that may
 * hold spaces or quotes go through tly_logfmt_quote. Request bodies, keys and
 * secrets are never passed here: log what happened, not what was sent.
 *
 * A logger is shared by threads: each line is written with one stdio call,
 * which stdio locks, so lines do not interleave.
 */
#ifndef TLY_CORE_LOGGER_H
#define TLY_CORE_LOGGER_H

#include <stdio.h>

enum tly_log_level { TLY_LOG_DEBUG = 0, TLY_LOG_INFO, TLY_LOG_WARN, TLY_LOG_ERROR };

struct tly_logger {
    FILE *out;                /* borrowed; stderr by default */
    enum tly_log_level level; /* lines below it are dropped */
};

void tly_logger_init(struct tly_logger *lg, FILE *out, enum tly_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int tly_log_level_parse(const char *s);

void tly_log(const struct tly_logger *lg, enum tly_log_level level, const char *msg,
             const char *fields_fmt, ...) __attribute__((format(printf, 4, 5)));

#define tly_log_info(lg, msg, ...)  tly_log((lg), TLY_LOG_INFO, (msg), __VA_ARGS__)
#define tly_log_warn(lg, msg, ...)  tly_log((lg), TLY_LOG_WARN, (msg), __VA_ARGS__)
#define tly_log_error(lg, msg, ...) tly_log((lg), TLY_LOG_ERROR, (msg), __VA_ARGS__)
#define tly_log_debug(lg, msg, ...) tly_log((lg), TLY_LOG_DEBUG, (msg), __VA_ARGS__)

#endif
