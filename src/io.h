/* io.h: crash-safe output files. Every file a run writes goes first to a
 * temporary name in the same directory and is renamed to its final name only
 * once complete and flushed, so an interrupted run never leaves a truncated
 * file under a final name. Also: directory creation and JSON files. This
 * module knows nothing of the model. */
#ifndef MOT_IO_H
#define MOT_IO_H

#include <stdio.h>

#include <jansson.h>

typedef struct {
    FILE *fp;          /* write here */
    char *path;        /* final name */
    char *tmp;         /* temporary name: "<dir>/.<base>.tmp.<pid>" */
} mot_io_file;

/* Opens `path` for writing under its temporary name. Returns MOT_OK or
 * MOT_EIO (message names the path and strerror). On error `f` holds nothing
 * to free. */
int mot_io_open(mot_io_file *f, const char *path);

/* mot_io_open of "dir/name". */
int mot_io_open_in(mot_io_file *f, const char *dir, const char *name);

/* Flushes, fsyncs, closes and renames to the final name. On any failure the
 * temporary file is removed and MOT_EIO returned. Always releases `f`. */
int mot_io_commit(mot_io_file *f);

/* Closes and removes the temporary file; for error paths. NULL fp is fine. */
void mot_io_abort(mot_io_file *f);

/* Creates a directory and its parents (like mkdir -p). MOT_OK if it exists. */
int mot_io_mkdir_p(const char *path);

/* Writes `obj` as indented JSON to `path` atomically (jansson's dumpf, keys in
 * insertion order, reals printed with 17 significant digits). */
int mot_io_write_json(const char *path, const json_t *obj);

/* Joins dir and name into a newly malloc'd "dir/name"; NULL on ENOMEM. */
char *mot_io_join(const char *dir, const char *name);

#endif
