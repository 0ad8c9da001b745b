/*
 * Webhook endpoint settings (see webhook.h): the parser of the document of
 * PUT /v1/webhooks and of a campaign's `webhook` block, its canonical JSON
 * (with secrets for the store, with "secret_set" for answers), and the URL
 * check.
 */
#include "outbox/webhook.h"
#include "core/json.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[TLY_WEBHOOK_KINDS] = {"reward_issued", "campaign_completed",
                                                          "activity_completed", "segment_entered",
                                                          "segment_exited"};

const char *tly_webhook_kind_name(int i)
{
    return i >= 0 && i < TLY_WEBHOOK_KINDS ? kind_names[i] : NULL;
}

unsigned tly_webhook_kind_bit(const char *name)
{
    for (int i = 0; i < TLY_WEBHOOK_KINDS; i++)
        if (strcmp(kind_names[i], name) == 0)
            return 1u << i;
    return 0;
}

/* TLY_EINVAL naming `at` + `field`. */
static int bad(struct tly_error *err, const char *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(struct tly_error *err, const char *at, const char *field, const char *fmt, ...)
{
    char f[160], what[128];
    if (at[0] != '\0' && field[0] != '\0')
        snprintf(f, sizeof f, "%s.%s", at, field);
    else
        snprintf(f, sizeof f, "%s", at[0] != '\0' ? at : field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tly_error_set(err, TLY_EINVAL, f, "%s: %s", f, what);
}

static int is_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int tly_webhook_url_check(const char *url, char why[128], char host[256])
{
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else {
        snprintf(why, 128, "must start with http:// or https://");
        return TLY_EINVAL;
    }
    size_t n = strlen(url);
    if (n > TLY_WEBHOOK_URL_MAX) {
        snprintf(why, 128, "at most %d bytes, got %zu", TLY_WEBHOOK_URL_MAX, n);
        return TLY_EINVAL;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            snprintf(why, 128, "space or control byte at byte %zu", (size_t)(p - url));
            return TLY_EINVAL;
        }
    /* authority = up to the first / ? or # */
    size_t alen = strcspn(rest, "/?#");
    const char *auth = rest;
    if (memchr(auth, '@', alen) != NULL) {
        snprintf(why, 128, "credentials in the URL are not allowed; use the secret");
        return TLY_EINVAL;
    }
    const char *h = auth;
    size_t hlen;
    if (alen > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', alen);
        if (close == NULL) {
            snprintf(why, 128, "unterminated IPv6 address");
            return TLY_EINVAL;
        }
        h++;
        hlen = (size_t)(close - h);
        const char *after = close + 1;
        if (after < auth + alen && *after != ':') {
            snprintf(why, 128, "unexpected byte after the IPv6 address");
            return TLY_EINVAL;
        }
    } else {
        const char *colon = memchr(h, ':', alen);
        hlen = colon ? (size_t)(colon - h) : alen;
    }
    const char *colon = NULL;
    for (size_t i = alen; i > 0; i--)
        if (auth[i - 1] == ':' || auth[i - 1] == ']') {
            colon = auth[i - 1] == ':' ? auth + i - 1 : NULL;
            break;
        }
    if (colon != NULL) {
        const char *p = colon + 1, *end = auth + alen;
        long port = 0;
        if (p == end) {
            snprintf(why, 128, "empty port");
            return TLY_EINVAL;
        }
        for (; p < end; p++) {
            if (*p < '0' || *p > '9' || (port = port * 10 + (*p - '0')) > 65535) {
                snprintf(why, 128, "port must be a number from 1 to 65535");
                return TLY_EINVAL;
            }
        }
        if (port == 0) {
            snprintf(why, 128, "port must be a number from 1 to 65535");
            return TLY_EINVAL;
        }
    }
    if (hlen == 0 || hlen >= 256) {
        snprintf(why, 128, "expected a host name of 1 to 255 bytes");
        return TLY_EINVAL;
    }
    if (host != NULL) {
        memcpy(host, h, hlen);
        host[hlen] = '\0';
    }
    return 0;
}

static void endpoint_free(struct tly_webhook_endpoint *e)
{
    free(e->id);
    free(e->url);
    free(e->secret);
    cJSON_Delete(e->template_);
    memset(e, 0, sizeof *e);
}

void tly_webhooks_free(struct tly_webhooks *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < w->n; i++)
        endpoint_free(&w->ep[i]);
    free(w->ep);
    w->ep = NULL;
    w->n = 0;
}

static int parse_endpoint(const cJSON *v, const char *at, int index, struct tly_webhook_endpoint *e,
                          struct tly_error *err)
{
    static const char *const fields[] = {"id", "url", "secret", "events", "template", NULL};
    if (!cJSON_IsObject(v))
        return bad(err, at, "", "expected an object, got %s", tly_json_type_name(v));
    for (const cJSON *m = v->child; m != NULL; m = m->next) {
        int known = 0;
        for (int i = 0; fields[i] != NULL && !known; i++)
            known = strcmp(fields[i], m->string) == 0;
        int printable = strlen(m->string) <= 24;
        for (const char *p = m->string; *p && printable; p++)
            printable = *p > 0x20 && *p < 0x7f;
        if (!known)
            return bad(err, at, printable ? m->string : "", "unknown field");
        for (const cJSON *o = v->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return bad(err, at, m->string, "given twice");
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
    char dflt[32];
    snprintf(dflt, sizeof dflt, "endpoint-%d", index + 1);
    if (id != NULL && (!cJSON_IsString(id) || !is_id(id->valuestring)))
        return bad(err, at, "id", "expected 1 to 64 of a-z, 0-9, _ and -");
    if ((e->id = strdup(id != NULL ? id->valuestring : dflt)) == NULL)
        return TLY_ENOMEM;

    const cJSON *url = cJSON_GetObjectItemCaseSensitive(v, "url");
    if (url == NULL)
        return bad(err, at, "url", "required");
    if (!cJSON_IsString(url))
        return bad(err, at, "url", "expected a string, got %s", tly_json_type_name(url));
    char why[128];
    if (tly_webhook_url_check(url->valuestring, why, NULL) != 0)
        return bad(err, at, "url", "%s", why);
    if ((e->url = strdup(url->valuestring)) == NULL)
        return TLY_ENOMEM;

    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(v, "secret");
    if (secret != NULL && !cJSON_IsNull(secret)) {
        if (!cJSON_IsString(secret))
            return bad(err, at, "secret", "expected a string, got %s", tly_json_type_name(secret));
        size_t n = strlen(secret->valuestring);
        if (n == 0 || n > TLY_WEBHOOK_SECRET_MAX)
            return bad(err, at, "secret", "expected 1 to %d bytes", TLY_WEBHOOK_SECRET_MAX);
        struct tly_buf probe;
        tly_buf_init(&probe, 0);
        int rc = tly_webhook_sign_std(secret->valuestring, "x", 0, "", 0, &probe);
        tly_buf_free(&probe);
        if (rc == TLY_EINVAL)
            return bad(err, at, "secret", "a whsec_ secret must be base64 after the prefix");
        if (rc != 0)
            return rc;
        if ((e->secret = strdup(secret->valuestring)) == NULL)
            return TLY_ENOMEM;
    }

    const cJSON *events = cJSON_GetObjectItemCaseSensitive(v, "events");
    if (events == NULL)
        return bad(err, at, "events", "required");
    if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) == 0)
        return bad(err, at, "events", "expected a non-empty array of event kinds");
    int i = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, events)
    {
        char f[32];
        snprintf(f, sizeof f, "events[%d]", i++);
        unsigned bit = cJSON_IsString(k) ? tly_webhook_kind_bit(k->valuestring) : 0;
        if (bit == 0)
            return bad(err, at, f,
                       "expected reward_issued, campaign_completed, activity_completed, "
                       "segment_entered or segment_exited");
        e->events |= bit;
    }

    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "template");
    if (t != NULL && !cJSON_IsNull(t)) {
        char f[160];
        snprintf(f, sizeof f, "%s%stemplate", at, at[0] ? "." : "");
        if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
            return bad(err, at, "template", "expected an object or an array, got %s",
                       tly_json_type_name(t));
        int rc = tly_template_check(t, f, err);
        if (rc != 0)
            return rc;
        if ((e->template_ = cJSON_Duplicate(t, 1)) == NULL)
            return TLY_ENOMEM;
    }
    return 0;
}

