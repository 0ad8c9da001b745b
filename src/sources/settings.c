/*
 * The source settings document: validation of a PUT body, the stored form,
 * the GET view and the adapters' config (see settings.h).
 *
 * Secret text never leaves this file except hashed (or, for the Segment
 * shared secret, into the stored document); the copies in a parse tree are
 * wiped before the tree is freed.
 */
#include "sources/settings.h"
#include "core/json.h"
#include "core/json_pointer.h"
#include "core/utf8.h"
#include "log/record.h"
#include "sources/server.h"
#include "sources/webengage.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const field_names[TLY_MAP_FIELD_COUNT] = {"user_id", "event_name", "event_id",
                                                             "timestamp", "properties"};

const char *tly_map_field_name(int field)
{
    return field >= 0 && field < TLY_MAP_FIELD_COUNT ? field_names[field] : "unknown";
}

/* The settings each source has. */
enum {
    HAS_SHARED = 1 << 0,    /* segment */
    HAS_WEBENGAGE = 1 << 1, /* license_code, secret_key */
    HAS_BASIC = 1 << 2,
    HAS_MAPPING = 1 << 3,
    HAS_NAME_FIELD = 1 << 4, /* moengage */
    HAS_TARGETS = 1 << 5,    /* clevertap */
};

static unsigned settings_of(int source)
{
    switch (source) {
    case TLY_SOURCE_SEGMENT:
        return HAS_SHARED | HAS_MAPPING;
    case TLY_SOURCE_TRACK:
        return HAS_BASIC | HAS_MAPPING;
    case TLY_SOURCE_MOENGAGE:
        return HAS_BASIC | HAS_MAPPING | HAS_NAME_FIELD;
    case TLY_SOURCE_CLEVERTAP:
        return HAS_BASIC | HAS_MAPPING | HAS_TARGETS;
    case TLY_SOURCE_WEBENGAGE:
        return HAS_WEBENGAGE | HAS_MAPPING;
    }
    return 0; /* server: the five fields are fixed and checked at ingest */
}

/* Lowercase hex SHA-256 of s[0..n) into out[65]. 0 or -1. */
static int sha256_hex(const char *s, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return -1;
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

/* Wipes the text of every string in the tree (secrets in a PUT body). */
static void wipe_strings(cJSON *v)
{
    for (; v != NULL; v = v->next) {
        if (cJSON_IsString(v) && v->valuestring != NULL)
            OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
        wipe_strings(v->child);
    }
}

static const char *str_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A license code or Basic user name: printable ASCII, no spaces or ':'. */
static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
            return 0;
    return 1;
}

static int oom(struct tly_error *err)
{
    return tly_error_set(err, TLY_ENOMEM, "", "out of memory");
}

/* "…_set": a boolean. */
static int flag(const cJSON *v, const char *field, int *out, struct tly_error *err)
{
    if (!cJSON_IsBool(v))
        return tly_error_set(err, TLY_EINVAL, field, "%s: expected true or false", field);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A secret: a string of 1 to TLY_SOURCE_SECRET_MAX bytes, or null. */
static int secret(const cJSON *v, const char *field, const char **out, struct tly_error *err)
{
    *out = NULL;
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) > TLY_SOURCE_SECRET_MAX)
        return tly_error_set(err, TLY_EINVAL, field, "%s: a string of 1 to %d bytes, or null",
                             field, TLY_SOURCE_SECRET_MAX);
    *out = v->valuestring;
    return 0;
}

