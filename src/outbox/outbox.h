/*
 * The outbox thread: turns outbox entries (written by the engine in the
 * pipeline's transaction) into deliveries, one per matching endpoint, and
 * sends them with libcurl's multi interface, signed, with retries.
 *
 * State machine of a delivery (store/deliveries.h): pending → delivered on
 * a 2xx (one UPDATE records the answer and the new state), pending →
 * failed on a 3xx or a 4xx other than 408/429, on a refused destination,
 * or when the next attempt would fall after the retry window; anything
 * else (5xx, 408, 429, timeouts, connection errors) schedules the next
 * attempt (tly_retry_delay, or Retry-After when the answer has one).
 * Which deliveries are in flight is known only in memory: after a crash
 * they are still pending in the store and are sent again, under the same
 * webhook-id, so a receiver may see one twice and dedupes on it.
 *
 * Destinations: loopback, private, link-local and other non-public
 * addresses are refused when connecting (after name resolution), unless
 * the URL's host is in the deployment's allow-list (`allow_hosts`, comma
 * separated, "*" = any). Redirects are not followed; proxies from the
 * environment are not used.
 *
 * Threads: one thread of its own with its own SQLite connection;
 * tly_outbox_metrics may be called from any thread.
 */
#ifndef TLY_OUTBOX_OUTBOX_H
#define TLY_OUTBOX_OUTBOX_H

#include "core/buf.h"
#include "core/err.h"
#include "core/logger.h"
#include "outbox/webhook.h"

#include <sqlite3.h>
#include <stdint.h>

struct tly_outbox_config {
    const char *db_path;
    const char *allow_hosts;       /* NULL or "" = public addresses only */
    int per_endpoint;              /* requests in flight per endpoint (4) */
    int max_in_flight;             /* in total (64) */
    int64_t timeout_ms;            /* per request (10 s) */
    int64_t poll_ms;               /* how often the store is looked at (200 ms) */
    struct tly_retry_policy retry; /* 1 s, 1 h, 24 h */
    const char *user_agent;
};

struct tly_outbox;

int tly_outbox_open(struct tly_outbox **out, const struct tly_outbox_config *cfg,
                    const struct tly_logger *lg, struct tly_error *err);
int tly_outbox_start(struct tly_outbox *o);
/* Stops the thread: nothing new starts; requests in flight get up to 3 s
 * (at most the request timeout) to finish and be recorded; any still
 * running then are abandoned: they stay pending and are sent again at the
 * next start. NULL is a no-op. */
void tly_outbox_stop(struct tly_outbox *o);
void tly_outbox_close(struct tly_outbox *o);

/* Prometheus metrics; any thread. */
int tly_outbox_metrics(struct tly_outbox *o, struct tly_buf *out);

/* Moves up to `limit` outbox entries into deliveries in one transaction
 * (the outbox thread calls it; public for tests). *done = entries moved. */
int tly_outbox_fan_out(sqlite3 *db, int64_t now_ms, int limit, int *done);

#endif
