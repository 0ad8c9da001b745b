/*
 * What the definition resources (campaigns, segments) share: a request
 * with the {id} of the path, an optional user id and a copy of the body;
 * the answers for store and parser error codes; a PUT body whose id is the
 * path's; the list framing {"<plural>":[…]}; and the answers of create
 * (201; 409 when the id exists), replace (409 when the stored definition
 * changed meanwhile) and delete (204).
 *
 * A resource describes itself once in a static struct tly_api_def_kind.
 * Its request state starts with a struct tly_api_def (job->data points at
 * both), so these functions find the id, body and row count there. What
 * differs stays in the resource's file: parsing, rendering a row, the
 * rules of a change, members.
 */
#ifndef TLY_API_DEFINITIONS_H
#define TLY_API_DEFINITIONS_H

#include "api/api.h"
#include "core/err.h"
#include "engine/campaign.h"
#include "sources/server.h"

struct tly_api_def_kind {
    const char *name;   /* "campaign": names one in messages */
    const char *plural; /* "campaigns": the member of a list answer */
};

/* The first member of a definition resource's request state. */
struct tly_api_def {
    const struct tly_api_def_kind *kind; /* borrowed (static) */
    char id[TLY_CAMPAIGN_ID_MAX + 1];    /* the path's or the created one's */
    char user_id[TLY_USER_ID_BUF];       /* when the path names a user */
    char *body;                          /* a NUL-terminated copy, or NULL */
    size_t len;
    int count; /* rows written so far */
};

/* Calls the store for the resource's rows (one, or all in id order) with
 * a row callback that starts with tly_api_def_row_sep and appends the row
 * to job->out. 0 or the store's code. */
typedef int (*tly_api_def_read_fn)(struct tly_api_job *job, sqlite3 *db);

/* On the loop thread: sets job->data to a zeroed request of `size` bytes
 * (at least sizeof(struct tly_api_def), which it starts with) for `kind`,
 * freed with the job (its body too; the rest must own no memory). Decodes
 * the id of path parameter `id_param` (-1: none; 404 not_found "no <name>
 * with this id" when it cannot be an id), the user id of parameter
 * `user_param` (-1: none; 400), and copies the body when `body`. 0, or -1
 * with the job failed: the caller answers. */
int tly_api_def_init(struct tly_api_job *job, const struct tly_api_def_kind *kind, size_t size,
                     int id_param, int user_param, int body);

/* Fails the job for a store call's code: 404 naming the id, 500 for
 * memory or an unreadable stored definition, 503 otherwise. Returns -1. */
int tly_api_def_store_fail(struct tly_api_job *job, int rc);

/* A parser's code with its error: 0 when rc is 0; else the job failed
 * (400 naming the field, kind->too_big for TLY_ETOOBIG, 503 for memory)
 * and -1. */
int tly_api_def_parsed(struct tly_api_job *job, int rc, const struct tly_error *err);

/* The body of a PUT as text whose id is the path's: the id, when given,
 * must equal it; when left out it is added. Sets *text to the request's
 * body or to a new string (cJSON_free). 0, or -1 with the job failed. */
int tly_api_def_put_text(struct tly_api_job *job, char **text);

/* In a row callback, before the row: the comma after the first. 0 or
 * TLY_ENOMEM. */
int tly_api_def_row_sep(struct tly_api_job *job);

/* Answers with the stored definition the request's id names. */
void tly_api_def_answer(struct tly_api_job *job, sqlite3 *db, tly_api_def_read_fn one);

/* Answers {"<plural>":[…]}. */
void tly_api_def_list(struct tly_api_job *job, sqlite3 *db, tly_api_def_read_fn all);

/* After the store's create of `id` returned rc: 201 with the definition,
 * 409 when the id exists, or the store's error. */
void tly_api_def_created(struct tly_api_job *job, sqlite3 *db, const char *id, int rc,
                         tly_api_def_read_fn one);

/* After the store's replace returned rc: the definition, 409 when it was
 * changed by another request meanwhile (TLY_ECONFLICT), or the store's
 * error. */
void tly_api_def_replaced(struct tly_api_job *job, sqlite3 *db, int rc, tly_api_def_read_fn one);

/* After the store's delete returned rc: 204 or the store's error. */
void tly_api_def_deleted(struct tly_api_job *job, int rc);

#endif
