/*
 * Ingest endpoints: authenticate, bound, check the shape, append, answer.
 *
 * Nothing slow runs here: no database, no campaign logic. A request is
 * answered 200 only from the event log's completion, i.e. once its record
 * is on disk; 503 with Retry-After when the log is full, failed or stopping.
 */
#ifndef TLY_INGEST_INGEST_H
#define TLY_INGEST_INGEST_H

#include "core/buf.h"
#include "core/logger.h"
#include "http/router.h"
#include "ingest/auth.h"
#include "log/log.h"

struct tly_ingest;

/* `log` and `auth` are borrowed for the ingest's life. */
int tly_ingest_create(struct tly_ingest **out, struct tly_log *log, struct tly_auth *auth,
                      const struct tly_logger *lg);
int tly_ingest_routes(struct tly_ingest *ing, struct tly_router *r);
int tly_ingest_metrics(const struct tly_ingest *ing, struct tly_buf *out);

/* Appends `body` as one record and sends 200 with `answer` (copied) once it
 * is durable, or 503 with Retry-After if it cannot be stored. Loop thread. */
void tly_ingest_append(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                       uint8_t source, uint8_t kind, uint8_t flags, const char *body,
                       size_t body_len, const char *answer, size_t answer_len);
/* The same with record metadata (`meta`, JSON object text, copied; see
 * log/record.h). */
void tly_ingest_append_meta(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                            uint8_t source, uint8_t kind, uint8_t flags, const char *meta,
                            size_t meta_len, const char *body, size_t body_len, const char *answer,
                            size_t answer_len);

/* For the endpoint files: the key checks (borrowed), and the counters of
 * events that passed or failed the ingest checks. Loop thread. */
struct tly_auth *tly_ingest_auth(struct tly_ingest *ing);
void tly_ingest_count(struct tly_ingest *ing, uint64_t accepted, uint64_t rejected);

/* segment.c: POST /segment/v4 and the tracking API /v1/track, … */
int tly_ingest_segment_routes(struct tly_ingest *ing, struct tly_router *r);
/* moengage.c: POST /v3/moengage and /moengage/v4 (MoEngage Streams). */
int tly_ingest_moengage_routes(struct tly_ingest *ing, struct tly_router *r);
/* webengage.c: POST /webengage/v4 (WebEngage webhooks). */
int tly_ingest_webengage_routes(struct tly_ingest *ing, struct tly_router *r);
/* clevertap.c: POST /clevertap/v4 (CleverTap webhooks). */
int tly_ingest_clevertap_routes(struct tly_ingest *ing, struct tly_router *r);

void tly_ingest_free(struct tly_ingest *ing);

#endif
