/*
 * logfmt lines on a stdio stream (see logger.h).
 */
#include "core/logger.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tly_logger_init(struct tly_logger *lg, FILE *out, enum tly_log_level level)
{
    lg->out = out;
    lg->level = level;
}

int tly_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void tly_log(const struct tly_logger *lg, enum tly_log_level level, const char *msg,
             const char *fields_fmt, ...)
{
    if (lg == NULL || lg->out == NULL || level < lg->level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[1024];
    int n =
        snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level], msg);
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 2;
    if (fields_fmt != NULL && fields_fmt[0] != '\0' && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fields_fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fields_fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
        if ((size_t)n > sizeof line - 2)
            n = (int)sizeof line - 2;
    }
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, lg->out);
    fflush(lg->out);
}
