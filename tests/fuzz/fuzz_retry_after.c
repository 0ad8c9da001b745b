/*
 * Fuzzes the Retry-After header: tly_retry_after_parse on the input bytes
 * (exactly `size` bytes, no NUL after them, so ASan sees any read past the
 * end), against a fixed "now".
 *
 * Invariants checked (abort() if broken), beyond "no crash":
 *   - the answer is 0 or TLY_EINVAL;
 *   - an accepted value is a delay >= 0; digits alone give that many
 *     seconds exactly;
 *   - an accepted date gives the same delay when parsed again, and a delay
 *     one second shorter one second later (or 0).
 */
#include "outbox/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now = 1700000000000LL;
    char *s = malloc(size ? size : 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    int64_t d = -1, d2 = -1;
    int rc = tly_retry_after_parse(s, size, now, &d);
    CHECK(rc == 0 || rc == TLY_EINVAL);
    if (rc == 0) {
        CHECK(d >= 0);
        int digits = size > 0;
        int64_t v = 0;
        for (size_t i = 0; i < size && digits; i++) {
            digits = s[i] >= '0' && s[i] <= '9';
            if (digits && v < INT64_MAX / 100)
                v = v * 10 + (s[i] - '0');
        }
        if (digits && size <= 12)
            CHECK(d == v * 1000);
        if (!digits && size > 0 && !(s[0] >= '0' && s[0] <= '9') && s[0] != ' ' && s[0] != '\t') {
            CHECK(tly_retry_after_parse(s, size, now + 1000, &d2) == 0);
            CHECK(d2 == (d >= 1000 ? d - 1000 : 0));
        }
    }
    free(s);
    return 0;
}
