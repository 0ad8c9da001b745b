/*
 * Reading events back out of the log for the management API.
 *
 * The state store keeps where each processed event is (offset, item); its
 * full normalized form is derived again from the record, with the same
 * adapter. These functions open their own reader: any thread.
 */
#ifndef TLY_PIPELINE_LOOKUP_H
#define TLY_PIPELINE_LOOKUP_H

#include "core/buf.h"
#include "sources/adapter.h"

#include <sqlite3.h>
#include <stdint.h>

/* Appends the canonical event as JSON. */
int tly_event_to_json(const struct tly_event *ev, struct tly_buf *out);

/* Appends the canonical JSON of item `item` of the record at `offset`,
 * mapped with the record's tenant's current source settings read from
 * `db` (NULL: the defaults), or with the defaults when the item does not
 * map under them (it was processed before a change of mapping).
 * TLY_ENOENT when the record is gone (retention) or the item does not map. */
int tly_event_json_at(const char *log_dir, sqlite3 *db, uint64_t offset, int32_t item,
                      struct tly_buf *out);

/* Looks for a record of `tenant` in [from, to) holding an item whose event
 * id is `event_id`, reading at most `max_bytes`. 1 found (*offset set),
 * 0 not found, < 0 error. */
int tly_log_find_event(const char *log_dir, uint64_t from, uint64_t to, uint32_t tenant,
                       const char *event_id, uint64_t max_bytes, uint64_t *offset);

#endif
