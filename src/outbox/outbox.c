/*
 * The outbox thread (see outbox.h): a loop over libcurl's multi interface
 * that, every poll interval, fans new outbox entries out into deliveries,
 * starts the due ones (within the per-endpoint and total limits), and
 * records each finished attempt in one UPDATE.
 *
 * Memory: each transfer owns its easy handle, header list, a copy of the
 * row it sends and at most RESPONSE_KEEP bytes of the answer's body.
 */
#include "outbox/outbox.h"
#include "core/metrics.h"
#include "core/timeparse.h"
#include "store/db.h"
#include "store/deliveries.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uv.h>

#define RESPONSE_KEEP  256 /* bytes of an answer's body kept (for last_error) */
#define STATS_EVERY_MS 2000
#define FAN_OUT_BATCH  200
#define DUE_BATCH      200
#define ERROR_TEXT_MAX 300
#define DRAIN_MAX_MS   3000 /* on stop, how long requests in flight may take */

struct transfer {
    struct tly_outbox *o;
    CURL *easy;
    struct curl_slist *headers;
    int64_t id; /* deliveries.id */
    char uid[40];
    char endpoint[160]; /* tenant + endpoint id: the concurrency key */
    char host[256];
    char *url, *body;
    int attempts; /* before this one */
    int64_t window_start;
    int64_t started_ms;
    int blocked; /* the destination address was refused */
    char kept[RESPONSE_KEEP + 1];
    size_t kept_len;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
};

struct tly_outbox {
    struct tly_outbox_config cfg;
    char *allow_hosts; /* owned copy */
    const struct tly_logger *lg;
    struct tly_db *db;
    CURLM *multi;
    uv_thread_t thread;
    int started;
    _Atomic int stopping;
    struct transfer **flight; /* max_in_flight slots; NULL = free */
    int nflight;
    uint64_t rng;
    /* metrics */
    _Atomic int64_t pending, delivered, failed, backlog, oldest_pending;
    _Atomic uint64_t attempts_ok, attempts_retry, attempts_failed;
    struct tly_histogram latency;
};

static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static double rnd(struct tly_outbox *o)
{
    o->rng ^= o->rng << 13;
    o->rng ^= o->rng >> 7;
    o->rng ^= o->rng << 17;
    return (double)(o->rng >> 11) / 9007199254740992.0;
}

/* ---- destinations ------------------------------------------------------ */

static int host_allowed(const struct tly_outbox *o, const char *host)
{
    const char *p = o->allow_hosts;
    size_t hl = strlen(host);
    while (p != NULL && *p) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        size_t sn = n;
        while (sn > 0 && *s == ' ')
            s++, sn--;
        while (sn > 0 && s[sn - 1] == ' ')
            sn--;
        if ((sn == 1 && *s == '*') || (sn == hl && strncasecmp(s, host, hl) == 0))
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int v4_public(uint32_t a)
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
    return !(b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224 || (b0 == 169 && b1 == 254) ||
             (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) ||
             (b0 == 100 && (b1 & 0xc0) == 64));
}

static int addr_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0)
            return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                             b[15]);
        static const uint8_t zero[15] = {0};
        if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
            return 0;
        if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff)
            return 0;
        return 1;
    }
    return 0;
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = arg;
    (void)purpose;
    if (!addr_public(&a->addr) && !host_allowed(t->o, t->host)) {
        t->blocked = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* ---- transfers --------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    size_t room = RESPONSE_KEEP - t->kept_len;
    size_t take = len < room ? len : room;
    memcpy(t->kept + t->kept_len, p, take);
    t->kept_len += take;
    t->kept[t->kept_len] = '\0';
    return len; /* the rest is read and dropped */
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t v = len - 12;
        const char *s = p + 12;
        while (v > 0 && (s[v - 1] == '\r' || s[v - 1] == '\n'))
            v--;
        if (v < sizeof t->retry_after) {
            memcpy(t->retry_after, s, v);
            t->retry_after[v] = '\0';
        }
    } else if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        t->retry_after[0] = '\0'; /* a new response (after 100 Continue) */
    }
    return len;
}

