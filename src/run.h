/* run.h: one training run from a config to a directory of results: the
 * data set (generated or loaded), the initial parameters (drawn or loaded),
 * the training loop with its recorder, the parameter snapshots, the routing
 * history and summary.json, written last so that a directory with a
 * summary.json holds a finished run. Printing is left to the caller through
 * a progress callback. */
#ifndef MOT_RUN_H
#define MOT_RUN_H

#include "config.h"
#include "recorder.h"
#include "store.h"

typedef struct {
    const char *out_dir;        /* where results go (created) */
    const char *data_dir;       /* --data: load the data set from here, or NULL */
    const char *init_dir;       /* --init: load theta/W/router_init.npy from here, or NULL */
    const char *routing_path;   /* replay this routing.npy instead of drawing noise, or NULL */
    const mot_dataset *dataset; /* use this data set (mot compare), or NULL */
    int threads;                /* OpenMP threads of an epoch; 0 or 1: serial (same results) */
    /* Called after every training epoch; may be NULL. */
    void (*progress)(void *ctx, int epoch, int T, double objective);
    void *progress_ctx;
    /* Called after every recorded epoch with its headline numbers; may be NULL. */
    void (*on_record)(void *ctx, const mot_record_head *head);
    void *record_ctx;
} mot_run_options;

typedef struct {
    int epochs_run;       /* training epochs completed */
    int diverged_at;      /* epoch whose step was not finite, or -1 */
    double seconds;       /* wall time of the training loop */
    mot_record_head last; /* the last recorded epoch */
} mot_run_result;

/* Runs cfg as opt says. Returns MOT_OK, MOT_EDIVERGED (outputs and
 * summary.json written, res->diverged_at set), or an error with a message
 * (MOT_EINVAL for bad --data/--init/routing files, MOT_EIO, MOT_ENOMEM). */
int mot_run(const mot_config *cfg, const mot_run_options *opt, mot_run_result *res);

/* The name of the CBLAS in use and the compiler flags of this build. */
const char *mot_build_blas(void);
const char *mot_build_cflags(void);

#endif
