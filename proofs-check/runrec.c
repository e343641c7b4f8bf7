/* runrec.c: a finished run read back from its directory (see check.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io.h"
#include "status.h"

void mot_runrec_free(mot_runrec *r)
{
    if (!r)
        return;
    mot_table_free(r->metrics), mot_table_free(r->dispatch), mot_table_free(r->gate);
    mot_table_free(r->alignment), mot_table_free(r->attention), mot_table_free(r->experts);
    mot_table_free(r->steps), mot_table_free(r->train_dispatch);
    free(r->dir);
    free(r);
}

/* Reads DIR/name into *t; a missing optional file leaves *t NULL. */
static int read_table(const char *dir, const char *name, int required, mot_table **t)
{
    char *path = mot_io_join(dir, name);
    if (!path)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    int status = MOT_OK;
    if (access(path, F_OK) != 0) {
        if (required)
            status = MOT_ERROR(MOT_EINVAL, "%s is missing: not a run directory", path);
    } else if (!(*t = mot_table_read(path))) {
        status = MOT_EINVAL;
    }
    free(path);
    return status;
}

mot_runrec *mot_runrec_load(const char *dir)
{
    mot_runrec *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        MOT_ERROR(MOT_ENOMEM, "cannot allocate a run record");
        return NULL;
    }
    char *summary = mot_io_join(dir, "summary.json"), *config = mot_io_join(dir, "config.json");
    int status = MOT_OK;
    if (!summary || !config) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    } else if (access(summary, F_OK) != 0) {
        status = MOT_ERROR(MOT_EINVAL, "%s has no summary.json: not a finished run", dir);
    } else {
        json_error_t err;
        json_t *j = json_load_file(config, 0, &err);
        mot_config_defaults(&r->cfg);
        if (!j)
            status = MOT_ERROR(MOT_EINVAL, "%s line %d: %s", config, err.line, err.text);
        else if ((status = mot_config_from_json(&r->cfg, j)) == MOT_OK)
            status = mot_config_validate(&r->cfg);
        json_decref(j);
    }
    free(summary);
    free(config);
    if (status == MOT_OK)
        status = read_table(dir, "metrics.csv", 1, &r->metrics);
    static const char *names[] = {"dispatch.csv", "gate.csv", "alignment.csv", "attention.csv",
                                  "experts.csv", "steps.csv", "train_dispatch.csv"};
    mot_table **slots[] = {&r->dispatch, &r->gate, &r->alignment, &r->attention,
                           &r->experts, &r->steps, &r->train_dispatch};
    for (size_t i = 0; i < sizeof names / sizeof *names && status == MOT_OK; i++)
        status = read_table(dir, names[i], 0, slots[i]);
    if (status != MOT_OK) {
        mot_runrec_free(r);
        return NULL;
    }
    return r;
}

long mot_runrec_row(const mot_table *t, int epoch)
{
    int c = mot_table_col(t, "epoch");
    if (c < 0)
        return -1;
    for (size_t i = 0; i < t->rows; i++)
        if (mot_table_at(t, i, c) == epoch)
            return (long)i;
    return -1;
}