static int parse_mapping(const cJSON *v, cJSON *out, struct tly_error *err)
{
    if (!cJSON_IsObject(v))
        return tly_error_set(err, TLY_EINVAL, "mapping", "mapping: expected an object of %s",
                             "JSON pointers by field (user_id, event_name, event_id, timestamp, "
                             "properties)");
    cJSON *m = cJSON_AddObjectToObject(out, "mapping");
    if (m == NULL)
        return oom(err);
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        int i = 0;
        while (i < TLY_MAP_FIELD_COUNT && strcmp(c->string, field_names[i]) != 0)
            i++;
        char field[64];
        snprintf(field, sizeof field, "mapping.%.40s", c->string);
        if (i == TLY_MAP_FIELD_COUNT)
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: unknown field (user_id, event_name, event_id, timestamp, "
                                 "properties)",
                                 field);
        if (cJSON_GetObjectItemCaseSensitive(m, c->string) != NULL)
            return tly_error_set(err, TLY_EINVAL, field, "%s: given twice", field);
        if (cJSON_IsNull(c))
            continue;
        if (!cJSON_IsString(c))
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: expected a JSON pointer string such as \"/traits/email\", "
                                 "or null for the default",
                                 field);
        if (c->valuestring[0] == '\0')
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: \"\" would be the whole item; give a member's pointer",
                                 field);
        if (tly_json_pointer_check(c->valuestring, strlen(c->valuestring), field, err) != 0)
            return TLY_EINVAL;
        if (!tly_utf8_valid(c->valuestring, strlen(c->valuestring)))
            return tly_error_set(err, TLY_EINVAL, field, "%s: not UTF-8", field);
        if (cJSON_AddStringToObject(m, c->string, c->valuestring) == NULL)
            return oom(err);
    }
    return 0;
}

static int parse_targets(const cJSON *v, cJSON *out, struct tly_error *err)
{
    if (!cJSON_IsObject(v))
        return tly_error_set(err, TLY_EINVAL, "target_names",
                             "target_names: expected an object {\"<targetId>\": \"<event name>\"}");
    if (cJSON_GetArraySize(v) > TLY_TARGET_NAMES_MAX)
        return tly_error_set(err, TLY_EINVAL, "target_names", "target_names: at most %d entries",
                             TLY_TARGET_NAMES_MAX);
    cJSON *t = cJSON_AddObjectToObject(out, "target_names");
    if (t == NULL)
        return oom(err);
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        char field[64];
        snprintf(field, sizeof field, "target_names.%.40s", c->string);
        if (c->string[0] == '\0' || strlen(c->string) > 64)
            return tly_error_set(err, TLY_EINVAL, "target_names",
                                 "target_names: a targetId of 1 to 64 bytes");
        if (cJSON_GetObjectItemCaseSensitive(t, c->string) != NULL)
            return tly_error_set(err, TLY_EINVAL, field, "%s: given twice", field);
        if (!tly_utf8_valid(c->string, strlen(c->string)))
            return tly_error_set(err, TLY_EINVAL, "target_names",
                                 "target_names: a targetId that is not UTF-8");
        if (!cJSON_IsString(c) || c->valuestring[0] == '\0' ||
            strlen(c->valuestring) > TLY_EVENT_NAME_MAX ||
            !tly_utf8_valid(c->valuestring, strlen(c->valuestring)))
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: an event name of 1 to %d bytes of UTF-8", field,
                                 TLY_EVENT_NAME_MAX);
        if (cJSON_AddStringToObject(t, c->string, c->valuestring) == NULL)
            return oom(err);
    }
    return 0;
}

/* The stored hash of `user` in a stored document, or NULL. */
static const char *stored_password(const cJSON *doc, const char *user)
{
    const cJSON *p;
    const cJSON *list =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "basic_auth") : NULL;
    cJSON_ArrayForEach(p, list)
    {
        const char *u = str_member(p, "username");
        if (u != NULL && strcmp(u, user) == 0)
            return str_member(p, "password_sha256");
    }
    return NULL;
}

