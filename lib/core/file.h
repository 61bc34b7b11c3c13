/* Whole-file replacement for files that hold secrets or state (internal). */
#ifndef CYBERAGENT_CORE_FILE_H
#define CYBERAGENT_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "cyberagent/common.h"

/*
 * Replaces the file at `path` with `data`, atomically and without writing
 * through any name that already exists:
 *   1. creates a fresh temporary file in path's directory, named
 *      "<path>.tmp-<12 random hex digits>", with O_CREAT|O_EXCL|O_NOFOLLOW
 *      (a file or symlink planted under any name is never opened; a name
 *      that exists is skipped for another random one, at most
 *      CAI_FILE_TMP_TRIES times);
 *   2. sets its mode to exactly `mode` (fchmod, so neither the umask nor an
 *      old file's mode matters), writes all of `data`, fsyncs it;
 *   3. renames it over `path` (a symlink at `path` is replaced, not
 *      followed) and fsyncs the directory.
 * Any failure before the rename unlinks the temporary file and leaves `path`
 * untouched: CA_ERR_IO (or CA_ERR_INVALID_ARGUMENT for a path that is empty,
 * ends in '/' or is too long). If only the directory fsync fails, `path`
 * already holds the new bytes and CA_ERR_IO says so.
 */
#define CAI_FILE_TMP_TRIES 16

ca_status cai_file_replace(const char *path, const uint8_t *data, size_t len, unsigned int mode);

#endif
