/* store.h: a run's arrays on disk as NumPy .npy files: the signals and
 * both data sets, and parameter snapshots. Loading checks every shape
 * against the config and every value, so a file from another run or a
 * hand-made one is either usable or refused with a message naming it. */
#ifndef MOT_STORE_H
#define MOT_STORE_H

#include "config.h"
#include "data.h"
#include "model.h"

/* The signals and both data sets of a run. */
typedef struct {
    size_t N, d;
    double *c, *v;          /* (N, d) class and classification signals */
    mot_data *train, *test;
} mot_dataset;

/* Generates signals, training and test sets from cfg (streams "signals",
 * "train", "test" of cfg->seed). NULL with a message on failure. */
mot_dataset *mot_dataset_make(const mot_config *cfg);

/* Loads what mot_dataset_write wrote in dir, checking every shape against
 * cfg (N, d, L, n_train, n_test) and every value (labels, classes, finite
 * tokens). NULL with a message naming the file on failure (MOT_EINVAL/EIO). */
mot_dataset *mot_dataset_load(const mot_config *cfg, const char *dir);

/* Writes signals_c.npy, signals_v.npy, {train,test}_{X,y,class}.npy. */
int mot_dataset_write(const mot_dataset *ds, const char *dir);
void mot_dataset_free(mot_dataset *ds);

/* Writes theta_<tag>.npy, W_<tag>.npy (models with attention) and
 * router_<tag>.npy (gated models). */
int mot_params_write(const mot_model *m, const char *dir, const char *tag);

/* Reads what mot_params_write(m, dir, tag) wrote (theta_<tag>.npy, and
 * W_<tag>.npy, router_<tag>.npy when the model has them), checking shapes
 * against m and that every value is finite; marks W as changed. MOT_OK, or
 * MOT_EINVAL/MOT_EIO with a message naming the file. */
int mot_params_load_tag(mot_model *m, const char *dir, const char *tag);

/* mot_params_load_tag(m, dir, "init"). */
int mot_params_load(mot_model *m, const char *dir);

/* Reads an int32 routing history (at least T rows of n_train) with values
 * in 0..E-1 into a malloc'd (T, n) array. NULL with a message on failure. */
int *mot_routing_load(const char *path, size_t T, size_t n, size_t E);

#endif
