/*
 * Event timestamps: every form the sources send, to UTC milliseconds.
 *
 * Accepted:
 *   ISO-8601 date-time  YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by `Z`,
 *                       `±HH:MM`, `±HHMM` or `±HH` (a space or `t` may stand
 *                       for `T`, `z` for `Z`; up to 9 fraction digits,
 *                       truncated to milliseconds);
 *   epoch numbers       seconds or milliseconds, told apart by magnitude:
 *                       below 100,000,000,000 it is seconds (that is the year
 *                       5138 in seconds, March 1973 in milliseconds), else
 *                       milliseconds; a fraction of a second is kept to the
 *                       millisecond. As JSON numbers or as strings of digits.
 * Rejected, with what and where: a date-time without an offset (its instant
 * is unknown), out-of-range fields (month 13, Feb 30, hour 24, second 60,
 * offset over 23:59), negative or non-finite epochs, years outside
 * 1970..9999, and anything else.
 */
#ifndef TLY_CORE_TIMEPARSE_H
#define TLY_CORE_TIMEPARSE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

/* Parses an ISO-8601 date-time or a string of epoch digits. `field` names
 * the field in error messages. Returns 0 or TLY_EINVAL. */
int tly_time_parse(const char *s, size_t n, int64_t *out_ms, const char *field,
                   struct tly_error *err);

/* Interprets a JSON number as epoch seconds or milliseconds (see above). */
int tly_time_from_number(double v, int64_t *out_ms, const char *field, struct tly_error *err);

/* Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ` into out (at least 25 bytes). */
void tly_time_format(int64_t ms, char out[25]);

/* Days since 1970-01-01 of a proleptic Gregorian date (any month/day). */
int64_t tly_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Milliseconds since the epoch, from the realtime clock. */
int64_t tly_now_ms(void);

#endif
