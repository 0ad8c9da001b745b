/*
 * Outbound webhooks in state.db: each tenant's endpoint settings and the
 * deliveries (one per outbox entry, endpoint and kind), as the management
 * API reads and changes them. The delivery thread's own queries are in
 * src/outbox/.
 *
 * Delivery states: pending → delivered (a 2xx), pending → failed (a
 * permanent refusal, or the retry window ran out), failed/pending →
 * pending again through tly_delivery_retry.
 */
#ifndef TLY_STORE_DELIVERIES_H
#define TLY_STORE_DELIVERIES_H

#include "core/buf.h"
#include "core/err.h"

#include <sqlite3.h>
#include <stdint.h>

/* The tenant's settings text (canonical JSON with secrets) appended to
 * out; *found 0 (nothing appended) when the tenant never set any. */
int tly_webhook_settings_load(sqlite3 *db, uint32_t tenant, struct tly_buf *out, int *found);
int tly_webhook_settings_save(sqlite3 *db, uint32_t tenant, const char *json, int64_t now_ms);

struct tly_delivery_filter {
    const char *status; /* "pending", "delivered", "failed" or NULL for all */
    int64_t cursor;     /* rows with id < cursor; 0 = from the newest */
    int limit;
};

/* Appends {"deliveries":[…],"next_cursor":"…"|null}, newest first. */
int tly_deliveries_list(sqlite3 *db, uint32_t tenant, const struct tly_delivery_filter *f,
                        struct tly_buf *out);

/* Makes delivery `uid` of the tenant pending, due now, with a new retry
 * window. 0; TLY_ENOENT (no such delivery for this tenant); TLY_ECONFLICT
 * (already delivered); TLY_EIO. The delivery's JSON is appended to out. */
int tly_delivery_retry(sqlite3 *db, uint32_t tenant, const char *uid, int64_t now_ms,
                       struct tly_buf *out);

/* Counts for /metrics. */
struct tly_delivery_counts {
    int64_t pending, delivered, failed;
    int64_t unfanned;       /* outbox entries not yet turned into deliveries */
    int64_t oldest_pending; /* created_at (ms) of the oldest pending one, 0 if none */
};
int tly_deliveries_count(sqlite3 *db, struct tly_delivery_counts *out);

#endif
