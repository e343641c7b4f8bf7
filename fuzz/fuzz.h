/* fuzz.h: what the libFuzzer harnesses of fuzz/ share: a private scratch
 * directory, writing an input to a file there (the parsers read paths), and
 * the check every rejection must pass: one status among those allowed and a
 * one-line, non-empty message (what `mot` prints after "mot: error: " before
 * exiting 2). A harness aborts, which libFuzzer reports as a crash with the
 * input saved, when a rejection breaks that contract. Not part of libmot. */
#ifndef MOT_FUZZ_H
#define MOT_FUZZ_H

#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>

#include "status.h"

static int fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static char fuzz_dir_name[256];

static void fuzz_cleanup(void)
{
    nftw(fuzz_dir_name, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A directory of this process, created on first use: "$TMPDIR/mot-fuzz.XXXXXX",
 * by default in /dev/shm (memory) when it exists, else /tmp: rewriting a
 * file on a disk file system costs a disk write per input. */
static const char *fuzz_dir(void)
{
    char *dir = fuzz_dir_name;
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        if (!t || !*t)
            t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof fuzz_dir_name, "%s/mot-fuzz.XXXXXX", t);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup);   /* a crash leaves it, with the input */
    }
    return dir;
}

/* "<fuzz_dir>/<name>" in a static buffer. */
static const char *fuzz_path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Writes size bytes to path (replacing it). */
static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    unlink(path);   /* a new file: ext4 flushes a truncated one when closed */
    FILE *fp = fopen(path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

/* Checks a rejection: `status` is one of the bits of `allowed` (1 << code)
 * and the message is one non-empty line without control characters (an
 * input's newline, carriage return or escape sequence must not reach the
 * terminal raw). Aborts otherwise. */
static void fuzz_check_rejection(int status, unsigned allowed, const char *what)
{
    const char *msg = mot_status_message();
    if (status <= 0 || status > 15 || !(allowed & (1u << status))) {
        fprintf(stderr, "%s: unexpected status %d (%s)\n", what, status, msg);
        abort();
    }
    int controls = 0;   /* a newline, a carriage return, an escape sequence... */
    for (const char *c = msg; *c; c++)
        controls += (unsigned char)*c < 0x20 || *c == 0x7f;
    if (!msg[0] || controls) {
        fprintf(stderr, "%s: status %d with a message that is not one line: \"%s\"\n", what, status, msg);
        abort();
    }
}

#define FUZZ_BIT(code) (1u << (code))

#endif
