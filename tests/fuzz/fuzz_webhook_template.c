/*
 * Fuzzes webhook body templates: the input is a template (JSON text); when
 * it parses, tly_template_check, and on what it accepts tly_template_apply
 * over a payload made of the input too (so paths can hit), then over a
 * fixed reward payload.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a refusal is TLY_EINVAL with the field it was given;
 *   - an accepted template always applies (never NULL), and its result has
 *     the template's type (object stays object, array stays array);
 *   - a template without "$" strings applies to an equal copy.
 */
#include "core/json.h"
#include "outbox/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static int has_ref(const cJSON *v)
{
    if (cJSON_IsString(v))
        return v->valuestring[0] == '$';
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        if (has_ref(c))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tly_error err;
    cJSON *t = tly_json_parse((const char *)data, size, &err);
    if (t == NULL)
        return 0;
    memset(&err, 0, sizeof err);
    int rc = tly_template_check(t, "template", &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL && strcmp(err.field, "template") == 0);
        cJSON_Delete(t);
        return 0;
    }
    cJSON *fixed = cJSON_Parse("{\"userId\":\"u\",\"details\":{\"orderId\":\"o\",\"n\":[1,2]}}");
    CHECK(fixed != NULL);
    const cJSON *payloads[] = {t, fixed};
    for (int i = 0; i < 2; i++) {
        cJSON *out = tly_template_apply(t, payloads[i]);
        CHECK(out != NULL);
        CHECK((out->type & 0xff) == (t->type & 0xff) || has_ref(t));
        if (!has_ref(t)) { /* an equal copy (printed: members may repeat) */
            char *x = cJSON_PrintUnformatted(out), *y = cJSON_PrintUnformatted(t);
            CHECK(x != NULL && y != NULL && strcmp(x, y) == 0);
            cJSON_free(x);
            cJSON_free(y);
        }
        cJSON_Delete(out);
    }
    cJSON_Delete(fixed);
    cJSON_Delete(t);
    return 0;
}
