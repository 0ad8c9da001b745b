/*
 * The two signature schemes of outbound webhooks (see webhook.h):
 * X-CG-SIGNATURE (hex HMAC-SHA1 of the body, the original service's) and
 * Standard Webhooks' webhook-signature (base64 HMAC-SHA256 of
 * "id.timestamp.body"). Secrets stay in the caller's memory; nothing is
 * logged here.
 */
#include "outbox/webhook.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tly_webhook_sign_cg(const char *secret, const void *body, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (HMAC(EVP_sha1(), secret, (int)strlen(secret), body, len, md, &mdlen) == NULL || mdlen != 20)
        return TLY_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
    return 0;
}

/* Decodes standard base64 (padding optional) into out (>= 3/4 n + 3). */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=') {
            pad++;
            continue;
        } else
            return TLY_EINVAL;
        if (pad)
            return TLY_EINVAL; /* data after padding */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (pad > 2 || bits >= 6)
        return TLY_EINVAL;
    *outlen = o;
    return 0;
}

int tly_webhook_sign_std(const char *secret, const char *id, int64_t ts_s, const void *body,
                         size_t len, struct tly_buf *out)
{
    size_t slen = strlen(secret);
    const unsigned char *key = (const unsigned char *)secret;
    size_t klen = slen;
    unsigned char *decoded = NULL;
    if (strncmp(secret, "whsec_", 6) == 0) {
        decoded = malloc(slen);
        if (decoded == NULL)
            return TLY_ENOMEM;
        if (b64_decode(secret + 6, slen - 6, decoded, &klen) != 0 || klen == 0) {
            free(decoded);
            return TLY_EINVAL;
        }
        key = decoded;
    }
    int rc = TLY_ENOMEM;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char ts[24];
    int tsn = snprintf(ts, sizeof ts, ".%" PRId64 ".", ts_s);
    struct tly_buf msg;
    tly_buf_init(&msg, 0);
    if (tly_buf_puts(&msg, id) == 0 && tly_buf_append(&msg, ts, (size_t)tsn) == 0 &&
        tly_buf_append(&msg, body, len) == 0 &&
        HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg.data, msg.len, md, &mdlen) !=
            NULL) {
        rc = tly_buf_puts(out, "v1,");
        rc |= tly_buf_base64(out, md, mdlen);
        rc = rc ? TLY_ENOMEM : 0;
    }
    tly_buf_free(&msg);
    free(decoded);
    return rc;
}
