/*
 * Error code names and the helper that fills a struct tly_error.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tly_strerror(int code)
{
    switch (code) {
    case TLY_OK:
        return "ok";
    case TLY_ENOMEM:
        return "out of memory";
    case TLY_EINVAL:
        return "invalid input";
    case TLY_EIO:
        return "I/O error";
    case TLY_EBUSY:
        return "busy";
    case TLY_ENOENT:
        return "not found";
    case TLY_ETOOBIG:
        return "too large";
    case TLY_ECORRUPT:
        return "corrupt data";
    case TLY_ESTOPPED:
        return "stopped";
    case TLY_EEXIST:
        return "already exists";
    case TLY_EFAILED:
        return "in error state";
    case TLY_ECONFLICT:
        return "conflicts with the current state";
    }
    return "unknown error";
}

int tly_error_set(struct tly_error *err, int code, const char *field, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}