static int parse_basic(const cJSON *v, const cJSON *prev, cJSON *out, struct tly_error *err)
{
    if (!cJSON_IsArray(v))
        return tly_error_set(err, TLY_EINVAL, "basic_auth",
                             "basic_auth: expected an array of {\"username\", \"password\"}");
    if (cJSON_GetArraySize(v) > TLY_BASIC_PAIRS_MAX)
        return tly_error_set(err, TLY_EINVAL, "basic_auth", "basic_auth: at most %d pairs",
                             TLY_BASIC_PAIRS_MAX);
    cJSON *list = cJSON_AddArrayToObject(out, "basic_auth");
    if (list == NULL)
        return oom(err);
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, v)
    {
        char field[64];
        snprintf(field, sizeof field, "basic_auth[%d]", i++);
        if (!cJSON_IsObject(p))
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: expected {\"username\": \"...\", \"password\": \"...\"}",
                                 field);
        const cJSON *user = NULL, *pass = NULL, *pass_set = NULL, *c;
        cJSON_ArrayForEach(c, p)
        {
            const cJSON **slot = strcmp(c->string, "username") == 0       ? &user
                                 : strcmp(c->string, "password") == 0     ? &pass
                                 : strcmp(c->string, "password_set") == 0 ? &pass_set
                                                                          : NULL;
            if (slot == NULL || *slot != NULL)
                return tly_error_set(err, TLY_EINVAL, field,
                                     "%s.%.24s: %s (username, password, password_set)", field,
                                     c->string, slot ? "given twice" : "unknown field");
            *slot = c;
        }
        if (!cJSON_IsString(user) || !name_ok(user->valuestring, TLY_BASIC_USER_MAX))
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s.username: 1 to %d printable characters, no spaces or ':'",
                                 field, TLY_BASIC_USER_MAX);
        if (stored_password(out, user->valuestring) != NULL)
            return tly_error_set(err, TLY_EINVAL, field, "%s.username: listed twice", field);
        int keep = 0;
        if (pass_set != NULL && flag(pass_set, "basic_auth[].password_set", &keep, err) != 0)
            return TLY_EINVAL;
        char hash[65];
        const char *h = NULL;
        if (pass != NULL) {
            if (!cJSON_IsString(pass) || pass->valuestring[0] == '\0' ||
                strlen(pass->valuestring) > TLY_SOURCE_SECRET_MAX)
                return tly_error_set(err, TLY_EINVAL, field, "%s.password: 1 to %d bytes", field,
                                     TLY_SOURCE_SECRET_MAX);
            if (sha256_hex(pass->valuestring, strlen(pass->valuestring), hash) != 0)
                return tly_error_set(err, TLY_ENOMEM, "", "cannot compute the digest");
            h = hash;
        } else if (keep) {
            h = stored_password(prev, user->valuestring);
            if (h == NULL)
                return tly_error_set(err, TLY_EINVAL, field,
                                     "%s.password: required (no password is stored for this "
                                     "username to keep)",
                                     field);
        } else {
            return tly_error_set(err, TLY_EINVAL, field, "%s.password: required", field);
        }
        cJSON *e = cJSON_CreateObject();
        if (e == NULL || !cJSON_AddItemToArray(list, e) ||
            cJSON_AddStringToObject(e, "username", user->valuestring) == NULL ||
            cJSON_AddStringToObject(e, "password_sha256", h) == NULL)
            return oom(err);
    }
    return 0;
}

/* The members of one PUT document, once read. */
struct doc {
    const cJSON *shared, *shared_set, *license, *key, *key_set, *basic, *mapping, *name_field,
        *targets;
};

/* Sorts the root's members into `d`: unknown, repeated or foreign
 * (another source's) members are refused. */