int tly_webhooks_from_json(const cJSON *doc, const char *at, struct tly_webhooks *out,
                           struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(doc))
        return bad(err, at, "", "expected an object, got %s", tly_json_type_name(doc));
    for (const cJSON *m = doc->child; m != NULL; m = m->next)
        if (strcmp(m->string, "endpoints") != 0) {
            int printable = strlen(m->string) <= 24;
            for (const char *p = m->string; *p && printable; p++)
                printable = *p > 0x20 && *p < 0x7f;
            return bad(err, at, printable ? m->string : "", "unknown field");
        } else if (m != cJSON_GetObjectItemCaseSensitive(doc, "endpoints")) {
            return bad(err, at, "endpoints", "given twice");
        }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(doc, "endpoints");
    if (eps == NULL)
        return bad(err, at, "endpoints", "required");
    if (!cJSON_IsArray(eps))
        return bad(err, at, "endpoints", "expected an array, got %s", tly_json_type_name(eps));
    int n = cJSON_GetArraySize(eps);
    if (n > TLY_WEBHOOK_ENDPOINTS)
        return bad(err, at, "endpoints", "at most %d endpoints, got %d", TLY_WEBHOOK_ENDPOINTS, n);
    if (n > 0 && (out->ep = calloc((size_t)n, sizeof *out->ep)) == NULL)
        return TLY_ENOMEM;
    int rc = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, eps)
    {
        char f[96];
        int i = out->n++;
        snprintf(f, sizeof f, "%s%sendpoints[%d]", at, at[0] ? "." : "", i);
        if ((rc = parse_endpoint(e, f, i, &out->ep[i], err)) != 0)
            break;
        for (int j = 0; j < i; j++)
            if (strcmp(out->ep[j].id, out->ep[i].id) == 0) {
                rc = bad(err, f, "id", "\"%s\" is also the id of endpoints[%d]", out->ep[i].id, j);
                break;
            }
        if (rc != 0)
            break;
    }
    if (rc != 0)
        tly_webhooks_free(out);
    return rc;
}

