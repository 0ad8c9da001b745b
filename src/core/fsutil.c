/*
 * File-system helpers (see fsutil.h).
 */
#include "core/fsutil.h"
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int tly_mkdir_p(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return TLY_EIO;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return TLY_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return TLY_EIO;
    return 0;
}
