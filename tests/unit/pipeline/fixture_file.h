/*
 * Reading fixture files in the adapter unit tests: TALLY_FIXTURES/<dir>/
 * <name><suffix>, whole and NUL-terminated. Included by one test file each
 * (static functions).
 */
#ifndef TLY_TEST_FIXTURE_FILE_H
#define TLY_TEST_FIXTURE_FILE_H

#include <stdio.h>
#include <stdlib.h>

/* malloc'd (the caller frees it); fails the test when unreadable. */
static char *read_fixture(const char *dir, const char *name, const char *suffix, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s%s", TALLY_FIXTURES, dir, name, suffix);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

#endif
