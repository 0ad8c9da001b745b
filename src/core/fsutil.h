/*
 * Small file-system helpers.
 */
#ifndef TLY_CORE_FSUTIL_H
#define TLY_CORE_FSUTIL_H

#include "core/err.h"

/* Creates `dir` and any missing parents (mode 0755). 0 or TLY_EIO. */
int tly_mkdir_p(const char *dir);

/* Takes DIR/tallyd.lock (flock, exclusive): one tallyd process at a time
 * writes a data directory (the log and the pipeline's state). The lock
 * lasts while *fd is open. TLY_EBUSY when another process holds it. */
int tly_lock_data_dir(const char *dir, int *fd, struct tly_error *err);

#endif
