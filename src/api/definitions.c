/*
 * The request state and answers the definition resources share
 * (api/definitions.h). Messages name the resource from its kind, so a
 * campaign's and a segment's answers read the same way.
 */
#include "api/definitions.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_def(void *data)
{
    struct tly_api_def *d = data;
    if (d != NULL)
        free(d->body);
    free(d);
}

int tly_api_def_init(struct tly_api_job *job, const struct tly_api_def_kind *kind, size_t size,
                     int id_param, int user_param, int body)
{
    struct tly_api_def *d = calloc(1, size);
    job->data = d;
    job->free_data = free_def;
    if (d == NULL)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    d->kind = kind;
    if (user_param >= 0 &&
        tly_api_user_id_param(job, user_param, d->user_id, sizeof d->user_id) != 0)
        return -1;
    if (id_param >= 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "no %s with this id", kind->name);
        if (tly_api_id_param(job, id_param, d->id, sizeof d->id, "id", msg) != 0)
            return -1;
    }
    if (body && tly_api_body_copy(job, &d->body, &d->len) != 0)
        return -1;
    return 0;
}

int tly_api_def_store_fail(struct tly_api_job *job, int rc)
{
    struct tly_api_def *d = job->data;
    switch (rc) {
    case TLY_ENOENT:
        return tly_api_job_fail(job, 404, "not_found", "id", "no %s with id \"%s\"", d->kind->name,
                                d->id);
    case TLY_ENOMEM:
        return tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
    case TLY_ECORRUPT:
        return tly_api_job_fail(job, 500, "internal", NULL, "stored definition is unreadable");
    default:
        return tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
    }
}

int tly_api_def_parsed(struct tly_api_job *job, int rc, const struct tly_error *err)
{
    if (rc == 0)
        return 0;
    if (rc == TLY_ENOMEM)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    /* Over the definition's size limit: 413, as for any body too large. */
    return tly_api_job_fail(job, rc == TLY_ETOOBIG ? 413 : 400, "invalid_request", err->field, "%s",
                            err->msg);
}

int tly_api_def_put_text(struct tly_api_job *job, char **text)
{
    struct tly_api_def *d = job->data;
    struct tly_error err = {{0}};
    *text = d->body;
    cJSON *root = tly_json_parse(d->body, d->len, &err);
    if (root == NULL)
        return tly_api_job_fail(job, 400, "invalid_request", "", "%s", err.msg);
    int rc = 0;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsObject(root)) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "",
                              "expected a %s definition (a JSON object)", d->kind->name);
    } else if (id != NULL) {
        if (!cJSON_IsString(id) || strcmp(id->valuestring, d->id) != 0)
            rc = tly_api_job_fail(job, 400, "invalid_request", "id",
                                  "id: must be the %s id of the path (\"%s\") or left out",
                                  d->kind->name, d->id);
    } else if (cJSON_AddStringToObject(root, "id", d->id) == NULL ||
               (*text = cJSON_PrintUnformatted(root)) == NULL) {
        rc = tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    }
    cJSON_Delete(root);
    return rc;
}

int tly_api_def_row_sep(struct tly_api_job *job)
{
    struct tly_api_def *d = job->data;
    if (d->count++ > 0 && tly_buf_puts(&job->out, ",") != 0)
        return TLY_ENOMEM;
    return 0;
}

void tly_api_def_answer(struct tly_api_job *job, sqlite3 *db, tly_api_def_read_fn one)
{
    struct tly_api_def *d = job->data;
    tly_buf_reset(&job->out);
    d->count = 0;
    int rc = one(job, db);
    if (rc != 0)
        tly_api_def_store_fail(job, rc);
}

void tly_api_def_list(struct tly_api_job *job, sqlite3 *db, tly_api_def_read_fn all)
{
    struct tly_api_def *d = job->data;
    int rc = tly_buf_printf(&job->out, "{\"%s\":[", d->kind->plural);
    if (rc == 0)
        rc = all(job, db);
    if (rc == 0)
        rc = tly_buf_puts(&job->out, "]}");
    if (rc != 0)
        tly_api_def_store_fail(job, rc);
}

void tly_api_def_created(struct tly_api_job *job, sqlite3 *db, const char *id, int rc,
                         tly_api_def_read_fn one)
{
    struct tly_api_def *d = job->data;
    snprintf(d->id, sizeof d->id, "%s", id);
    if (rc == TLY_EEXIST)
        tly_api_job_fail(job, 409, "conflict", "id", "a %s with id \"%s\" exists", d->kind->name,
                         d->id);
    else if (rc != 0)
        tly_api_def_store_fail(job, rc);
    else
        tly_api_def_answer(job, db, one);
    if (job->status < 400)
        job->status = 201;
}

void tly_api_def_replaced(struct tly_api_job *job, sqlite3 *db, int rc, tly_api_def_read_fn one)
{
    struct tly_api_def *d = job->data;
    if (rc == TLY_ECONFLICT)
        tly_api_job_fail(job, 409, "conflict", "id",
                         "%s \"%s\" was changed by another request meanwhile; read it and try "
                         "again",
                         d->kind->name, d->id);
    else if (rc != 0)
        tly_api_def_store_fail(job, rc);
    else
        tly_api_def_answer(job, db, one);
}

void tly_api_def_deleted(struct tly_api_job *job, int rc)
{
    if (rc != 0)
        tly_api_def_store_fail(job, rc);
    else
        job->status = 204;
}
