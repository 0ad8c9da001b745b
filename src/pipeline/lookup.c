/*
 * Events read back from the log (see lookup.h).
 */
#include "pipeline/lookup.h"
#include "core/timeparse.h"
#include "log/reader.h"
#include "store/sources.h"

#include <string.h>

static int json_field(struct tly_buf *b, const char *name, const char *v)
{
    int rc = tly_buf_printf(b, ",\"%s\":", name);
    return rc | tly_buf_json_str(b, v, strlen(v));
}

static int json_value(struct tly_buf *b, const char *name, const cJSON *v)
{
    if (v == NULL)
        return tly_buf_printf(b, ",\"%s\":null", name);
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL)
        return TLY_ENOMEM;
    int rc = tly_buf_printf(b, ",\"%s\":", name);
    rc |= tly_buf_puts(b, text);
    cJSON_free(text);
    return rc;
}

int tly_event_to_json(const struct tly_event *ev, struct tly_buf *b)
{
    char ts[25], rt[25];
    tly_time_format(ev->timestamp, ts);
    tly_time_format(ev->received_at, rt);
    const char *kind = ev->kind == TLY_EVENT_PROFILE ? "profile"
                       : ev->kind == TLY_EVENT_ALIAS ? "alias"
                                                     : "track";
    int rc =
        tly_buf_printf(b, "{\"kind\":\"%s\",\"source\":\"%s\"", kind, tly_source_name(ev->source));
    rc |= json_field(b, "event_id", ev->event_id);
    rc |= json_field(b, "event_name", ev->event_name);
    rc |= json_field(b, "user_id", ev->user_id);
    rc |= tly_buf_printf(b, ",\"timestamp\":\"%s\",\"received_at\":\"%s\"", ts, rt);
    rc |= json_value(b, "properties", ev->properties);
    rc |= json_value(b, "context", ev->context);
    if (ev->kind == TLY_EVENT_PROFILE || ev->traits != NULL)
        rc |= json_value(b, "traits", ev->traits);
    if (ev->group_id != NULL)
        rc |= json_field(b, "group_id", ev->group_id);
    if (ev->previous_id != NULL)
        rc |= json_field(b, "previous_id", ev->previous_id);
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

/* Maps item `item` of `rec` with `cfg`, else with the defaults; 0 with
 * `ev` (borrowing from `items` and `cfg`). */
static int map_item(const struct tly_record *rec, int32_t item, const struct tly_source_config *cfg,
                    struct tly_items *items, struct tly_event *ev)
{
    const struct tly_adapter *a = tly_adapter_for(rec->source);
    struct tly_failure f;
    if (a == NULL || a->split(rec, items, &f) != 0 || item < 0 || (size_t)item >= items->n)
        return TLY_ENOENT;
    if (a->map(items->item[item], rec, cfg, ev, &f) == 0)
        return 0;
    return a->map(items->item[item], rec, NULL, ev, &f) == 0 ? 0 : TLY_ENOENT;
}

int tly_event_json_at(const char *log_dir, sqlite3 *db, uint64_t offset, int32_t item,
                      struct tly_buf *out)
{
    struct tly_log_reader *r;
    if (tly_log_reader_open(&r, log_dir, offset) != 0)
        return TLY_ENOENT;
    struct tly_record rec;
    uint64_t off;
    int rc = tly_log_reader_next(r, &rec, &off) == 1 ? 0 : TLY_ENOENT;
    struct tly_items items;
    tly_items_init(&items);
    struct tly_event ev;
    struct tly_source_config cfg;
    tly_source_config_init(&cfg, NULL);
    if (rc == 0 && db != NULL && tly_source_config_load(db, rec.tenant, rec.source, &cfg) != 0)
        tly_source_config_init(&cfg, NULL); /* the defaults */
    if (rc == 0)
        rc = map_item(&rec, item, &cfg, &items, &ev);
    if (rc == 0)
        rc = tly_event_to_json(&ev, out);
    tly_source_config_free(&cfg);
    tly_items_free(&items);
    tly_log_reader_close(r);
    return rc;
}

int tly_log_find_event(const char *log_dir, uint64_t from, uint64_t to, uint32_t tenant,
                       const char *event_id, uint64_t max_bytes, uint64_t *offset)
{
    struct tly_log_reader *r;
    if (tly_log_reader_open(&r, log_dir, from) != 0)
        return 0;
    tly_log_reader_set_limit(r, to);
    size_t idlen = strlen(event_id);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_record rec;
    uint64_t off;
    int found = 0;
    while (!found && tly_log_reader_position(r) - from < max_bytes &&
           tly_log_reader_next(r, &rec, &off) == 1) {
        /* Cheap filter on the raw bytes, then the adapter decides. */
        if (rec.tenant != tenant || memmem(rec.body, rec.body_len, event_id, idlen) == NULL)
            continue;
        const struct tly_adapter *a = tly_adapter_for(rec.source);
        struct tly_failure f;
        tly_items_reset(&items);
        if (a == NULL || a->split(&rec, &items, &f) != 0)
            continue;
        for (size_t i = 0; i < items.n && !found; i++) {
            const char *id = a->event_id_of(items.item[i]);
            if (id != NULL && strcmp(id, event_id) == 0) {
                *offset = off;
                found = 1;
            }
        }
    }
    tly_items_free(&items);
    tly_log_reader_close(r);
    return found;
}