int tly_webhooks_parse(const char *text, size_t len, struct tly_webhooks *out,
                       struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > TLY_WEBHOOK_DOC_MAX)
        return tly_error_set(err, TLY_ETOOBIG, "", "a webhook document is at most %d bytes",
                             TLY_WEBHOOK_DOC_MAX);
    if (!tly_utf8_valid(text, len))
        return tly_error_set(err, TLY_EINVAL, "", "the document is not valid UTF-8");
    cJSON *doc = tly_json_parse(text, len, err);
    if (doc == NULL)
        return TLY_EINVAL;
    int rc = tly_webhooks_from_json(doc, "", out, err);
    cJSON_Delete(doc);
    return rc;
}

static int put_str(struct tly_buf *b, const char *s)
{
    return tly_buf_json_str(b, s, strlen(s));
}

int tly_webhooks_to_json(const struct tly_webhooks *w, int with_secrets, struct tly_buf *out)
{
    int rc = tly_buf_puts(out, "{\"endpoints\":[");
    for (int i = 0; i < w->n && rc == 0; i++) {
        const struct tly_webhook_endpoint *e = &w->ep[i];
        rc |= tly_buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        rc |= put_str(out, e->id);
        rc |= tly_buf_puts(out, ",\"url\":");
        rc |= put_str(out, e->url);
        if (with_secrets && e->secret != NULL) {
            rc |= tly_buf_puts(out, ",\"secret\":");
            rc |= put_str(out, e->secret);
        } else if (!with_secrets) {
            rc |= tly_buf_printf(out, ",\"secret_set\":%s", e->secret ? "true" : "false");
        }
        rc |= tly_buf_puts(out, ",\"events\":[");
        int k = 0;
        for (int j = 0; j < TLY_WEBHOOK_KINDS; j++)
            if (e->events & (1u << j))
                rc |= tly_buf_printf(out, "%s\"%s\"", k++ ? "," : "", kind_names[j]);
        rc |= tly_buf_puts(out, "]");
        if (e->template_ != NULL) {
            char *t = cJSON_PrintUnformatted(e->template_);
            if (t == NULL)
                return TLY_ENOMEM;
            rc |= tly_buf_puts(out, ",\"template\":");
            rc |= tly_buf_puts(out, t);
            cJSON_free(t);
        }
        rc |= tly_buf_puts(out, "}");
    }
    rc |= tly_buf_puts(out, "]}");
    return rc ? TLY_ENOMEM : 0;
}
