/*
 * Segments (README, "Segments").
 *
 * POST   /v1/segments               body = definition → 201, the segment;
 *                                   409 when the id exists
 * GET    /v1/segments               {"segments":[…]} ordered by id
 * GET    /v1/segments/{id}          the segment; 404 not_found
 * PUT    /v1/segments/{id}          the full definition (its id, if given,
 *                                   must be the path's; the type may not
 *                                   change: 409) → 200; changed rules
 *                                   forget the counted events
 * DELETE /v1/segments/{id}          204; definition and members go
 * GET    /v1/segments/{id}/users?cursor=&limit=
 *                                   {"users":[{user_id, entered_at}],
 *                                    "next_cursor"} by user id (keyset)
 * POST   /v1/segments/{id}/users    static segments: {"user_ids":[…]} or,
 *                                   with Content-Type text/csv, a CSV body
 *                                   (engine/segment.h) → {"added","total"}
 * DELETE /v1/segments/{id}/users    {"user_ids":[…]} → {"removed"}
 *
 * The original service's static-segment API (write key in X-API-KEY),
 * body {"userId"}; {campaignId} names a campaign whose `segment` names the
 * static segment to maintain (created empty on first use):
 * POST   /segment/{campaignId}/user/add      {"success":true}
 * POST   /segment/{campaignId}/user/status   {"success":true,"data":{"isPresent":bool}}
 * DELETE /segment/{campaignId}/user/delete   {"success":true}
 *
 * A CSV upload is one request of at most the server's body limit
 * (--max-body); its rows go into the store in transactions of CSV_CHUNK
 * ids, so memory stays bounded by the body. Larger files are sent in
 * several requests (cut at line ends).
 */
#include "api/api.h"
#include "api/definitions.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "core/utf8.h"
#include "engine/segment.h"
#include "sources/server.h"
#include "store/campaigns.h"
#include "store/segments.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000
#define LIST_MAX     10000 /* user ids in one JSON list */
#define CSV_CHUNK    5000  /* ids per transaction of a CSV upload */

/* A definition over its size limit is 413. */
static const struct tly_api_def_kind SEGMENT = {"segment", "segments"};

struct seg_req {
    struct tly_api_def d;         /* id, body, count: first (api/definitions.h) */
    char cursor[TLY_USER_ID_BUF]; /* members: the page's; original API: the campaign id */
    int limit;
    int csv;
};

static int render(struct tly_buf *b, const struct tly_segment_row *row)
{
    const char *end = row->len > 0 ? memrchr(row->definition, '}', row->len) : NULL;
    if (end == NULL || end == row->definition)
        return TLY_ECORRUPT;
    int rc = tly_buf_append(b, row->definition, (size_t)(end - row->definition));
    rc |= tly_buf_puts(b, ",\"created_at\":");
    rc |= tly_api_json_time(b, row->created_at);
    rc |= tly_buf_puts(b, ",\"updated_at\":");
    rc |= tly_api_json_time(b, row->updated_at);
    rc |= tly_buf_printf(b, ",\"members\":%lld}", (long long)row->members);
    return rc ? TLY_ENOMEM : 0;
}

static int on_row(void *arg, const struct tly_segment_row *row)
{
    struct tly_api_job *job = arg;
    if (tly_api_def_row_sep(job) != 0)
        return TLY_ENOMEM;
    return render(&job->out, row);
}

/* The stored segment the request's id names, into job->out. */
static int read_one(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    return tly_segment_get(db, job->tenant, r->d.id, on_row, job);
}

static int read_all(struct tly_api_job *job, sqlite3 *db)
{
    return tly_segments_list(db, job->tenant, on_row, job);
}

/* Parses the body as a definition whose id is r->d.id when r->d.id is set. */
static int parse(struct tly_api_job *job, struct tly_segment **out, struct tly_buf *canon)
{
    struct seg_req *r = job->data;
    struct tly_error err = {{0}};
    char *text = r->d.body; /* PUT: with the path's id (tly_api_def_put_text) */
    if (r->d.id[0] != '\0' && tly_api_def_put_text(job, &text) != 0)
        return -1;
    size_t len = text == r->d.body ? r->d.len : strlen(text);
    int rc = tly_api_def_parsed(job, tly_segment_parse(text, len, out, &err), &err);
    if (text != r->d.body)
        cJSON_free(text);
    if (rc != 0)
        return -1;
    tly_buf_init(canon, 0);
    if (tly_segment_to_json(*out, canon) != 0 || tly_buf_append(canon, "", 1) != 0)
        return tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
    return 0;
}

