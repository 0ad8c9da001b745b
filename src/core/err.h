/*
 * Error codes shared by every part of tally.
 *
 * Functions return 0 on success or one of these negative codes. Parsers that
 * can say more (what and where) also fill a struct tly_error owned by the
 * caller; the code alone is enough to pick an HTTP status.
 */
#ifndef TLY_CORE_ERR_H
#define TLY_CORE_ERR_H

#include <stddef.h>

enum {
    TLY_OK = 0,
    TLY_ENOMEM = -1,     /* allocation failed */
    TLY_EINVAL = -2,     /* malformed input; see struct tly_error for what and where */
    TLY_EIO = -3,        /* an I/O call failed; errno-derived detail in the log line */
    TLY_EBUSY = -4,      /* bounded queue full: try again later */
    TLY_ENOENT = -5,     /* no such thing */
    TLY_ETOOBIG = -6,    /* input over a configured limit */
    TLY_ECORRUPT = -7,   /* stored data failed its checksum or framing */
    TLY_ESTOPPED = -8,   /* component is shutting down */
    TLY_EEXIST = -9,     /* already exists */
    TLY_EFAILED = -10,   /* component is in its error state (see its module comment) */
    TLY_ECONFLICT = -11, /* the change conflicts with the current state */
};

/* A human-readable reason for input rejected with TLY_EINVAL or TLY_ETOOBIG.
 * `field` names the offending field ("" when the whole input is at fault),
 * `msg` says what is wrong and, where it is known, at which byte. */
struct tly_error {
    char field[64];
    char msg[192];
};

const char *tly_strerror(int code);

/* Fills `err` (if not NULL) with field and a printf-formatted message;
 * returns `code` so callers can `return tly_error_set(...)`. */
int tly_error_set(struct tly_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
