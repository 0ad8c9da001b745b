/*
 * Time zones: IANA names → UTC offsets and local calendar periods.
 *
 * Campaign windows (day, week, month) and streak periods are local to the
 * campaign's time zone, so their boundaries move with daylight-saving time.
 * Zones are read from the system's TZif files (the tzdata package,
 * /usr/share/zoneinfo, or $TZDIR when set at load time); "UTC" and "Etc/UTC"
 * need no file. A loaded zone is immutable: share it between threads freely.
 *
 * Periods are numbered so that consecutive periods differ by exactly 1:
 *   day    local days since 1970-01-01
 *   week   local weeks since Monday 1969-12-29 (weeks start Monday 00:00)
 *   month  local months since 1970-01 (year * 12 + month - 1 - 1970 * 12)
 * A period starts at the first instant whose local date-time lies in it
 * (when local midnight is skipped by a DST change, the first local time
 * after the gap).
 */
#ifndef TLY_CORE_TZ_H
#define TLY_CORE_TZ_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

enum tly_period { TLY_PERIOD_DAY = 1, TLY_PERIOD_WEEK, TLY_PERIOD_MONTH };

struct tly_tz; /* opaque, immutable */

/* Loads zone `name` (letters, digits, '/', '_', '-', '+'; no "..", no
 * leading '/'). 0; TLY_ENOENT (unknown zone) or TLY_EINVAL (bad name or
 * unusable file) with `err` saying which; TLY_ENOMEM; TLY_EIO when the file
 * exists but cannot be read. *out is owned by the caller (tly_tz_free). */
int tly_tz_load(const char *name, struct tly_tz **out, struct tly_error *err);
/* Reads a zone from the `len` bytes of a TZif file at `data` (borrowed; not
 * NUL-terminated); `name` is copied as the zone's name. 0 with *out owned by
 * the caller; TLY_EINVAL (what is wrong and at which byte) or TLY_ENOMEM.
 * tly_tz_load reads the file and calls this. */
int tly_tz_parse(const void *data, size_t len, const char *name, struct tly_tz **out,
                 struct tly_error *err);
void tly_tz_free(struct tly_tz *tz);
const char *tly_tz_name(const struct tly_tz *tz);

/* Seconds east of UTC in force at instant `t_ms` (ms since the epoch). */
int32_t tly_tz_offset(const struct tly_tz *tz, int64_t t_ms);

/* The number of the local period containing instant `t_ms`. */
int64_t tly_tz_period_of(const struct tly_tz *tz, enum tly_period p, int64_t t_ms);
/* The instant (ms, UTC) at which local period number `n` starts. */
int64_t tly_tz_period_start(const struct tly_tz *tz, enum tly_period p, int64_t n);

#endif
