/*
 * Outbound webhooks, the pure parts: endpoint settings (the document of
 * PUT /v1/webhooks and of a campaign's `webhook` block), body templates,
 * the two signature schemes, the retry schedule and Retry-After.
 *
 * Nothing here does I/O; the delivery thread (outbox.h) and the API use
 * these, and the unit tests and fuzz targets call them directly.
 *
 * Settings document:
 *   {"endpoints":[{"id":"crm","url":"https://…","secret":"…",
 *                  "events":["reward_issued"],"template":{…}}]}
 * `id` [a-z0-9_-]{1,64}, defaults to "endpoint-<n>" (1-based position);
 * `url` http:// or https:// with a host; `secret` optional; `events` a
 * non-empty list of kinds; `template` optional JSON object or array.
 */
#ifndef TLY_OUTBOX_WEBHOOK_H
#define TLY_OUTBOX_WEBHOOK_H

#include "core/buf.h"
#include "core/err.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define TLY_WEBHOOK_ENDPOINTS  16          /* endpoints per tenant or campaign */
#define TLY_WEBHOOK_URL_MAX    2048        /* bytes of a URL */
#define TLY_WEBHOOK_SECRET_MAX 512         /* bytes of a secret */
#define TLY_WEBHOOK_DOC_MAX    (64 * 1024) /* bytes of a settings document */

/* Event kinds an endpoint may ask for (bits of tly_webhook_endpoint.events). */
enum tly_webhook_kind {
    TLY_WEBHOOK_REWARD_ISSUED = 1 << 0,
    TLY_WEBHOOK_CAMPAIGN_COMPLETED = 1 << 1,
    TLY_WEBHOOK_ACTIVITY_COMPLETED = 1 << 2,
    TLY_WEBHOOK_SEGMENT_ENTERED = 1 << 3,
    TLY_WEBHOOK_SEGMENT_EXITED = 1 << 4,
};
#define TLY_WEBHOOK_KINDS 5

/* Name of kind bit `i` (0-based), e.g. "reward_issued"; NULL past the end. */
const char *tly_webhook_kind_name(int i);
/* The bit of a kind name, or 0 when unknown. */
unsigned tly_webhook_kind_bit(const char *name);

struct tly_webhook_endpoint {
    char *id;
    char *url;
    char *secret;     /* NULL when none */
    unsigned events;  /* enum tly_webhook_kind bits, at least one */
    cJSON *template_; /* owned; NULL when none */
};

struct tly_webhooks {
    struct tly_webhook_endpoint *ep; /* owned */
    int n;
};

/* Parses a settings document already read as JSON. `at` prefixes field
 * names in errors ("" or "webhook"). 0 with *out filled (free with
 * tly_webhooks_free); TLY_EINVAL with err naming the field
 * ("endpoints[0].url"); TLY_ENOMEM. */
int tly_webhooks_from_json(const cJSON *doc, const char *at, struct tly_webhooks *out,
                           struct tly_error *err);
/* The same from text (at most TLY_WEBHOOK_DOC_MAX bytes, UTF-8). */
int tly_webhooks_parse(const char *text, size_t len, struct tly_webhooks *out,
                       struct tly_error *err);
void tly_webhooks_free(struct tly_webhooks *w);

/* Canonical JSON. with_secrets 1: the secrets themselves (for the store);
 * 0: "secret_set": true|false instead (for answers). */
int tly_webhooks_to_json(const struct tly_webhooks *w, int with_secrets, struct tly_buf *out);

/* Checks a URL: http or https, a host, no spaces or control bytes. 0 or
 * TLY_EINVAL with a reason in why[128]. The host (without port, brackets
 * removed for IPv6) is copied into host[256] when host is not NULL. */
int tly_webhook_url_check(const char *url, char why[128], char host[256]);

/* ---- templates ---------------------------------------------------------
 * A template is any JSON value; a string value that starts with "$" is a
 * reference: "$userId", "$details.orderId" (a dot path into the payload).
 * It is replaced by the payload's value there (any JSON type), or null when
 * there is none; "$$x" stands for the literal string "$x". Other values are
 * copied. Object keys are never replaced. */

/* Checks a template: every reference is a non-empty dot path of at most 8
 * non-empty segments; nesting at most 32. `at` names it in errors. */
int tly_template_check(const cJSON *tmpl, const char *at, struct tly_error *err);
/* The reshaped body (caller frees), or NULL when out of memory. */
cJSON *tly_template_apply(const cJSON *tmpl, const cJSON *payload);

/* ---- signatures -------------------------------------------------------- */

/* X-CG-SIGNATURE: lowercase hex HMAC-SHA1(secret, body). */
int tly_webhook_sign_cg(const char *secret, const void *body, size_t len, char out[41]);
/* webhook-signature: "v1," + base64 HMAC-SHA256(key, id "." ts "." body),
 * key = base64-decoded rest of a "whsec_" secret, else the secret's bytes.
 * Appended to out. TLY_EINVAL when a whsec_ secret is not valid base64. */
int tly_webhook_sign_std(const char *secret, const char *id, int64_t ts_s, const void *body,
                         size_t len, struct tly_buf *out);

/* ---- retries ----------------------------------------------------------- */

struct tly_retry_policy {
    int64_t first_ms;   /* delay after the first failed attempt (1 s) */
    int64_t max_ms;     /* the delay stops doubling here (1 h) */
    int64_t give_up_ms; /* no attempt is scheduled later than this after the first (24 h) */
};

/* Delay before attempt `attempts + 1` after `attempts` failed ones (>= 1):
 * first_ms * 2^(attempts-1), capped at max_ms, with "equal jitter": half
 * fixed, half scaled by `rnd` in [0, 1). */
int64_t tly_retry_delay(const struct tly_retry_policy *p, int attempts, double rnd);

/* Retry-After: delta seconds ("120") or an HTTP date (IMF-fixdate, e.g.
 * "Sun, 06 Nov 1994 08:49:37 GMT"; the obsolete RFC 850 and asctime forms
 * too). 0 with *delay_ms (>= 0, dates in the past give 0) relative to
 * now_ms; TLY_EINVAL for anything else. */
int tly_retry_after_parse(const char *s, size_t n, int64_t now_ms, int64_t *delay_ms);

#endif
