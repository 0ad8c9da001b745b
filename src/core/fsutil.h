/*
 * Small file-system helpers.
 */
#ifndef TLY_CORE_FSUTIL_H
#define TLY_CORE_FSUTIL_H

/* Creates `dir` and any missing parents (mode 0755). 0 or TLY_EIO. */
int tly_mkdir_p(const char *dir);

#endif
