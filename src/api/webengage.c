/*
 * The tenant's WebEngage account (see webengage.h). The secret key is
 * hashed as soon as the body is read and wiped; it is never logged.
 */
#include "api/webengage.h"
#include "api/api.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "sources/webengage.h"
#include "store/sources.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct we_req {
    int put;
    /* PUT: MD5 hex then the license code, NUL-terminated */
    char stored[TLY_WEBENGAGE_SECRET_HEX + TLY_WEBENGAGE_LICENSE_MAX + 1];
};

struct owner {
    const char *license;
    uint32_t tenant; /* 0 when no tenant has it */
};

static int find_owner(void *arg, uint32_t tenant, const char *text, size_t len)
{
    struct owner *o = arg;
    if (len > TLY_WEBENGAGE_SECRET_HEX && strlen(o->license) == len - TLY_WEBENGAGE_SECRET_HEX &&
        memcmp(text + TLY_WEBENGAGE_SECRET_HEX, o->license, len - TLY_WEBENGAGE_SECRET_HEX) == 0)
        o->tenant = tenant;
    return 0;
}

struct mine {
    uint32_t tenant;
    char license[TLY_WEBENGAGE_LICENSE_MAX + 1];
    int found;
};

static int find_mine(void *arg, uint32_t tenant, const char *text, size_t len)
{
    struct mine *m = arg;
    if (tenant == m->tenant && len > TLY_WEBENGAGE_SECRET_HEX &&
        len - TLY_WEBENGAGE_SECRET_HEX <= TLY_WEBENGAGE_LICENSE_MAX) {
        memcpy(m->license, text + TLY_WEBENGAGE_SECRET_HEX, len - TLY_WEBENGAGE_SECRET_HEX);
        m->license[len - TLY_WEBENGAGE_SECRET_HEX] = '\0';
        m->found = 1;
    }
    return 0;
}

static void run_we(struct tly_api_job *job, sqlite3 *db)
{
    struct we_req *r = job->data;
    if (r->put) {
        /* The owner check and the write in one transaction: a license code
         * belongs to one tenant only. */
        struct owner o = {r->stored + TLY_WEBENGAGE_SECRET_HEX, 0};
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            tly_api_job_fail(job, 503, "unavailable", NULL, "state store busy");
            return;
        }
        int rc = tly_source_secrets_each(db, "webengage", find_owner, &o);
        if (rc == 0 && o.tenant != 0 && o.tenant != job->tenant) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            tly_api_job_fail(job, 409, "conflict", "license_code",
                             "license_code: already configured by another tenant");
            return;
        }
        if (rc == 0)
            rc = tly_source_secret_set(db, job->tenant, "webengage", r->stored, tly_now_ms());
        if (rc != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
            return;
        }
    }
    int set;
    int64_t at;
    struct mine m = {.tenant = job->tenant};
    if (tly_source_secret_state(db, job->tenant, "webengage", &set, &at) != 0 ||
        tly_source_secrets_each(db, "webengage", find_mine, &m) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    int rc = tly_buf_puts(&job->out, "{\"source\":\"webengage\",\"license_code\":");
    if (m.found)
        rc |= tly_buf_json_str(&job->out, m.license, strlen(m.license));
    else
        rc |= tly_buf_puts(&job->out, "null");
    rc |= tly_buf_printf(&job->out, ",\"secret_set\":%s,\"updated_at\":", set ? "true" : "false");
    rc |= tly_api_json_time(&job->out, at);
    rc |= tly_buf_puts(&job->out, "}");
    if (rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

static void free_we(void *data)
{
    struct we_req *r = data;
    if (r != NULL)
        OPENSSL_cleanse(r, sizeof *r);
    free(r);
}

static struct we_req *new_req(struct tly_api_job *job)
{
    struct we_req *r = calloc(1, sizeof *r);
    job->data = r;
    job->free_data = free_we;
    if (r == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
    }
    return r;
}

void tly_api_webengage_get(struct tly_http_req *req, void *api)
{
    struct tly_api_job *job = tly_api_job_new(api, req, run_we);
    if (job != NULL && new_req(job) != NULL)
        tly_api_job_submit(job);
}

/* A license code: printable ASCII without ':' or spaces. */
static int license_ok(const char *s, size_t n)
{
    if (n == 0 || n > TLY_WEBENGAGE_LICENSE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
            return 0;
    return 1;
}

/* Reads {"license_code":"…","secret_key":"…"}; 0, or -1 with the job failed. */
static int parse_put(struct tly_api_job *job, struct we_req *r, const char *body, size_t len)
{
    struct tly_error err;
    cJSON *root = tly_json_parse(body, len, &err);
    if (root == NULL)
        return tly_api_job_fail(job, 400, "invalid_request", "", "%s", err.msg);
    int rc = 0;
    const cJSON *lic = cJSON_GetObjectItemCaseSensitive(root, "license_code");
    cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "secret_key");
    if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != 2 || lic == NULL || key == NULL) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "",
                              "expected {\"license_code\": \"...\", \"secret_key\": \"...\"}");
    } else if (!cJSON_IsString(lic) || !license_ok(lic->valuestring, strlen(lic->valuestring))) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "license_code",
                              "license_code: 1 to %d printable characters, no spaces or ':'",
                              TLY_WEBENGAGE_LICENSE_MAX);
    } else if (!cJSON_IsString(key) || key->valuestring[0] == '\0' ||
               strlen(key->valuestring) > TLY_SOURCE_SECRET_MAX) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "secret_key",
                              "secret_key: a string of 1 to %d bytes", TLY_SOURCE_SECRET_MAX);
    } else {
        size_t ln = strlen(lic->valuestring);
        if (tly_webengage_secret_hash(lic->valuestring, ln, key->valuestring,
                                      strlen(key->valuestring), r->stored) != 0)
            rc = tly_api_job_fail(job, 500, "internal", NULL, "cannot compute the digest");
        else
            memcpy(r->stored + TLY_WEBENGAGE_SECRET_HEX, lic->valuestring, ln + 1);
    }
    if (cJSON_IsString(key))
        OPENSSL_cleanse(key->valuestring, strlen(key->valuestring));
    cJSON_Delete(root);
    return rc;
}

void tly_api_webengage_put(struct tly_http_req *req, void *api)
{
    struct tly_api_job *job = tly_api_job_new(api, req, run_we);
    if (job == NULL)
        return;
    struct we_req *r = new_req(job);
    if (r == NULL)
        return;
    r->put = 1;
    size_t len;
    const char *body = tly_http_body(req, &len);
    if (parse_put(job, r, body, len) != 0) {
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}
