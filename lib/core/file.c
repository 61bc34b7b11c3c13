/* Whole-file replacement: fresh temporary file, fsync, rename, directory fsync. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/file.h"
#include "internal.h"

#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0 /* O_EXCL alone already refuses every existing name, symlinks too */
#endif

#define TMP_SUFFIX     ".tmp-"
#define TMP_RAND_BYTES ((size_t)6)
#define PATH_MAX_BYTES 4096u

/* Writes all of buf to fd, retrying on EINTR and short writes. 0 or -1 (errno set). */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync of the directory holding `path` ("." when it names none). 0 or -1 (errno set). */
static int sync_parent(const char *path)
{
    char dir[PATH_MAX_BYTES];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/name" -> "/" */
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    /* Some file systems cannot fsync a directory; there is nothing more to do there. */
    if (rc != 0 && e == EINVAL)
        rc = 0;
    errno = e;
    return rc;
}

/* Creates a fresh temporary file next to `path`; its name goes to tmp. fd or -1 (errno set). */
static int create_tmp(const char *path, char *tmp, size_t tmp_cap)
{
    const size_t plen = strlen(path);
    for (int attempt = 0; attempt < CAI_FILE_TMP_TRIES; attempt++) {
        uint8_t rnd[TMP_RAND_BYTES];
        randombytes_buf(rnd, sizeof rnd);
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, TMP_SUFFIX, sizeof TMP_SUFFIX - 1);
        sodium_bin2hex(tmp + plen + sizeof TMP_SUFFIX - 1, tmp_cap - plen - (sizeof TMP_SUFFIX - 1),
                       rnd, sizeof rnd);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

ca_status cai_file_replace(const char *path, const uint8_t *data, size_t len, unsigned int mode)
{
    const size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/')
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "'%s' does not name a file", path);
    char tmp[PATH_MAX_BYTES];
    if (plen + sizeof TMP_SUFFIX - 1 + 2 * TMP_RAND_BYTES + 1 > sizeof tmp)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "path of %zu bytes is too long", plen);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;

    int fd = create_tmp(path, tmp, sizeof tmp);
    if (fd < 0) {
        int e = errno;
        return cai_fail(CA_ERR_IO, "cannot create a temporary file next to %s: %s", path,
                        strerror(e));
    }
    const char *step = "chmod";
    int failed = fchmod(fd, (mode_t)mode) != 0;
    if (!failed) {
        step = "write";
        failed = write_all(fd, data, len) != 0;
    }
    if (!failed) {
        step = "fsync";
        failed = fsync(fd) != 0;
    }
    int e = errno;
    if (close(fd) != 0 && !failed) {
        failed = 1;
        step = "close";
        e = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        step = "rename";
        e = errno;
    }
    if (failed) {
        (void)unlink(tmp);
        return cai_fail(CA_ERR_IO, "cannot write %s (%s of the temporary file failed): %s", path,
                        step, strerror(e));
    }
    if (sync_parent(path) != 0) {
        e = errno;
        return cai_fail(CA_ERR_IO,
                        "%s was replaced, but its directory could not be synced (%s): the new "
                        "file may not survive a crash",
                        path, strerror(e));
    }
    return CA_OK;
}
