/* recorder.h: what a run records (section 8). At each recorded epoch the
 * recorder evaluates the model at its current parameters on the training set
 * and the test set (inference routing: no exploration noise) and appends
 * rows to the run's CSV files; after every training epoch it appends that
 * epoch's step statistics and training-time dispatch counts. Files are
 * written under temporary names and renamed by mot_recorder_close, so a run
 * that dies leaves no truncated CSV under a final name.
 *
 *   metrics.csv        epoch, stage, train/test loss and error, router entropy,
 *                      mean gate probability of the chosen expert, norms,
 *                      test loss and error of each class
 *   dispatch.csv       epoch, class, expert, share    (gated models)
 *   gate.csv           epoch, class, expert, mean_pi  (gated models)
 *   alignment.csv      epoch, class, expert, ffn_align[, traffic][, attn_align]
 *   attention.csv      epoch, expert, routed, class_token, label, distractor,
 *                      noise                          (models with attention)
 *   experts.csv        epoch, expert, [load,] theta_norm[, W_norm][, router_norm]
 *   steps.csv          epoch, stage, objective, grad_theta[, grad_W][, grad_router]
 *   train_dispatch.csv epoch, class, expert, count    (gated models)
 *   timing.csv         epoch, seconds
 * Entries that do not apply to a model kind are absent, not zero-filled. */
#ifndef MOT_RECORDER_H
#define MOT_RECORDER_H

#include <stddef.h>

#include "config.h"
#include "data.h"
#include "fwd.h"
#include "io.h"
#include "model.h"
#include "trainer.h"

enum {
    MOT_CSV_METRICS, MOT_CSV_DISPATCH, MOT_CSV_GATE, MOT_CSV_ALIGNMENT, MOT_CSV_ATTENTION,
    MOT_CSV_EXPERTS, MOT_CSV_STEPS, MOT_CSV_TRAIN_DISPATCH, MOT_CSV_TIMING, MOT_CSV_COUNT
};

/* The headline numbers of the last recorded epoch (for summary.json). */
typedef struct {
    int epoch;
    double train_loss, train_error, test_loss, test_error;
} mot_record_head;

typedef struct {
    const mot_config *cfg;
    const mot_model *m;
    const mot_data *train, *test;
    mot_fwd *ftrain, *ftest;
    const double *c, *v;        /* signals (N, d) */
    mot_io_file file[MOT_CSV_COUNT];
    int open[MOT_CSV_COUNT];
    int *route;                 /* (n_test) inference routing */
    double *pi_sum;             /* (N, E) */
    double *att;                /* (E, 4) attention on class, label, distractor, noise */
    size_t *routed;             /* (N, E) test samples of class n routed to e */
    size_t *class_n;            /* (N) test samples of each class */
    double *loss_c, *err_c;     /* (N) per class */
    mot_record_head head;
} mot_recorder;

/* Opens the CSV files in dir (which must exist) and writes their headers.
 * The model, data sets, caches and signals must outlive the recorder.
 * NULL with a status message on failure (nothing left on disk). */
mot_recorder *mot_recorder_open(const char *dir, const mot_config *cfg, const mot_model *m,
                                const mot_data *train, const mot_data *test,
                                mot_fwd *ftrain, mot_fwd *ftest,
                                const double *c, const double *v);

/* Evaluates the model at epoch t and appends its rows. MOT_OK or MOT_EIO. */
int mot_recorder_record(mot_recorder *rec, int t);

/* Appends the statistics of training epoch t (taken by tr) and the wall time
 * since the start of the run. */
int mot_recorder_step(mot_recorder *rec, int t, const mot_trainer *tr, double seconds);

/* Renames the files to their final names (commit != 0) or removes them, and
 * frees the recorder. Returns MOT_OK or MOT_EIO. */
int mot_recorder_close(mot_recorder *rec, int commit);

#endif