static const char *kind_name(const struct tly_segment *s)
{
    return s->kind == TLY_SEGMENT_STATIC ? "static" : "event";
}

static void run_create(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_segment *s = NULL;
    struct tly_buf canon = {0};
    if (parse(job, &s, &canon) == 0) {
        int rc = tly_segment_create(db, job->tenant, s->id, kind_name(s), canon.data, tly_now_ms());
        tly_api_def_created(job, db, s->id, rc, read_one);
    }
    tly_buf_free(&canon);
    tly_segment_free(s);
}

static void run_list(struct tly_api_job *job, sqlite3 *db)
{
    tly_api_def_list(job, db, read_all);
}

static void run_get(struct tly_api_job *job, sqlite3 *db)
{
    tly_api_def_answer(job, db, read_one);
}

static int copy_definition(void *arg, const struct tly_segment_row *row)
{
    char **out = arg;
    *out = strdup(row->definition);
    return *out == NULL ? TLY_ENOMEM : 0;
}

static void run_replace(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    struct tly_segment *next = NULL, *cur = NULL;
    struct tly_buf canon = {0};
    char *stored = NULL;
    struct tly_error err = {{0}};
    if (parse(job, &next, &canon) != 0)
        goto done;
    int rc = tly_segment_get(db, job->tenant, r->d.id, copy_definition, &stored);
    if (rc != 0) {
        tly_api_def_store_fail(job, rc);
        goto done;
    }
    if (tly_segment_parse(stored, strlen(stored), &cur, &err) != 0) {
        tly_api_def_store_fail(job, TLY_ECORRUPT);
        goto done;
    }
    if (cur->kind != next->kind) {
        tly_api_job_fail(job, 409, "conflict", "type", "type: a segment's type may not change");
        goto done;
    }
    rc = tly_segment_replace(db, job->tenant, r->d.id, kind_name(next), canon.data,
                             !tly_segment_same_rules(cur, next), tly_now_ms());
    tly_api_def_replaced(job, db, rc, read_one);
done:
    free(stored);
    tly_buf_free(&canon);
    tly_segment_free(cur);
    tly_segment_free(next);
}

static void run_delete(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    tly_api_def_deleted(job, tly_segment_delete(db, job->tenant, r->d.id));
}

static int on_member(void *arg, const char *user, int64_t entered_at)
{
    struct tly_api_job *job = arg;
    struct seg_req *r = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_puts(b, r->d.count++ ? ",{\"user_id\":" : "{\"user_id\":");
    rc |= tly_buf_json_str(b, user, strlen(user));
    rc |= tly_buf_puts(b, ",\"entered_at\":");
    rc |= tly_api_json_time(b, entered_at);
    rc |= tly_buf_puts(b, "}");
    snprintf(r->cursor, sizeof r->cursor, "%s", user);
    return rc ? TLY_ENOMEM : 0;
}

static void run_members(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    char kind[8];
    int rc = tly_segment_kind(db, job->tenant, r->d.id, kind);
    if (rc != 0) {
        tly_api_def_store_fail(job, rc);
        return;
    }
    rc = tly_buf_puts(&job->out, "{\"users\":[");
    if (rc == 0)
        rc =
            tly_segment_members_page(db, job->tenant, r->d.id, r->cursor, r->limit, on_member, job);
    if (rc == 0) {
        rc = tly_buf_puts(&job->out, "],\"next_cursor\":");
        if (r->d.count == r->limit)
            rc |= tly_buf_json_str(&job->out, r->cursor, strlen(r->cursor));
        else
            rc |= tly_buf_puts(&job->out, "null");
        rc |= tly_buf_puts(&job->out, "}");
    }
    if (rc != 0)
        tly_api_def_store_fail(job, rc);
}

/* The static segment r->d.id exists? 0, or -1 with the job failed. */
static int need_static(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    char kind[8];
    int rc = tly_segment_kind(db, job->tenant, r->d.id, kind);
    if (rc != 0)
        return tly_api_def_store_fail(job, rc);
    if (strcmp(kind, "static") != 0)
        return tly_api_job_fail(job, 409, "conflict", "id",
                                "segment \"%s\" is an event segment: its members follow its "
                                "conditions",
                                r->d.id);
    return 0;
}

