/*
 * Plain replay driver: runs LLVMFuzzerTestOneInput over files without
 * libFuzzer, so fuzz corpora are regression tests under any compiler and the
 * sanitizer presets.
 *
 * Usage: replay_<name> PATH...   (each PATH a file, or a directory whose
 * regular files are replayed in name order). Each input is copied into a
 * heap block of exactly its size, so an over-read is caught by ASan as it
 * would be under libFuzzer. The empty input is always replayed as well.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Largest corpus file replayed; bigger files are an error, not skipped. */
#define REPLAY_MAX_BYTES (16u << 20)

static int run_one(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy (never a NULL pointer, even for size 0). */
    uint8_t *copy = calloc(1, size > 0 ? size : 1);
    if (copy == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    if (size > 0)
        memcpy(copy, data, size);
    (void)LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    return 0;
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_BYTES);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_BYTES, f);
    int too_big = (n == REPLAY_MAX_BYTES && fgetc(f) != EOF);
    int err = ferror(f);
    fclose(f);
    int rc = -1;
    if (err)
        fprintf(stderr, "replay: read error on %s\n", path);
    else if (too_big)
        fprintf(stderr, "replay: %s is larger than %u bytes\n", path, REPLAY_MAX_BYTES);
    else
        rc = run_one(buf, n);
    free(buf);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of a directory in name order; returns files run or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    long rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (grown == NULL) {
                rc = -1;
                break;
            }
            names = grown;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        names[count] = malloc(len);
        if (names[count] == NULL) {
            rc = -1;
            break;
        }
        snprintf(names[count], len, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof *names, cmp_names);
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (rc >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0)
                rc = -1;
            else
                rc++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (run_one(NULL, 0) != 0)
        return 1;
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        long n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %ld inputs (plus the empty one)\n", total);
    return 0;
}
