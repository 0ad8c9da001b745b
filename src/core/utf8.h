/*
 * UTF-8 validation.
 */
#ifndef TLY_CORE_UTF8_H
#define TLY_CORE_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is valid UTF-8: no overlong forms, surrogates, or code
 * points past U+10FFFF. */
int tly_utf8_valid(const char *s, size_t n);

#endif