static void transfer_free(struct transfer *t)
{
    if (t == NULL)
        return;
    if (t->easy != NULL) {
        curl_multi_remove_handle(t->o->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    free(t->url);
    free(t->body);
    free(t);
}

static int add_header(struct transfer *t, const char *fmt, const char *v)
{
    char line[512];
    snprintf(line, sizeof line, fmt, v);
    struct curl_slist *l = curl_slist_append(t->headers, line);
    if (l == NULL)
        return TLY_ENOMEM;
    t->headers = l;
    return 0;
}

/* Starts one delivery; the row's columns: id, uid, tenant_id, endpoint_id,
 * url, secret, body, attempts, window_start. */
static int transfer_start(struct tly_outbox *o, sqlite3_stmt *row, int slot)
{
    struct transfer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return TLY_ENOMEM;
    t->o = o;
    t->id = sqlite3_column_int64(row, 0);
    snprintf(t->uid, sizeof t->uid, "%s", (const char *)sqlite3_column_text(row, 1));
    snprintf(t->endpoint, sizeof t->endpoint, "%lld/%s", (long long)sqlite3_column_int64(row, 2),
             (const char *)sqlite3_column_text(row, 3));
    t->url = strdup((const char *)sqlite3_column_text(row, 4));
    const char *secret = (const char *)sqlite3_column_text(row, 5);
    const char *body = (const char *)sqlite3_column_text(row, 6);
    size_t blen = (size_t)sqlite3_column_bytes(row, 6);
    t->body = malloc(blen + 1);
    t->attempts = sqlite3_column_int(row, 7);
    t->window_start = sqlite3_column_int64(row, 8);
    t->started_ms = tly_now_ms();
    char why[128];
    if (t->url == NULL || t->body == NULL) {
        transfer_free(t);
        return TLY_ENOMEM;
    }
    memcpy(t->body, body ? body : "", blen);
    t->body[blen] = '\0';
    if (tly_webhook_url_check(t->url, why, t->host) != 0)
        t->host[0] = '\0';

    int64_t ts = t->started_ms / 1000;
    char tsbuf[24];
    snprintf(tsbuf, sizeof tsbuf, "%" PRId64, ts);
    int rc = add_header(t, "%s", "Content-Type: application/json");
    rc |= add_header(t, "webhook-id: %s", t->uid);
    rc |= add_header(t, "webhook-timestamp: %s", tsbuf);
    rc |= add_header(t, "%s", "Expect:");
    if (rc == 0 && secret != NULL) {
        char cg[41];
        struct tly_buf sig;
        tly_buf_init(&sig, 0);
        rc = tly_webhook_sign_cg(secret, t->body, blen, cg);
        rc = rc ? rc : add_header(t, "X-CG-SIGNATURE: %s", cg);
        rc = rc ? rc : tly_webhook_sign_std(secret, t->uid, ts, t->body, blen, &sig);
        rc = rc ? rc : add_header(t, "webhook-signature: %s", sig.data);
        tly_buf_free(&sig);
    }
    t->easy = rc == 0 ? curl_easy_init() : NULL;
    if (t->easy == NULL) {
        transfer_free(t);
        return TLY_ENOMEM;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, o->cfg.user_agent ? o->cfg.user_agent : "tally");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(o->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        t->easy = NULL;
        transfer_free(t);
        return TLY_ENOMEM;
    }
    o->flight[slot] = t;
    o->nflight++;
    return 0;
}

/* prefix, then the printable ASCII of s[0..n) (others as spaces), into out. */
static void printable(char *out, size_t outsz, const char *prefix, const char *s, size_t n)
{
    size_t o = (size_t)snprintf(out, outsz, "%s", prefix);
    for (size_t i = 0; i < n && o + 1 < outsz; i++)
        out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : ' ';
    if (o >= outsz)
        o = outsz - 1;
    out[o] = '\0';
}

/* Records the outcome of a finished transfer. */
static void transfer_done(struct tly_outbox *o, struct transfer *t, CURLcode res)
{
    int64_t now = tly_now_ms();
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    tly_histogram_observe(&o->latency, (double)(now - t->started_ms) / 1000.0);
    const char *status = "pending";
    char error[ERROR_TEXT_MAX] = "";
    int retry = 0;
    if (t->blocked) {
        status = "failed";
        snprintf(error, sizeof error,
                 "destination address not allowed (a non-public address; see "
                 "--webhook-allow-hosts)");
    } else if (res != CURLE_OK) {
        retry = 1;
        char raw[ERROR_TEXT_MAX];
        snprintf(raw, sizeof raw, "%s%s%.200s", curl_easy_strerror(res), t->errbuf[0] ? ": " : "",
                 t->errbuf);
        printable(error, sizeof error, "", raw, strlen(raw));
        code = 0;
    } else if (code >= 200 && code < 300) {
        status = "delivered";
    } else {
        char pre[32];
        snprintf(pre, sizeof pre, "HTTP %ld: ", code);
        printable(error, sizeof error, pre, t->kept, t->kept_len);
        if (code >= 500 || code == 408 || code == 429)
            retry = 1;
        else
            status = "failed";
    }
    int64_t next = now;
    if (retry) {
        int64_t delay = tly_retry_delay(&o->cfg.retry, t->attempts + 1, rnd(o));
        int64_t ra;
        if (t->retry_after[0] &&
            tly_retry_after_parse(t->retry_after, strlen(t->retry_after), now, &ra) == 0)
            delay = ra;
        next = now + delay;
        if (next > t->window_start + o->cfg.retry.give_up_ms) {
            status = "failed";
            size_t l = strlen(error);
            snprintf(error + l, sizeof error - l, " (gave up after %d attempts)", t->attempts + 1);
        }
    }
    sqlite3 *db = tly_db_sqlite(o->db);
    sqlite3_stmt *st;
    int ok = sqlite3_prepare_v2(db,
                                "UPDATE deliveries SET status = ?2, attempts = attempts + 1,"
                                " next_attempt_at = ?3, last_status = ?4, last_error = ?5,"
                                " last_attempt_at = ?6, updated_at = ?6,"
                                " delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 END"
                                " WHERE id = ?1 AND status = 'pending'",
                                -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, t->id);
        sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, next);
        if (code > 0)
            sqlite3_bind_int64(st, 4, code);
        if (error[0])
            sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (!ok)
        tly_log_error(o->lg, "cannot record a webhook attempt", "delivery=%s error=\"%s\"", t->uid,
                      sqlite3_errmsg(db));
    if (strcmp(status, "delivered") == 0)
        tly_counter_add(&o->attempts_ok, 1);
    else if (strcmp(status, "failed") == 0)
        tly_counter_add(&o->attempts_failed, 1);
    else
        tly_counter_add(&o->attempts_retry, 1);
    /* never the body, the secret or more than the status and curl's reason */
    tly_log_debug(o->lg, "webhook attempt",
                  "delivery=%s status=%s http_status=%ld attempt=%d curl=\"%s\"", t->uid, status,
                  code, t->attempts + 1, res == CURLE_OK ? "ok" : curl_easy_strerror(res));
}

/* ---- the loop ---------------------------------------------------------- */

static int in_flight(const struct tly_outbox *o, int64_t id, const char *endpoint, int *same_ep)
{
    int found = 0;
    *same_ep = 0;
    for (int i = 0; i < o->cfg.max_in_flight; i++) {
        const struct transfer *t = o->flight[i];
        if (t == NULL)
            continue;
        found |= t->id == id;
        *same_ep += strcmp(t->endpoint, endpoint) == 0;
    }
    return found;
}

static void start_due(struct tly_outbox *o, int64_t now)
{
    if (o->nflight >= o->cfg.max_in_flight)
        return;
    sqlite3 *db = tly_db_sqlite(o->db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, uid, tenant_id, endpoint_id, url, secret, body, attempts,"
                           " window_start FROM deliveries WHERE status = 'pending'"
                           " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, DUE_BATCH);
    while (o->nflight < o->cfg.max_in_flight && sqlite3_step(st) == SQLITE_ROW) {
        char ep[160];
        snprintf(ep, sizeof ep, "%lld/%s", (long long)sqlite3_column_int64(st, 2),
                 (const char *)sqlite3_column_text(st, 3));
        int same;
        if (in_flight(o, sqlite3_column_int64(st, 0), ep, &same) || same >= o->cfg.per_endpoint)
            continue;
        int slot = 0;
        while (o->flight[slot] != NULL)
            slot++;
        if (transfer_start(o, st, slot) != 0)
            break;
    }
    sqlite3_finalize(st);
}

static void refresh_stats(struct tly_outbox *o, int64_t now)
{
    struct tly_delivery_counts c;
    if (tly_deliveries_count(tly_db_sqlite(o->db), &c) != 0)
        return;
    atomic_store(&o->pending, c.pending);
    atomic_store(&o->delivered, c.delivered);
    atomic_store(&o->failed, c.failed);
    atomic_store(&o->backlog, c.pending + c.unfanned);
    atomic_store(&o->oldest_pending, c.oldest_pending > 0 ? now - c.oldest_pending : 0);
}

static void outbox_main(void *arg)
{
    struct tly_outbox *o = arg;
    int64_t next_poll = 0, next_stats = 0, drain_until = 0;
    for (;;) {
        int64_t now = tly_now_ms();
        if (atomic_load(&o->stopping)) {
            /* Stopping: start nothing new; let requests in flight finish
             * for a little while, so a restart sends fewer again. */
            if (drain_until == 0)
                drain_until =
                    now + (o->cfg.timeout_ms < DRAIN_MAX_MS ? o->cfg.timeout_ms : DRAIN_MAX_MS);
            if (o->nflight == 0 || now >= drain_until)
                break;
            next_poll = now + o->cfg.poll_ms;
            next_stats = INT64_MAX;
        }
        if (now >= next_poll) {
            int done;
            if (tly_outbox_fan_out(tly_db_sqlite(o->db), now, FAN_OUT_BATCH, &done) != 0)
                tly_log_warn(o->lg, "webhook fan-out failed; will try again", "error=\"%s\"",
                             sqlite3_errmsg(tly_db_sqlite(o->db)));
            start_due(o, now);
            next_poll = done == FAN_OUT_BATCH ? now : now + o->cfg.poll_ms;
        }
        if (now >= next_stats) {
            refresh_stats(o, now);
            next_stats = now + STATS_EVERY_MS;
        }
        int running;
        curl_multi_perform(o->multi, &running);
        CURLMsg *m;
        int left;
        int finished = 0;
        while ((m = curl_multi_info_read(o->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct transfer *t = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            CURLcode res = m->data.result;
            transfer_done(o, t, res);
            for (int i = 0; i < o->cfg.max_in_flight; i++)
                if (o->flight[i] == t) {
                    o->flight[i] = NULL;
                    o->nflight--;
                }
            transfer_free(t);
            finished = 1;
        }
        if (finished) {
            next_poll = 0; /* room for more: look again now */
            next_stats = 0;
            continue;
        }
        int64_t wait = next_poll - tly_now_ms();
        if (wait < 1)
            wait = 1;
        if (wait > 1000)
            wait = 1000;
        curl_multi_poll(o->multi, NULL, 0, (int)wait, NULL);
    }
}

/* ---- life cycle -------------------------------------------------------- */

int tly_outbox_open(struct tly_outbox **out, const struct tly_outbox_config *cfg,
                    const struct tly_logger *lg, struct tly_error *err)
{
    struct tly_outbox *o = calloc(1, sizeof *o);
    if (o == NULL)
        return TLY_ENOMEM;
    o->cfg = *cfg;
    o->lg = lg;
    if (o->cfg.per_endpoint < 1)
        o->cfg.per_endpoint = 4;
    if (o->cfg.max_in_flight < 1)
        o->cfg.max_in_flight = 64;
    if (o->cfg.timeout_ms <= 0)
        o->cfg.timeout_ms = 10000;
    if (o->cfg.poll_ms <= 0)
        o->cfg.poll_ms = 200;
    if (o->cfg.retry.first_ms <= 0)
        o->cfg.retry.first_ms = 1000;
    if (o->cfg.retry.max_ms < o->cfg.retry.first_ms)
        o->cfg.retry.max_ms = o->cfg.retry.first_ms;
    if (o->cfg.retry.give_up_ms <= 0)
        o->cfg.retry.give_up_ms = 24LL * 3600 * 1000;
    o->rng = (uint64_t)tly_now_ms() * 0x9e3779b97f4a7c15ull | 1;
    tly_histogram_init(&o->latency, latency_bounds,
                       (int)(sizeof latency_bounds / sizeof latency_bounds[0]));
    int rc = TLY_ENOMEM;
    o->allow_hosts = strdup(cfg->allow_hosts ? cfg->allow_hosts : "");
    o->flight = calloc((size_t)o->cfg.max_in_flight, sizeof *o->flight);
    if (o->allow_hosts == NULL || o->flight == NULL)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto fail;
    if ((rc = tly_db_open(&o->db, cfg->db_path, err)) != 0)
        goto fail;
    if ((o->multi = curl_multi_init()) == NULL) {
        rc = TLY_ENOMEM;
        goto fail;
    }
    *out = o;
    return 0;
fail:
    tly_outbox_close(o);
    return rc;
}

int tly_outbox_start(struct tly_outbox *o)
{
    if (uv_thread_create(&o->thread, outbox_main, o) != 0)
        return TLY_EIO;
    o->started = 1;
    return 0;
}

void tly_outbox_stop(struct tly_outbox *o)
{
    if (o == NULL || !o->started)
        return;
    atomic_store(&o->stopping, 1);
    curl_multi_wakeup(o->multi);
    uv_thread_join(&o->thread);
    o->started = 0;
}

void tly_outbox_close(struct tly_outbox *o)
{
    if (o == NULL)
        return;
    tly_outbox_stop(o);
    if (o->flight != NULL)
        for (int i = 0; i < o->cfg.max_in_flight; i++)
            transfer_free(o->flight[i]);
    if (o->multi != NULL)
        curl_multi_cleanup(o->multi);
    tly_db_close(o->db);
    free(o->flight);
    free(o->allow_hosts);
    free(o);
}

int tly_outbox_metrics(struct tly_outbox *o, struct tly_buf *b)
{
    int rc = tly_metrics_header(b, "tally_webhook_deliveries", "gauge",
                                "Webhook deliveries in the store, by status.");
    rc |= tly_metrics_sample(b, "tally_webhook_deliveries", "status=\"pending\"",
                             (double)atomic_load(&o->pending));
    rc |= tly_metrics_sample(b, "tally_webhook_deliveries", "status=\"delivered\"",
                             (double)atomic_load(&o->delivered));
    rc |= tly_metrics_sample(b, "tally_webhook_deliveries", "status=\"failed\"",
                             (double)atomic_load(&o->failed));
    rc |= tly_metrics_header(b, "tally_webhook_backlog", "gauge",
                             "Pending deliveries plus outbox entries not yet fanned out.");
    rc |= tly_metrics_sample(b, "tally_webhook_backlog", "", (double)atomic_load(&o->backlog));
    rc |= tly_metrics_header(b, "tally_webhook_oldest_pending_seconds", "gauge",
                             "Age of the oldest pending delivery (0 when none).");
    rc |= tly_metrics_sample(b, "tally_webhook_oldest_pending_seconds", "",
                             (double)atomic_load(&o->oldest_pending) / 1000.0);
    rc |= tly_metrics_header(b, "tally_webhook_attempts_total", "counter",
                             "Webhook attempts by outcome.");
    rc |= tly_metrics_sample(b, "tally_webhook_attempts_total", "outcome=\"delivered\"",
                             (double)tly_counter_get(&o->attempts_ok));
    rc |= tly_metrics_sample(b, "tally_webhook_attempts_total", "outcome=\"retry\"",
                             (double)tly_counter_get(&o->attempts_retry));
    rc |= tly_metrics_sample(b, "tally_webhook_attempts_total", "outcome=\"failed\"",
                             (double)tly_counter_get(&o->attempts_failed));
    rc |= tly_metrics_histogram(b, "tally_webhook_attempt_seconds", "Duration of webhook attempts.",
                                &o->latency);
    return rc ? TLY_ENOMEM : 0;
}