/* The ids of {"user_ids":[…]} in the body; NULL with the job failed. The
 * array borrows from *root (the caller deletes it). */
static const char **json_ids(struct tly_api_job *job, cJSON **root, size_t *n)
{
    struct seg_req *r = job->data;
    struct tly_error err = {{0}};
    *root = tly_json_parse(r->d.body, r->d.len, &err);
    const cJSON *ids = *root ? cJSON_GetObjectItemCaseSensitive(*root, "user_ids") : NULL;
    if (*root == NULL) {
        tly_api_job_fail(job, 400, "invalid_request", "", "%s", err.msg);
        return NULL;
    }
    int count = cJSON_GetArraySize(ids);
    if (!cJSON_IsArray(ids) || count < 1 || count > LIST_MAX) {
        tly_api_job_fail(job, 400, "invalid_request", "user_ids",
                         "user_ids: expected an array of 1 to %d user ids", LIST_MAX);
        return NULL;
    }
    const char **out = calloc((size_t)count, sizeof *out);
    if (out == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        return NULL;
    }
    const cJSON *v;
    *n = 0;
    cJSON_ArrayForEach(v, ids)
    {
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
            strlen(v->valuestring) > TLY_USER_ID_MAX ||
            !tly_utf8_valid(v->valuestring, strlen(v->valuestring))) {
            tly_api_job_fail(job, 400, "invalid_request", "user_ids",
                             "user_ids[%zu]: expected a user id (1 to %d bytes of UTF-8)", *n,
                             TLY_USER_ID_MAX);
            free(out);
            return NULL;
        }
        out[(*n)++] = v->valuestring;
    }
    return out;
}

