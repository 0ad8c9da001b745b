/*
 * File-system helpers (see fsutil.h).
 */
#include "core/fsutil.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

int tly_lock_data_dir(const char *dir, int *fd, struct tly_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/tallyd.lock", dir) >= (int)sizeof path)
        return tly_error_set(err, TLY_EINVAL, "", "%s: path too long", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return tly_error_set(err, TLY_EIO, "", "%s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    int e = errno;
    close(*fd);
    *fd = -1;
    if (e == EWOULDBLOCK)
        return tly_error_set(err, TLY_EBUSY, "",
                             "%s: another tallyd process is using this data directory", dir);
    return tly_error_set(err, TLY_EIO, "", "%s: cannot lock: %s", path, strerror(e));
}
