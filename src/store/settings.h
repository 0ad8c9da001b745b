/*
 * Per-tenant processing settings, as JSON in state.db:
 *
 *   {"dedupe_window_seconds": 604800,      a resent event_id within this
 *                                          time of the first is a duplicate
 *    "timestamp_horizon_seconds": 2592000, events older than this (by their
 *                                          timestamp, against their receive
 *                                          time) fail as timestamp_too_old
 *    "require_registration": false}        true: events of users not
 *                                          registered with PUT /v1/users/{id}
 *                                          fail as unknown_user
 *
 * Fields left out keep their current value (defaults: 7 days, 30 days,
 * false); unknown fields and out-of-range values are refused.
 */
#ifndef TLY_STORE_SETTINGS_H
#define TLY_STORE_SETTINGS_H

#include "core/buf.h"
#include "core/err.h"
#include "store/db.h"

#include <stdint.h>

#define TLY_DAY_MS (24LL * 3600 * 1000)

struct tly_tenant_settings {
    int64_t dedupe_window_ms;
    int64_t horizon_ms;
    int require_registration;
};

void tly_settings_default(struct tly_tenant_settings *s);

/* Applies the fields present in `json` to `s`. 0, or TLY_EINVAL naming the
 * field (s is then unchanged). */
int tly_settings_apply_json(struct tly_tenant_settings *s, const char *json, size_t len,
                            struct tly_error *err);

int tly_settings_to_json(const struct tly_tenant_settings *s, struct tly_buf *out);

/* Loads a tenant's settings (defaults when it has none stored). */
int tly_settings_load(sqlite3 *db, uint32_t tenant, struct tly_tenant_settings *s);
int tly_settings_save(sqlite3 *db, uint32_t tenant, const struct tly_tenant_settings *s);

#endif