static int count_answer(struct tly_api_job *job, sqlite3 *db, const char *what, int64_t n)
{
    struct seg_req *r = job->data;
    int64_t total = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM segment_members WHERE tenant_id = ?1 AND "
                           "segment_id = ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, job->tenant);
        sqlite3_bind_text(st, 2, r->d.id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            total = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return tly_buf_printf(&job->out, "{\"%s\":%lld,\"total\":%lld}", what, (long long)n,
                          (long long)total);
}

/* CSV: ids go in in transactions of CSV_CHUNK. A bad line fails the
 * request at that line; the chunks before it stay added (the answer says
 * how many). */
static void add_csv(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    char(*ids)[TLY_USER_ID_BUF] = malloc(CSV_CHUNK * sizeof *ids);
    const char **ptrs = malloc(CSV_CHUNK * sizeof *ptrs);
    if (ids == NULL || ptrs == NULL) {
        free(ids);
        free(ptrs);
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        return;
    }
    size_t pos = 0, line = 0, n = 0;
    int64_t added = 0, got;
    struct tly_error err = {{0}};
    int rc, store = 0;
    int64_t now = tly_now_ms();
    do {
        rc = tly_segment_csv_next(r->d.body, r->d.len, &pos, &line, ids[n], TLY_USER_ID_BUF, &err);
        if (rc == 1) {
            ptrs[n] = ids[n];
            n++;
        }
        if ((rc != 1 && n > 0) || n == CSV_CHUNK) {
            store = tly_segment_members_add(db, job->tenant, r->d.id, ptrs, n, now, 0, &got);
            added += got;
            n = 0;
        }
    } while (rc == 1 && store == 0);
    free(ids);
    free(ptrs);
    if (store != 0)
        tly_api_def_store_fail(job, store);
    else if (rc < 0)
        tly_api_job_fail(job, 400, "invalid_request", "csv", "%s (%lld added before it)", err.msg,
                         (long long)added);
    else if (count_answer(job, db, "added", added) != 0)
        tly_api_def_store_fail(job, TLY_ENOMEM);
}

static void run_add(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    if (need_static(job, db) != 0)
        return;
    if (r->csv) {
        add_csv(job, db);
        return;
    }
    cJSON *root = NULL;
    size_t n = 0;
    const char **ids = json_ids(job, &root, &n);
    int64_t added;
    int rc =
        ids ? tly_segment_members_add(db, job->tenant, r->d.id, ids, n, tly_now_ms(), 0, &added)
            : 0;
    if (ids != NULL && rc != 0)
        tly_api_def_store_fail(job, rc);
    else if (ids != NULL && count_answer(job, db, "added", added) != 0)
        tly_api_def_store_fail(job, TLY_ENOMEM);
    free(ids);
    cJSON_Delete(root);
}

static void run_remove(struct tly_api_job *job, sqlite3 *db)
{
    struct seg_req *r = job->data;
    if (need_static(job, db) != 0)
        return;
    cJSON *root = NULL;
    size_t n = 0;
    const char **ids = json_ids(job, &root, &n);
    int64_t removed;
    int rc = ids ? tly_segment_members_remove(db, job->tenant, r->d.id, ids, n, &removed) : 0;
    if (ids != NULL && rc != 0)
        tly_api_def_store_fail(job, rc);
    else if (ids != NULL && count_answer(job, db, "removed", removed) != 0)
        tly_api_def_store_fail(job, TLY_ENOMEM);
    free(ids);
    cJSON_Delete(root);
}

/* ---- the original static-segment API ----------------------------------- */

static int campaign_segment(void *arg, const struct tly_campaign_row *row)
{
    struct seg_req *r = arg;
    cJSON *def = cJSON_ParseWithLength(row->definition, row->len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(def, "segment");
    r->d.id[0] = '\0';
    if (cJSON_IsString(s))
        snprintf(r->d.id, sizeof r->d.id, "%s", s->valuestring);
    cJSON_Delete(def);
    return 0;
}

/* r->cursor holds the campaign id, r->d.body the request body. Finds the
 * campaign's static segment (creating it when the campaign names one that
 * does not exist) into r->d.id and the userId into *user. */
static int original_target(struct tly_api_job *job, sqlite3 *db, char *user, size_t usz)
{
    struct seg_req *r = job->data;
    struct tly_error err = {{0}};
    cJSON *root = tly_json_parse(r->d.body, r->d.len, &err);
    const cJSON *u = root ? cJSON_GetObjectItemCaseSensitive(root, "userId") : NULL;
    int ok = cJSON_IsString(u) && u->valuestring[0] != '\0' && strlen(u->valuestring) < usz &&
             tly_utf8_valid(u->valuestring, strlen(u->valuestring));
    if (ok)
        snprintf(user, usz, "%s", u->valuestring);
    cJSON_Delete(root);
    if (!ok)
        return tly_api_job_fail(job, 400, "invalid_request", "userId",
                                "userId: expected a user id (1 to %d bytes of UTF-8)",
                                TLY_USER_ID_MAX);
    int rc = tly_campaign_get(db, job->tenant, r->cursor, campaign_segment, r);
    if (rc == TLY_ENOENT)
        return tly_api_job_fail(job, 404, "not_found", "campaignId", "no campaign with id \"%s\"",
                                r->cursor);
    if (rc != 0)
        return tly_api_def_store_fail(job, rc);
    if (r->d.id[0] == '\0')
        return tly_api_job_fail(job, 409, "conflict", "campaignId",
                                "campaign \"%s\" has no segment: set its \"segment\" to the id "
                                "of a static segment first",
                                r->cursor);
    struct tly_segment s = {.id = r->d.id, .name = r->d.id, .kind = TLY_SEGMENT_STATIC};
    struct tly_buf canon;
    tly_buf_init(&canon, 0);
    rc = tly_segment_to_json(&s, &canon) || tly_buf_append(&canon, "", 1) ? TLY_ENOMEM : 0;
    if (rc == 0)
        rc = tly_segment_create(db, job->tenant, r->d.id, "static", canon.data, tly_now_ms());
    tly_buf_free(&canon);
    if (rc != 0 && rc != TLY_EEXIST)
        return tly_api_def_store_fail(job, rc);
    return need_static(job, db);
}

static void run_original(struct tly_api_job *job, sqlite3 *db, int op)
{
    struct seg_req *r = job->data;
    char user[TLY_USER_ID_BUF];
    if (original_target(job, db, user, sizeof user) != 0)
        return;
    const char *ids[] = {user};
    int64_t n = 0;
    int rc = op == 0
                 ? tly_segment_members_add(db, job->tenant, r->d.id, ids, 1, tly_now_ms(), 0, &n)
             : op == 2 ? tly_segment_members_remove(db, job->tenant, r->d.id, ids, 1, &n)
                       : tly_segment_member(db, job->tenant, r->d.id, user, NULL);
    if (op == 1 && (rc == 0 || rc == TLY_ENOENT)) {
        tly_buf_printf(&job->out, "{\"success\":true,\"data\":{\"isPresent\":%s}}",
                       rc == 0 ? "true" : "false");
        return;
    }
    if (rc != 0)
        tly_api_def_store_fail(job, rc);
    else
        tly_buf_puts(&job->out, "{\"success\":true}");
}

static void run_orig_add(struct tly_api_job *job, sqlite3 *db)
{
    run_original(job, db, 0);
}

static void run_orig_status(struct tly_api_job *job, sqlite3 *db)
{
    run_original(job, db, 1);
}

static void run_orig_delete(struct tly_api_job *job, sqlite3 *db)
{
    run_original(job, db, 2);
}

/* ---- routes ------------------------------------------------------------ */

enum { NO_ID = 0, ID = 1, BODY = 2, PAGE = 4, WRITE_KEY = 8 };

static void start(struct tly_http_req *req, void *api, void (*run)(struct tly_api_job *, sqlite3 *),
                  int how)
{
    struct tly_api_job *job =
        how & WRITE_KEY ? tly_api_job_new_write(api, req, run) : tly_api_job_new(api, req, run);
    if (job == NULL)
        return;
    if (tly_api_def_init(job, &SEGMENT, sizeof(struct seg_req), how & ID ? 0 : -1, -1,
                         how & BODY) != 0)
        goto fail;
    struct seg_req *r = job->data;
    if ((how & WRITE_KEY) && /* the campaign id, kept in cursor */
        tly_api_id_param(job, 0, r->cursor, TLY_CAMPAIGN_ID_MAX + 1, "campaignId",
                         "no campaign with this id") != 0)
        goto fail;
    if (how & PAGE) {
        r->limit = PAGE_DEFAULT;
        if (tly_api_query_int(req, "limit", 1, PAGE_MAX, &r->limit) < 0) {
            tly_api_job_fail(job, 400, "invalid_request", "limit", "limit: 1 to %d", PAGE_MAX);
            goto fail;
        }
        size_t qn;
        const char *q = tly_http_query(req, &qn);
        if (tly_query_get(q, qn, "cursor", r->cursor, sizeof r->cursor) < 0) {
            tly_api_job_fail(job, 400, "invalid_request", "cursor", "cursor: malformed");
            goto fail;
        }
    }
    if (how & BODY) {
        size_t cn;
        const char *ct = tly_http_header(req, "content-type", &cn);
        r->csv = ct != NULL && cn >= 8 && strncasecmp(ct, "text/csv", 8) == 0;
    }
    tly_api_job_submit(job);
    return;
fail:
    tly_api_job_answer(job);
}

#define HANDLER(name, run, how)                                                                    \
    static void name(struct tly_http_req *req, void *api)                                          \
    {                                                                                              \
        start(req, api, run, how);                                                                 \
    }

HANDLER(post_segment, run_create, BODY)
HANDLER(list_segments, run_list, NO_ID)
HANDLER(get_segment, run_get, ID)
HANDLER(put_segment, run_replace, ID | BODY)
HANDLER(delete_segment, run_delete, ID)
HANDLER(get_members, run_members, ID | PAGE)
HANDLER(post_members, run_add, ID | BODY)
HANDLER(delete_members, run_remove, ID | BODY)
HANDLER(orig_add, run_orig_add, WRITE_KEY | BODY)
HANDLER(orig_status, run_orig_status, WRITE_KEY | BODY)
HANDLER(orig_delete, run_orig_delete, WRITE_KEY | BODY)

int tly_api_segments_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_POST, "/v1/segments", post_segment, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/segments", list_segments, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/segments/{id}", get_segment, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/segments/{id}", put_segment, api);
    rc |= tly_router_add(r, HTTP_DELETE, "/v1/segments/{id}", delete_segment, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/segments/{id}/users", get_members, api);
    rc |= tly_router_add(r, HTTP_POST, "/v1/segments/{id}/users", post_members, api);
    rc |= tly_router_add(r, HTTP_DELETE, "/v1/segments/{id}/users", delete_members, api);
    rc |= tly_router_add(r, HTTP_POST, "/segment/{campaignId}/user/add", orig_add, api);
    rc |= tly_router_add(r, HTTP_POST, "/segment/{campaignId}/user/status", orig_status, api);
    rc |= tly_router_add(r, HTTP_DELETE, "/segment/{campaignId}/user/delete", orig_delete, api);
    return rc ? TLY_ENOMEM : 0;
}
