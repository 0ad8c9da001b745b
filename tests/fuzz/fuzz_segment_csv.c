/*
 * Fuzzes the CSV reader of static segment uploads
 * (tly_segment_csv_next, src/engine/segment.h).
 *
 * Invariants (abort() if broken): every id returned is non-empty,
 * NUL-terminated UTF-8 of at most TLY_USER_ID_MAX bytes; the position only
 * moves forward and stays within the input; the reader ends (0) or fails
 * (TLY_EINVAL with a message naming the line).
 */
#include "core/utf8.h"
#include "engine/segment.h"

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
    char id[257];
    size_t pos = 0, line = 0;
    struct tly_error err;
    for (;;) {
        size_t before = pos;
        int rc = tly_segment_csv_next((const char *)data, size, &pos, &line, id, sizeof id, &err);
        CHECK(pos <= size);
        if (rc == 0)
            break;
        if (rc < 0) {
            CHECK(rc == TLY_EINVAL && strncmp(err.msg, "line ", 5) == 0);
            break;
        }
        CHECK(rc == 1 && pos > before);
        size_t n = strlen(id);
        CHECK(n > 0 && n < sizeof id && tly_utf8_valid(id, n));
    }
    return 0;
}
