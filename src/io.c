/* io.c: crash-safe output files, mkdir -p, JSON files and path joining (see
 * io.h). A file is written under "<dir>/.<base>.tmp.<pid>" and renamed over
 * its final name only after fflush and fsync succeeded, so readers see either
 * the old file or the complete new one. Not a general file library: it only
 * writes. */
#define _POSIX_C_SOURCE 200809L

#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

/* Clears `f` after its resources are gone, so a second abort is harmless. */
static void io_release(mot_io_file *f)
{
    free(f->path);
    free(f->tmp);
    f->fp = NULL;
    f->path = NULL;
    f->tmp = NULL;
}

int mot_io_open(mot_io_file *f, const char *path)
{
    f->fp = NULL;
    f->path = NULL;
    f->tmp = NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (*base == '\0')
        return MOT_ERROR(MOT_EIO, "cannot write %s: %s", path, strerror(EISDIR));
    size_t dirlen = (size_t)(base - path);
    size_t cap = strlen(path) + 32;   /* "." + ".tmp." + a pid + NUL */
    f->path = strdup(path);
    f->tmp = malloc(cap);
    if (!f->path || !f->tmp) {
        io_release(f);
        return MOT_ERROR(MOT_EIO, "cannot write %s: %s", path, strerror(ENOMEM));
    }
    snprintf(f->tmp, cap, "%.*s.%s.tmp.%ld", (int)dirlen, path, base, (long)getpid());
    f->fp = fopen(f->tmp, "wb");
    if (!f->fp) {
        int err = errno;
        io_release(f);
        return MOT_ERROR(MOT_EIO, "cannot write %s: %s", path, strerror(err));
    }
    return MOT_OK;
}

int mot_io_commit(mot_io_file *f)
{
    if (!f->fp) {
        int code = MOT_ERROR(MOT_EIO, "cannot write %s: file is not open",
                             f->path ? f->path : "(null)");
        mot_io_abort(f);
        return code;
    }
    /* ferror first: a failed fwrite may have dropped data that fflush no
     * longer sees. */
    int err = 0;
    if (ferror(f->fp))
        err = EIO;
    else if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0)
        err = errno;
    if (fclose(f->fp) != 0 && !err)
        err = errno;
    f->fp = NULL;
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err) {
        int code = MOT_ERROR(MOT_EIO, "cannot write %s: %s", f->path, strerror(err));
        unlink(f->tmp);
        io_release(f);
        return code;
    }
    io_release(f);
    return MOT_OK;
}

void mot_io_abort(mot_io_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        unlink(f->tmp);
    io_release(f);
}

/* mkdir that accepts an existing directory (not an existing file). Checks
 * with stat on any failure: an existing directory may also give EACCES or
 * EROFS. */
static int io_mkdir_one(const char *path, const char *shown)
{
    struct stat st;
    if (mkdir(path, 0777) == 0)
        return MOT_OK;
    int err = errno;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return MOT_OK;
        err = ENOTDIR;
    }
    return MOT_ERROR(MOT_EIO, "cannot create directory %s: %s", shown, strerror(err));
}

int mot_io_mkdir_p(const char *path)
{
    if (*path == '\0')
        return MOT_ERROR(MOT_EIO, "cannot create directory '': %s", strerror(ENOENT));
    char *buf = strdup(path);
    if (!buf)
        return MOT_ERROR(MOT_EIO, "cannot create directory %s: %s", path, strerror(ENOMEM));
    int status = MOT_OK;
    /* Create each proper prefix ending before a '/', then the whole path. */
    for (char *p = buf + 1; *p && status == MOT_OK; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        status = io_mkdir_one(buf, path);
        *p = '/';
    }
    if (status == MOT_OK)
        status = io_mkdir_one(buf, path);
    free(buf);
    return status;
}

int mot_io_write_json(const char *path, const json_t *obj)
{
    mot_io_file f;
    int status = mot_io_open(&f, path);
    if (status != MOT_OK)
        return status;
    size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER;
    if (json_dumpf(obj, f.fp, flags) != 0 || fputc('\n', f.fp) == EOF) {
        int code = MOT_ERROR(MOT_EIO, "cannot write %s: JSON output failed", path);
        mot_io_abort(&f);
        return code;
    }
    return mot_io_commit(&f);
}

char *mot_io_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int sep = n > 0 && dir[n - 1] != '/';
    char *out = malloc(n + (size_t)sep + strlen(name) + 1);
    if (out)
        sprintf(out, "%s%s%s", dir, sep ? "/" : "", name);
    return out;
}

int mot_io_open_in(mot_io_file *f, const char *dir, const char *name)
{
    char *path = mot_io_join(dir, name);
    if (!path)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    int status = mot_io_open(f, path);
    free(path);
    return status;
}