static int sort_members(int source, const cJSON *root, struct doc *d, struct tly_error *err)
{
    static const struct {
        const char *name;
        unsigned need;
        size_t at;
    } known[] = {
        {"shared_secret", HAS_SHARED, offsetof(struct doc, shared)},
        {"shared_secret_set", HAS_SHARED, offsetof(struct doc, shared_set)},
        {"license_code", HAS_WEBENGAGE, offsetof(struct doc, license)},
        {"secret_key", HAS_WEBENGAGE, offsetof(struct doc, key)},
        {"secret_set", HAS_WEBENGAGE, offsetof(struct doc, key_set)},
        {"basic_auth", HAS_BASIC, offsetof(struct doc, basic)},
        {"mapping", HAS_MAPPING, offsetof(struct doc, mapping)},
        {"event_name_field", HAS_NAME_FIELD, offsetof(struct doc, name_field)},
        {"target_names", HAS_TARGETS, offsetof(struct doc, targets)},
    };
    const char *name = tly_source_name(source);
    unsigned has = settings_of(source);
    memset(d, 0, sizeof *d);
    const cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        if (strcmp(c->string, "updated_at") == 0)
            continue;
        if (strcmp(c->string, "source") == 0) {
            if (!cJSON_IsString(c) || strcmp(c->valuestring, name) != 0)
                return tly_error_set(err, TLY_EINVAL, "source", "source: must be \"%s\" here",
                                     name);
            continue;
        }
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(c->string, known[i].name) != 0)
            i++;
        char field[64];
        snprintf(field, sizeof field, "%.63s", c->string);
        if (i == sizeof known / sizeof known[0])
            return tly_error_set(err, TLY_EINVAL, field, "%s: unknown field", field);
        if (!(has & known[i].need))
            return tly_error_set(err, TLY_EINVAL, field,
                                 known[i].need == HAS_MAPPING
                                     ? "%s: the %s source takes no mapping (its ingest requires "
                                       "the five documented fields)"
                                     : "%s: not a setting of the %s source",
                                 field, name);
        const cJSON **slot = (const cJSON **)((char *)d + known[i].at);
        if (*slot != NULL)
            return tly_error_set(err, TLY_EINVAL, field, "%s: given twice", field);
        *slot = c;
    }
    return 0;
}

static int build(int source, const struct doc *d, const cJSON *prev, cJSON *out,
                 struct tly_error *err)
{
    int keep = 0;
    const char *s;
    if (d->shared != NULL && secret(d->shared, "shared_secret", &s, err) != 0)
        return TLY_EINVAL;
    if (d->shared_set != NULL && flag(d->shared_set, "shared_secret_set", &keep, err) != 0)
        return TLY_EINVAL;
    if (d->shared == NULL && keep && (s = str_member(prev, "shared_secret")) == NULL)
        return tly_error_set(err, TLY_EINVAL, "shared_secret",
                             "shared_secret: required (none is stored to keep)");
    if ((d->shared != NULL || keep) && s != NULL &&
        cJSON_AddStringToObject(out, "shared_secret", s) == NULL)
        return oom(err);

    if (d->license != NULL && !cJSON_IsNull(d->license)) {
        const char *lic = cJSON_IsString(d->license) ? d->license->valuestring : "";
        if (!name_ok(lic, TLY_WEBENGAGE_LICENSE_MAX))
            return tly_error_set(err, TLY_EINVAL, "license_code",
                                 "license_code: 1 to %d printable characters, no spaces or ':'",
                                 TLY_WEBENGAGE_LICENSE_MAX);
        char md5[TLY_WEBENGAGE_SECRET_HEX + 1];
        const char *key, *kept = NULL;
        keep = 0;
        if (d->key != NULL && secret(d->key, "secret_key", &key, err) != 0)
            return TLY_EINVAL;
        if (d->key_set != NULL && flag(d->key_set, "secret_set", &keep, err) != 0)
            return TLY_EINVAL;
        if (d->key != NULL && key != NULL) {
            if (tly_webengage_secret_hash(lic, strlen(lic), key, strlen(key), md5) != 0)
                return tly_error_set(err, TLY_ENOMEM, "", "cannot compute the digest");
            kept = md5;
        } else if (keep) {
            const char *was = str_member(prev, "license_code");
            kept = was != NULL && strcmp(was, lic) == 0 ? str_member(prev, "secret_md5") : NULL;
        }
        if (kept == NULL)
            return tly_error_set(err, TLY_EINVAL, "secret_key",
                                 "secret_key: required with license_code (a secret kept with "
                                 "\"secret_set\": true needs the same license_code)");
        if (cJSON_AddStringToObject(out, "license_code", lic) == NULL ||
            cJSON_AddStringToObject(out, "secret_md5", kept) == NULL)
            return oom(err);
    } else if ((d->key != NULL && !cJSON_IsNull(d->key)) || cJSON_IsTrue(d->key_set)) {
        return tly_error_set(err, TLY_EINVAL, "license_code",
                             "license_code: required with secret_key");
    }

    if (d->basic != NULL && parse_basic(d->basic, prev, out, err) != 0)
        return err->field[0] ? TLY_EINVAL : TLY_ENOMEM;
    if (d->mapping != NULL && !cJSON_IsNull(d->mapping) && parse_mapping(d->mapping, out, err) != 0)
        return err->field[0] ? TLY_EINVAL : TLY_ENOMEM;
    if (d->name_field != NULL) {
        const char *v = cJSON_IsString(d->name_field) ? d->name_field->valuestring : "";
        if (strcmp(v, "event_name") != 0 && strcmp(v, "event_code") != 0)
            return tly_error_set(err, TLY_EINVAL, "event_name_field",
                                 "event_name_field: \"event_name\" or \"event_code\"");
        if (cJSON_AddStringToObject(out, "event_name_field", v) == NULL)
            return oom(err);
    }
    if (d->targets != NULL && !cJSON_IsNull(d->targets) && parse_targets(d->targets, out, err) != 0)
        return err->field[0] ? TLY_EINVAL : TLY_ENOMEM;
    (void)source;
    /* Defaults are not stored: the stored form of a document is the same
     * whether a default was spelled out or left out. */
    static const char *const empty_is_default[] = {"basic_auth", "mapping", "target_names"};
    for (size_t i = 0; i < sizeof empty_is_default / sizeof empty_is_default[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(out, empty_is_default[i]);
        if (v != NULL && v->child == NULL)
            cJSON_DeleteItemFromObjectCaseSensitive(out, empty_is_default[i]);
    }
    const char *nf = str_member(out, "event_name_field");
    if (nf != NULL && strcmp(nf, "event_name") == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(out, "event_name_field");
    return 0;
}

int tly_source_settings_parse(int source, const char *body, size_t len, const cJSON *prev,
                              cJSON **stored, struct tly_error *err)
{
    *stored = NULL;
    if (tly_source_parse(tly_source_name(source)) <= 0)
        return tly_error_set(err, TLY_EINVAL, "source", "source: unknown");
    if (len > TLY_SETTINGS_BODY_MAX)
        return tly_error_set(err, TLY_EINVAL, "", "settings: at most %d bytes",
                             TLY_SETTINGS_BODY_MAX);
    cJSON *root = tly_json_parse(body, len, err);
    if (root == NULL)
        return TLY_EINVAL;
    int rc;
    struct doc d;
    cJSON *out = NULL;
    if (!cJSON_IsObject(root)) {
        rc = tly_error_set(err, TLY_EINVAL, "", "expected a settings object, got %s",
                           tly_json_type_name(root));
    } else if ((rc = sort_members(source, root, &d, err)) == 0) {
        out = cJSON_CreateObject();
        rc = out == NULL ? oom(err) : build(source, &d, prev, out, err);
    }
    tly_source_settings_free(root);
    if (rc != 0) {
        tly_source_settings_free(out);
        return rc;
    }
    *stored = out;
    return 0;
}

static int put_json(struct tly_buf *out, const char *name, const cJSON *v)
{
    char *text = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
    if (v != NULL && text == NULL)
        return TLY_ENOMEM;
    int rc = tly_buf_printf(out, ",\"%s\":%s", name, text != NULL ? text : "{}");
    cJSON_free(text);
    return rc;
}

int tly_source_settings_public(int source, const cJSON *stored, struct tly_buf *out)
{
    unsigned has = settings_of(source);
    int rc = 0;
    if (has & HAS_SHARED)
        rc |= tly_buf_printf(out, ",\"shared_secret_set\":%s",
                             str_member(stored, "shared_secret") ? "true" : "false");
    if (has & HAS_WEBENGAGE) {
        const char *lic = str_member(stored, "license_code");
        rc |= tly_buf_puts(out, ",\"license_code\":");
        rc |= lic ? tly_buf_json_str(out, lic, strlen(lic)) : tly_buf_puts(out, "null");
        rc |= tly_buf_printf(out, ",\"secret_set\":%s",
                             str_member(stored, "secret_md5") ? "true" : "false");
    }
    if (has & HAS_BASIC) {
        rc |= tly_buf_puts(out, ",\"basic_auth\":[");
        const cJSON *list = stored ? cJSON_GetObjectItemCaseSensitive(stored, "basic_auth") : NULL;
        const cJSON *p;
        int first = 1;
        cJSON_ArrayForEach(p, list)
        {
            const char *u = str_member(p, "username");
            if (u == NULL)
                continue;
            rc |= tly_buf_puts(out, first ? "{\"username\":" : ",{\"username\":");
            rc |= tly_buf_json_str(out, u, strlen(u));
            rc |= tly_buf_puts(out, ",\"password_set\":true}");
            first = 0;
        }
        rc |= tly_buf_puts(out, "]");
    }
    if (has & HAS_MAPPING)
        rc |= put_json(out, "mapping",
                       stored ? cJSON_GetObjectItemCaseSensitive(stored, "mapping") : NULL);
    if (has & HAS_NAME_FIELD) {
        const char *v = str_member(stored, "event_name_field");
        rc |= tly_buf_printf(out, ",\"event_name_field\":\"%s\"",
                             v && strcmp(v, "event_code") == 0 ? "event_code" : "event_name");
    }
    if (has & HAS_TARGETS)
        rc |= put_json(out, "target_names",
                       stored ? cJSON_GetObjectItemCaseSensitive(stored, "target_names") : NULL);
    return rc ? TLY_ENOMEM : 0;
}

int tly_source_settings_conflict(const cJSON *mine, const cJSON *theirs, struct tly_error *err)
{
    const char *a = str_member(mine, "license_code"), *b = str_member(theirs, "license_code");
    if (a != NULL && b != NULL && strcmp(a, b) == 0)
        return tly_error_set(err, TLY_ECONFLICT, "license_code",
                             "license_code: already configured by another tenant");
    const cJSON *list =
        cJSON_IsObject(mine) ? cJSON_GetObjectItemCaseSensitive(mine, "basic_auth") : NULL;
    const cJSON *p;
    int i = 0;
    cJSON_ArrayForEach(p, list)
    {
        const char *u = str_member(p, "username");
        if (u != NULL && stored_password(theirs, u) != NULL) {
            char field[64];
            snprintf(field, sizeof field, "basic_auth[%d].username", i);
            return tly_error_set(err, TLY_ECONFLICT, field,
                                 "%s: already used by another tenant for this source", field);
        }
        i++;
    }
    return 0;
}

void tly_source_config_init(struct tly_source_config *cfg, cJSON *stored)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->doc = stored;
    if (!cJSON_IsObject(stored))
        return;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(stored, "mapping");
    for (int i = 0; i < TLY_MAP_FIELD_COUNT; i++) {
        const char *p = str_member(m, field_names[i]);
        cfg->pointer[i] = p != NULL && p[0] == '/' ? p : NULL;
    }
    const char *nf = str_member(stored, "event_name_field");
    cfg->name_from_code = nf != NULL && strcmp(nf, "event_code") == 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(stored, "target_names");
    cfg->target_names = cJSON_IsObject(t) ? t : NULL;
}

void tly_source_settings_free(cJSON *doc)
{
    if (doc == NULL)
        return;
    wipe_strings(doc->child);
    cJSON_Delete(doc);
}

void tly_source_config_free(struct tly_source_config *cfg)
{
    if (cfg == NULL)
        return;
    tly_source_settings_free(cfg->doc);
    memset(cfg, 0, sizeof *cfg);
}
